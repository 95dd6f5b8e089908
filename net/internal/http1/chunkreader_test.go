package http1

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// decodeInPieces feeds body to a ChunkDecoder split at random points and
// returns the data it gave, whether it finished, and its error.
func decodeInPieces(body []byte, seed uint64, maxBody int64) ([]byte, bool, error) {
	r := rand.New(rand.NewPCG(seed, 1))
	var d ChunkDecoder
	var out, pending []byte
	for off := 0; ; {
		if off < len(body) {
			n := 1 + r.IntN(len(body)-off)
			if seed%3 == 0 {
				n = 1
			}
			pending = append(pending, body[off:off+n]...)
			off += n
		}
		for {
			consumed, data, err := d.Next(pending, 1+r.IntN(64), maxBody, nil)
			if err != nil {
				return out, false, err
			}
			out = append(out, data...)
			pending = pending[consumed:]
			if d.Done() || consumed == 0 {
				break
			}
		}
		if d.Done() {
			return out, true, nil
		}
		if off == len(body) {
			return out, false, nil
		}
	}
}

func FuzzChunkDecoder(f *testing.F) {
	for _, s := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"3;a=b\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n",
		"0\r\n\r\n",
		"5\r\nhel\r\n",
		"g\r\n",
		"5\r\nhelloX\r\n0\r\n\r\n",
		"1\r\na\r\n0\r\nBad Field\r\n\r\n",
	} {
		f.Add([]byte(s), uint64(0))
		f.Add([]byte(s), uint64(7))
	}
	f.Fuzz(func(t *testing.T, body []byte, seed uint64) {
		const maxBody = 1 << 10
		// ChunkScanner and DecodeChunked are the reference.
		var s ChunkScanner
		end, serr := s.Scan(body, maxBody, nil)
		got, done, err := decodeInPieces(body, seed, maxBody)
		switch {
		case serr != nil:
			if err != serr {
				t.Fatalf("%q: decoder error %v (done %v), scanner %v", body, err, done, serr)
			}
		case end == 0:
			if err != nil || done {
				t.Fatalf("%q: incomplete for the scanner; decoder %v, done %v", body, err, done)
			}
		default:
			want, _, derr := DecodeChunked(append([]byte(nil), body[:end]...), nil)
			if derr != nil || err != nil || !done || !bytes.Equal(got, want) {
				t.Fatalf("%q: decoder %q, %v, done %v; want %q (%v)", body, got, err, done, want, derr)
			}
		}
	})
}
