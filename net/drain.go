package net

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Learning that a connection's output drained. gnet raises no event for it
// (see "What gnet v2.9.7 allows" in conn.go), so a connection that waits
// for its output to drain to some level (drainTargetOnLoop) is watched:
//
//   - On a Server, by the drain watcher: one goroutine per server blocked
//     in epoll_wait on an epoll instance of its own, into which a loop adds
//     a waiting connection's descriptor with EPOLLOUT|EPOLLONESHOT (a socket
//     may be in several epoll sets; gnet's own keeps its EPOLLOUT while its
//     buffer holds bytes). When the socket turns writable, gnet writes its
//     buffer on its own EPOLLOUT, and the watcher hands the descriptor to
//     the connection's loop (a drainEvent task, one posted at a time per
//     loop). gnet runs the tasks posted to a loop after the I/O callbacks of
//     the epoll batch that returned its task eventfd (Polling,
//     pkg/netpoll/poller_epoll_default.go:124-155: every callback of the
//     batch, then the task queues), and the kernel reports the socket
//     writable to gnet's epoll no later than to the watcher's, so the task
//     almost always sees what gnet wrote; when it runs first, the output is
//     still above the target, the descriptor is armed again, fires at once
//     (the socket is still writable) and the next task comes after gnet's
//     write. Armed again while the output stays above the target, the
//     descriptor fires once per time the socket turns writable: no polling.
//     A closing connection takes its descriptor out of the set (OnClose
//     runs before gnet closes it, so the number cannot yet name another
//     socket), and an event names the loop it is for, which ignores a
//     descriptor it did not arm.
//   - On a MemServer, by the client's reads (memPipe.armDrainOnLoop).
//   - Otherwise (the watcher's epoll set could not be made, or an arm
//     failed), by a timer: the loop looks at the output of the connections
//     it watches every drainPoll.

// drainPoll is how often a loop looks at the output of the connections
// that wait for it to drain when no event can tell it.
const drainPoll = time.Millisecond

// drainTargetOnLoop returns the output (gnet's OutboundBuffered) at or
// below which something waiting on the connection can go on, or -1 if
// nothing waits for a drain: a closing connection closes once its output
// is sent (0); parsing resumes, and an upgraded protocol's writer is
// released, at half MaxOutboundBytes; a stream's writer at half its
// high-water mark, counting what weft queued for it and for the streams
// ahead of it (so none, if that alone is over half the mark: that stream
// waits for the one ahead of it to end, which a pass notices, not for a
// drain). It changes nothing.
func (cn *conn) drainTargetOnLoop() int {
	cfg := cn.l.st.cfg
	t := -1
	if cn.phase == phaseClosing || cn.peerDone {
		t = 0 // a half-closed connection's output is flushed by weft
	}
	if cn.outHigh || (cn.up != nil && len(cn.up.waiters) > 0) {
		t = max(t, cfg.maxOutbound/2)
	}
	queued := 0
	for _, c := range cn.queue {
		if s := c.stream; s != nil {
			queued += len(s.pending)
			if len(s.waiters) > 0 {
				t = max(t, cfg.streamMark/2-queued)
			}
		}
	}
	return t
}

// waitsForDrainOnLoop reports whether something waits for the connection's
// output to drain further than it has: reading paused, a writer held back,
// a close.
func (cn *conn) waitsForDrainOnLoop() bool {
	t := cn.drainTargetOnLoop()
	return t >= 0 && cn.gc.OutboundBuffered() > t
}

// drainArmer is what a connection that reports its own drains offers (a
// MemServer's memPipe): armDrainOnLoop asks for the connection's
// drainEventOnLoop, once, when its output is at or below target.
type drainArmer interface {
	armDrainOnLoop(target int)
}

// watchOnLoop watches cn until its output drains to its target: the drain
// event marks it for a pass (evDrain), whose service watches it again if
// it still waits.
func (l *loop) watchOnLoop(cn *conn) {
	if cn.drainArmed || cn.watched || cn.closedNow() {
		return
	}
	if a, ok := cn.gc.(drainArmer); ok {
		cn.drainArmed = true
		a.armDrainOnLoop(max(cn.drainTargetOnLoop(), 0))
		return
	}
	if w := l.st.drainW; w != nil {
		fd := cn.gc.Fd()
		if w.arm(fd, l.id, cn.drainReg && int(cn.drainFd) == fd) == nil {
			cn.drainArmed, cn.drainReg, cn.drainFd = true, true, int32(fd)
			if l.armed == nil {
				l.armed = make(map[int]*conn)
			}
			l.armed[fd] = cn
			return
		}
	}
	cn.watched = true
	l.watch = append(l.watch, cn)
	l.pollOnLoop()
}

// pollOnLoop arms the drain timer.
func (l *loop) pollOnLoop() {
	if l.polling {
		return
	}
	l.polling = true
	if l.drainT == nil {
		l.drainT = time.AfterFunc(drainPoll, func() { _ = l.Post((*drainCheck)(l)) })
	} else {
		l.drainT.Reset(drainPoll)
	}
}

// forgetDrainOnLoop takes a closing connection out of the drain watcher's
// set; it runs from OnClose, while the descriptor is still cn's.
func (l *loop) forgetDrainOnLoop(cn *conn) {
	cn.drainArmed = false
	if l.armed[int(cn.drainFd)] == cn {
		delete(l.armed, int(cn.drainFd))
	}
	if cn.drainReg {
		cn.drainReg = false
		l.st.drainW.forget(int(cn.drainFd))
	}
}

// drainEventOnLoop takes an event saying that cn's output may have
// drained: a pass if it drained to its target, armed again if not.
func (l *loop) drainEventOnLoop(cn *conn) {
	l.drainEvents.Add(1)
	cn.drainArmed = false
	cn.flushHalfClosedOnLoop()
	if cn.closedNow() {
		return
	}
	t := cn.drainTargetOnLoop()
	switch {
	case t < 0:
	case cn.gc.OutboundBuffered() <= t:
		l.drains.Add(1)
		cn.markOnLoop(evDrain)
	default:
		l.watchOnLoop(cn)
	}
}

// drainEvent is the task by which the drain watcher hands a loop the
// descriptors it saw writable.
type drainEvent loop

// Run takes the descriptors the watcher saw writable since the last one.
func (d *drainEvent) Run() {
	l := (*loop)(d)
	l.mu.Lock()
	fds := l.fired
	l.fired = l.firedB[:0]
	l.firing = false
	l.mu.Unlock()
	for _, fd := range fds {
		if cn := l.armed[int(fd)]; cn != nil {
			delete(l.armed, int(fd))
			l.drainEventOnLoop(cn)
		}
	}
	l.firedB = fds[:0]
}

// firedOff records, from the drain watcher, that descriptor fd of l may
// have drained, and posts the task that looks at it unless one is posted.
func (l *loop) firedOff(fd int32) {
	l.mu.Lock()
	l.fired = append(l.fired, fd)
	post := !l.firing
	l.firing = true
	l.mu.Unlock()
	if post && l.Post((*drainEvent)(l)) != nil {
		l.mu.Lock()
		l.firing = false
		l.mu.Unlock()
	}
}

// Run looks at the output of the connections the timer watches: the ones
// drained to their target get a pass; the others stay watched.
func (d *drainCheck) Run() {
	l := (*loop)(d)
	l.polling = false
	l.drainPolls.Add(1)
	kept := l.watch[:0]
	for _, cn := range l.watch {
		cn.flushHalfClosedOnLoop()
		if cn.closedNow() {
			cn.watched = false
			continue
		}
		t := cn.drainTargetOnLoop()
		if t < 0 || cn.gc.OutboundBuffered() <= t {
			cn.watched = false
			if t >= 0 {
				l.drains.Add(1)
				cn.markOnLoop(evDrain)
			}
			continue
		}
		kept = append(kept, cn)
	}
	clear(l.watch[len(kept):])
	l.watch = kept
	if len(kept) > 0 {
		l.pollOnLoop()
	}
}

// A drainWatcher is a Server's drain watcher (see above). arm and forget
// are safe for concurrent use (epoll_ctl is); stop is called once, after
// the loops have stopped.
type drainWatcher struct {
	st     *serverState
	epfd   int
	stopfd int // an eventfd in the set: written to stop
	done   chan struct{}

	mu       sync.RWMutex // read-held around epoll_ctl, write-held to close
	closed   bool
	stopOnce sync.Once
}

// stopTag marks the stop eventfd's events (loop ids are 0–255).
const stopTag = -1

// newDrainWatcher makes st's drain watcher and starts its goroutine.
func newDrainWatcher(st *serverState) (*drainWatcher, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	stopfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(stopfd), Pad: stopTag}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, stopfd, &ev); err != nil {
		unix.Close(stopfd)
		unix.Close(epfd)
		return nil, err
	}
	w := &drainWatcher{st: st, epfd: epfd, stopfd: stopfd, done: make(chan struct{})}
	go w.run()
	return w, nil
}

// arm asks for one event when fd turns writable, for loop id; in the set
// says whether fd is already there (spent, or armed).
func (w *drainWatcher) arm(fd, id int, inSet bool) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return unix.EBADF
	}
	ev := unix.EpollEvent{Events: unix.EPOLLOUT | unix.EPOLLONESHOT, Fd: int32(fd), Pad: int32(id)}
	op, other := unix.EPOLL_CTL_ADD, unix.EPOLL_CTL_MOD
	if inSet {
		op, other = other, op
	}
	err := unix.EpollCtl(w.epfd, op, fd, &ev)
	if err == unix.EEXIST || err == unix.ENOENT {
		err = unix.EpollCtl(w.epfd, other, fd, &ev)
	}
	return err
}

// forget takes fd out of the set.
func (w *drainWatcher) forget(fd int) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if !w.closed {
		_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	}
}

func (w *drainWatcher) run() {
	defer close(w.done)
	evs := make([]unix.EpollEvent, 64)
	for {
		n, err := unix.EpollWait(w.epfd, evs, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			// Cannot happen with a valid set; if it does, the loops
			// fall back on the timer (their armed connections are
			// handed over by a last event each).
			w.st.cfg.log.Error("the drain watcher stopped; loops poll for drains")
			w.mu.Lock()
			w.closed = true
			w.mu.Unlock()
			w.st.forEachLoop(func(l *loop) { _ = l.Post((*drainRearm)(l)) })
			return
		}
		for _, ev := range evs[:n] {
			if ev.Pad == stopTag {
				return
			}
			if p := w.st.loops.Load(); p != nil && int(ev.Pad) < len(*p) {
				(*p)[ev.Pad].firedOff(ev.Fd)
			}
		}
	}
}

// stop ends the watcher's goroutine, waits for it, and closes its
// descriptors.
func (w *drainWatcher) stop() {
	w.stopOnce.Do(func() {
		one := [8]byte{1}
		_, _ = unix.Write(w.stopfd, one[:]) // any nonzero count wakes it
		<-w.done
		w.mu.Lock()
		w.closed = true
		unix.Close(w.stopfd)
		unix.Close(w.epfd)
		w.mu.Unlock()
	})
}

// drainRearm hands the connections armed in a failed drain watcher to the
// timer.
type drainRearm loop

// Run re-watches every armed connection on the timer.
func (r *drainRearm) Run() {
	l := (*loop)(r)
	for fd, cn := range l.armed {
		delete(l.armed, fd)
		cn.drainArmed = false
		l.watchOnLoop(cn)
	}
}
