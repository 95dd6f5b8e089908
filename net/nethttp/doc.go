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
// so that it may keep them), RemoteAddr, the route's parameters (r.PathValue,
// r.Pattern is the weft route), and a Context that is cancelled
// when the client leaves, when the server gives up on the request
// (HandlerTimeout) or shuts down.
//
// ToHTTP goes the other way: it serves a weft handler (a router, say)
// inside a net/http server or an httptest test, so that a net/http program
// can move its routes to weft one by one.
//
// # Responses
//
// The ResponseWriter gathers the first 32 KiB: a response that fits goes
// out whole, with a Content-Length, when the handler returns. A longer one,
// or one the handler flushes (it implements http.Flusher, and FlushError
// for http.ResponseController), streams through weft's Ctx.Stream: chunked
// unless the handler set Content-Length, with back-pressure (a Write waits
// while the client has MaxOutboundBytes unread), and Write fails once the
// client has left. A panic after the head went out aborts the connection,
// so the client cannot take a cut body for a whole one. A HEAD answer keeps
// the handler's Content-Length. Interim responses (1xx) are not sent, and
// http.Hijacker is not offered: a WebSocket library written for net/http
// needs weft's own upgrade (Ctx.Upgrade) instead.
//
// # Concurrency
//
// Handler returns a net.Handler (loop-only, as every handler). The
// http.Handler it wraps runs on its own goroutine, never on a loop. ToHTTP's
// *HTTPHandler is safe for concurrent use, as net/http requires.
package nethttp
