package middleware

import (
	stdnet "net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// LoggerConfig configures Logger. The zero value is ready to use, and logs
// nothing.
type LoggerConfig struct {
	// Logger receives one line per request. Default zap.NewNop().
	//
	// Give it a logger whose core does not sample: zap's production
	// config (zap.NewProduction, zap.NewProductionConfig) samples, keeping
	// the first 100 lines with the same message each second and then one
	// in 100, so it would silently drop most access lines under load.
	// Build the core yourself (zapcore.NewCore) or set Sampling to nil in
	// the config. A zapcore.BufferedWriteSyncer keeps the write off the
	// request path most of the time; stop it at shutdown.
	Logger *zap.Logger

	// Message is the message of every line. Default "request".
	Message string

	// Level is the level of every line. Default zapcore.InfoLevel (the
	// zero value).
	Level zapcore.Level

	// ServerTiming adds a Server-Timing response header with the split of
	// the request's time (see Logger), for browsers' developer tools:
	//
	//	Server-Timing: loop;dur=0.120, offload-queue;dur=1.300, offload;dur=5.000
	//
	// It costs one allocation per request (the header value), and shows
	// clients where the server spends its time: enable it for trusted
	// clients, or in development. Default false.
	ServerTiming bool

	// Skip, if set, is called on the loop before each request; requests
	// it returns true for are not logged (health checks). It must be safe
	// for concurrent use by every loop.
	Skip func(c *net.Ctx) bool
}

// Logger returns middleware that writes one access log line per request
// through a *zap.Logger once the handler's Result has settled, with these
// fields:
//
//	method, path     the request's, as sent
//	route            the pattern the router matched, if any
//	status           the response status; for a failed Result, the status
//	                 the server answers it with (net.ResultStatus: the
//	                 503 HandlerTimeout already sent, else net.StatusOf)
//	bytes            the response body's length (net.Ctx.ResponseBodyLen:
//	                 for a streamed response, the body bytes sent, after
//	                 Compress's coding); absent for a failed Result, whose
//	                 body the server's ErrorHandler writes after every
//	                 middleware has run, unless the stream was cut short
//	                 (aborted): then what was sent before the cut
//	error            the error of a failed Result (or of a stream
//	                 aborted before its head, which the server answers
//	                 as a failure: net.Ctx.StreamAbortError)
//	aborted          true for a streamed response cut short (Stream.Abort,
//	                 a failed SendReader): the client got less than a
//	                 whole body (net.Ctx.Aborted)
//	latency          from Logger calling the handler to its Result
//	                 settling: reading the request and writing the
//	                 response are not in it
//	loop             latency minus the off-loop time below (never
//	                 negative): the handler and its continuations running
//	                 on the loop, their waits in the loop's queue (loop
//	                 lag), and waits on anything that is not metered
//	                 (timers, promises resolved by your own goroutines)
//	offload_queue    time the request's offload jobs waited for a worker
//	offload          time they ran
//	blocking         time its runtime.Blocking calls ran
//	pending          only when the Result settled before some of the
//	                 request's off-loop work finished (Timeout answered
//	                 first): how long that work has been queued or
//	                 running, since the oldest of it started
//	request_id       the id RequestID gave the request, if it ran
//	remote           the client's address, ip:port
//
// Off-loop times come from Ctx.Timings, which adds jobs up: jobs that ran
// side by side can sum to more than the latency, and loop is then 0. A job
// still queued or running when the Result settles (given up on by Timeout)
// is counted in pending, not in loop: a request answered by Timeout while
// its offload job waited for a worker shows the wait there, never as loop
// time.
//
// With ServerTiming, the same split goes into a Server-Timing header,
// set in the continuation of the handler's Result, before the response is
// final. The offload and blocking entries appear only for requests that
// used them. A failed Result gets no Server-Timing header (the server's
// ErrorHandler answers it; the headers set before, such as X-Request-ID,
// stay).
//
// Requests the server answers before any handler runs (malformed, over a
// size limit) never reach Logger and are not logged. A panic in the
// handler is logged as a failed Result with status 500, then handed on.
//
// A request costs no allocation (without ServerTiming), whether its Result
// is ready when the handler returns or settles later (a pooled listener
// follows it): the level is checked first, and the fields go into a reused
// slice; a line that is written copies the request's strings it holds,
// one allocation. They borrow the request's bytes for the
// duration of the log call only: a zapcore.Core that keeps fields after
// Write returns (zaptest/observer does) must copy the strings it keeps.
// The middleware runs on the loop and is safe for concurrent use by every
// loop.
func Logger(cfg LoggerConfig) net.Middleware {
	st := &logger{log: cfg.Logger, msg: cfg.Message, level: cfg.Level, timing: cfg.ServerTiming, skip: cfg.Skip}
	if st.log == nil {
		st.log = zap.NewNop()
	}
	if st.msg == "" {
		st.msg = "request"
	}
	st.bufs.New = func() any { return &logBuf{fields: make([]zap.Field, 0, 16)} }
	st.watches.New = func() any { return &logWatch{st: st} }
	return func(next net.Handler) net.Handler {
		return func(c *net.Ctx) (res net.Result) {
			if st.skip != nil && st.skip(c) {
				return next(c)
			}
			start := time.Now()
			defer func() {
				if r := recover(); r != nil {
					pe := runtime.NewPanicError(r)
					st.done(c, start, pe)
					res = net.Fail(pe)
				}
			}()
			res = next(c)
			if res.Ready() {
				_, err := res.Get()
				st.done(c, start, err)
				return res
			}
			return st.followOnLoop(c, start, res)
		}
	}
}

// followOnLoop logs res when it settles, through a pooled listener attached
// to res itself (no new future, no allocation), which holds c until it has
// run. It returns res, bound to c's loop.
func (st *logger) followOnLoop(c *net.Ctx, start time.Time, res net.Result) net.Result {
	res = runtime.Bind(res, c.Loop()) // a Result made on another loop settles on this one
	w := st.watches.Get().(*logWatch)
	w.c, w.start = c, start
	// The Ctx must outlive the listener: a Result settling after a
	// Timeout outside this middleware answered comes after the server
	// has let go of the Ctx.
	w.hold, _ = c.Tracker().(runtime.Holder)
	if w.hold != nil {
		w.hold.Hold()
	}
	res.Listen(w)
	return res
}

// logWatch follows a pending Result for Logger: a runtime.Listener from
// the logger's pool, put back once it has run.
type logWatch struct {
	st    *logger
	c     *net.Ctx
	start time.Time
	hold  runtime.Holder
}

// Settled runs on the Ctx's loop.
func (w *logWatch) Settled(_ struct{}, err error) {
	st, c, start, hold := w.st, w.c, w.start, w.hold
	w.c, w.start, w.hold = nil, time.Time{}, nil
	st.watches.Put(w)
	if hold != nil {
		// Even if the log call panics (a broken core): the panic goes on
		// to the loop, which logs it, but c must not stay held.
		defer hold.Unhold() // may recycle c, and serve its connection's next request
	}
	st.done(c, start, err)
}

type logger struct {
	log     *zap.Logger
	msg     string
	level   zapcore.Level
	timing  bool
	skip    func(*net.Ctx) bool
	bufs    sync.Pool // *logBuf
	watches sync.Pool // *logWatch
}

// logBuf is what one log call borrows: the fields, and the bytes of the
// remote address.
type logBuf struct {
	fields []zap.Field
	remote []byte
}

// timeSplit is a request's time, split between the loop and off-loop work.
type timeSplit struct {
	total, loop time.Duration
	net.Timings
}

func splitTime(c *net.Ctx, start time.Time) timeSplit {
	// Timings first: the work still queued or running is measured up to
	// its own clock read, before the total's, so the parts never add up
	// to more than the whole.
	t := c.Timings()
	s := timeSplit{total: time.Since(start), Timings: t}
	s.loop = max(s.total-s.OffloadQueued-s.OffloadRan-s.BlockingRan-s.Pending, 0)
	return s
}

// done records a request whose Result has settled with err, before the
// response is final.
func (st *logger) done(c *net.Ctx, start time.Time, err error) {
	if err == nil {
		// A stream aborted before its head: the server answers the
		// abort as a failure, whatever the Result.
		err = c.StreamAbortError()
	}
	s := splitTime(c, start)
	if st.timing && err == nil {
		c.AddHeader("Server-Timing", s.serverTiming())
	}
	ce := st.log.Check(st.level, st.msg)
	if ce == nil {
		return
	}
	b := st.bufs.Get().(*logBuf)
	// The request's strings are views of its bytes, and b.remote is
	// reused: a core that keeps fields (zaptest's observer, an async
	// core) would later read another request's. So they are copied, all
	// in one allocation, for a line that is written.
	b.remote = appendRemote(b.remote[:0], c.RemoteAddr())
	id := RequestIDFrom(c)
	method, path, remote, id := cloneStrings(c.Method(), c.Path(), unsafe.String(unsafe.SliceData(b.remote), len(b.remote)), id)
	fs := append(b.fields[:0],
		zap.String("method", method),
		zap.String("path", path),
	)
	if r := c.Route(); r != "" {
		fs = append(fs, zap.String("route", r))
	}
	aborted := c.Aborted()
	if err == nil {
		fs = append(fs, zap.Int("status", c.StatusCode()), zap.Int64("bytes", c.ResponseBodyLen()))
	} else {
		fs = append(fs, zap.Int("status", net.ResultStatus(c, err)), zap.Error(err))
		if aborted {
			// What the client got before the cut.
			fs = append(fs, zap.Int64("bytes", c.ResponseBodyLen()))
		}
	}
	if aborted {
		// A streamed response cut short: the client got less than a
		// whole body, whatever the Result says.
		fs = append(fs, zap.Bool("aborted", true))
	}
	fs = append(fs,
		zap.Duration("latency", s.total),
		zap.Duration("loop", s.loop),
		zap.Duration("offload_queue", s.OffloadQueued),
		zap.Duration("offload", s.OffloadRan),
		zap.Duration("blocking", s.BlockingRan),
	)
	if s.Pending > 0 {
		fs = append(fs, zap.Duration("pending", s.Pending))
	}
	if id != "" {
		fs = append(fs, zap.String("request_id", id))
	}
	if remote != "" {
		fs = append(fs, zap.String("remote", remote))
	}
	ce.Write(fs...)
	clear(fs)
	b.fields = fs[:0]
	st.bufs.Put(b)
}

// appendRemote appends the client's address to b, a TCP address without
// allocating.
func appendRemote(b []byte, addr stdnet.Addr) []byte {
	switch a := addr.(type) {
	case nil:
		return b
	case *stdnet.TCPAddr:
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).AppendTo(b)
	default:
		return append(b, a.String()...)
	}
}

// cloneStrings copies a, b, c and d into one new string and returns the
// four parts of it: one allocation.
func cloneStrings(a, b, c, d string) (string, string, string, string) {
	var sb strings.Builder
	sb.Grow(len(a) + len(b) + len(c) + len(d))
	sb.WriteString(a)
	sb.WriteString(b)
	sb.WriteString(c)
	sb.WriteString(d)
	s := sb.String()
	i, j, k := len(a), len(a)+len(b), len(a)+len(b)+len(c)
	return s[:i], s[i:j], s[j:k], s[k:]
}

// serverTiming formats the split as a Server-Timing header value, in
// milliseconds.
func (s timeSplit) serverTiming() string {
	var buf [128]byte
	b := appendTiming(buf[:0], "loop", s.loop)
	if s.OffloadQueued > 0 || s.OffloadRan > 0 {
		b = appendTiming(append(b, ", "...), "offload-queue", s.OffloadQueued)
		b = appendTiming(append(b, ", "...), "offload", s.OffloadRan)
	}
	if s.BlockingRan > 0 {
		b = appendTiming(append(b, ", "...), "blocking", s.BlockingRan)
	}
	if s.Pending > 0 {
		b = appendTiming(append(b, ", "...), "pending", s.Pending)
	}
	return string(b)
}

func appendTiming(b []byte, name string, d time.Duration) []byte {
	b = append(b, name...)
	b = append(b, ";dur="...)
	return strconv.AppendFloat(b, float64(d)/float64(time.Millisecond), 'f', 3, 64)
}
