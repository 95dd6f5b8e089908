package frame

import (
	"bytes"
	"slices"
	"testing"
	"unicode/utf8"
)

func isSentinel(err error) bool {
	e, ok := err.(*Error)
	return ok && slices.Contains(allErrors, e)
}

// FuzzParse runs the server's receive path over arbitrary bytes: headers,
// the rules between frames, unmasking, UTF-8 of text in pieces, close
// payloads. It checks what the package promises for any input: no panic,
// n within the input, errors that are bare sentinels, headers that
// re-encode to the same bytes (lengths are minimal), every prefix of a
// header incomplete, and UTF-8 verdicts equal to utf8.Valid over the whole
// message.
func FuzzParse(f *testing.F) {
	key := [4]byte{1, 2, 3, 4}
	seed := func(parts ...[]byte) { f.Add(bytes.Join(parts, nil), false) }
	masked := func(fin, rsv1 bool, op Opcode, p string) []byte {
		b := AppendMaskedHeader(nil, fin, rsv1, op, len(p), key)
		s := len(b)
		b = append(b, p...)
		Mask(key, 0, b[s:])
		return b
	}
	seed(masked(true, false, OpText, "hello"))
	seed(masked(false, false, OpText, "hé\xc3"), masked(true, false, OpPing, "p"), masked(true, false, OpContinuation, "\xa9llo"))
	seed(masked(true, false, OpBinary, string(make([]byte, 300))))
	seed(masked(true, false, OpClose, "\x03\xe8bye"))
	seed(masked(true, false, OpClose, "\x03"))
	seed(masked(true, false, OpText, "\xed\xa0\x80"))
	seed(masked(true, true, OpText, "compressed"))
	seed([]byte{0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4})
	f.Add(masked(true, true, OpBinary, "x"), true)
	f.Fuzz(func(t *testing.T, in []byte, deflate bool) {
		const maxMessage = 1 << 10
		var s Stream
		var msg []byte // the unmasked payload of the message in progress
		for len(in) > 0 {
			var h Header
			n, err := ParseHeader(in, &h, Server)
			if n < 0 || n > len(in) || n > MaxHeaderLen {
				t.Fatalf("n = %d for %d bytes", n, len(in))
			}
			if err != nil {
				if n != 0 || !isSentinel(err) {
					t.Fatalf("error %v with n = %d", err, n)
				}
				return
			}
			if n == 0 {
				if len(in) >= MaxHeaderLen {
					t.Fatalf("%d bytes and still incomplete", len(in))
				}
				return
			}
			// Re-encoding gives the same header bytes.
			re := AppendMaskedHeader(nil, h.Fin, h.RSV1, h.Op, int(h.Length), h.Key)
			if !bytes.Equal(re, in[:n]) {
				t.Fatalf("header % x re-encodes as % x", in[:n], re)
			}
			for k := 0; k < n; k++ {
				var h2 Header
				if m, err := ParseHeader(in[:k], &h2, Server); m != 0 || (err != nil && !isSentinel(err)) {
					t.Fatalf("prefix %d of a %d-byte header: %d, %v", k, n, m, err)
				}
			}
			if err := s.Begin(&h, maxMessage, deflate); err != nil {
				if !isSentinel(err) {
					t.Fatalf("Begin: %v", err)
				}
				return
			}
			rest := in[n:]
			if int64(len(rest)) < h.Length {
				return
			}
			payload := make([]byte, h.Length)
			// Unmask in two pieces, as payloads arrive.
			half := len(payload) / 2
			pos := MaskTo(payload, rest[:half], h.Key, 0)
			MaskTo(payload[half:], rest[half:h.Length], h.Key, pos)
			in = rest[h.Length:]
			switch {
			case h.Op == OpClose:
				code, reason, err := ParseClose(payload)
				if err != nil {
					if !isSentinel(err) {
						t.Fatalf("ParseClose: %v", err)
					}
					return
				}
				if len(payload) >= 2 && (!ValidCloseCode(code) || !utf8.Valid(reason)) {
					t.Fatalf("accepted close %d %q", code, reason)
				}
				return
			case h.Op.IsControl():
				continue
			}
			op, compressed := s.Message()
			msg = append(msg, payload...)
			if op == OpText && !compressed {
				if err := s.Text(payload); err != nil {
					if utf8.Valid(msg) {
						t.Fatalf("valid UTF-8 %q rejected", msg)
					}
					return
				}
			}
			if h.Fin {
				err := s.End()
				if op == OpText && !compressed && (err == nil) != utf8.Valid(msg) {
					t.Fatalf("End = %v for %q", err, msg)
				}
				if len(msg) > maxMessage && !compressed {
					t.Fatalf("message of %d bytes passed a limit of %d", len(msg), maxMessage)
				}
				msg = msg[:0]
			}
		}
	})
}
