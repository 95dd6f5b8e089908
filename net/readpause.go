package net

import (
	"reflect"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// Pausing reads. gnet v2.9.7 has no call for it (gnet #712): it reads on
// every readable event, into an unbounded buffer. weft reaches its loop's
// epoll descriptor (eventloop.poller.fd, read by reflection, never
// written; -1 if gnet's layout differs, and then reads are never paused)
// and takes EPOLLIN out of a connection's interest while the handler has
// not taken the streamed body it was given. gnet puts it back whenever it
// writes to the connection and meets EAGAIN or drains its output
// (ModReadWrite, ModRead), so at most one more read (ReadBufferCap, 64
// KiB) can arrive per such write: each pass pauses again while it must.
// So a client uploading faster than the handler consumes is held back by
// TCP, not buffered. MaxInboundBytes stays the last bound.

// epollOf returns the epoll descriptor of gnet's loop el, or -1.
func epollOf(el gnet.EventLoop) int {
	v := reflect.ValueOf(el)
	if !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return -1
	}
	p := v.Elem().FieldByName("poller")
	if !p.IsValid() || p.Kind() != reflect.Pointer || p.IsNil() || p.Elem().Kind() != reflect.Struct {
		return -1
	}
	fd := p.Elem().FieldByName("fd")
	if !fd.IsValid() || fd.Kind() != reflect.Int {
		return -1
	}
	return int(fd.Int())
}

// wantsReadPausedOnLoop reports whether the connection should take no more
// bytes from the socket now: its streamed body's filling buffer has no
// room for another read while the handler holds the other one.
func (cn *conn) wantsReadPausedOnLoop() bool {
	return cn.read == readStreamed && cn.bodyOf != nil && cn.bodyOf.bodyIn.fullOnLoop()
}

// readSocketOnLoop reads from the connection's socket into p itself,
// bypassing gnet's buffers, for a streamed body (body.go:
// readDirectOnLoop). It may only run when gnet holds none of the
// connection's bytes, so that the order of the bytes is kept: gnet reads
// the socket only in this same loop, and appends nothing unless it reads.
// It reports the bytes read and whether the socket met its end or an
// error; it leaves those for gnet's own read to see (the socket stays
// readable, so gnet's next poll reads it and closes the connection as it
// always does). Only on gnet's loops (epfd known), not on a TestConn.
func (cn *conn) readSocketOnLoop(p []byte) (n int, end bool) {
	if cn.l.epfd < 0 || cn.closedNow() || len(p) == 0 || cn.gc.InboundBuffered() > 0 {
		return 0, false
	}
	n, err := unix.Read(cn.gc.Fd(), p)
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return 0, false
	case err != nil || n == 0:
		return 0, true
	}
	return n, false
}

// applyReadPauseOnLoop pauses or resumes reading the socket as the
// connection's state asks.
func (cn *conn) applyReadPauseOnLoop() {
	epfd := cn.l.epfd
	if epfd < 0 || cn.closedNow() {
		return
	}
	want := cn.wantsReadPausedOnLoop() || cn.peerDone
	if !want && !cn.readPaused {
		return
	}
	fd := cn.gc.Fd()
	// Paused, the socket still reports the client's FIN (EPOLLRDHUP, on
	// which gnet closes the connection): without it a client leaving
	// while its handler holds a chunk went unseen, and the request's
	// context stayed live, until the handler asked for more. Once the
	// FIN is known (peerDone), nothing is asked, not even writing: gnet
	// would close on the FIN (EPOLLERR and EPOLLHUP, a reset, are always
	// reported), and gnet, once it has written all it holds, asks for
	// reading again on its own (ModRead) and, polling, reads the FIN and
	// closes before weft can pause it again, while answers are still owed.
	// So a half-closed connection's output is flushed by weft
	// (flushHalfClosedOnLoop), when the drain watcher sees the socket
	// writable, and its interest set back here in the same task.
	var ev uint32
	switch {
	case cn.peerDone:
	case want:
		ev = unix.EPOLLRDHUP
	default:
		ev = unix.EPOLLIN | unix.EPOLLPRI
	}
	if cn.gc.OutboundBuffered() > 0 && !cn.peerDone {
		ev |= unix.EPOLLOUT // gnet still has output to flush
	}
	if unix.EpollCtl(epfd, unix.EPOLL_CTL_MOD, fd, &unix.EpollEvent{Events: ev, Fd: int32(fd)}) == nil {
		if want && !cn.readPaused && !cn.peerDone {
			cn.l.readPauses.Add(1)
		}
		cn.readPaused = want
	}
}

// notePeerDoneOnLoop notices a half-close: a client that sent its requests
// and then shut down its sending side (shutdown(SHUT_WR): `nc -N`, some
// proxies, HTTP/1.0 clients) still waits for its answers, but gnet closes
// a connection as soon as its read meets the end of the stream (read(2)
// returning 0, eventloop_unix.go:258-266; EPOLLRDHUP without EPOLLIN,
// connection_linux.go:32-35,60-63), dropping what is not yet written. So
// at the end of a pass that leaves answers owed (a request in flight, a
// streamed body arriving, output still in gnet's buffer), weft peeks at
// the socket (recv MSG_PEEK): 0 bytes means the end of the stream with
// nothing before it. From then on the socket is not read (peerDone:
// applyReadPauseOnLoop asks only for EPOLLOUT, each pass, since gnet
// re-arms reading when it writes); the requests already received are
// answered, then the connection closes. A connection with nothing owed
// costs no system call. What this cannot see: a FIN that arrives after
// the pass while gnet still reads the socket (gnet then reads it and
// closes, as before); a gnet option to be told of the end of the stream
// instead of closing would cover it (docs/streaming.md, "Not yet").
//
// weft cannot tell a half-close from a client that closed its socket and
// left (both are a FIN): the contexts of the requests in flight are
// cancelled, as net/http does, and what their handlers still answer is
// written.
//
// It reports whether the connection must close now: the FIN came in the
// middle of a streamed body (what gnet holds does not complete it), so the
// client left, as gnet's own close would have said.
func (cn *conn) notePeerDoneOnLoop() (gone bool) {
	if cn.peerDone || cn.l.epfd < 0 || cn.closedNow() || cn.phase == phaseUpgraded {
		return false
	}
	if len(cn.queue) == 0 && cn.bodyOf == nil && cn.gc.OutboundBuffered() == 0 {
		return false
	}
	var p [1]byte
	n, _, err := unix.Recvfrom(cn.gc.Fd(), p[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
	if n != 0 || err != nil {
		return false
	}
	if c := cn.bodyOf; c != nil {
		b := c.bodyIn
		// All the client sent is in gnet's buffer now: a Content-Length
		// body is complete if that holds its rest; a chunked one is not
		// decoded ahead, so only its end, already seen, tells.
		if !b.eof && (b.remaining < 0 || b.remaining > int64(cn.gc.InboundBuffered())) {
			return true
		}
	}
	cn.peerDone = true
	// As net/http does when its background read meets the end of the
	// stream: the requests in flight may have lost their client, so
	// their contexts are cancelled (a handler that finishes anyway is
	// answered; one that fails for it gets no answer, and the connection
	// closes there). Not a request still receiving its body: its reads
	// go on to the end of the body.
	// A stream under way is not aborted (clientGoneOnLoop would): the
	// client may still read it, and its handler may go on writing.
	for _, c := range cn.queue {
		if !c.frozen && c != cn.bodyOf {
			c.gone = true
			if c.cancel != nil {
				c.cancel()
			}
		}
	}
	return false
}

// flushHalfClosedOnLoop writes what gnet holds of a half-closed
// connection's output (peerDone: gnet is not asked to, see
// applyReadPauseOnLoop) and takes reading out of its interest again, which
// gnet put back if it wrote everything. It runs from the drain watcher's
// task (drain.go), so on the loop and before gnet polls again.
func (cn *conn) flushHalfClosedOnLoop() {
	if !cn.peerDone || cn.closedNow() || cn.gc.OutboundBuffered() == 0 {
		return
	}
	_ = cn.gc.Flush()
	if !cn.closedNow() {
		cn.applyReadPauseOnLoop()
	}
}
