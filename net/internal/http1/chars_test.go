package http1

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestSWARMatchesTable checks the word-at-a-time scanners against the
// byte-class table on random and adversarial inputs, at every offset.
func TestSWARMatchesTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	// Bytes near the class boundaries, where borrows and signs matter.
	edge := []byte{0x00, '\t', '\n', '\r', 0x1f, ' ', '!', '"', '#', '%', '?', 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff, 'a', '/'}
	for range 20000 {
		b := make([]byte, 1+rng.IntN(24))
		for j := range b {
			if rng.IntN(3) == 0 {
				b[j] = edge[rng.IntN(len(edge))]
			} else {
				b[j] = byte(0x21 + rng.IntN(0x5e))
			}
		}
		for i := range b {
			if got, want := scanValue(b, i), scanSlow(b, i, cValue); got != want {
				t.Fatalf("scanValue(%q, %d) = %d, want %d", b, i, got, want)
			}
			if got, want := scanTarget(b, i), scanSlow(b, i, cTarget); got != want {
				t.Fatalf("scanTarget(%q, %d) = %d, want %d", b, i, got, want)
			}
		}
	}
	// The lowest flagged byte is the first true match, for every n.
	for range 100000 {
		var w [8]byte
		for j := range w {
			w[j] = edge[rng.IntN(len(edge))] + byte(rng.IntN(2))
		}
		x := binary.LittleEndian.Uint64(w[:])
		for _, n := range []byte{1, 0x20, 0x21, 0x80} {
			first := 8
			for j := range w {
				if w[j] < n {
					first = j
					break
				}
			}
			m := hasLess(x, n)
			if (m == 0) != (first == 8) || (m != 0 && firstFlagged(m) != first) {
				t.Fatalf("hasLess(%q, %#x) = %#x, first match %d", w, n, m, first)
			}
		}
		first := 8
		for j := range w {
			if w[j] == '#' {
				first = j
				break
			}
		}
		if m := hasByte(x, '#'); (m == 0) != (first == 8) || (m != 0 && firstFlagged(m) != first) {
			t.Fatalf("hasByte(%q, '#') = %#x, first match %d", w, m, first)
		}
	}
}

func scanSlow(b []byte, i int, c uint8) int {
	for i < len(b) && class[b[i]]&c != 0 {
		i++
	}
	return i
}

// TestIPv6MatchesNetip: validIPv6 accepts exactly what net/netip.ParseAddr
// accepts as an IPv6 address without a zone (as net/url requires inside
// brackets).
func TestIPv6MatchesNetip(t *testing.T) {
	cases := []string{
		"::", "::1", "1::", "1::2", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
		"1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1::2::3", ":1::2", "1::2:", "1:::2", ":::",
		"12345::", "ffff::FFFF", "g::", "::ffff:1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4",
		"1:2:3:4:5:1.2.3.4", "::1.2.3.4", "::1.2.3", "::1.2.3.4.5", "::01.2.3.4", "::256.1.1.1",
		"::1.2.3.", "::.1.2.3", "::1..2.3", "1.2.3.4", "::1.2.3.4:5", "fe80::1%25en0", "", ":", "1",
		"0:0:0:0:0:0:0:0", "00000::", "::0000", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8",
	}
	rng := rand.New(rand.NewPCG(5, 6))
	alphabet := "0123456789abcdefABCDEF:.:.::g%"
	for range 50000 {
		b := make([]byte, rng.IntN(20))
		for j := range b {
			b[j] = alphabet[rng.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		a, err := netip.ParseAddr(s)
		want := err == nil && a.Is6() && a.Zone() == ""
		if got := validIPv6([]byte(s)); got != want {
			t.Errorf("validIPv6(%q) = %v, netip says %v (%v)", s, got, want, err)
		}
	}
}
