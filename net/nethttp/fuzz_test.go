package nethttp_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/nethttp"
)

// FuzzHandlerRequest feeds raw requests to a net/http handler mounted with
// Handler: whatever weft's parser accepts, the handler gets the method,
// target, headers and body weft saw, or the client a 400 saying net/http
// refused the request; never a hang, a panic or a lost answer.
func FuzzHandlerRequest(f *testing.F) {
	for _, s := range []string{
		"GET /a?b=c HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
		"POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"GET http://h/x HTTP/1.1\r\nHost: h\r\nX: a\r\nX: b\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	h := nethttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Target", r.RequestURI)
		w.Header().Set("X-Len", string(rune('0'+len(b)%10)))
		w.Write(b)
	}))
	f.Fuzz(func(t *testing.T, req []byte) {
		tc, err := net.NewTestConn(&net.Server{Handler: h})
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Close()
		out, err := tc.Serve(req, 5*time.Second)
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
		br := bufio.NewReader(bytes.NewReader(out))
		for {
			if _, err := br.Peek(1); err == io.EOF {
				return // every response read
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("unreadable response %q: %v", out, err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("body: %v", err)
			}
			if resp.StatusCode == 200 && resp.Header.Get("X-Method") == "" {
				t.Fatalf("a 200 the handler did not make: %q", out)
			}
			if resp.StatusCode == 200 && resp.Header.Get("X-Len") != string(rune('0'+len(body)%10)) {
				t.Fatalf("body %q does not match what the handler read (%s)", body, resp.Header.Get("X-Len"))
			}
		}
	})
}
