package net

import (
	"context"
	"errors"
	"fmt"
	stdnet "net"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
	"go.uber.org/zap"
)

// Server serves HTTP/1.1 from gnet event loops. Its exported fields are its
// configuration: set them before Start or ListenAndServe and do not change
// them afterwards. The zero value of every field but Handler has a documented
// default; a bad value makes Start fail with an error that names the field.
//
// Start, ListenAndServe, Shutdown, Wait and ListenAddr are safe for
// concurrent use.
type Server struct {
	// Addr is the TCP address to listen on, "host:port". Default ":8080".
	// Port 0 picks a free port; ListenAddr tells which.
	Addr string

	// Handler answers every request. Required.
	Handler Handler

	// ErrorHandler turns a failed Result into a response. It runs on the
	// loop, after the status, the body and the headers that describe the
	// body (Content-Type, Content-Encoding, ETag, ...) have been reset;
	// other headers set before the failure (CORS, X-Request-ID,
	// Set-Cookie) stay, as with Express. Default: DefaultErrorHandler.
	ErrorHandler func(c *Ctx, err error)

	// Logger receives the server's own events (panics, handler errors
	// answered with a 5xx, engine errors), never one line per request.
	// Default: zap.NewNop(). The server logs to Logger.Named("weft").
	Logger *zap.Logger

	// BodyLimit, if set, is called once a request's head has arrived and
	// before any of its body is buffered, with c holding the head (Body is
	// empty). It returns the most body bytes to accept for this request; 0
	// or more than MaxBodyBytes means MaxBodyBytes. A larger Content-Length
	// is answered 413 at once; a chunked body is refused with 413 as soon
	// as it passes the limit. router.Router.BodyLimit implements it from
	// the limits set with Group.MaxBody. It runs on the loop.
	BodyLimit func(c *Ctx) int64

	// StreamBody, if set, is called once a request's head has arrived,
	// for a request with a body, with c holding the head (like
	// BodyLimit). A positive result streams the body with that limit
	// (MaxBodyBytes does not apply): the handler runs at once, and reads
	// the body with Ctx.BodyChunk or Ctx.BodyReader, as it arrives; 0
	// reads it whole, as usual. A Content-Length over the limit is
	// answered 413 at once; a chunked body over it fails the body's reads
	// with a 413 error. router.Router.StreamBody implements it from
	// Group.StreamBody. It runs on the loop.
	StreamBody func(c *Ctx) int64

	// OnShutdown lists functions Shutdown calls, with its context, once
	// the requests in flight are answered and before the loops stop:
	// close offload pools here, so that their last continuations still
	// run on live loops. Their errors are joined into Shutdown's.
	OnShutdown []func(ctx context.Context) error

	// Loops is the number of event loops. Default: one per CPU
	// (runtime.NumCPU()).
	Loops int

	// MaxRequestLineBytes limits the request line (method, target,
	// version); longer is answered 414. Default 8 KiB.
	MaxRequestLineBytes int
	// MaxHeaderBytes limits the request head (request line and header
	// fields); larger is answered 431. Default 16 KiB.
	MaxHeaderBytes int
	// MaxHeaderCount limits the number of header fields (and of trailer
	// fields); more is answered 431. Default 100.
	MaxHeaderCount int
	// MaxBodyBytes limits a request body; larger is answered 413 before it
	// is buffered past the limit. Default 4 MiB.
	MaxBodyBytes int64
	// MaxPipelined limits how many requests of one connection are in
	// flight (read, not yet answered) at once; the rest wait, unread, in
	// the connection's buffer. Default 16.
	MaxPipelined int
	// MaxInboundBytes limits the bytes a connection may have received and
	// not yet parsed: requests waiting for their turn behind MaxPipelined,
	// a request still arriving. gnet cannot stop reading a socket, so a
	// connection over it is closed. Default: MaxHeaderBytes +
	// MaxBodyBytes + 64 KiB, room for the largest request allowed.
	MaxInboundBytes int
	// MaxOutboundBytes limits the response bytes queued for a client that
	// is not reading them: past it the server reads no more of that
	// connection's requests until the queue drains to half, and closes it
	// after WriteTimeout without progress. Default 4 MiB.
	MaxOutboundBytes int
	// StreamHighWaterBytes is a streamed response's high-water mark (Stream,
	// SSE, SendReader, SendFile): a Stream.Write that leaves this many
	// bytes or more in flight for the client (in gnet's buffer and queued
	// by weft) returns a future that settles once they have drained to
	// half. A slow reader thus holds about this much of the server's
	// memory per stream, beyond what the kernel's socket buffer holds.
	// Default 256 KiB, or MaxOutboundBytes if that is less; more than
	// MaxOutboundBytes is an error.
	StreamHighWaterBytes int
	// MaxConns limits open connections; a connection beyond it is
	// answered 503 (Retry-After: 1) and closed as soon as it is accepted.
	// Default: 90% of the process's open-files limit (RLIMIT_NOFILE) when
	// Start runs. Running out of descriptors anyway (EMFILE) does not stop
	// the server: it backs off accepting and keeps serving.
	MaxConns int

	// ReadHeaderTimeout bounds the time from a request's first byte to
	// the end of its head (slowloris). Default 10 s; negative: none.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the time from a request's first byte to the end
	// of its body. Default 60 s; negative: none.
	ReadTimeout time.Duration
	// IdleTimeout closes a keep-alive connection with no request in
	// flight after this long without a byte. Default 120 s; negative:
	// none.
	IdleTimeout time.Duration
	// WriteTimeout closes a connection whose output has made no progress
	// for this long: a client that stops reading. Progress is any byte the
	// client takes (acknowledges), so a slow but steady reader of a long
	// stream is never cut. Default 30 s; negative: none.
	WriteTimeout time.Duration
	// HandlerTimeout answers 503 for a request whose Result has not
	// settled after this long and cancels its context; its continuations
	// may still run, but can no longer change the response. Default 60 s;
	// negative: none.
	HandlerTimeout time.Duration

	// tick replaces the sweep's period, loopsAddr the private socket
	// (tests).
	tick      time.Duration
	loopsAddr string

	// BlockedLoopThreshold is how long a loop may run one callback (a
	// handler, a continuation, the parsing and writing of a connection's
	// requests) before the server logs, once per episode and while it
	// lasts, a warning naming the loop, what runs (the route and request
	// id of a request, or "continuation", "timer", "connection"), how
	// long so far, and the loop goroutine's stack; and a second line with
	// the total when the loop returns. Nothing is reported in the first
	// second after Start (a callback that began then is reported if it
	// still runs a threshold after that second), nor while a debugger is
	// attached. See
	// docs/observability.md. Default 100 ms; negative: never report (the
	// loops' utilization is still sampled).
	BlockedLoopThreshold time.Duration

	// blockedQuiet replaces the start-up quiet time in tests.
	blockedQuiet time.Duration

	mu        sync.Mutex
	cfg       config
	eng       gnet.Engine
	started   bool
	stopped   chan struct{} // closed when the engine has stopped
	runErr    error
	ln        stdnet.Listener
	accepting chan struct{} // closed when the accept loop has returned
	startDone chan struct{} // closed when Start returns
	state     atomic.Pointer[serverState]
	shutdown  atomic.Bool
}

// config is a Server's configuration with every default filled in.
type config struct {
	addr              string
	handler           Handler
	errorHandler      func(*Ctx, error)
	bodyLimit         func(*Ctx) int64
	streamBody        func(*Ctx) int64
	log               *zap.Logger
	loops             int
	maxRequestLine    int
	maxHeaderBytes    int
	maxHeaderCount    int
	maxBodyBytes      int64
	maxPipelined      int
	maxConns          int
	maxInbound        int
	maxOutbound       int
	streamMark        int // StreamHighWaterBytes
	readHeaderTimeout time.Duration
	readTimeout       time.Duration
	idleTimeout       time.Duration
	writeTimeout      time.Duration
	handlerTimeout    time.Duration
	tick              time.Duration // the sweep's period
	blockedThreshold  time.Duration // 0: off
	blockedQuiet      time.Duration
}

// The defaults, in one place.
const (
	defaultAddr              = ":8080"
	defaultMaxRequestLine    = 8 << 10
	defaultMaxHeaderBytes    = 16 << 10
	defaultMaxHeaderCount    = 100
	defaultMaxBodyBytes      = 4 << 20
	defaultMaxPipelined      = 16
	defaultMaxOutbound       = 4 << 20
	defaultStreamMark        = 256 << 10
	defaultReadHeaderTimeout = 10 * time.Second
	defaultReadTimeout       = 60 * time.Second
	defaultIdleTimeout       = 120 * time.Second
	defaultWriteTimeout      = 30 * time.Second
	defaultHandlerTimeout    = 60 * time.Second
)

// configure validates s's fields and fills in the defaults.
func (s *Server) configure() (config, error) {
	c := config{
		addr:              s.Addr,
		handler:           s.Handler,
		errorHandler:      s.ErrorHandler,
		bodyLimit:         s.BodyLimit,
		streamBody:        s.StreamBody,
		log:               s.Logger,
		loops:             s.Loops,
		maxRequestLine:    s.MaxRequestLineBytes,
		maxHeaderBytes:    s.MaxHeaderBytes,
		maxHeaderCount:    s.MaxHeaderCount,
		maxBodyBytes:      s.MaxBodyBytes,
		maxPipelined:      s.MaxPipelined,
		maxConns:          s.MaxConns,
		maxInbound:        s.MaxInboundBytes,
		maxOutbound:       s.MaxOutboundBytes,
		streamMark:        s.StreamHighWaterBytes,
		readHeaderTimeout: s.ReadHeaderTimeout,
		readTimeout:       s.ReadTimeout,
		idleTimeout:       s.IdleTimeout,
		writeTimeout:      s.WriteTimeout,
		handlerTimeout:    s.HandlerTimeout,
		tick:              s.tick,
		blockedThreshold:  s.BlockedLoopThreshold,
		blockedQuiet:      s.blockedQuiet,
	}
	if c.tick <= 0 {
		c.tick = tick
	}
	if c.handler == nil {
		return c, errors.New("weft/net: Server.Handler is nil")
	}
	if c.addr == "" {
		c.addr = defaultAddr
	}
	if _, _, err := stdnet.SplitHostPort(c.addr); err != nil {
		return c, fmt.Errorf("weft/net: Server.Addr %q: %w", c.addr, err)
	}
	if c.blockedQuiet == 0 {
		c.blockedQuiet = defaultStartupQuiet
	}
	if c.errorHandler == nil {
		c.errorHandler = DefaultErrorHandler
	}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	c.log = c.log.Named("weft")
	ints := []struct {
		name string
		v    *int
		def  int
	}{
		{"Loops", &c.loops, goruntime.NumCPU()},
		{"MaxRequestLineBytes", &c.maxRequestLine, defaultMaxRequestLine},
		{"MaxHeaderBytes", &c.maxHeaderBytes, defaultMaxHeaderBytes},
		{"MaxHeaderCount", &c.maxHeaderCount, defaultMaxHeaderCount},
		{"MaxPipelined", &c.maxPipelined, defaultMaxPipelined},
		{"MaxConns", &c.maxConns, defaultMaxConns()},
		{"MaxOutboundBytes", &c.maxOutbound, defaultMaxOutbound},
	}
	for _, f := range ints {
		switch {
		case *f.v < 0:
			return c, fmt.Errorf("weft/net: Server.%s is %d; want 0 (the default, %d) or more", f.name, *f.v, f.def)
		case *f.v == 0:
			*f.v = f.def
		}
	}
	switch {
	case c.streamMark < 0:
		return c, fmt.Errorf("weft/net: Server.StreamHighWaterBytes is %d; want 0 (the default, %d or MaxOutboundBytes if less) or more", c.streamMark, defaultStreamMark)
	case c.streamMark == 0:
		c.streamMark = min(defaultStreamMark, c.maxOutbound)
	case c.streamMark > c.maxOutbound:
		return c, fmt.Errorf("weft/net: Server.StreamHighWaterBytes (%d) exceeds Server.MaxOutboundBytes (%d)", c.streamMark, c.maxOutbound)
	}
	if c.loops > 256 {
		return c, fmt.Errorf("weft/net: Server.Loops is %d; gnet runs at most 256 loops", c.loops)
	}
	if c.maxRequestLine > c.maxHeaderBytes {
		return c, fmt.Errorf("weft/net: Server.MaxRequestLineBytes (%d) exceeds Server.MaxHeaderBytes (%d)", c.maxRequestLine, c.maxHeaderBytes)
	}
	switch {
	case c.maxBodyBytes < 0:
		return c, fmt.Errorf("weft/net: Server.MaxBodyBytes is %d; want 0 (the default, %d) or more", c.maxBodyBytes, defaultMaxBodyBytes)
	case c.maxBodyBytes == 0:
		c.maxBodyBytes = defaultMaxBodyBytes
	}
	switch {
	case c.maxInbound < 0:
		return c, fmt.Errorf("weft/net: Server.MaxInboundBytes is %d; want 0 (the default: MaxHeaderBytes + MaxBodyBytes + 64 KiB) or more", c.maxInbound)
	case c.maxInbound == 0:
		c.maxInbound = c.maxHeaderBytes + int(c.maxBodyBytes) + 64<<10
	}
	for _, t := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&c.readHeaderTimeout, defaultReadHeaderTimeout},
		{&c.readTimeout, defaultReadTimeout},
		{&c.idleTimeout, defaultIdleTimeout},
		{&c.writeTimeout, defaultWriteTimeout},
		{&c.handlerTimeout, defaultHandlerTimeout},
		{&c.blockedThreshold, defaultBlockedThreshold},
	} {
		switch {
		case *t.v == 0:
			*t.v = t.def
		case *t.v < 0:
			*t.v = 0 // none
		}
	}
	return c, nil
}

// defaultMaxConns is 90% of the open-files limit, so that accepting stops
// short of EMFILE with room for the process's other files.
func defaultMaxConns() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur > 1<<24 {
		return 1 << 20
	}
	return max(int(lim.Cur)*9/10, 16)
}

// Start starts serving in the background and returns once the server is
// listening, or with the reason it cannot. Use Shutdown to stop it and Wait
// to learn when it has stopped.
func (s *Server) Start() error {
	cfg, err := s.configure()
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("weft/net: Server already started")
	}
	s.started = true
	done := make(chan struct{})
	s.startDone = done
	s.mu.Unlock()
	defer close(done)

	ln, err := stdnet.Listen("tcp", cfg.addr)
	if err == nil {
		loopsAddr, cleanup, perr := s.loopsSocket()
		if err = perr; err != nil {
			ln.Close()
		} else if err = s.serve(cfg, ln, loopsAddr, cleanup); err == nil {
			return nil
		} else {
			s.unstart()
			return err
		}
	}
	s.unstart()
	return fmt.Errorf("weft/net: listen on %s: %w", cfg.addr, err)
}

// unstart forgets a Start that failed: nothing runs, and Start may be
// called again (issue 8 §5.3).
func (s *Server) unstart() {
	s.mu.Lock()
	s.started = false
	s.ln, s.accepting = nil, nil
	s.state.Store(nil)
	s.shutdown.Store(false)
	s.mu.Unlock()
}

// loopsSocket returns the address of gnet's private listener.
func (s *Server) loopsSocket() (string, func(), error) {
	if s.loopsAddr != "" {
		return s.loopsAddr, func() {}, nil
	}
	return privateSocket()
}

// serve starts the loops on gnet and the accept loop on ln.
func (s *Server) serve(cfg config, ln stdnet.Listener, loopsAddr string, cleanup func()) error {
	s.mu.Lock()
	s.cfg = cfg
	s.stopped = make(chan struct{})
	st := newServerState(&s.cfg)
	if a, ok := strings.CutPrefix(loopsAddr, "tcp://"); ok {
		st.private = a
	}
	if w, err := newDrainWatcher(st); err == nil {
		st.drainW = w
	} else {
		cfg.log.Warn("no drain watcher; loops poll every millisecond for output to drain", zap.Error(err))
	}
	s.state.Store(st)
	stopped := s.stopped
	s.mu.Unlock()
	booted := make(chan error, 1)
	h := &engine{srv: s, st: st, booted: booted, probed: make(chan struct{}, 1)}
	opts := []gnet.Option{
		gnet.WithNumEventLoop(cfg.loops),
		gnet.WithLoadBalancing(gnet.RoundRobin), // only Start's probes use gnet's acceptor
		gnet.WithLogger(cfg.log.Named("gnet").Sugar()),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
	}
	go func() {
		err := gnet.Run(h, loopsAddr, opts...)
		cleanup()
		st.stopTicker()
		if err == nil && !s.shutdown.Load() {
			err = errors.New("weft/net: the gnet engine stopped without Shutdown (see the log)")
			cfg.log.Error("engine stopped unexpectedly")
		}
		s.mu.Lock()
		s.runErr = err
		s.mu.Unlock()
		select {
		case booted <- err: // failed before OnBoot
		default:
		}
		close(stopped)
	}()
	if err := <-booted; err != nil {
		ln.Close()
		<-stopped
		return fmt.Errorf("weft/net: starting the loops: %w", err)
	}
	if err := probeLoops(loopsAddr, cfg.loops, h.probed, stopped); err != nil {
		ln.Close()
		s.shutdown.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.mu.Lock()
		eng := s.eng
		s.mu.Unlock()
		_ = eng.Stop(ctx)
		<-stopped
		return fmt.Errorf("weft/net: starting the loops: %w", err)
	}
	st.forEachLoop(func(l *loop) {
		if err := l.enrollWaker(); err != nil {
			// The loop still works; its turn limit yields through the
			// task queue, which does not let gnet poll in between.
			cfg.log.Warn("no waker for a loop; a client pipelining many requests may delay others", zap.Error(err))
		}
	})
	accepting := make(chan struct{})
	s.mu.Lock()
	s.ln, s.accepting = ln, accepting
	s.mu.Unlock()
	go st.acceptLoop(ln, accepting)
	return nil
}

// ListenAndServe starts the server and blocks until it stops. After
// Shutdown it returns ErrServerClosed.
func (s *Server) ListenAndServe() error {
	if err := s.Start(); err != nil {
		return err
	}
	return s.Wait()
}

// Wait blocks until the server has stopped. It returns ErrServerClosed after
// Shutdown, or the error that stopped it.
func (s *Server) Wait() error {
	s.mu.Lock()
	stopped := s.stopped
	s.mu.Unlock()
	if stopped == nil {
		return errors.New("weft/net: Server not started")
	}
	<-stopped
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runErr != nil {
		return s.runErr
	}
	return ErrServerClosed
}

// InFlight returns how many requests have been read and not yet answered,
// across every loop. Safe for concurrent use and lock-free: one atomic load
// per loop, cheap enough for load shedding on every request.
func (s *Server) InFlight() int {
	st := s.state.Load()
	if st == nil {
		return 0
	}
	return int(st.inflight())
}

// ListenAddr returns the address the server listens on, once Start has
// returned; nil before.
func (s *Server) ListenAddr() stdnet.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Shutdown stops the server gracefully: it stops accepting connections,
// answers the requests in flight and those that arrive on open connections
// (each with Connection: close, which ends its connection), closes idle
// connections once no request has arrived for 100 ms, then stops the
// loops. If ctx ends first, it cancels the
// contexts of the requests still in flight, closes every connection, and
// returns ctx's error. Stopping gnet itself takes up to half a second more.
//
// Call it from outside the loops (never from a handler).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	starting := s.startDone
	s.mu.Unlock()
	if starting == nil {
		return nil // never started
	}
	<-starting // a Start in progress finishes first (it does not block)
	s.mu.Lock()
	if !s.started {
		s.mu.Unlock()
		return nil // Start failed: nothing runs
	}
	st, stopped, ln, accepting := s.state.Load(), s.stopped, s.ln, s.accepting
	s.mu.Unlock()
	if st == nil || ln == nil {
		return nil // Start failed: nothing runs
	}
	if !s.shutdown.CompareAndSwap(false, true) {
		<-stopped
		return nil
	}
	st.beginDrain()
	// Server-Sent Events streams never end by themselves; their clients
	// reconnect by design: end them now (their contexts are cancelled).
	st.forEachLoop(func(l *loop) { _ = l.Post((*endEventStreams)(l)) })
	ln.Close() // new connections are refused by the kernel from now on
	var err error
	select {
	case <-accepting:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil {
		// Answer what is in flight and what arrives, then let every
		// connection finish sending before gnet's close could cut it.
		if err = st.waitIdle(ctx); err == nil {
			err = st.waitConns(ctx)
		}
	}
	for _, f := range s.OnShutdown {
		if ferr := f(ctx); ferr != nil && (err == nil || !errors.Is(ferr, ctx.Err())) {
			err = errors.Join(err, ferr)
		}
	}
	if err != nil {
		st.cancelAll()
		st.forEachLoop(func(l *loop) { _ = l.Post((*closeAll)(l)) })
		// Give the loops a moment to close what they hold before gnet
		// drops its tasks.
		closeCtx, cancelClose := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_ = st.waitConns(closeCtx)
		cancelClose()
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.mu.Lock()
	eng := s.eng
	s.mu.Unlock()
	if serr := eng.Stop(stopCtx); serr != nil && err == nil {
		err = fmt.Errorf("weft/net: stopping gnet: %w", serr)
	}
	<-stopped
	return err
}
