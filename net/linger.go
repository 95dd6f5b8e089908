package net

import (
	"time"

	"golang.org/x/sys/unix"
)

// Lingering close. A connection that closes after its last answer while
// the client is still sending (a 413 or another early answer to a large
// upload, a request refused with its body unread, requests pipelined
// behind a closing one) must not simply close: closing a socket whose
// receive queue holds unread bytes makes the kernel send a reset instead of
// a FIN (RFC 2525 §2.17), and a reset can destroy the answer in the
// client's receive queue before the client reads it (it then sees
// ECONNRESET, not the 413). net/http shuts down its write side and waits
// 500 ms (closeWriteAndWait); nginx reads and discards (lingering_close).
//
// weft does the latter, on the loop: once every answer is sent, it shuts
// down the socket's write side (the client sees the end of the stream after
// the answers) and keeps the connection in phaseLingering, where every byte
// gnet reads is discarded; it closes when the client closes (gnet reads
// the end of the stream), or once lingerBytes were discarded, or after
// lingerTimeout (checked by the sweep, so up to a tick later). No
// goroutine and no timer of its own: the connection stays on its loop's
// list, served by its own OnTraffic.
const (
	lingerTimeout = 2 * time.Second
	lingerBytes   = 16 << 20
)

// lingerOnLoop decides how a connection that is done closes: it reports
// true if it starts lingering (the caller then keeps it open), false if
// the caller is to close it now (nothing unread: a plain close sends a
// FIN; or not a socket weft can shut down; or the client already sent its
// FIN, so nothing more comes).
func (cn *conn) lingerOnLoop(now int64) bool {
	if cn.phase != phaseClosing || cn.peerDone || cn.l.epfd < 0 || cn.closedNow() || (cn.rare != nil && cn.rare.reset) {
		return false
	}
	fd := cn.gc.Fd()
	if cn.gc.InboundBuffered() == 0 && !cn.unread {
		// The socket may still hold bytes gnet has not read.
		n, err := unix.IoctlGetInt(fd, unix.SIOCINQ)
		if err != nil || n == 0 {
			return false
		}
	}
	if unix.Shutdown(fd, unix.SHUT_WR) != nil {
		return false
	}
	cn.phase = phaseLingering
	cn.rareOnLoop().lingerStart = now
	if c := cn.partial; c != nil {
		cn.partial = nil
		cn.l.putCtx(c)
	}
	cn.read, cn.reqStart = readIdle, 0
	cn.lingerDiscardOnLoop()
	// Reading may have been paused for a streamed body's back-pressure
	// (readpause.go); lingering reads everything, so resume it (the pass
	// that started lingering returns before its own applyReadPauseOnLoop).
	cn.applyReadPauseOnLoop()
	cn.l.lingers.Add(1)
	return true
}

// lingerDiscardOnLoop drops what gnet holds of the client's bytes; it
// reports whether the connection has discarded its share (lingerBytes)
// and must close.
func (cn *conn) lingerDiscardOnLoop() bool {
	if n := cn.gc.InboundBuffered(); n > 0 {
		_, _ = cn.gc.Discard(n)
		cn.rareOnLoop().lingered += n
	}
	return cn.rare != nil && cn.rare.lingered > lingerBytes
}

// Abortive close. A streamed body that ends with the connection (HTTP/1.0
// without a length: closeDelimitedOnLoop) has no framing that a cut could
// break: if it is aborted, a FIN would tell the client the body is
// complete. Such a connection ends with a reset instead (SO_LINGER 0),
// which the client's read reports as an error (ECONNRESET). The reset
// waits until the client has acknowledged every byte written before it
// (SIOCOUTQ is 0; a reset drops the send queue, which may still hold the
// answers pipelined ahead of the stream and the bytes it wrote before the
// abort): the sweep looks again every tick, within IdleTimeout; a close
// for another reason (WriteTimeout) resets at once.

// resetOnCloseOnLoop makes the connection's close a reset. Not for a
// connection that is not a socket (a TestConn's, a MemServer's), which
// cannot reset.
func (cn *conn) resetOnCloseOnLoop() {
	if cn.l.epfd < 0 || cn.closedNow() {
		return
	}
	if unix.SetsockoptLinger(cn.gc.Fd(), unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}) == nil {
		cn.rareOnLoop().reset = true
	}
}

// resetReadyOnLoop reports whether a connection that is to end with a
// reset may close now: the client has acknowledged everything written.
func (cn *conn) resetReadyOnLoop() bool {
	n, err := unix.IoctlGetInt(cn.gc.Fd(), unix.SIOCOUTQ)
	return err != nil || n == 0
}
