// Package nethttp joins weft and net/http both ways, for handlers written
// for net/http (pprof, Prometheus's promhttp, http.FileServer, a library's
// webhook handler) and for services moving to weft a route at a time.
//
// Handler mounts a net/http handler on a weft route:
//
//	mux := http.NewServeMux()
//	mux.HandleFunc("/debug/pprof/", pprof.Index)
//	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
//	r.GET("/debug/pprof/*rest", nethttp.Handler(mux))
//
// The handler runs off the loop, on a goroutine of its own (as
// runtime.Blocking runs a function), so that it may block as net/http
// handlers do; the loop serves other requests meanwhile. It gets a real
// *http.Request: the method, target, headers and body of the request (copied,
// so that it may keep them), RemoteAddr, and a Context that is cancelled
// when the client leaves, when the server gives up on the request
// (HandlerTimeout) or shuts down.
//
// ToHTTP goes the other way: it serves a weft handler (a router, say)
// inside a net/http server or an httptest test, so that a net/http program
// can move its routes to weft one by one.
//
// # Limits until streamed responses land
//
// The ResponseWriter buffers the response and weft sends it when the
// handler returns; a response over MaxBuffered bytes fails with 500. It
// does not implement http.Flusher: a handler that must stream (server-sent
// events) finds that out from the type assertion, as with any writer that
// cannot flush, instead of buffering forever. Interim responses (1xx) are
// dropped, and a HEAD answer's Content-Length is that of the body the
// handler wrote (none, for http.FileServer). http.Hijacker is not offered.
// Once weft's net package streams responses (Ctx.Stream), the writer will
// write through it and implement http.Flusher, with the same API.
//
// # Concurrency
//
// Handler returns a net.Handler (loop-only, as every handler). The
// http.Handler it wraps runs on its own goroutine, never on a loop. ToHTTP's
// *HTTPHandler is safe for concurrent use, as net/http requires.
package nethttp
