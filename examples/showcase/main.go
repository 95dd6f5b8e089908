// Command showcase is a small real service on weft, with nothing to install:
// users in SQLite (modernc.org/sqlite, pure Go, in memory), queried off the
// loop and answered back on it; a CPU-bound route on the offload pool; a
// web page embedded in the binary; and the middleware stack a production
// service would run.
//
//	go -C examples/showcase run .        # from the repository's root
//	curl localhost:8080/users
//	curl localhost:8080/users/2
//	curl -d '{"name":"Eve","email":"eve@example.com"}' localhost:8080/users
//	curl 'localhost:8080/hash?n=200000'
//	open http://localhost:8080/           # the page calls the API
//
// It listens on $PORT (default 8080), logs one line per request to stderr
// (zap's development encoder), and stops gracefully on SIGTERM or SIGINT:
// requests in flight are answered, the offload pool drains, the database
// closes.
//
// It lives in a module of its own (this folder's go.mod) so that SQLite
// stays out of weft's go.mod.
package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/router"
	"github.com/weftgo/weft/runtime"
)

//go:embed static
var staticFiles embed.FS

// User is a row of the users table.
type User struct {
	ID      int64     `json:"id"`
	Name    string    `json:"name"`
	Email   string    `json:"email"`
	Created time.Time `json:"created"`
}

// seedUsers are the users the database starts with.
var seedUsers = []User{
	{Name: "Ada Lovelace", Email: "ada@example.com"},
	{Name: "Alan Turing", Email: "alan@example.com"},
	{Name: "Grace Hopper", Email: "grace@example.com"},
	{Name: "Edsger Dijkstra", Email: "edsger@example.com"},
	{Name: "Barbara Liskov", Email: "barbara@example.com"},
}

// openDB opens an in-memory SQLite database and seeds the users table. One
// connection: an in-memory database lives as long as its connection, and
// the Blocking goroutines of concurrent queries wait their turn for it
// (database/sql's pool is what bounds them).
func openDB(ctx context.Context) (*sql.DB, error) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	_, err = db.ExecContext(ctx, `CREATE TABLE users (
		id      INTEGER PRIMARY KEY AUTOINCREMENT,
		name    TEXT NOT NULL,
		email   TEXT NOT NULL UNIQUE,
		created TIMESTAMP NOT NULL
	)`)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("creating the users table: %w", err)
	}
	created := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	for i, u := range seedUsers {
		if _, err := db.ExecContext(ctx, `INSERT INTO users (name, email, created) VALUES (?, ?, ?)`,
			u.Name, u.Email, created.Add(time.Duration(i)*time.Hour)); err != nil {
			db.Close()
			return nil, fmt.Errorf("seeding the users table: %w", err)
		}
	}
	return db, nil
}

func queryUsers(ctx context.Context, db *sql.DB) ([]User, error) {
	rows, err := db.QueryContext(ctx, `SELECT * FROM users ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	users := []User{}
	for rows.Next() {
		var u User
		if err := rows.Scan(&u.ID, &u.Name, &u.Email, &u.Created); err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

var errNoUser = net.NewError(net.StatusNotFound, "no such user")

func queryUser(ctx context.Context, db *sql.DB, id int64) (User, error) {
	var u User
	err := db.QueryRowContext(ctx, `SELECT id, name, email, created FROM users WHERE id = ?`, id).
		Scan(&u.ID, &u.Name, &u.Email, &u.Created)
	if errors.Is(err, sql.ErrNoRows) {
		return u, errNoUser
	}
	return u, err
}

func insertUser(ctx context.Context, db *sql.DB, u User) (User, error) {
	u.Created = time.Now().UTC().Truncate(time.Second)
	res, err := db.ExecContext(ctx, `INSERT INTO users (name, email, created) VALUES (?, ?, ?)`, u.Name, u.Email, u.Created)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return u, net.NewError(net.StatusConflict, "a user with this email exists")
		}
		return u, err
	}
	u.ID, err = res.LastInsertId()
	return u, err
}

// hashChain hashes seed n times with SHA-256: a CPU-bound job of a few
// hundred nanoseconds per round, for the offload pool. It checks its
// context every 4096 rounds, so a client that leaves stops it.
func hashChain(ctx context.Context, seed string, n int) (string, error) {
	sum := sha256.Sum256([]byte(seed))
	for i := 1; i < n; i++ {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return "", err
			}
		}
		sum = sha256.Sum256(sum[:])
	}
	return hex.EncodeToString(sum[:]), nil
}

const maxHashRounds = 5_000_000

// app is the service: its database, its offload pool and its routes.
type app struct {
	db   *sql.DB
	pool *offload.Pool
	log  *zap.Logger
}

// routes builds the router: the middleware stack, then the routes. srv is
// the server the router will run in, for LoadShed's in-flight count.
func (a *app) routes(srv *net.Server) *router.Router {
	r := router.New()
	health := func(c *net.Ctx) bool { return c.Path() == "/health" }
	r.Use(
		middleware.RequestID(middleware.RequestIDConfig{}),
		// ServerTiming: the page shows where /hash spent its time (loop,
		// offload queue, offload); a demo's clients are trusted.
		middleware.Logger(middleware.LoggerConfig{Logger: a.log, Skip: health, ServerTiming: true}),
		middleware.Recover(middleware.RecoverConfig{Logger: a.log}),
		middleware.LoadShed(middleware.LoadShedConfig{
			Pool:        a.pool,
			InFlight:    srv.InFlight,
			MaxInFlight: 10_000,
			Exempt:      []string{"/health"},
		}),
		middleware.RateLimit(middleware.RateLimitConfig{Limit: 600, Window: time.Minute, Burst: 100, Skip: health}),
		middleware.CORS(middleware.CORSConfig{}),
		middleware.Compress(middleware.CompressConfig{Pool: a.pool}),
	)

	r.GET("/health", func(c *net.Ctx) net.Result { return c.Text(200, "ok") })
	r.GET("/", func(c *net.Ctx) net.Result { return c.Redirect(net.StatusFound, "/static/") })
	site, _ := fs.Sub(staticFiles, "static") // "static" is embedded: cannot fail
	r.GET("/static/*path", middleware.Static(middleware.StaticConfig{
		FS:           site,
		CacheBytes:   1 << 20, // embedded files never change: serve them from memory, on the loop
		CacheControl: "public, max-age=300",
	}))

	api := r.Group("", middleware.Timeout(middleware.TimeoutConfig{Timeout: 5 * time.Second}))
	middleware.LimitBody(api, middleware.BodyLimitConfig{Limit: 64 << 10})
	api.GET("/users", a.listUsers)
	api.GET("/users/:id", a.getUser)
	api.POST("/users", a.createUser)
	api.GET("/hash", a.hash)
	return r
}

// listUsers is the seed's db.query("SELECT * FROM users") done the weft
// way: the query runs on a Blocking goroutine, off the loop; the JSON is
// written back on the request's loop.
func (a *app) listUsers(c *net.Ctx) net.Result {
	users := runtime.Blocking(c, func(ctx context.Context) ([]User, error) {
		return queryUsers(ctx, a.db)
	})
	return runtime.Then(c, users, func(u []User) net.Result {
		return c.JSON(200, u)
	})
}

func (a *app) getUser(c *net.Ctx) net.Result {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return net.Fail(net.NewError(net.StatusBadRequest, "id must be a positive integer"))
	}
	user := runtime.Blocking(c, func(ctx context.Context) (User, error) {
		return queryUser(ctx, a.db, id)
	})
	return runtime.Then(c, user, func(u User) net.Result {
		return c.JSON(200, u)
	})
}

func (a *app) createUser(c *net.Ctx) net.Result {
	var u User
	if err := json.Unmarshal(c.Body(), &u); err != nil {
		return net.Fail(net.NewError(net.StatusBadRequest, "body must be a JSON user: "+err.Error()))
	}
	u.Name, u.Email = strings.TrimSpace(u.Name), strings.TrimSpace(u.Email)
	if u.Name == "" || !strings.Contains(u.Email, "@") {
		return net.Fail(net.NewError(net.StatusUnprocessableContent, "name and email are required"))
	}
	created := runtime.Blocking(c, func(ctx context.Context) (User, error) {
		return insertUser(ctx, a.db, u)
	})
	return runtime.Then(c, created, func(u User) net.Result {
		c.SetHeader("Location", "/users/"+strconv.FormatInt(u.ID, 10))
		return c.JSON(net.StatusCreated, u)
	})
}

// hash runs a CPU-bound job on the offload pool: the loop answers other
// requests meanwhile. A full queue is a 503 with Retry-After.
func (a *app) hash(c *net.Ctx) net.Result {
	n := 100_000
	if s := c.Query("n"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > maxHashRounds {
			return net.Fail(net.NewError(net.StatusBadRequest, fmt.Sprintf("n must be an integer from 1 to %d", maxHashRounds)))
		}
		n = v
	}
	seed := c.Query("seed")
	if seed == "" {
		seed = "weft"
	}
	sum := offload.Run(c, a.pool, func(ctx context.Context) (string, error) {
		return hashChain(ctx, seed, n)
	})
	return runtime.Then(c, sum, func(h string) net.Result {
		return c.JSON(200, map[string]any{"seed": seed, "rounds": n, "sha256": h})
	})
}

// newLogger logs to stderr with zap's development encoder, at Info, never
// sampled (zap's production config would drop access lines under load).
func newLogger() *zap.Logger {
	enc := zap.NewDevelopmentEncoderConfig()
	return zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(os.Stderr), zapcore.InfoLevel))
}

// newServer builds the service: the database, the pool, the server.
// Shutting the server down closes the pool; the caller closes the database
// after Shutdown.
func newServer(ctx context.Context, addr string, log *zap.Logger) (*net.Server, *sql.DB, error) {
	db, err := openDB(ctx)
	if err != nil {
		return nil, nil, err
	}
	pool, err := offload.New(offload.Config{Logger: log})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	a := &app{db: db, pool: pool, log: log}
	srv := &net.Server{
		Addr:       addr,
		Logger:     log,
		OnShutdown: []func(context.Context) error{pool.Close},
	}
	r := a.routes(srv)
	srv.Handler, srv.BodyLimit = r.Serve, r.BodyLimit
	return srv, db, nil
}

func main() {
	log := newLogger()
	if err := run(log); err != nil {
		log.Error("showcase stopped", zap.Error(err))
		_ = log.Sync()
		os.Exit(1)
	}
	_ = log.Sync()
}

func run(log *zap.Logger) error {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	stop, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	srv, db, err := newServer(stop, ":"+port, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := srv.Start(); err != nil {
		return err
	}
	log.Info("showcase listening", zap.String("addr", srv.ListenAddr().String()),
		zap.String("try", "curl localhost:"+port+"/users"))

	select {
	case <-stop.Done():
	case <-waitDone(srv):
		return srv.Wait()
	}
	log.Info("shutting down")
	ctx, cancelShutdown := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelShutdown()
	return srv.Shutdown(ctx)
}

// waitDone returns a channel closed when srv stops by itself.
func waitDone(srv *net.Server) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		_ = srv.Wait()
		close(done)
	}()
	return done
}
