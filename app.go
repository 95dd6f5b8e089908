package weft

import (
	"context"
	"errors"
	stdnet "net"
	"sync"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/router"
)

// An App is a web service: a router and the server that feeds it. Register
// routes and middleware on it (its Router's methods: GET, POST, Use, Group,
// NotFound, ...), adjust its Server's settings, then Start, Listen or Run it.
//
// Route registration is for start-up, before the app starts; Start, Listen,
// Run, Shutdown and Addr are safe for concurrent use.
type App struct {
	*router.Router

	// Server holds the server's settings: limits, timeouts, the number of
	// loops, the logger. Every field has a documented default (see
	// net.Server). Its Handler is the app's router, and its BodyLimit the
	// router's per-group limits unless set: the app fills them in when it
	// starts.
	Server net.Server

	// ShutdownTimeout bounds the graceful drain that Run starts when its
	// context is done: requests in flight are answered until then, and
	// cancelled after. Default 10 s.
	ShutdownTimeout time.Duration

	mu sync.Mutex // serializes Start and Ready, which fill in Server
}

// New returns an App with an empty router and a server with default
// settings.
func New() *App {
	return &App{Router: router.New()}
}

// Start starts serving on addr ("host:port"; "" keeps Server.Addr, whose
// default is ":8080"; port 0 picks a free port, which Addr tells) and returns
// once the app is listening. It returns an error if the settings are invalid
// or the address cannot be listened on.
func (a *App) Start(addr string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if addr != "" {
		a.Server.Addr = addr
	}
	return a.readyLocked().Start()
}

// Ready fills in the app's Server (its Handler, the router; its BodyLimit
// and StreamBody, the router's per-group settings, unless set) and returns
// it, for code that serves the app itself: a test with
// webtest.Start(app.Ready()), or nethttp.ToHTTP. Start calls it. Call it
// after the routes are registered; safe for concurrent use with Start.
func (a *App) Ready() *net.Server {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.readyLocked()
}

func (a *App) readyLocked() *net.Server {
	a.Server.Handler = a.Router.Serve
	if a.Server.BodyLimit == nil {
		a.Server.BodyLimit = a.Router.BodyLimit
	}
	if a.Server.StreamBody == nil {
		a.Server.StreamBody = a.Router.StreamBody
	}
	return &a.Server
}

// Listen serves on addr until Shutdown, like net/http's ListenAndServe. It
// returns nil after a Shutdown, or the error that stopped the app.
func (a *App) Listen(addr string) error {
	if err := a.Start(addr); err != nil {
		return err
	}
	return wait(&a.Server)
}

// Run serves on addr until ctx is done (signal.NotifyContext makes that
// Ctrl-C or SIGTERM), then shuts down gracefully: it stops accepting,
// answers the requests in flight for up to ShutdownTimeout, and returns. It
// returns nil after a clean shutdown, or the first error.
func (a *App) Run(ctx context.Context, addr string) error {
	if err := a.Start(addr); err != nil {
		return err
	}
	stopped := make(chan error, 1)
	go func() { stopped <- wait(&a.Server) }()
	select {
	case err := <-stopped:
		return err // stopped by itself, or by a Shutdown from elsewhere
	case <-ctx.Done():
	}
	d := a.ShutdownTimeout
	if d <= 0 {
		d = 10 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	err := a.Shutdown(sctx)
	return errors.Join(err, <-stopped)
}

// Shutdown stops the app gracefully (see net.Server.Shutdown): no new
// connections, every request already received answered, then the loops
// stop. It returns when they have, or with ctx's error when ctx ends first.
// Call it from outside the loops.
func (a *App) Shutdown(ctx context.Context) error { return a.Server.Shutdown(ctx) }

// Addr returns the address the app listens on, once started (nil before).
func (a *App) Addr() stdnet.Addr { return a.Server.ListenAddr() }

// wait returns the server's stopping error, nil for a Shutdown.
func wait(s *net.Server) error {
	if err := s.Wait(); !errors.Is(err, net.ErrServerClosed) {
		return err
	}
	return nil
}
