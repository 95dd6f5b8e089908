package webtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	stdnet "net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/weftgo/weft/net"
)

// Server serves a weft handler in memory, on event loops of its own. Make
// one with NewServer or Start; Close it when done. Safe for concurrent use.
type Server struct {
	// URL is the base URL of requests made with Client:
	// "http://weft.test". Any host works; this one reads well in tests.
	URL string

	mem *net.MemServer
	tr  *http.Transport
}

// NewServer serves h with the default configuration of a net.Server and
// two loops. It panics if it cannot start (as httptest.NewServer does).
func NewServer(h net.Handler) *Server {
	s, err := Start(&net.Server{Handler: h, Loops: 2})
	if err != nil {
		panic(fmt.Sprintf("webtest: %v", err))
	}
	return s
}

// Start serves s's handler with s's configuration (limits, timeouts, error
// handler, logger, Loops: one per CPU if 0) in memory. s is not started
// and its Addr is ignored.
func Start(s *net.Server) (*Server, error) {
	mem, err := net.NewMemServer(s)
	if err != nil {
		return nil, err
	}
	srv := &Server{URL: "http://weft.test", mem: mem}
	srv.tr = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (stdnet.Conn, error) {
			return mem.Dial(nil)
		},
		MaxIdleConnsPerHost: 16,
	}
	return srv, nil
}

// TB is the part of testing.TB that StartTB uses.
type TB interface {
	Helper()
	Fatal(args ...any)
	Cleanup(func())
}

// StartTB is Start for a test: it fails t if s cannot start, gives s two
// loops if it sets none, and closes the server when the test ends.
func StartTB(t TB, s *net.Server) *Server {
	t.Helper()
	if s.Loops == 0 {
		s.Loops = 2
	}
	srv, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// Do sends req on a new in-memory connection and returns the response, as
// http.Transport.RoundTrip would: no redirects followed, no cookies kept.
// req may be a client request (http.NewRequest) or a server one
// (httptest.NewRequest); its RemoteAddr, if set to "host:port", is the
// client address the handler sees. Cancelling req's context closes the
// connection, which cancels the handler's Ctx.Context. Close the response
// body: it closes the connection.
func (s *Server) Do(req *http.Request) (*http.Response, error) {
	conn, err := s.mem.Dial(remoteAddr(req.RemoteAddr))
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(req.Context(), func() { conn.Close() })
	fail := func(err error) (*http.Response, error) {
		stop()
		conn.Close()
		if cerr := req.Context().Err(); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	out := req
	if req.RequestURI != "" {
		// A server request (httptest.NewRequest): send its target
		// exactly as given (Write would send the URL re-encoded, and
		// "/plain%74ext" as "/plaintext").
		out = req.Clone(req.Context())
		out.URL = &url.URL{Opaque: req.RequestURI}
		if strings.HasPrefix(req.RequestURI, "//") {
			// An opaque URL starting with "//" is written as
			// "scheme:" + it; a path is written as it is, and
			// EscapedPath keeps the escapes as sent.
			path, query, _ := strings.Cut(req.RequestURI, "?")
			u, err := url.Parse("http://h" + path)
			if err != nil {
				return fail(err)
			}
			out.URL = &url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: query}
		}
		out.RequestURI = ""
	}
	if err := out.Write(conn); err != nil {
		return fail(err)
	}
	br := bufio.NewReader(conn)
	for {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return fail(err)
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			resp.Body = &closeBoth{ReadCloser: resp.Body, close: func() { stop(); conn.Close() }}
			return resp, nil
		}
		resp.Body.Close() // an interim response (100 Continue): read on
	}
}

// Client returns an HTTP client whose connections are in-memory
// connections to the server, whatever host a URL names. It keeps
// connections alive between requests as net/http does.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: s.tr}
}

// DialRaw opens a raw in-memory connection to the server, for requests
// written by hand.
func (s *Server) DialRaw() (*RawConn, error) {
	c, err := s.mem.Dial(nil)
	if err != nil {
		return nil, err
	}
	return NewRawConn(c), nil
}

// InFlight returns how many requests the server has read and not yet
// answered.
func (s *Server) InFlight() int { return s.mem.InFlight() }

// Close closes the client's idle connections and every server connection,
// cancels the requests in flight and stops the loops.
func (s *Server) Close() {
	s.tr.CloseIdleConnections()
	s.mem.Close()
}

// closeBoth is a response body whose Close also runs close.
type closeBoth struct {
	io.ReadCloser
	close func()
}

// Close closes the connection first: net/http's Close of a body read with
// ReadResponse would otherwise read it to its end, forever for an endless
// stream.
func (c *closeBoth) Close() error {
	c.close()
	_ = c.ReadCloser.Close()
	return nil
}

// remoteAddr parses a request's RemoteAddr, or returns nil.
func remoteAddr(s string) stdnet.Addr {
	host, port, err := stdnet.SplitHostPort(s)
	if err != nil {
		return nil
	}
	ip := stdnet.ParseIP(host)
	p, err := strconv.Atoi(port)
	if ip == nil || err != nil {
		return nil
	}
	return &stdnet.TCPAddr{IP: ip, Port: p}
}

// TCPServer is a net.Server listening on 127.0.0.1 with a free port.
type TCPServer struct {
	// Server is the running server.
	Server *net.Server
	// Addr is its "127.0.0.1:port", URL its "http://127.0.0.1:port".
	Addr, URL string

	tr *http.Transport
}

// StartTCP starts s on 127.0.0.1 with a free port (s.Addr, if set, is
// replaced). Close it when done.
func StartTCP(s *net.Server) (*TCPServer, error) {
	s.Addr = "127.0.0.1:0"
	if err := s.Start(); err != nil {
		return nil, err
	}
	addr := s.ListenAddr().String()
	return &TCPServer{Server: s, Addr: addr, URL: "http://" + addr,
		tr: &http.Transport{MaxIdleConnsPerHost: 16}}, nil
}

// Client returns an HTTP client with connections of its own, closed by
// Close.
func (t *TCPServer) Client() *http.Client {
	return &http.Client{Transport: t.tr, Timeout: time.Minute}
}

// DialRaw opens a TCP connection to the server, for requests written by
// hand.
func (t *TCPServer) DialRaw() (*RawConn, error) { return DialTCP(t.Addr) }

// DialTCP opens a TCP connection to addr ("host:port"), for requests
// written by hand.
func DialTCP(addr string) (*RawConn, error) {
	c, err := stdnet.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return NewRawConn(c), nil
}

// Close closes the client's idle connections and shuts the server down
// gracefully, giving it 5 seconds.
func (t *TCPServer) Close() error {
	t.tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return t.Server.Shutdown(ctx)
}

// RawConn is a client connection that sends bytes as they are (so that no
// client cleans them) and reads responses with net/http's parser. Confine
// to one goroutine.
type RawConn struct {
	stdnet.Conn
	// R reads the responses; use it to read anything RawConn's methods
	// do not.
	R *bufio.Reader
}

// NewRawConn wraps c.
func NewRawConn(c stdnet.Conn) *RawConn { return &RawConn{Conn: c, R: bufio.NewReader(c)} }

// Send writes s.
func (c *RawConn) Send(s string) error {
	_, err := io.WriteString(c.Conn, s)
	return err
}

// ReadResponse reads one response to a request of method (whose response
// has no body if it is HEAD), with its whole body.
func (c *RawConn) ReadResponse(method string) (*http.Response, []byte, error) {
	resp, err := http.ReadResponse(c.R, &http.Request{Method: method})
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// RoundTrip sends req, a raw request of method, and reads its response.
func (c *RawConn) RoundTrip(method, req string) (*http.Response, []byte, error) {
	if err := c.Send(req); err != nil {
		return nil, nil, err
	}
	return c.ReadResponse(method)
}
