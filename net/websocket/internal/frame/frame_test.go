package frame

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// clientFrame builds a masked client frame with payload p.
func clientFrame(fin, rsv1 bool, op Opcode, p []byte) []byte {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	b := AppendMaskedHeader(nil, fin, rsv1, op, len(p), key)
	start := len(b)
	b = append(b, p...)
	Mask(key, 0, b[start:])
	return b
}

func TestParseHeaderRules(t *testing.T) {
	long := func(n int) []byte { return bytes.Repeat([]byte{'a'}, n) }
	tests := []struct {
		name string
		in   []byte
		role Role
		want error
	}{
		{"§5.1 client frame unmasked", AppendHeader(nil, true, false, OpText, 3), Server, ErrUnmasked},
		{"§5.1 server frame masked", clientFrame(true, false, OpText, []byte("abc")), Client, ErrMasked},
		{"§5.1 masked client frame accepted", clientFrame(true, false, OpText, []byte("abc")), Server, nil},
		{"§5.2 RSV2 set", []byte{0x80 | 0x20 | 0x1, 0x80, 1, 2, 3, 4}, Server, ErrReservedBits},
		{"§5.2 RSV3 set", []byte{0x80 | 0x10 | 0x1, 0x80, 1, 2, 3, 4}, Server, ErrReservedBits},
		{"§5.2 reserved opcode 0x3", []byte{0x80 | 0x3, 0x80, 1, 2, 3, 4}, Server, ErrReservedOpcode},
		{"§5.2 reserved opcode 0x7", []byte{0x80 | 0x7, 0x80, 1, 2, 3, 4}, Server, ErrReservedOpcode},
		{"§5.2 reserved opcode 0xB", []byte{0x80 | 0xB, 0x80, 1, 2, 3, 4}, Server, ErrReservedOpcode},
		{"§5.2 reserved opcode 0xF", []byte{0x80 | 0xF, 0x80, 1, 2, 3, 4}, Server, ErrReservedOpcode},
		{"§5.2 16-bit length under 126", []byte{0x82, 0x80 | 126, 0, 125, 1, 2, 3, 4}, Server, ErrNonMinimalLength},
		{"§5.2 64-bit length under 65536", []byte{0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 1, 2, 3, 4}, Server, ErrNonMinimalLength},
		{"§5.2 64-bit length with top bit", []byte{0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4}, Server, ErrNonMinimalLength},
		{"§5.5 control frame of 126 bytes", clientFrame(true, false, OpPing, long(126)), Server, ErrControlTooLong},
		{"§5.5 control frame of 125 bytes", clientFrame(true, false, OpPing, long(125)), Server, nil},
		{"§5.5 fragmented ping", clientFrame(false, false, OpPing, nil), Server, ErrControlFragmented},
		{"§5.5 fragmented close", clientFrame(false, false, OpClose, nil), Server, ErrControlFragmented},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h Header
			n, err := ParseHeader(tc.in, &h, tc.role)
			if err != tc.want {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err == nil && n == 0 {
				t.Fatalf("complete header reported incomplete")
			}
		})
	}
}

func TestParseHeaderLengths(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 0xFFFF, 0x10000, 1 << 24} {
		hdr := AppendMaskedHeader(nil, true, false, OpBinary, n, [4]byte{1, 2, 3, 4})
		var h Header
		got, err := ParseHeader(hdr, &h, Server)
		if err != nil || got != len(hdr) || h.Length != int64(n) || h.Key != [4]byte{1, 2, 3, 4} || !h.Fin || h.Op != OpBinary {
			t.Errorf("length %d: n=%d err=%v h=%+v", n, got, err, h)
		}
		if len(hdr) != HeaderLen(n)+4 {
			t.Errorf("length %d: header %d bytes, HeaderLen+4 = %d", n, len(hdr), HeaderLen(n)+4)
		}
		// Every strict prefix is incomplete.
		for k := range hdr {
			if m, err := ParseHeader(hdr[:k], &h, Server); m != 0 || err != nil {
				t.Errorf("length %d prefix %d: %d, %v; want incomplete", n, k, m, err)
			}
		}
	}
}

func TestStreamRules(t *testing.T) {
	type step struct {
		fin, rsv1 bool
		op        Opcode
		length    int64
	}
	tests := []struct {
		name    string
		deflate bool
		max     int64
		steps   []step
		want    error // from the last step
	}{
		{"§5.4 continuation with no message", false, 100, []step{{true, false, OpContinuation, 1}}, ErrUnexpectedContinuation},
		{"§5.4 text inside a fragmented message", false, 100, []step{{false, false, OpText, 1}, {true, false, OpText, 1}}, ErrExpectedContinuation},
		{"§5.4 control frames interleave with fragments", false, 100, []step{{false, false, OpText, 1}, {true, false, OpPing, 1}, {true, false, OpPong, 0}, {true, false, OpContinuation, 1}}, nil},
		{"§5.2 RSV1 without an extension", false, 100, []step{{true, true, OpText, 1}}, ErrReservedBits},
		{"§5.2 RSV1 on a control frame without an extension", false, 100, []step{{true, true, OpPing, 0}}, ErrReservedBits},
		{"RFC 7692 §6.1 RSV1 on a control frame", true, 100, []step{{true, true, OpPing, 0}}, ErrCompressedControl},
		{"RFC 7692 §6.1 RSV1 on a continuation", true, 100, []step{{false, true, OpText, 1}, {true, true, OpContinuation, 1}}, ErrCompressedContinuation},
		{"RFC 7692 §6 RSV1 on the first frame", true, 100, []step{{false, true, OpText, 1}, {true, false, OpContinuation, 1}}, nil},
		{"§7.4.1 1009 one frame over the limit", false, 100, []step{{true, false, OpBinary, 101}}, ErrTooBig},
		{"§7.4.1 1009 fragments over the limit", false, 100, []step{{false, false, OpBinary, 60}, {true, false, OpContinuation, 41}}, ErrTooBig},
		{"§7.4.1 exactly the limit", false, 100, []step{{false, false, OpBinary, 60}, {true, false, OpContinuation, 40}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s Stream
			var err error
			for i, st := range tc.steps {
				h := Header{Fin: st.fin, RSV1: st.rsv1, Op: st.op, Masked: true, Length: st.length}
				err = s.Begin(&h, tc.max, tc.deflate)
				if i < len(tc.steps)-1 && err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if err == nil && st.fin && !st.op.IsControl() {
					if err = s.End(); err != nil && i < len(tc.steps)-1 {
						t.Fatalf("step %d end: %v", i, err)
					}
				}
			}
			if err != tc.want {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestUTF8AcrossFragments checks §8.1 (1007) for text split at every
// possible point, including inside a character.
func TestUTF8AcrossFragments(t *testing.T) {
	tests := []struct {
		name string
		text string
		ok   bool
	}{
		{"ascii", "hello", true},
		{"2-byte", "héllo", true},
		{"3-byte", "€uro", true},
		{"4-byte", "a𝄞b", true},
		{"U+FFFD itself", "\uFFFD", true},
		{"lone continuation", "a\x80b", false},
		{"overlong 2-byte", "\xC0\xAF", false},
		{"overlong 3-byte", "\xE0\x80\xAF", false},
		{"surrogate", "\xED\xA0\x80", false},
		{"above U+10FFFF", "\xF4\x90\x80\x80", false},
		{"invalid start byte", "\xF8\x88\x80\x80\x80", false},
		{"truncated at end", "ab\xE2\x82", false},
		{"truncated 4-byte at end", "\xF0\x9D\x84", false},
		{"truncated then ascii", "\xE2\x82a", false},
		{"autobahn 6.4.1 fail-fast prefix", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if utf8.ValidString(tc.text) != tc.ok {
				t.Fatalf("table error: utf8.ValidString = %v", !tc.ok)
			}
			p := []byte(tc.text)
			for i := 0; i <= len(p); i++ {
				for j := i; j <= len(p); j++ {
					var s Stream
					h := Header{Fin: false, Op: OpText, Masked: true, Length: int64(i)}
					_ = s.Begin(&h, 1<<20, false)
					err := s.Text(p[:i])
					if err == nil {
						h = Header{Fin: false, Op: OpContinuation, Masked: true, Length: int64(j - i)}
						_ = s.Begin(&h, 1<<20, false)
						err = s.Text(p[i:j])
					}
					if err == nil {
						h = Header{Fin: true, Op: OpContinuation, Masked: true, Length: int64(len(p) - j)}
						_ = s.Begin(&h, 1<<20, false)
						err = s.Text(p[j:])
					}
					if err == nil {
						err = s.End()
					}
					if (err == nil) != tc.ok {
						t.Fatalf("split at %d,%d: err = %v, want ok=%v", i, j, err, tc.ok)
					}
					if err != nil && err != ErrInvalidUTF8 {
						t.Fatalf("split at %d,%d: err = %v, want ErrInvalidUTF8", i, j, err)
					}
				}
			}
		})
	}
}

// TestUTF8FailsFast checks that an invalid sequence is reported in the
// fragment where it becomes certain, not only at the end (Autobahn 6.4).
func TestUTF8FailsFast(t *testing.T) {
	var u UTF8
	if !u.Write([]byte("\xce\xba\xf4")) {
		t.Fatal("valid prefix rejected")
	}
	if u.Write([]byte("\x90")) {
		t.Fatal("F4 90 (above U+10FFFF) accepted before the end of the character")
	}
}

func TestParseClose(t *testing.T) {
	tests := []struct {
		name   string
		in     []byte
		code   uint16
		reason string
		want   error
	}{
		{"§5.5.1 empty body: 1005", nil, CodeNoStatus, "", nil},
		{"§5.5.1 one byte", []byte{3}, 0, "", ErrBadClosePayload},
		{"§7.4.1 1000", []byte{0x03, 0xE8}, 1000, "", nil},
		{"§7.4.1 1000 with reason", append([]byte{0x03, 0xE8}, "bye"...), 1000, "bye", nil},
		{"§7.4.2 999", []byte{0x03, 0xE7}, 0, "", ErrBadCloseCode},
		{"§7.4.1 1004 reserved", []byte{0x03, 0xEC}, 0, "", ErrBadCloseCode},
		{"§7.4.1 1005 never on the wire", []byte{0x03, 0xED}, 0, "", ErrBadCloseCode},
		{"§7.4.1 1006 never on the wire", []byte{0x03, 0xEE}, 0, "", ErrBadCloseCode},
		{"§7.4.1 1015 never on the wire", []byte{0x03, 0xF7}, 0, "", ErrBadCloseCode},
		{"§7.4.2 2999 unassigned", []byte{0x0B, 0xB7}, 0, "", ErrBadCloseCode},
		{"§7.4.2 3000 registered range", []byte{0x0B, 0xB8}, 3000, "", nil},
		{"§7.4.2 4999 private range", []byte{0x13, 0x87}, 4999, "", nil},
		{"§7.4.2 5000", []byte{0x13, 0x88}, 0, "", ErrBadCloseCode},
		{"§8.1 reason not UTF-8: 1007", append([]byte{0x03, 0xE8}, 0xFF), 0, "", ErrInvalidUTF8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, reason, err := ParseClose(tc.in)
			if err != tc.want || code != tc.code || string(reason) != tc.reason {
				t.Fatalf("= %d %q %v; want %d %q %v", code, reason, err, tc.code, tc.reason, tc.want)
			}
		})
	}
}

func TestValidCloseCodes(t *testing.T) {
	valid := 0
	for c := 0; c < 1<<16; c++ {
		if ValidCloseCode(uint16(c)) {
			valid++
		}
	}
	// 1000-1003 (4), 1007-1014 (8), 3000-4999 (2000).
	if valid != 2012 {
		t.Fatalf("%d valid codes, want 2012", valid)
	}
}

func TestAppendClosePayload(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes
	p := AppendClosePayload(nil, 1001, long)
	if len(p) > MaxControlPayload {
		t.Fatalf("payload %d bytes", len(p))
	}
	code, reason, err := ParseClose(p)
	if err != nil || code != 1001 || !utf8.Valid(reason) || len(reason) != 122 {
		t.Fatalf("round trip: %d %d %v", code, len(reason), err)
	}
	if len(AppendClosePayload(nil, CodeNoStatus, "x")) != 0 {
		t.Fatal("1005 must send an empty close")
	}
}

func naiveMask(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[pos&3]
		pos++
	}
	return pos & 3
}

// TestMaskMatchesNaive checks §5.3 masking for every length, alignment and
// starting key position, and that masking in pieces equals masking whole.
func TestMaskMatchesNaive(t *testing.T) {
	key := [4]byte{0xA1, 0xB2, 0xC3, 0xD4}
	src := make([]byte, 200)
	for i := range src {
		src[i] = byte(i * 7)
	}
	for off := 0; off < 8; off++ {
		for n := 0; n < 100; n++ {
			for pos := 0; pos < 4; pos++ {
				a := bytes.Clone(src[off : off+n])
				b := bytes.Clone(a)
				pa := Mask(key, pos, a)
				pb := naiveMask(key, pos, b)
				if pa != pb || !bytes.Equal(a, b) {
					t.Fatalf("off %d n %d pos %d differs", off, n, pos)
				}
			}
		}
	}
	whole := bytes.Clone(src)
	Mask(key, 0, whole)
	pieces := bytes.Clone(src)
	pos := 0
	for _, cut := range [][2]int{{0, 3}, {3, 13}, {13, 14}, {14, 77}, {77, 200}} {
		out := make([]byte, cut[1]-cut[0])
		pos = MaskTo(out, pieces[cut[0]:cut[1]], key, pos)
		copy(pieces[cut[0]:], out)
	}
	if !bytes.Equal(whole, pieces) {
		t.Fatal("masking in pieces differs from masking whole")
	}
}

func TestErrorsCarryCodes(t *testing.T) {
	for _, e := range allErrors {
		switch e.Code {
		case CodeProtocolError, CodeInvalidData, CodeTooBig:
		default:
			t.Errorf("%v: code %d", e, e.Code)
		}
		if !errors.Is(e, e) || e.Error() == "" {
			t.Errorf("%v", e)
		}
		if len(e.Reason) > MaxControlPayload-2 {
			t.Errorf("%v: reason too long for a close frame", e)
		}
	}
}

// TestZeroAllocation fails on any allocation in the codec.
func TestZeroAllocation(t *testing.T) {
	frames := [][]byte{
		clientFrame(true, false, OpText, []byte("hello")),
		clientFrame(true, false, OpBinary, make([]byte, 70000)),
		AppendHeader(nil, true, false, OpText, 3), // unmasked: error path
		{0x83, 0x80, 1, 2, 3, 4},                  // reserved opcode
	}
	payload := make([]byte, 4096)
	text := []byte(strings.Repeat("héllo wörld ", 100))
	closeP := AppendClosePayload(nil, 1000, "bye")
	var h Header
	var s Stream
	var dst [MaxHeaderLen]byte
	a := testing.AllocsPerRun(200, func() {
		for _, f := range frames {
			_, _ = ParseHeader(f, &h, Server)
		}
		h = Header{Fin: true, Op: OpText, Masked: true, Length: int64(len(text))}
		_ = s.Begin(&h, 1<<20, false)
		_ = s.Text(text[:7])
		_ = s.Text(text[7:])
		_ = s.End()
		_, _, _ = ParseClose(closeP)
		_, _, _ = ParseClose([]byte{1})
		Mask([4]byte{1, 2, 3, 4}, 1, payload)
		_ = AppendHeader(dst[:0], true, false, OpBinary, 70000)
		_ = AppendClosePayload(dst[:0], 1000, "")
	})
	if a != 0 {
		t.Fatalf("%v allocations per run", a)
	}
}

func BenchmarkMask(b *testing.B) {
	for _, n := range []int{64, 16 << 10} {
		buf := make([]byte, n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				Mask([4]byte{1, 2, 3, 4}, 0, buf)
			}
		})
	}
}

func BenchmarkMaskNaive(b *testing.B) {
	buf := make([]byte, 16<<10)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		naiveMask([4]byte{1, 2, 3, 4}, 0, buf)
	}
}
