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

	natsgo "github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
)

// rememberCancels is how many cancels for jobs not (yet) here a worker
// remembers: every worker hears the cancels of jobs not acked, so this is
// about how many jobs all callers give up on before an ack in the time a
// job takes to reach a worker. About 100 KiB.
const rememberCancels = 1024

// workerState is the worker side of a Backend.
type workerState struct {
	mu         sync.Mutex
	id         string // the cancel subject
	direct     string // this worker's own job subjects, less the job's name
	jobSubs    []*natsgo.Subscription
	cancelSubs []*natsgo.Subscription
	running    map[string]*served // by reply subject
	// cancelled holds the reply subjects of the last cancels heard for
	// jobs not here (yet): a cancel may overtake its job (the caller gave
	// up before the ack, and may be gone before the ack could bring a
	// second cancel). recent is their order, to forget the oldest.
	cancelled map[string]struct{}
	recent    []string
	next      int
	closing   bool       // Close began: Serve refuses
	stopped   bool       // the job subscriptions are drained: jobs are refused
	idle      *sync.Cond // signalled when running empties
}

func (w *workerState) init() {
	w.running = map[string]*served{}
	w.cancelled = map[string]struct{}{}
	w.recent = make([]string, rememberCancels)
	w.idle = sync.NewCond(&w.mu)
}

// Serve makes this process a worker for jobs: each job sent to them by any
// process on the same NATS runs on p (its admission applies: a job the pool
// refuses fails there with *offload.OverloadError, and the caller may place
// it elsewhere). Jobs come through the queue group and, from callers that
// know this worker (from its acks), on a subject of its own. It returns
// once the subscriptions are in place; they last
// until Close. Call it once per Backend, at start-up. Safe for concurrent
// use.
//
// In a process that only serves (no event loops), give p YieldEvery: -1:
// its jobs then never yield the processor for a loop that is not there,
// and this client's goroutines run once per several jobs (at Go's
// preemption, or when p's queue empties) instead of after each, so NATS
// and the callers wake once for several answers. See docs/offload.md,
// "Past one machine".
func (b *Backend) Serve(p *offload.Pool, jobs ...offload.Handler) error {
	w := &b.worker
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closing {
		return offload.ErrClosed
	}
	if w.id == "" {
		key := b.nc.NewRespInbox()[len("_INBOX."):]
		w.id = b.cfg.Prefix + ".cancel." + key
		w.direct = b.cfg.Prefix + ".worker." + key + ".job."
		sub, err := b.nc.Subscribe(w.id, func(m *natsgo.Msg) { w.cancel(string(m.Data)) })
		if err != nil {
			return fmt.Errorf("weft/offload/nats: subscribing to cancels: %w", err)
		}
		w.cancelSubs = append(w.cancelSubs, sub)
		// Cancels for jobs whose worker the caller does not know yet.
		all, err := b.nc.Subscribe(b.cfg.Prefix+".cancel", func(m *natsgo.Msg) { w.cancel(string(m.Data)) })
		if err != nil {
			return fmt.Errorf("weft/offload/nats: subscribing to cancels: %w", err)
		}
		w.cancelSubs = append(w.cancelSubs, all)
	}
	slots := strconv.Itoa(max(p.Stats().Workers, 1))
	for _, h := range jobs {
		serve := func(m *natsgo.Msg) { b.serveJob(p, h, m, slots) }
		sub, err := b.nc.QueueSubscribe(b.cfg.Prefix+".job."+h.Name(), b.cfg.Queue, serve)
		if err != nil {
			return fmt.Errorf("weft/offload/nats: subscribing to job %s: %w", h.Name(), err)
		}
		w.jobSubs = append(w.jobSubs, sub)
		// Jobs sent to this worker by name: a caller that knows it
		// (from an ack) sends it jobs while it is the least busy.
		own, err := b.nc.Subscribe(w.direct+h.Name(), serve)
		if err != nil {
			return fmt.Errorf("weft/offload/nats: subscribing to job %s: %w", h.Name(), err)
		}
		w.jobSubs = append(w.jobSubs, own)
	}
	// Jobs must reach NATS before a caller sends one.
	return b.nc.Flush()
}

// served is one job this worker runs.
type served struct {
	cancel context.CancelFunc
	beat   *time.Timer
	done   bool // guarded by workerState.mu
	queued time.Duration
	ran    time.Duration
	ctx    context.Context
	// introduce: the job came through the queue group and was answered
	// before an ack went out, so its answer tells the caller which
	// worker this is (slots: how many jobs it runs at once).
	introduce bool
	slots     string
}

// served is a runtime.Scope (no loop) and its own runtime.Tracker, which
// records the job's queue and run times for the reply.
func (s *served) Loop() runtime.Loop                                { return nil }
func (s *served) Context() context.Context                          { return s.ctx }
func (s *served) Tracker() runtime.Tracker                          { return s }
func (s *served) Keep()                                             {}
func (s *served) Release()                                          {}
func (s *served) Measure(_ runtime.Work, queued, ran time.Duration) { s.queued, s.ran = queued, ran }

// serveJob runs on the job subscription's goroutine: it hands the job to
// the pool and returns; the answer goes out when the job's future settles.
func (b *Backend) serveJob(p *offload.Pool, h offload.Handler, m *natsgo.Msg, slots string) {
	if m.Reply == "" {
		return
	}
	w := &b.worker
	ctx, cancel := context.WithCancel(context.Background())
	if ns := headerInt(m, hdrTimeout); ns > 0 {
		ctx, cancel = context.WithTimeout(context.Background(), time.Duration(ns))
	}
	direct := strings.HasPrefix(m.Subject, w.direct)
	s := &served{cancel: cancel, ctx: ctx, introduce: !direct, slots: slots}
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		cancel()
		b.answer(m.Reply, nil, offload.ErrUnavailable, s) // not run: it may run elsewhere
		return
	}
	if _, ok := w.cancelled[m.Reply]; ok {
		// Its cancel came first.
		delete(w.cancelled, m.Reply)
		w.mu.Unlock()
		cancel()
		b.answer(m.Reply, nil, context.Canceled, s)
		return
	}
	w.running[m.Reply] = s
	w.mu.Unlock()

	input := m.Data
	f := offload.RunHandler(s, p, h, input)
	if !f.Ready() {
		// A job sent to this worker by name needs no ack: its caller
		// knows where it went (its heartbeats still come).
		if !direct {
			s.introduce = false // the ack does (no race: Listen comes after)
			ack := natsgo.NewMsg(m.Reply)
			ack.Header.Set(hdrKind, "ack")
			ack.Header.Set(hdrCancel, w.id)
			ack.Header.Set(hdrDirect, w.direct)
			ack.Header.Set(hdrSlots, slots)
			if err := b.nc.PublishMsg(ack); err != nil {
				b.log.Debug("cannot ack a job", zap.Error(err))
			}
		}
		if beat := time.Duration(headerInt(m, hdrBeat)); beat > 0 {
			w.mu.Lock()
			if !s.done {
				s.beat = time.AfterFunc(beat, func() { b.heartbeat(m.Reply, s, beat) })
			}
			w.mu.Unlock()
		}
	}
	f.Listen(&answerer{b: b, reply: m.Reply, s: s})
}

// heartbeat tells the caller that the job still runs, every beat.
func (b *Backend) heartbeat(reply string, s *served, beat time.Duration) {
	w := &b.worker
	w.mu.Lock()
	defer w.mu.Unlock()
	if s.done {
		return
	}
	msg := natsgo.NewMsg(reply)
	msg.Header.Set(hdrKind, "beat")
	_ = b.nc.PublishMsg(msg)
	s.beat.Reset(beat)
}

// answerer sends a job's result when its future settles (on the worker
// goroutine that ran it).
type answerer struct {
	b     *Backend
	reply string
	s     *served
}

func (a *answerer) Settled(out []byte, err error) {
	w := &a.b.worker
	w.mu.Lock()
	a.s.done = true
	if a.s.beat != nil {
		a.s.beat.Stop()
	}
	delete(w.running, a.reply)
	if len(w.running) == 0 {
		w.idle.Broadcast()
	}
	w.mu.Unlock()
	a.s.cancel()
	if errors.Is(err, offload.ErrClosed) && a.s.ran == 0 && a.s.queued == 0 {
		// This worker's pool is closed (it is going away) and did not
		// run the job, which may run elsewhere: ErrClosed would tell the
		// caller that its own pool is closed.
		err = offload.ErrUnavailable
	}
	a.b.answer(a.reply, out, err, a.s)
}

// answer publishes a job's "done".
func (b *Backend) answer(reply string, out []byte, err error, s *served) {
	msg := natsgo.NewMsg(reply)
	msg.Header.Set(hdrKind, "done")
	msg.Header.Set(hdrQueued, strconv.FormatInt(int64(s.queued), 10))
	msg.Header.Set(hdrRan, strconv.FormatInt(int64(s.ran), 10))
	if s.introduce {
		msg.Header.Set(hdrCancel, b.worker.id)
		msg.Header.Set(hdrDirect, b.worker.direct)
		msg.Header.Set(hdrSlots, s.slots)
	}
	msg.Data = out
	var f offload.Failure
	if err != nil {
		f = offload.FailureOf(err)
		data, jerr := json.Marshal(f)
		if jerr != nil {
			f = offload.Failure{Kind: offload.FailError, Message: err.Error()}
			data, _ = json.Marshal(f)
		}
		msg.Header.Set(hdrFailed, "1")
		msg.Data = data
	}
	perr := b.nc.PublishMsg(msg)
	if errors.Is(perr, natsgo.ErrMaxPayload) {
		// An answer that cannot go out would leave the caller to take
		// this worker for lost (and run an idempotent job again): send
		// one that fits, saying why.
		if err == nil {
			err = fmt.Errorf("weft/offload/nats: the job's output (%d bytes) exceeds the NATS server's max payload (%d bytes)", len(out), b.nc.MaxPayload())
			f = offload.FailureOf(err)
		}
		const keep = 4096
		if len(f.Message) > keep {
			f.Message = f.Message[:keep] + "..."
		}
		if len(f.Stack) > keep {
			f.Stack = f.Stack[:keep]
		}
		msg.Data, _ = json.Marshal(f)
		msg.Header.Set(hdrFailed, "1")
		perr = b.nc.PublishMsg(msg)
	}
	if perr != nil {
		b.log.Warn("cannot answer a job", zap.Error(perr))
	}
}

// cancel cancels the job answering to reply if it runs here, and
// remembers the cancel otherwise, in case the job comes later.
func (w *workerState) cancel(reply string) {
	w.mu.Lock()
	s := w.running[reply]
	if s == nil {
		if _, ok := w.cancelled[reply]; !ok {
			delete(w.cancelled, w.recent[w.next])
			w.recent[w.next] = reply
			w.next = (w.next + 1) % len(w.recent)
			w.cancelled[reply] = struct{}{}
		}
	}
	w.mu.Unlock()
	if s != nil {
		s.cancel()
	}
}

// cancelAll cancels every job running here.
func (w *workerState) cancelAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.running {
		s.cancel()
	}
}

// stop drains the job subscriptions (no job comes in any more, and those
// NATS already delivered are served, not dropped), waits for the running
// jobs to be answered (at ctx's end it cancels them and still waits for
// their answers: their pool's workers return them), then stops listening
// for cancels.
func (w *workerState) stop(ctx context.Context, b *Backend) error {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return nil
	}
	w.closing = true
	jobSubs, cancelSubs := w.jobSubs, w.cancelSubs
	w.jobSubs, w.cancelSubs = nil, nil
	w.mu.Unlock()
	defer func() {
		for _, sub := range cancelSubs {
			_ = sub.Unsubscribe()
		}
	}()
	for _, sub := range jobSubs {
		if b.nc.Status() != natsgo.CONNECTED {
			_ = sub.Unsubscribe() // nothing to drain through
			continue
		}
		closed := sub.StatusChanged(natsgo.SubscriptionClosed) // closed once drained
		if err := sub.Drain(); err != nil {
			_ = sub.Unsubscribe()
			continue
		}
		// Past LostAfter the callers of undelivered jobs have given up;
		// a drain that takes longer (the connection dropped meanwhile) is
		// not waited for. closed gets SubscriptionClosed once drained;
		// nothing waits on it past this select (a goroutine would, for
		// ever, if the connection closed before the drain ended: that
		// closes the subscription without telling its listeners).
		limit := time.NewTimer(b.cfg.LostAfter)
		select {
		case <-closed:
		case <-ctx.Done():
		case <-limit.C:
		}
		limit.Stop()
	}
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	finished := make(chan struct{})
	go func() {
		w.mu.Lock()
		for len(w.running) > 0 {
			w.idle.Wait()
		}
		w.mu.Unlock()
		close(finished)
	}()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
	}
	w.cancelAll()
	<-finished
	return ctx.Err()
}
