// Package webtest runs weft handlers for tests, as net/http/httptest does
// for net/http handlers: a test sends an *http.Request and gets an
// *http.Response, while the handler runs as it would in production.
//
//	srv := webtest.NewServer(r.Serve) // r is a router.Router, or any net.Handler
//	defer srv.Close()
//	resp, err := srv.Do(httptest.NewRequest("GET", "/users/42", nil))
//
// NewServer serves in memory: no socket, no port, but real event loops (a
// goroutine each), so runtime.Blocking, timers and offload jobs settle
// their futures off the loop and their continuations come back to it, as
// in production; the request goes through weft's parser, limits and
// response writer. Do sends one request on its own connection; Client
// returns an *http.Client whose connections are in-memory (keep-alive,
// redirects and cookies as net/http does them); DialRaw opens a raw
// connection for protocol edges (pipelining, malformed requests), read
// with RawConn.
//
// StartTCP starts a net.Server on 127.0.0.1 with a free port, for what only
// a socket shows (timeouts, a client that stops reading, MaxConns).
//
// The name avoids net/http/httptest's, which tests often import beside it
// (httptest.NewRequest builds requests for Do).
//
// # Concurrency
//
// Server, TCPServer and their methods are safe for concurrent use. A
// RawConn is confined to one goroutine.
package webtest
