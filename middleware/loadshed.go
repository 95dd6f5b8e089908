package middleware

import (
	"fmt"
	"strconv"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/offload"
)

// LoadShedConfig configures LoadShed. The zero value is ready to use: it
// sheds on loop lag alone, with the defaults below.
type LoadShedConfig struct {
	// MaxLoopLag sheds requests while the request's loop runs its tasks
	// this late (Ctx.LoopLag, measured per loop by runtime.LagMonitor
	// every 10 ms). Default 200 ms; negative: never on lag. An idle or
	// healthy loop shows well under a millisecond.
	MaxLoopLag time.Duration

	// Pool and MaxQueue shed requests while more than MaxQueue jobs wait
	// for one of Pool's workers: the whole service backs off before the
	// pool itself starts refusing jobs. MaxQueue defaults to 32 per
	// worker (half the pool's own default queue); it is ignored without
	// a Pool.
	Pool     *offload.Pool
	MaxQueue int

	// InFlight and MaxInFlight shed requests while InFlight() (requests
	// read and not yet answered, across the server) is above
	// MaxInFlight. Pass the server's method value: InFlight: srv.InFlight.
	// InFlight is called once per request from every loop, so it must be
	// cheap and safe for concurrent use. MaxInFlight is required with
	// InFlight.
	InFlight    func() int
	MaxInFlight int

	// Exempt lists request paths (exact, as sent: Ctx.Path) that are
	// never shed: health and readiness checks, which must answer while
	// the service sheds so that the orchestrator sees it is alive.
	Exempt []string
	// ExemptFunc, if set, also exempts the requests for which it returns
	// true. It runs on the loop and must be safe for concurrent use.
	ExemptFunc func(c *net.Ctx) bool

	// RetryAfter is the Retry-After of a shed request. Default 10 s (as
	// Fastify's under-pressure); it is rounded up to whole seconds.
	RetryAfter time.Duration
}

// LoadShed returns middleware that answers 503 Service Unavailable with
// Retry-After, without calling the handler, while the server is under
// pressure, as Fastify's under-pressure does: when the request's loop lags
// (MaxLoopLag), when the offload pool's queue is deep (Pool, MaxQueue), or
// when too many requests are in flight (InFlight, MaxInFlight). Exempt
// paths always pass.
//
// Its checks are atomic loads (two for loop lag, one for the queue), plus
// whatever InFlight costs: no locks of its own and no allocation. The
// lag is that of the loop the request runs on, so a loop blocked by a
// handler sheds the requests queued behind it while the others serve on.
//
// LoadShed panics on an invalid config. The middleware runs on the loop
// and is safe for concurrent use by every loop.
func LoadShed(cfg LoadShedConfig) net.Middleware {
	s := newShedder(cfg)
	return func(next net.Handler) net.Handler {
		return func(c *net.Ctx) net.Result {
			if !s.pressured(c) || s.exempt(c) {
				return next(c)
			}
			c.SetHeader("Retry-After", s.retryAfter)
			return c.Text(net.StatusServiceUnavailable, net.StatusText(net.StatusServiceUnavailable))
		}
	}
}

// shedder is LoadShed's configuration with defaults filled in; read-only
// once made.
type shedder struct {
	maxLag      time.Duration // < 0: off
	pool        *offload.Pool
	maxQueue    int
	inFlight    func() int
	maxInFlight int
	exemptPaths []string
	exemptFunc  func(*net.Ctx) bool
	retryAfter  string
}

func newShedder(cfg LoadShedConfig) *shedder {
	s := &shedder{
		maxLag:      cfg.MaxLoopLag,
		pool:        cfg.Pool,
		maxQueue:    cfg.MaxQueue,
		inFlight:    cfg.InFlight,
		maxInFlight: cfg.MaxInFlight,
		exemptPaths: cfg.Exempt,
		exemptFunc:  cfg.ExemptFunc,
	}
	if s.maxLag == 0 {
		s.maxLag = 200 * time.Millisecond
	}
	if cfg.MaxQueue < 0 {
		panic(fmt.Sprintf("middleware.LoadShed: LoadShedConfig.MaxQueue is %d, want >= 0 (0: 32 per worker)", cfg.MaxQueue))
	}
	if s.pool != nil && s.maxQueue == 0 {
		s.maxQueue = 32 * s.pool.Stats().Workers
	}
	if s.inFlight != nil && cfg.MaxInFlight <= 0 {
		panic(fmt.Sprintf("middleware.LoadShed: LoadShedConfig.MaxInFlight is %d, want > 0 when InFlight is set", cfg.MaxInFlight))
	}
	if s.inFlight == nil && cfg.MaxInFlight != 0 {
		panic("middleware.LoadShed: LoadShedConfig.MaxInFlight is set without InFlight (pass InFlight: srv.InFlight)")
	}
	retry := cfg.RetryAfter
	switch {
	case retry == 0:
		retry = 10 * time.Second
	case retry < 0:
		panic(fmt.Sprintf("middleware.LoadShed: LoadShedConfig.RetryAfter is %v, want > 0 (0: the default, 10 s)", cfg.RetryAfter))
	}
	s.retryAfter = strconv.FormatInt(int64((retry+time.Second-1)/time.Second), 10)
	return s
}

// pressured reports whether a threshold is passed, cheapest check first.
func (s *shedder) pressured(c *net.Ctx) bool {
	return (s.maxLag > 0 && c.LoopLag() > s.maxLag) ||
		(s.pool != nil && s.pool.QueueLen() > s.maxQueue) ||
		(s.inFlight != nil && s.inFlight() > s.maxInFlight)
}

func (s *shedder) exempt(c *net.Ctx) bool {
	if len(s.exemptPaths) > 0 {
		p := c.Path()
		for _, e := range s.exemptPaths {
			if p == e {
				return true
			}
		}
	}
	return s.exemptFunc != nil && s.exemptFunc(c)
}
