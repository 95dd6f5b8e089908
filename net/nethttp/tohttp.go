package nethttp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	stdnet "net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/weftgo/weft/net"
)

// HTTPHandler serves a weft handler as an http.Handler. Make one with
// ToHTTP; Close it when done. Safe for concurrent use.
type HTTPHandler struct {
	mem *net.MemServer
}

// ToHTTP returns an http.Handler that serves requests with s's handler and
// configuration (limits, timeouts, error handler, logger; s.Loops event
// loops, one per CPU if 0), for a weft router inside a net/http server:
//
//	api, err := nethttp.ToHTTP(&net.Server{Handler: r.Serve})
//	if err != nil { ... }
//	defer api.Close()
//	mux.Handle("/api/", api) // the rest of mux stays net/http
//
// s is not started and its Addr is ignored. Each request reaches weft's
// loops over an in-memory connection, through weft's parser and response
// writer, so the weft handler sees what it would see behind its own
// server: the same limits, the client's address (from r.RemoteAddr), and a
// context cancelled when r's is. That costs a copy of the request and of
// the response (a few microseconds and allocations each), which is the
// price of a gradual migration, not of weft.
//
// It takes a *net.Server rather than a handler because the loops it starts
// need a configuration and a Close: they are goroutines.
func ToHTTP(s *net.Server) (*HTTPHandler, error) {
	mem, err := net.NewMemServer(s)
	if err != nil {
		return nil, err
	}
	return &HTTPHandler{mem: mem}, nil
}

// ServeHTTP serves r with the weft handler. Safe for concurrent use.
func (h *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, err := h.mem.Dial(remoteAddr(r.RemoteAddr))
	if err != nil {
		http.Error(w, "weft handler closed", http.StatusServiceUnavailable)
		return
	}
	defer conn.Close()
	// The client leaving (or a timeout of the net/http server) closes the
	// connection, which cancels the weft request's context.
	stop := context.AfterFunc(r.Context(), func() { conn.Close() })
	defer stop()
	// A write error is weft refusing the request (413: it answered and
	// closed) or the client's body failing: read weft's answer first.
	werr := writeRequest(conn, r)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, r)
	for err == nil && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
		resp.Body.Close() // 100 Continue
		resp, err = http.ReadResponse(br, r)
	}
	if err != nil {
		switch {
		case r.Context().Err() != nil: // the client left
		case werr != nil:
			http.Error(w, "reading the request body: "+werr.Error(), http.StatusBadRequest)
		default:
			http.Error(w, "weft handler: "+err.Error(), http.StatusBadGateway)
		}
		return
	}
	defer resp.Body.Close()
	dst := w.Header()
	for name, values := range resp.Header {
		if name == "Connection" || name == "Keep-Alive" {
			continue
		}
		dst[name] = values
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// Close closes the in-memory connections, cancels the requests in flight
// and stops the loops. Safe for concurrent use.
func (h *HTTPHandler) Close() { h.mem.Close() }

// writeRequest writes r in HTTP/1.1 wire form, with its target exactly as
// received and its body framed by Content-Length or chunked.
func writeRequest(conn stdnet.Conn, r *http.Request) error {
	var b strings.Builder
	target := r.RequestURI
	if target == "" {
		target = r.URL.RequestURI()
	}
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.Method, target, r.Host)
	for name, values := range r.Header {
		switch name {
		case "Host", "Connection", "Content-Length", "Transfer-Encoding", "Keep-Alive", "Te", "Upgrade", "Proxy-Connection":
			continue // hop-by-hop, or framing written below
		}
		for _, v := range values {
			b.WriteString(name)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteString("\r\n")
		}
	}
	b.WriteString("Connection: close\r\n")
	chunked := r.ContentLength < 0
	switch {
	case chunked:
		b.WriteString("Transfer-Encoding: chunked\r\n\r\n")
	case r.ContentLength > 0:
		b.WriteString("Content-Length: " + strconv.FormatInt(r.ContentLength, 10) + "\r\n\r\n")
	default:
		b.WriteString("\r\n")
	}
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return err
	}
	if r.Body == nil || r.ContentLength == 0 {
		return nil
	}
	if !chunked {
		_, err := io.CopyN(conn, r.Body, r.ContentLength)
		return err
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Body.Read(buf)
		if n > 0 {
			if _, werr := fmt.Fprintf(conn, "%x\r\n%s\r\n", n, buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			_, err = io.WriteString(conn, "0\r\n\r\n")
			return err
		}
		if err != nil {
			return err
		}
	}
}

// remoteAddr parses a request's RemoteAddr, or returns nil.
func remoteAddr(s string) stdnet.Addr {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return nil
	}
	return stdnet.TCPAddrFromAddrPort(ap)
}
