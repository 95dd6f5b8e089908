package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/weftgo/weft/offload"
)

// Config configures a Backend. The zero value runs NATS in-process.
type Config struct {
	// URL is the NATS server to use, e.g. "nats://10.0.0.5:4222" (a
	// comma-separated list for a cluster). Empty: an embedded NATS server
	// runs in this process with no TCP listener, so only this process's
	// own workers (Serve) take its jobs.
	URL string

	// Conn, if set, is used instead of connecting to URL; Close leaves it
	// open.
	Conn *natsgo.Conn

	// Prefix starts every subject. Default "weft.offload".
	Prefix string

	// Queue is the queue group workers join. Default "weft-workers".
	Queue string

	// Heartbeat is how often a worker says that a job is still running.
	// It travels with each job. Default 200 ms.
	Heartbeat time.Duration

	// LostAfter is how long a caller waits for the first or the next word
	// from a job's worker before it takes the worker for lost
	// (offload.ErrLost). Default 5 × Heartbeat.
	LostAfter time.Duration

	// ReconnectWait is how long the client waits between attempts to
	// reconnect to NATS. Default 250 ms.
	ReconnectWait time.Duration

	// Logger receives the backend's events. Default zap.NewNop().
	Logger *zap.Logger
}

// Backend sends offload jobs to workers over NATS (offload.Backend), and
// serves jobs as a worker (Serve). Safe for concurrent use.
type Backend struct {
	cfg      Config
	log      *zap.Logger
	nc       *natsgo.Conn
	ownConn  bool
	embedded *server.Server

	inbox string // this client's reply subjects are inbox.<id>
	sub   *natsgo.Subscription

	mu     sync.Mutex
	calls  map[uint64]*call
	nextID uint64
	closed bool
	// peers are the workers this client knows, by job name and then by
	// cancel subject: a job goes straight to the one with the fewest of
	// this client's jobs per slot (see pick).
	peers map[string]map[string]*peer
	// full counts, by job name, the jobs sent while every known worker
	// held a job per slot or more, for pick's exploration: per job, so
	// that jobs sent in turn each get their one in exploreEvery.
	full map[string]uint64

	worker workerState
}

const (
	hdrKind    = "Weft-Kind"    // ack, beat, done (worker to caller)
	hdrTimeout = "Weft-Timeout" // ns left to the job's deadline
	hdrBeat    = "Weft-Beat"    // heartbeat interval, ns
	hdrCancel  = "Weft-Cancel"  // the worker's cancel subject (ack)
	hdrQueued  = "Weft-Queued"  // ns the job waited there (done)
	hdrRan     = "Weft-Ran"     // ns the job ran there (done)
	hdrFailed  = "Weft-Failed"  // "1": the data is an offload.Failure in JSON (done)
	hdrDirect  = "Weft-Direct"  // the worker's own job subjects, less the job's name (ack)
	hdrSlots   = "Weft-Slots"   // how many jobs the worker runs at once (ack)
)

// exploreEvery: while every known worker has a job per slot or more,
// one job in exploreEvery goes to the queue group instead of the least
// busy known worker, so that workers started since are found.
const exploreEvery = 8

// peer is a worker this client has heard from, and how many of this
// client's jobs it holds now (sent to it or acked by it, not answered).
type peer struct {
	cancel string // its cancel subject: its identity
	direct string // its job subjects, less the job's name
	slots  int
	out    int // guarded by Backend.mu
}

// New connects to NATS (or starts it in-process) and returns a Backend.
// If URL's server cannot be reached now, New still succeeds: the client
// keeps trying, and jobs fail fast (offload.ErrUnavailable) meanwhile.
func New(cfg Config) (*Backend, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "weft.offload"
	}
	if cfg.Queue == "" {
		cfg.Queue = "weft-workers"
	}
	switch {
	case cfg.Heartbeat < 0:
		return nil, fmt.Errorf("weft/offload/nats: Config.Heartbeat is %v; want 0 (200ms) or more", cfg.Heartbeat)
	case cfg.Heartbeat == 0:
		cfg.Heartbeat = 200 * time.Millisecond
	}
	switch {
	case cfg.LostAfter < 0:
		return nil, fmt.Errorf("weft/offload/nats: Config.LostAfter is %v; want 0 (5 heartbeats) or more", cfg.LostAfter)
	case cfg.LostAfter == 0:
		cfg.LostAfter = 5 * cfg.Heartbeat
	case cfg.LostAfter <= cfg.Heartbeat:
		return nil, fmt.Errorf("weft/offload/nats: Config.LostAfter (%v) must be longer than Config.Heartbeat (%v)", cfg.LostAfter, cfg.Heartbeat)
	}
	if cfg.ReconnectWait <= 0 {
		cfg.ReconnectWait = 250 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	b := &Backend{cfg: cfg, log: cfg.Logger.Named("offload.nats"), calls: map[uint64]*call{}, peers: map[string]map[string]*peer{}, full: map[string]uint64{}}
	b.worker.init()
	if err := b.connect(); err != nil {
		return nil, err
	}
	b.inbox = b.nc.NewRespInbox()
	sub, err := b.nc.Subscribe(b.inbox+".*", b.onReply)
	if err != nil {
		b.closeConn()
		return nil, fmt.Errorf("weft/offload/nats: subscribing to replies: %w", err)
	}
	sub.SetPendingLimits(-1, -1) // replies must not be dropped as a slow consumer
	b.sub = sub
	return b, nil
}

func (b *Backend) connect() error {
	if b.cfg.Conn != nil {
		b.nc = b.cfg.Conn
		return nil
	}
	opts := []natsgo.Option{
		natsgo.Name("weft-offload"),
		natsgo.MaxReconnects(-1),
		natsgo.ReconnectWait(b.cfg.ReconnectWait),
		natsgo.RetryOnFailedConnect(true),
		// No buffering while disconnected: a job that cannot go out now
		// fails now (or runs locally) instead of waiting for NATS.
		natsgo.ReconnectBufSize(-1),
		natsgo.DisconnectErrHandler(func(_ *natsgo.Conn, err error) {
			b.log.Warn("disconnected from NATS", zap.Error(err))
			// The answers of the jobs running here cannot reach their
			// callers, which take this worker for lost: stop them.
			b.worker.cancelAll()
		}),
		natsgo.ClosedHandler(func(*natsgo.Conn) { b.worker.cancelAll() }),
		natsgo.ReconnectHandler(func(nc *natsgo.Conn) {
			b.log.Info("reconnected to NATS", zap.String("url", nc.ConnectedUrlRedacted()))
		}),
		natsgo.ErrorHandler(func(_ *natsgo.Conn, sub *natsgo.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			b.log.Error("NATS error", zap.String("subject", subject), zap.Error(err))
		}),
	}
	url := b.cfg.URL
	if url == "" {
		ns, err := server.NewServer(&server.Options{DontListen: true, NoSigs: true, NoLog: true, ServerName: "weft-embedded"})
		if err != nil {
			return fmt.Errorf("weft/offload/nats: starting the embedded server: %w", err)
		}
		ns.Start()
		if !ns.ReadyForConnections(10 * time.Second) {
			ns.Shutdown()
			return errors.New("weft/offload/nats: the embedded server did not start")
		}
		b.embedded = ns
		opts = append(opts, natsgo.InProcessServer(ns))
	}
	nc, err := natsgo.Connect(url, opts...)
	if err != nil {
		if b.embedded != nil {
			b.embedded.Shutdown()
		}
		return fmt.Errorf("weft/offload/nats: connecting to %q: %w", url, err)
	}
	b.nc, b.ownConn = nc, true
	return nil
}

// Conn returns the NATS connection the backend uses. Safe for concurrent
// use.
func (b *Backend) Conn() *natsgo.Conn { return b.nc }

// call is one job sent and not yet answered.
type call struct {
	b       *Backend
	id      uint64
	reply   string
	job     string
	ctx     context.Context
	done    func(offload.Reply)
	timer   *time.Timer
	stopCtx func() bool
	worker  string // the worker's cancel subject once known (sent to it, or acked); guarded by b.mu
	peer    *peer  // the worker counting this job, once known; guarded by b.mu
	direct  bool   // sent to peer's own subject, not the queue group; guarded by b.mu
	msg     *natsgo.Msg
}

// pick returns the known worker serving job with the fewest of this
// client's jobs per slot, or nil to send the job to the queue group (no
// worker known, or every one holds a job per slot or more and it is time
// to look for others). Its caller holds b.mu.
func (b *Backend) pick(job string) *peer {
	var best *peer
	for _, p := range b.peers[job] {
		if best == nil || p.out*best.slots < best.out*p.slots {
			best = p
		}
	}
	if best == nil {
		return nil
	}
	if best.out >= best.slots {
		n := b.full[job] + 1
		b.full[job] = n % exploreEvery
		if n == exploreEvery {
			return nil
		}
	}
	return best
}

// forget drops a worker taken for gone (lost, or no longer subscribed).
// Its caller holds b.mu.
func (b *Backend) forget(job string, p *peer) {
	if p != nil && b.peers[job][p.cancel] == p {
		delete(b.peers[job], p.cancel)
	}
}

// meet returns the worker that sent m (an ack, or the answer of a job
// that came through the queue group), known from now on, or nil if m
// does not say. Its caller holds b.mu.
func (b *Backend) meet(job string, m *natsgo.Msg) *peer {
	cancel, direct := m.Header.Get(hdrCancel), m.Header.Get(hdrDirect)
	if cancel == "" || direct == "" || b.closed {
		return nil
	}
	known := b.peers[job]
	if known == nil {
		known = map[string]*peer{}
		b.peers[job] = known
	}
	p := known[cancel]
	if p == nil {
		p = &peer{cancel: cancel, direct: direct, slots: max(int(headerInt(m, hdrSlots)), 1)}
		known[cancel] = p
	}
	return p
}

// release ends c's count on its worker. Its caller holds b.mu.
func (c *call) release() {
	if c.peer != nil {
		c.peer.out--
		c.peer = nil
	}
}

// Send implements offload.Backend: it publishes the job and returns at
// once. Safe for concurrent use; it does not block.
func (b *Backend) Send(ctx context.Context, req offload.Request, done func(offload.Reply)) {
	if err := ctx.Err(); err != nil {
		done(offload.Reply{Err: err})
		return
	}
	if b.nc.Status() != natsgo.CONNECTED {
		done(offload.Reply{Err: offload.ErrUnavailable})
		return
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		done(offload.Reply{Err: offload.ErrUnavailable})
		return
	}
	b.nextID++
	c := &call{b: b, id: b.nextID, job: req.Job, ctx: ctx, done: done}
	c.reply = b.inbox + "." + strconv.FormatUint(c.id, 10)
	b.calls[c.id] = c
	c.timer = time.AfterFunc(b.cfg.LostAfter, c.lost)
	subject := b.cfg.Prefix + ".job." + req.Job
	if p := b.pick(req.Job); p != nil {
		// Straight to the least busy worker known: NATS's queue group
		// picks at random, which leaves one worker idle while another
		// holds a queue.
		c.peer, c.direct, c.worker = p, true, p.cancel
		p.out++
		subject = p.direct + req.Job
	}
	msg := natsgo.NewMsg(subject)
	msg.Reply = c.reply
	msg.Data = req.Input
	msg.Header.Set(hdrBeat, strconv.FormatInt(int64(b.cfg.Heartbeat), 10))
	if dl, ok := ctx.Deadline(); ok {
		msg.Header.Set(hdrTimeout, strconv.FormatInt(int64(max(time.Until(dl), 1)), 10))
	}
	c.msg = msg
	b.mu.Unlock()

	if err := b.nc.PublishMsg(msg); err != nil {
		b.log.Debug("cannot publish a job", zap.String("job", req.Job), zap.Error(err))
		rep := offload.Reply{Err: offload.ErrUnavailable}
		if errors.Is(err, natsgo.ErrMaxPayload) {
			// Not a missing worker: no worker could ever take it.
			rep.Err = fmt.Errorf("weft/offload/nats: job %s: its input (%d bytes) exceeds the NATS server's max payload (%d bytes): %w",
				req.Job, len(req.Input), b.nc.MaxPayload(), err)
		}
		c.finish(rep)
		return
	}
	stop := context.AfterFunc(ctx, c.cancel)
	b.mu.Lock()
	if b.calls[c.id] == c {
		c.stopCtx = stop
		stop = nil
	}
	b.mu.Unlock()
	if stop != nil { // already finished
		stop()
	}
}

// finish removes c and hands rep to its caller, once. Any goroutine.
func (c *call) finish(rep offload.Reply) {
	c.b.mu.Lock()
	stop, ok := c.detachLocked()
	c.b.mu.Unlock()
	if ok {
		c.end(stop, rep)
	}
}

// detachLocked removes c from the calls in flight, so that no reply can
// reach it any more (nor resend it), and reports whether it was still
// there; stop is its context watch, for end. b.mu is held.
func (c *call) detachLocked() (stop func() bool, ok bool) {
	b := c.b
	if b.calls[c.id] != c {
		return nil, false
	}
	delete(b.calls, c.id)
	c.release()
	c.msg = nil
	return c.stopCtx, true
}

// end hands rep to c's caller once detachLocked has removed it.
func (c *call) end(stop func() bool, rep offload.Reply) {
	c.timer.Stop()
	if stop != nil {
		stop()
	}
	c.done(rep)
}

// lost runs when the worker has been silent for LostAfter.
func (c *call) lost() {
	c.b.mu.Lock()
	// A job sent to a worker by name has its worker from the start, not
	// from an ack: it may never have reached it.
	acked, direct, worker := c.worker != "" && !c.direct, c.direct, c.worker
	c.b.forget(c.job, c.peer)
	c.b.mu.Unlock()
	switch {
	case acked:
		c.b.log.Warn("worker lost mid-job", zap.String("job", c.job), zap.String("worker", worker))
	case direct:
		c.b.log.Warn("worker lost with a job sent to it", zap.String("job", c.job), zap.String("worker", worker))
	}
	c.finish(offload.Reply{Err: offload.ErrLost})
}

// cancel runs when the caller's context is done: it tells the worker, and
// fails the call with the context's error.
func (c *call) cancel() {
	// The worker is read and the call removed at once: a refusal or a
	// "no responders" answered after this finds no call to send elsewhere,
	// so the cancel below goes to the only worker that may hold the job.
	c.b.mu.Lock()
	worker := c.worker
	stop, ok := c.detachLocked()
	c.b.mu.Unlock()
	if !ok {
		return
	}
	c.b.publishCancel(worker, c.reply)
	// A job not acked yet is also cancelled when its ack comes (onReply),
	// in case the broadcast overtook the job; failing that, it ends at its
	// deadline there.
	c.end(stop, offload.Reply{Err: c.ctx.Err()})
}

// publishCancel tells the worker (its cancel subject; "": not known yet,
// so every worker) to cancel the job answering to reply.
func (b *Backend) publishCancel(worker, reply string) {
	if worker == "" {
		worker = b.cfg.Prefix + ".cancel"
	}
	if err := b.nc.Publish(worker, []byte(reply)); err != nil {
		b.log.Debug("cannot publish a cancel", zap.Error(err))
	}
}

// onReply receives the workers' messages about this client's jobs, in
// order, on the subscription's goroutine.
func (b *Backend) onReply(m *natsgo.Msg) {
	id, err := strconv.ParseUint(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:], 10, 64)
	if err != nil {
		return
	}
	b.mu.Lock()
	c := b.calls[id]
	if c == nil {
		b.mu.Unlock()
		if m.Header.Get(hdrKind) == "ack" {
			// The caller gave up before the worker acked: cancel there.
			if w := m.Header.Get(hdrCancel); w != "" {
				b.publishCancel(w, m.Subject)
			}
		}
		return
	}
	if m.Header.Get("Status") == "503" { // NATS: no responders
		if c.direct && c.msg != nil {
			// The worker chosen is gone (or no longer serves the
			// job): the job did not reach it; another known worker,
			// or the queue group, takes it.
			b.forget(c.job, c.peer)
			b.resend(c) // unlocks b.mu
			return
		}
		b.mu.Unlock()
		c.finish(offload.Reply{Err: offload.ErrUnavailable}) // no worker serves the job
		return
	}
	switch m.Header.Get(hdrKind) {
	case "ack":
		c.worker = m.Header.Get(hdrCancel)
		if p := b.meet(c.job, m); p != nil && c.peer == nil {
			c.peer = p
			p.out++
		}
		b.mu.Unlock()
		c.timer.Reset(b.cfg.LostAfter)
	case "beat":
		b.mu.Unlock()
		c.timer.Reset(b.cfg.LostAfter)
	case "done":
		rep := decodeDone(c.job, m)
		switch {
		case refused(rep):
			// A worker that refuses jobs (its queue is full of other
			// callers' jobs, or it is going away) answers at once, so
			// it would always hold the fewest of this client's jobs and
			// draw every one (offload's retry of a refused job too):
			// it is forgotten until an ack says it takes jobs again.
			if c.peer != nil {
				b.forget(c.job, c.peer)
			} else if w := m.Header.Get(hdrCancel); w != "" {
				b.forget(c.job, b.peers[c.job][w])
			}
			if c.direct && c.msg != nil && errors.Is(rep.Err, offload.ErrUnavailable) {
				// It did not run the job: another worker may.
				b.resend(c) // unlocks b.mu
				return
			}
		case c.peer == nil:
			b.meet(c.job, m) // answered before any ack: the answer says who
		}
		b.mu.Unlock()
		c.finish(rep)
	default:
		b.mu.Unlock()
	}
}

// resend sends c, which its worker (forgotten by now) did not take, to
// the least busy worker still known, or else to the queue group. Its
// caller holds b.mu; resend unlocks it.
func (b *Backend) resend(c *call) {
	c.release()
	c.direct, c.worker = false, ""
	subject := b.cfg.Prefix + ".job." + c.job
	if p := b.pick(c.job); p != nil {
		c.peer, c.direct, c.worker = p, true, p.cancel
		p.out++
		subject = p.direct + c.job
	}
	msg := &natsgo.Msg{Subject: subject, Reply: c.msg.Reply, Header: c.msg.Header, Data: c.msg.Data}
	b.mu.Unlock()
	if err := b.nc.PublishMsg(msg); err != nil {
		c.finish(offload.Reply{Err: offload.ErrUnavailable})
	}
}

// refused reports whether rep is a worker's refusal of a job it did not
// run: overloaded, or unavailable (its pool closed, or it is stopping).
func refused(rep offload.Reply) bool {
	return rep.Ran == 0 && rep.Queued == 0 &&
		(errors.Is(rep.Err, offload.ErrOverloaded) || errors.Is(rep.Err, offload.ErrUnavailable))
}

func decodeDone(job string, m *natsgo.Msg) offload.Reply {
	var rep offload.Reply
	rep.Queued = time.Duration(headerInt(m, hdrQueued))
	rep.Ran = time.Duration(headerInt(m, hdrRan))
	if m.Header.Get(hdrFailed) == "" {
		rep.Output = m.Data
		return rep
	}
	var f offload.Failure
	if err := json.Unmarshal(m.Data, &f); err != nil {
		rep.Err = fmt.Errorf("weft/offload/nats: job %s: a worker's failure did not decode: %w", job, err)
		return rep
	}
	rep.Err = f.Err(job)
	return rep
}

func headerInt(m *natsgo.Msg, key string) int64 {
	n, _ := strconv.ParseInt(m.Header.Get(key), 10, 64)
	return n
}

// Close stops serving jobs (see Serve: the jobs running finish, or are
// cancelled when ctx ends), fails the jobs this process sent that are still
// unanswered with offload.ErrClosed (and cancels them on their workers),
// and closes the connection (and the
// embedded server). Close the Pools that use the backend first. Safe to
// call more than once.
func (b *Backend) Close(ctx context.Context) error {
	err := b.worker.stop(ctx, b)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return err
	}
	b.closed = true
	calls := b.calls
	b.calls = map[uint64]*call{}
	b.mu.Unlock()
	for _, c := range calls {
		c.timer.Stop()
		if c.stopCtx != nil {
			c.stopCtx()
		}
		b.publishCancel(c.worker, c.reply) // nobody waits for the answer: stop the job
		c.done(offload.Reply{Err: offload.ErrClosed})
	}
	if len(calls) > 0 && b.nc.Status() == natsgo.CONNECTED {
		_ = b.nc.FlushTimeout(time.Second) // the cancels go out before the connection closes
	}
	if b.sub != nil {
		_ = b.sub.Unsubscribe()
	}
	b.closeConn()
	return err
}

func (b *Backend) closeConn() {
	if b.ownConn {
		b.nc.Close()
	}
	if b.embedded != nil {
		b.embedded.Shutdown()
		b.embedded.WaitForShutdown()
	}
}

var _ offload.Backend = (*Backend)(nil)
