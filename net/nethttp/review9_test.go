package nethttp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/nethttp"
)

// A HEAD answer through Handler has the headers net/http's own server
// gives the same handler: the Content-Length and the sniffed Content-Type
// of the body a GET would get, when the handler writes its body without
// declaring them (as most handlers do).
func TestHeadMatchesNetHTTP(t *testing.T) {
	cases := []struct {
		name string
		h    http.HandlerFunc
	}{
		{"text written", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello, world\n")
		}},
		{"html written", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "<!DOCTYPE html><html><body>hi</body></html>")
		}},
		{"typed json", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(201)
			io.WriteString(w, `{"id":1}`)
		}},
		{"declared length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "12345")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref := httptest.NewServer(tc.h)
			defer ref.Close()
			srv := start(t, &net.Server{Handler: nethttp.Handler(tc.h)})
			for _, method := range []string{"GET", "HEAD"} {
				req, err := http.NewRequest(method, ref.URL+"/", nil)
				if err != nil {
					t.Fatal(err)
				}
				want, err := ref.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				want.Body.Close()
				got, _ := get(t, srv, httptest.NewRequest(method, "/", nil))
				for _, k := range []string{"Content-Length", "Content-Type"} {
					if g, w := got.Header.Get(k), want.Header.Get(k); g != w {
						t.Errorf("%s %s: weft %q, net/http %q", method, k, g, w)
					}
				}
				if got.StatusCode != want.StatusCode {
					t.Errorf("%s: status %d, net/http %d", method, got.StatusCode, want.StatusCode)
				}
			}
		})
	}
}
