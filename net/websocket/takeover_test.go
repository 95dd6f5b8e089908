package websocket

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/klauspost/compress/flate"

	"github.com/weftgo/weft/net/websocket/internal/frame"
)

// takeoverClient is a client's side of permessage-deflate with context
// takeover: one flate stream for all it sends, and the window of all it
// received.
type takeoverClient struct {
	t   *testing.T
	buf bytes.Buffer
	w   *flate.Writer
	win []byte
}

func newTakeoverClient(t *testing.T) *takeoverClient {
	tc := &takeoverClient{t: t}
	w, err := flate.NewWriter(&tc.buf, flate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	tc.w = w
	return tc
}

// compress returns p compressed in the stream (RFC 7692 §7.2.1).
func (tc *takeoverClient) compress(p []byte) []byte {
	tc.buf.Reset()
	tc.w.Write(p)
	tc.w.Flush()
	return bytes.TrimSuffix(bytes.Clone(tc.buf.Bytes()), deflateTail)
}

// decompress decodes a message the server compressed with its window.
func (tc *takeoverClient) decompress(z []byte) []byte {
	in := append(append(bytes.Clone(z), deflateTail...), finalBlock...)
	out, err := io.ReadAll(flate.NewReaderDict(bytes.NewReader(in), tc.win))
	if err != nil {
		tc.t.Fatalf("client cannot decode the server's message: %v", err)
	}
	tc.win = slideWindow(tc.win, out)
	return out
}

// TestContextTakeover checks RFC 7692 §7.1.1 both ways: the server
// compresses each message with the ones before as its dictionary (so a
// repeated message shrinks to a few bytes) and decodes a client's stream
// that refers to earlier messages, including one finished off the loop,
// and one that refers back across it.
func TestContextTakeover(t *testing.T) {
	d := deflateParams{enabled: true, windowBits: 15, serverTakeover: true, clientTakeover: true}
	h := newHarness(t, &Upgrader{EnableCompression: true, ContextTakeover: true, OffloadAbove: 4096, CompressMin: 1}, d, func(c *Conn, typ MessageType, data []byte) {
		c.Send(typ, data)
	})
	cl := newTakeoverClient(t)
	var msgs [][]byte
	for i := range 4 {
		msgs = append(msgs, []byte(fmt.Sprintf(`{"user":"ann","text":"the same words again and again","seq":%d}`, i)))
	}
	big := bytes.Repeat([]byte("a large message decompressed off the loop; "), 500) // 22 KB
	msgs = append(msgs, big, msgs[0], big)
	var in [][]byte
	for _, m := range msgs {
		in = append(in, clientRSV(true, true, frame.OpText, cl.compress(m)))
	}
	h.feed(cat(in...))
	var fs []serverFrame
	for len(fs) < len(msgs) {
		h.sync()
		fs = h.frames()
		if h.closed() {
			t.Fatalf("closed after %d echoes (close code %d)", len(fs), h.closeCode())
		}
	}
	for i, f := range fs {
		if !f.rsv1 {
			t.Fatalf("echo %d not compressed", i)
		}
		if got := cl.decompress(f.payload); !bytes.Equal(got, msgs[i]) {
			t.Fatalf("echo %d: %q, want %q", i, trunc(string(got)), trunc(string(msgs[i])))
		}
	}
	// Message 5 repeats message 0: with the window it costs a few bytes.
	if n := len(fs[5].payload); n > 20 {
		t.Errorf("a repeated message took %d bytes compressed; the window was not used", n)
	}
	if n := len(in[5]); n > 30 {
		t.Errorf("the client's repeated message took %d bytes; the test client does not use its window", n)
	}
}

// TestPreparedMessageWithTakeover checks that a session with server
// context takeover gets a broadcast uncompressed: a frame shared by many
// sessions cannot use one session's window.
func TestPreparedMessageWithTakeover(t *testing.T) {
	d := deflateParams{enabled: true, windowBits: 15, serverTakeover: true}
	h := newHarness(t, &Upgrader{EnableCompression: true, ContextTakeover: true}, d, nil)
	pm := NewPreparedMessage(TextMessage, bytes.Repeat([]byte("broadcast "), 100))
	h.loop.Do(func() { h.c.SendPrepared(pm) })
	fs := h.frames()
	if len(fs) != 1 || fs[0].rsv1 {
		t.Fatalf("frames %+v, want one uncompressed", fs)
	}
}
