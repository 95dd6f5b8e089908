package net

import (
	"context"
	"errors"
	stdnet "net"
	"os"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// A waker is a loop's own socket pair, its near end enrolled in gnet, by
// which a connection that used its turn is served again only after gnet
// has polled (see "The turn limit yields to epoll" in conn.go). gnet's task
// queues cannot do it: a task posted from a task runs before the next
// epoll_wait. A byte written to the far end makes the near end readable,
// so the next epoll_wait returns it with the other sockets that are ready,
// and its OnTraffic, beside theirs, puts the yielded connections back on
// the ready list.
type waker struct {
	l     *loop
	gc    gnet.Conn // the near end once open; nil before and after
	far   int       // the far end's descriptor, -1 once closed
	armed bool      // a byte is on its way
}

// enrollWaker gives l its waker (Start calls it once the loops run). On
// failure the loop yields through its task queue, as a TestConn's does.
func (l *loop) enrollWaker() error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	w := &waker{l: l, far: fds[1]}
	f := os.NewFile(uintptr(fds[0]), "weft-waker")
	c, err := stdnet.FileConn(f) // duplicates the descriptor
	f.Close()
	if err != nil {
		unix.Close(fds[1])
		return err
	}
	// gnet duplicates it again and closes c once enrolled.
	ch, err := l.el.Enroll(gnet.NewContext(context.Background(), w), c)
	if err != nil {
		c.Close()
		unix.Close(fds[1])
		return err
	}
	select {
	case res := <-ch:
		if res.Err != nil {
			unix.Close(fds[1])
			return res.Err
		}
	case <-time.After(10 * time.Second):
		// The loop is stuck: its OnClose, if it ever comes, closes far.
		return errors.New("the loop did not take its waker within 10 s")
	}
	return nil
}

// openedOnLoop runs from OnOpen.
func (w *waker) openedOnLoop(gc gnet.Conn) {
	w.gc = gc
	w.l.waker = w
}

// wakeOnLoop arms the waker: the loop's next epoll_wait will return it.
// It reports false if it cannot (the caller serves from the task queue).
func (w *waker) wakeOnLoop() bool {
	if w.gc == nil {
		return false
	}
	if w.armed {
		return true
	}
	if _, err := unix.Write(w.far, []byte{1}); err != nil {
		return false
	}
	w.armed = true
	return true
}

// trafficOnLoop runs from OnTraffic: gnet has polled, the yielded
// connections are served.
func (w *waker) trafficOnLoop() {
	if w.gc != nil {
		_, _ = w.gc.Discard(-1)
	}
	w.armed = false
	w.l.unyieldOnLoop()
}

// closedOnLoop runs from OnClose (the engine is stopping).
func (w *waker) closedOnLoop() {
	w.gc = nil
	if w.l.waker == w {
		w.l.waker = nil
	}
	if w.far >= 0 {
		unix.Close(w.far)
		w.far = -1
	}
	w.l.unyieldOnLoop()
}

// yieldOnLoop serves cn, which used its turn, again once gnet has polled
// (through the waker; from the task queue without one).
func (l *loop) yieldOnLoop(cn *conn) {
	cn.queued = true
	if w := l.waker; w != nil && w.wakeOnLoop() {
		l.yielded = append(l.yielded, cn)
		return
	}
	l.readyOnLoop(cn)
}

// unyieldOnLoop moves the yielded connections to the ready list.
func (l *loop) unyieldOnLoop() {
	for i, cn := range l.yielded {
		l.yielded[i] = nil
		l.readyOnLoop(cn)
	}
	l.yielded = l.yielded[:0]
}
