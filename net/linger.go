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
	if cn.phase != phaseClosing || cn.peerDone || cn.l.epfd < 0 || cn.closedNow() {
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
