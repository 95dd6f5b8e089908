package net_test

import (
	"errors"
	"fmt"
	stdnet "net"
	"slices"
	"strings"
	"testing"

	"github.com/weftgo/weft/net"
)

// servePaths feeds pieces to a TestConn of a server whose handler answers
// every request at once, reading no body, and returns the paths it served.
// With stream, the first request's body is streamed (so its unread rest is
// dropped after the answer, when small enough); without, every body is
// read whole before its request is served.
func servePaths(t *testing.T, stream bool, pieces [][]byte) []string {
	t.Helper()
	var paths []string
	s := &net.Server{
		MaxBodyBytes: 64 << 10,
		Handler: func(c *net.Ctx) net.Result {
			paths = append(paths, strings.Clone(c.Path()))
			return c.Text(200, "ok")
		},
	}
	if stream {
		s.StreamBody = func(c *net.Ctx) int64 {
			if len(paths) == 0 {
				return 64 << 10
			}
			return 0
		}
	}
	tc, err := net.NewTestConn(s)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	for _, p := range pieces {
		if _, err := tc.Serve(p, serveTimeout); errors.Is(err, stdnet.ErrClosed) {
			break
		} else if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	}
	return paths
}

// FuzzDiscardedRest: the rest of a streamed body that its handler did not
// read is dropped after the answer (readDiscard); what follows it must be
// exactly what follows the same body read whole. rest is the body and
// whatever comes after it; chunked picks the framing (else Content-Length
// is cl, at most len(rest)). No request is ever read from inside the body,
// and none is lost after it.
func FuzzDiscardedRest(f *testing.F) {
	next := "GET /next HTTP/1.1\r\nHost: x\r\n\r\n"
	for i, s := range []string{
		"5\r\nhello\r\n0\r\n\r\n" + next,
		"5;ext=\"a b\";x\r\nhello\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n" + next,
		"23\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n\r\n0\r\n\r\n" + next,
		"3\r\nabcdef\r\n0\r\n\r\n" + next,
		"zz\r\n" + next,
		"0\r\n\r\n" + next + next,
		"5\r\nhello\r\n0\r\n\r\nPOST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n" + next,
	} {
		f.Add([]byte(s), true, uint16(0), uint64(i)*8)
		f.Add([]byte(s), true, uint16(0), uint64(i)*8+3)
	}
	f.Add([]byte("helloGET /smuggled HTTP/1.1\r\n\r\n"+next), false, uint16(len("helloGET /smuggled HTTP/1.1\r\n\r\n")), uint64(5))
	f.Add([]byte("hello"+next), false, uint16(5), uint64(0))
	f.Fuzz(func(t *testing.T, rest []byte, chunked bool, cl uint16, seed uint64) {
		if len(rest) > 4<<10 {
			return
		}
		head := "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
		if !chunked {
			head = fmt.Sprintf("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 1+int(cl)%(len(rest)+1))
		}
		input := append([]byte(head), rest...)
		whole := servePaths(t, false, [][]byte{input})
		// The head alone first, so that the answer goes out before the
		// body has arrived; then the rest in pieces.
		pieces := append([][]byte{input[:len(head)]}, splitAt(input[len(head):], seed)...)
		dropped := servePaths(t, true, pieces)
		if len(dropped) == 0 || dropped[0] != "/p" {
			t.Fatalf("streamed: served %q, want /p first", dropped)
		}
		var want []string
		if len(whole) > 0 {
			want = whole[1:]
		}
		if got := dropped[1:]; !slices.Equal(got, want) {
			t.Fatalf("input %q: after the dropped body %q were served; read whole, %q", input, got, want)
		}
	})
}
