package websocket

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/flate"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/websocket/internal/frame"
)

// permessage-deflate (RFC 7692) with github.com/klauspost/compress/flate.
//
// By default weft answers with server_no_context_takeover and
// client_no_context_takeover, as gorilla/websocket does: every message is
// compressed on its own, so a session keeps no LZ77 window between messages,
// compressors are pooled and shared by every session, and a broadcast
// message is compressed once for all of them. The cost is a worse ratio on
// streams of small similar messages. With Upgrader.ContextTakeover, weft
// lets each side keep its window when the client does not decline it: the
// session then holds the last 32 KiB it sent compressed (the dictionary of
// its next message) and the last 32 KiB it received decompressed.

// deflateParams is what permessage-deflate negotiation decided.
type deflateParams struct {
	enabled        bool
	windowBits     int  // server_max_window_bits the client asked for; 15 by default
	windowOffered  bool // the offer had server_max_window_bits: the response names it (§7.1.2.1)
	serverTakeover bool // we compress each message with the ones before as its dictionary
	clientTakeover bool // the client does, so we decompress with the window of the ones before
}

// maxWindow is the LZ77 window of permessage-deflate with 15 bits (RFC 7692
// §7.1.2): what context takeover keeps per direction.
const maxWindow = 1 << 15

// deflateTail ends a message's compressed payload on the wire (RFC 7692
// §7.2.1): the sender removes it, the receiver appends it again.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

// finalBlock is an empty final stored block, appended after the tail so
// that the decompressor reaches io.EOF.
var finalBlock = []byte{0x01, 0x00, 0x00, 0xff, 0xff}

// negotiateDeflate picks the first permessage-deflate offer in the
// request's Sec-WebSocket-Extensions that weft can accept (RFC 7692 §5,
// §7.1) and returns the response's extension value.
//
// Without takeover (the default) the answer always has
// server_no_context_takeover and client_no_context_takeover. With it, a
// side keeps its window unless the client's offer declines it; a server
// window narrower than 15 bits is answered with server_no_context_takeover
// (RFC 7692 §7.1.1.1 lets the server add it), since the dictionary
// compressor uses the full window.
func negotiateDeflate(c *net.Ctx, takeover bool) (deflateParams, string) {
	for name, value := range c.Headers() {
		if !strings.EqualFold(name, "Sec-WebSocket-Extensions") {
			continue
		}
		for offer := range strings.SplitSeq(value, ",") {
			p, ok := parseDeflateOffer(offer)
			if !ok {
				continue
			}
			if !takeover {
				p.serverTakeover, p.clientTakeover = false, false
			}
			if p.windowBits < 15 {
				p.serverTakeover = false
			}
			resp := "permessage-deflate"
			if !p.serverTakeover {
				resp += "; server_no_context_takeover"
			}
			if !p.clientTakeover {
				resp += "; client_no_context_takeover"
			}
			if p.windowOffered {
				// §7.1.2.1: accepted by naming it in the response.
				resp += "; server_max_window_bits=" + strconv.Itoa(p.windowBits)
			}
			return p, resp
		}
	}
	return deflateParams{}, ""
}

// parseDeflateOffer parses one extension offer, and reports whether it is a
// permessage-deflate offer weft accepts: known parameters, each at most
// once, with valid values (RFC 7692 §7: a server MUST decline an offer
// otherwise).
func parseDeflateOffer(offer string) (deflateParams, bool) {
	name, params, _ := strings.Cut(offer, ";")
	if !strings.EqualFold(strings.TrimSpace(name), "permessage-deflate") {
		return deflateParams{}, false
	}
	p := deflateParams{enabled: true, windowBits: 15, serverTakeover: true, clientTakeover: true}
	var seen [4]bool
	for param := range strings.SplitSeq(params, ";") {
		param = strings.TrimSpace(param)
		if param == "" {
			if params == "" {
				break
			}
			return deflateParams{}, false
		}
		k, v, hasValue := strings.Cut(param, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.Trim(strings.TrimSpace(v), `"`)
		var idx int
		switch k {
		case "server_no_context_takeover":
			idx = 0
			if hasValue {
				return deflateParams{}, false
			}
			p.serverTakeover = false
		case "client_no_context_takeover":
			idx = 1
			if hasValue {
				return deflateParams{}, false
			}
			p.clientTakeover = false
		case "server_max_window_bits":
			// §7.1.2.1: a value from 8 to 15 is required.
			idx = 2
			bits, ok := windowBits(v)
			if !hasValue || !ok {
				return deflateParams{}, false
			}
			p.windowBits, p.windowOffered = bits, true
		case "client_max_window_bits":
			// §7.1.2.2: no value, or 8 to 15. We decompress any window
			// up to 15 bits, so we need not answer it.
			idx = 3
			if _, ok := windowBits(v); hasValue && !ok {
				return deflateParams{}, false
			}
		default:
			return deflateParams{}, false
		}
		if seen[idx] {
			return deflateParams{}, false
		}
		seen[idx] = true
	}
	return p, true
}

// windowBits reads a window bits parameter's value: 1*DIGIT, 8 to 15
// (RFC 7692 §7.1.2), without a sign or a leading zero.
func windowBits(v string) (int, bool) {
	if len(v) == 0 || len(v) > 2 || v[0] == '0' {
		return 0, false
	}
	n := 0
	for _, b := range []byte(v) {
		if b < '0' || b > '9' {
			return 0, false
		}
		n = n*10 + int(b-'0')
	}
	return n, n >= 8 && n <= 15
}

// codec compresses and decompresses messages with pooled flate state. Safe
// for concurrent use: off-loop compression jobs and every loop share it.
type codec struct {
	level    int
	writers  [16]sync.Pool // of *deflater, by window bits (15: the full window)
	inflater sync.Pool     // of *inflater
}

type deflater struct {
	w   *flate.Writer
	out appendWriter
}

type appendWriter struct{ b []byte }

func (a *appendWriter) Write(p []byte) (int, error) { a.b = append(a.b, p...); return len(p), nil }

// compress appends p compressed as one permessage-deflate message (without
// the tail, RFC 7692 §7.2.1) to dst. dict, if not nil, is the window of the
// messages sent before (context takeover; full window only).
func (cd *codec) compress(dst, p []byte, bits int, dict []byte) []byte {
	d, _ := cd.writers[bits].Get().(*deflater)
	if d == nil {
		d = new(deflater)
		var err error
		if bits >= 15 {
			d.w, err = flate.NewWriter(&d.out, cd.level)
		} else {
			d.w, err = flate.NewWriterWindow(&d.out, 1<<bits)
		}
		if err != nil {
			panic("websocket: flate writer: " + err.Error()) // levels are checked in configure
		}
	}
	d.out.b = dst
	if dict != nil {
		d.w.ResetDict(&d.out, dict)
	} else {
		d.w.Reset(&d.out)
	}
	_, _ = d.w.Write(p) // an appendWriter never fails
	_ = d.w.Flush()
	out := d.out.b
	d.out.b = nil
	if dict != nil {
		d.w.ResetDict(nil, nil) // a pooled writer must not keep it
	}
	cd.writers[bits].Put(d)
	return bytes.TrimSuffix(out, deflateTail)
}

type inflater struct {
	r   io.ReadCloser
	src bytes.Reader
}

// errBadDeflate is a compressed message that does not decompress.
var errBadDeflate = &frame.Error{Code: frame.CodeInvalidData, Reason: "invalid compressed message"}

// decompress appends the decompression of a permessage-deflate message to
// dst. in is the compressed payload with spare capacity that decompress may
// use for the tail. Beyond max decompressed bytes it stops with
// frame.ErrTooBig (1009); corrupt data is errBadDeflate (1007).
func (cd *codec) decompress(dst, in []byte, max int64) ([]byte, error) {
	f := cd.startInflate(&in, nil)
	defer cd.endInflate(f)
	dst, _, err := f.read(dst, len(dst), max, 0)
	return dst, err
}

// startInflate returns a pooled decompressor reading the message *in (see
// decompress), after appending the tail to *in, which must then stay
// unchanged until endInflate. dict, if not nil, is the window of the
// messages received before (the client's context takeover).
func (cd *codec) startInflate(inp *[]byte, dict []byte) *inflater {
	in := append(append(*inp, deflateTail...), finalBlock...)
	*inp = in
	f, _ := cd.inflater.Get().(*inflater)
	if f == nil {
		f = new(inflater)
		f.src.Reset(in)
		f.r = flate.NewReaderDict(&f.src, dict)
	} else {
		f.src.Reset(in)
		_ = f.r.(flate.Resetter).Reset(&f.src, dict)
	}
	return f
}

// endInflate returns f to the pool.
func (cd *codec) endInflate(f *inflater) {
	f.src.Reset(nil)
	cd.inflater.Put(f)
}

// read appends decompressed bytes to dst (whose output began at start)
// until the message ends (done), an error, or, with budget > 0, at least
// budget bytes of output in this call; it can then be called again, on any
// goroutine, to go on. Past max bytes of output it fails with
// frame.ErrTooBig; corrupt data is errBadDeflate.
func (f *inflater) read(dst []byte, start int, max int64, budget int) (out []byte, done bool, err error) {
	from := len(dst)
	for {
		if len(dst) == cap(dst) {
			dst = grow(dst, int64(start)+max+1)
		}
		n, rerr := f.r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		switch {
		case int64(len(dst)-start) > max:
			return dst, true, frame.ErrTooBig
		case errors.Is(rerr, io.EOF):
			return dst, true, nil
		case rerr != nil:
			return dst, true, errBadDeflate
		case budget > 0 && len(dst)-from >= budget:
			return dst, false, nil
		}
	}
}

// grow returns dst with more capacity, doubling it but never past limit
// bytes (the output limit and one byte to see it is passed), so that a
// small compressed message that inflates without end (a deflate bomb)
// makes the server hold no more than the limit. len(dst) < limit.
func grow(dst []byte, limit int64) []byte {
	n := int64(max(2*cap(dst), 512))
	if n > limit {
		n = limit
	}
	d := make([]byte, len(dst), n)
	copy(d, dst)
	return d
}

// slideWindow appends p to the window w, keeping its last maxWindow bytes.
func slideWindow(w, p []byte) []byte {
	if len(p) >= maxWindow {
		return append(w[:0], p[len(p)-maxWindow:]...)
	}
	if keep := maxWindow - len(p); len(w) > keep {
		n := copy(w, w[len(w)-keep:])
		w = w[:n]
	}
	return append(w, p...)
}
