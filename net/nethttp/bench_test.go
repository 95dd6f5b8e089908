package nethttp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/nethttp"
	"github.com/weftgo/weft/net/webtest"
)

// The cost of the adapters, request to response through webtest's
// in-memory connections: a weft handler alone, a net/http handler mounted
// with Handler (a goroutine, a copy of the request), and a weft handler
// behind ToHTTP (the request written to weft and its response copied).
func BenchmarkAdapters(b *testing.B) {
	weftHello := func(c *net.Ctx) net.Result { return c.Text(200, "hello") }
	httpHello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	b.Run("weft", func(b *testing.B) { benchDo(b, weftHello) })
	b.Run("Handler", func(b *testing.B) { benchDo(b, nethttp.Handler(httpHello)) })
	b.Run("ToHTTP", func(b *testing.B) {
		h, err := nethttp.ToHTTP(&net.Server{Loops: 1, Handler: weftHello})
		if err != nil {
			b.Fatal(err)
		}
		defer h.Close()
		req := httptest.NewRequest("GET", "/", nil)
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Body.String() != "hello" {
				b.Fatal(rec.Body.String())
			}
		}
	})
}

func benchDo(b *testing.B, h net.Handler) {
	srv, err := webtest.Start(&net.Server{Loops: 1, Handler: h})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	req := httptest.NewRequest("GET", "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := srv.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
