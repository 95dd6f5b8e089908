package net

import (
	"bufio"
	"io"
	stdnet "net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEarlyAnswerReachesAnUploadingClient (lingering close): a client
// uploading a large body gets an answer before the server has read it (a
// 413 at the head, a handler answering without reading a streamed body),
// and the connection closes after it. Closing with the client's bytes
// unread made the kernel send a reset, which destroyed the answer in the
// client's receive queue: the client read ECONNRESET, not the answer. The
// close now lingers: write side shut, the rest discarded, then closed.
func TestEarlyAnswerReachesAnUploadingClient(t *testing.T) {
	// An answer larger than the socket buffers take at once: part of it
	// is still in the kernel's send queue when the server is done with
	// it, and a reset drops that part.
	large := strings.Repeat("e", 4<<20)
	addr, l := startInternal(t, &Server{
		MaxBodyBytes: 64 << 10,
		StreamBody: func(c *Ctx) int64 {
			if c.Path() == "/stream" {
				return 1 << 40
			}
			return 0
		},
		Handler: func(c *Ctx) Result { return c.Text(200, large) },
	})
	for _, tc := range []struct {
		name, path string
		status     int
		body       string
		// slow: read the answer only once the server is done with it
		// (lingering or closed): a small answer is all in the client's
		// receive queue then, where a reset destroys it. A large one
		// is partly in the server's send queue until the client reads,
		// where a reset destroys it too.
		slow bool
	}{
		{"413 at the head", "/whole", 413, StatusText(413), true},
		{"streamed body unread", "/stream", 200, large, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := l.lingers.Load()
			conn, err := stdnet.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(30 * time.Second)) // a hang guard only
			// It claims 256 MiB and sends 8 MiB: less than lingerBytes
			// (a client that saw the answer would stop), more than the
			// server's socket takes.
			const size = 8 << 20
			sent := make(chan struct{})
			go func() {
				defer close(sent)
				if _, err := io.WriteString(conn, "POST "+tc.path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 268435456\r\n\r\n"); err != nil {
					return
				}
				p := make([]byte, 64<<10)
				for n := 0; n < size; n += len(p) {
					if _, err := conn.Write(p); err != nil {
						return // the server closed: expected, once it lingered
					}
				}
			}()
			for tc.slow && l.lingers.Load() == before && !closedOnServer(t, l) {
				time.Sleep(time.Millisecond)
			}
			br := bufio.NewReader(conn)
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("reading the answer: %v", err)
			}
			got, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != tc.status || string(got) != tc.body || !res.Close {
				t.Fatalf("got %d, %d bytes (close %v), %v; want %d, %d bytes and Connection: close", res.StatusCode, len(got), res.Close, err, tc.status, len(tc.body))
			}
			// The server shut its side: the client sees the end, not a reset.
			if b, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("after the answer: %q, %v; want io.EOF", b, err)
			}
			conn.Close()
			<-sent
		})
	}
}

// closedOnServer reports whether l has no connection left.
func closedOnServer(t *testing.T, l *loop) bool {
	var n int
	onLoop(t, l, func() { n = len(l.conns) })
	return n == 0
}
