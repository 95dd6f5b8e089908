package net

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReview5HalfClosedClientGetsAFileWhole: a client that half-closes
// after its request (`nc -N`, scripted HTTP/1.0 clients) is answered, a
// streamed answer included: "the cancel does not abort a stream under way"
// (docs/streaming.md, TestHalfClosedClientGetsAStreamedAnswerWhole). But
// SendReader reads each chunk with runtime.Blocking on the request's
// context, which the half-close cancelled: Blocking refuses to start on a
// done context, so a SendReader answer stops after the chunk in flight
// (aborted: the client gets a cut body), and a SendFile answer, whose first
// read starts after the half-close was seen, is not answered at all
// (noAnswer: the connection just closes).
func TestReview5HalfClosedClientGetsAFileWhole(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB: many 64 KiB reads
	path := filepath.Join(t.TempDir(), "big.txt")
	if err := os.WriteFile(path, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _ := startInternal(t, &Server{Handler: func(c *Ctx) Result {
		if c.Path() == "/file" {
			return c.SendFile(path)
		}
		return c.SendReader(200, "text/plain", strings.NewReader(big), -1)
	}})
	for _, p := range []string{"/reader", "/file"} {
		t.Run(p, func(t *testing.T) {
			br := halfClose(t, addr, "GET "+p+" HTTP/1.1\r\nHost: x\r\n\r\n")
			got, err := readAnswer(br)
			if err != nil || got != big {
				t.Fatalf("a half-closed client got %d of %d bytes (%v)", len(got), len(big), err)
			}
		})
	}
}
