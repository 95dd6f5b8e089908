// Package middleware is the set of net.Middleware that users of Express,
// Fastify, chi or Fiber expect, built for weft's loops and futures: it adds
// no goroutine per request, and the common path allocates nothing.
//
// # What is here
//
//	RequestID   reads or makes X-Request-ID; RequestIDFrom reads it back
//	Logger      an access log line per request through zap, with the
//	            request's time split between the loop and off-loop work,
//	            optionally as a Server-Timing header
//	Recover     logs panics (handler, continuations, offload jobs) with the
//	            request and the stack; optional custom answer
//	CORS        preflights and CORS headers, compared with Express's cors
//	Timeout     a deadline per route or group: 503, the request context
//	            cancelled, late results dropped safely
//	BodyLimit   413 for bodies over a limit; LimitBody also refuses them
//	            before they are buffered, with the router
//	Compress    zstd, gzip or deflate by Accept-Encoding, large bodies
//	            compressed off the loop
//	RateLimit   a token bucket per client, 429 with RateLimit headers
//	LoadShed    503 with Retry-After when loop lag, the offload queue or the
//	            requests in flight pass their thresholds
//	Static      a net.Handler (not a middleware) serving a directory:
//	            ETag, conditional requests, ranges, file reads off the loop
//
// # Configuration
//
// Every middleware is made by a constructor that takes a Config struct,
// as in Logger(LoggerConfig{...}). The zero value of every field is a
// documented default. A field with an invalid value makes the constructor
// panic, with a message that names the field
// ("middleware.CORS: CORSConfig.AllowOrigins: ..."): like registering a
// route twice, it is a programming error, found at start-up before the
// first request. Loggers are passed in (*zap.Logger) and default to
// zap.NewNop(); nothing here uses a global logger or any other global
// state.
//
// # Order
//
// net.Chain and Router.Use take the outermost middleware first. The usual
// order, and why:
//
//	r.Use(
//		middleware.RequestID(...), // first: everything after it can log the id
//		middleware.Logger(...),    // sees the final status of everything inside
//		middleware.Recover(...),   // inside Logger, so a panic is logged as a 500
//		middleware.LoadShed(...),  // refuse early and cheaply when overloaded
//		middleware.RateLimit(...),
//		middleware.CORS(...),      // with Router.Use: answers preflights before routing
//		middleware.Compress(...),  // compresses what the handlers answer
//	)
//	api := r.Group("/api", middleware.Timeout(middleware.TimeoutConfig{Timeout: 2 * time.Second}))
//	middleware.LimitBody(api, middleware.BodyLimitConfig{Limit: 1 << 20})
//	srv := &net.Server{Handler: r.Serve, BodyLimit: r.BodyLimit}
//
// Timeout belongs on the routes or groups whose handlers go asynchronous; a
// Logger outside it logs the 503. Middleware that answers before the
// handler runs (CORS preflights, LoadShed, RateLimit, BodyLimit) should come
// after Logger if those answers are to be logged.
//
// A failed Result is answered by the server's ErrorHandler after every
// middleware has run. The server resets the status, the body and the
// headers that describe the body (Content-Type, Content-Encoding, ETag, ...)
// first, and keeps the other headers set on the way in: X-Request-ID and
// the CORS headers are on an error response too, as with Express. Logger
// adds Server-Timing only to a Result that succeeded.
//
// # Concurrency
//
// Every middleware returned here is safe for concurrent use by all the
// loops of a server: one value serves every connection. It runs on the
// loop of the request it serves, like the handler, so it must not block,
// and neither must the functions given to it (CORSConfig.AllowOriginFunc,
// LoggerConfig.Skip, RequestIDConfig.Generate, RateLimitConfig.Key and
// Skip, LoadShedConfig.InFlight and ExemptFunc, custom handlers). Their
// shared state (RequestID's counter, Logger's buffers, Compress's encoder
// pools) is atomic or pooled, or sharded under short locks (RateLimit's
// keys); per-request state lives in the Ctx. What may block runs off the
// loop: Static reads files on runtime.Blocking goroutines, Compress
// compresses large bodies on an offload pool.
//
// # Example
//
//	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
//		zapcore.Lock(os.Stderr), zap.InfoLevel)) // not sampled: see LoggerConfig.Logger
//	r := router.New()
//	r.Use(
//		middleware.RequestID(middleware.RequestIDConfig{}),
//		middleware.Logger(middleware.LoggerConfig{Logger: log}),
//		middleware.Recover(middleware.RecoverConfig{Logger: log}),
//		middleware.CORS(middleware.CORSConfig{AllowOrigins: []string{"https://app.example.com"}}),
//	)
//	r.GET("/users/:id", getUser)
//	srv := &net.Server{Addr: ":8080", Handler: r.Serve, BodyLimit: r.BodyLimit, Logger: log}
//	log.Fatal("server stopped", zap.Error(srv.ListenAndServe()))
//
// docs/middleware.md has the cost of each middleware per request.
package middleware
