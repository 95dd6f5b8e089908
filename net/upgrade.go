package net

import (
	"context"
	"errors"
	"io"
	stdnet "net"
	"runtime/debug"

	"go.uber.org/zap"

	"github.com/weftgo/weft/runtime"
)

// A Protocol serves a connection after an HTTP upgrade (Ctx.Upgrade).
// Loop-only: weft calls its methods on the connection's loop.
//
// A Protocol may also implement interface{ Shutdown() }: when the server
// drains (Server.Shutdown), Shutdown is called on the loop, and the
// protocol should close the connection once it has said goodbye; without
// it, the connection is closed.
type Protocol interface {
	// Traffic is given the unconsumed inbound bytes (borrowed for the
	// call) and returns how many it consumed; it is called from the
	// connection's service pass. Bytes not consumed are given again,
	// with more, once more arrive. The first call comes right after the
	// 101 is written, even with no bytes yet, so a protocol may write
	// first.
	Traffic(u *Upgraded, in []byte) (consumed int)
	// Closed is called once when the connection is gone (err: why, nil
	// on a clean close).
	Closed(u *Upgraded, err error)
}

// Upgraded is a connection handed to a Protocol. Loop-only: call its
// methods on the connection's loop (Loop tells which), in the protocol's
// callbacks or their continuations.
type Upgraded struct {
	cn      *conn
	p       Protocol
	ctx     context.Context
	cancel  context.CancelFunc
	waiters []runtime.Promise[struct{}]
	started bool // Traffic has been called once
	closing bool // Close was called
	gone    bool // the connection is closed
}

// Upgrade answers the request with 101 Switching Protocols, with the
// headers the handler set (Upgrade, and whatever the protocol needs;
// Connection: Upgrade is written by weft), and once that is written hands
// the connection to p. The request must allow it: a request that closes
// its connection (HTTP/1.0, Connection: close) fails with 400. Checking
// that the request asked for p's protocol is p's business. Loop-only.
func (c *Ctx) Upgrade(p Protocol) Result {
	if c.frozen || c.stream != nil {
		return Fail(errFrozen)
	}
	if c.closeAfter || c.req.Minor == 0 || c.conn == nil {
		return Fail(NewError(StatusBadRequest, "this request cannot upgrade its connection"))
	}
	c.upgrade = p
	c.status = StatusSwitchingProtocols
	c.setBody(nil)
	return Result{}
}

// handOverOnLoop gives the connection to the protocol of c, whose 101 was
// just written.
func (cn *conn) handOverOnLoop(c *Ctx) {
	u := &Upgraded{cn: cn, p: c.upgrade}
	u.ctx, u.cancel = context.WithCancel(cn.l.ctx)
	cn.up = u
	cn.phase = phaseUpgraded
	cn.upgrading = false
	cn.marked |= evIn // bytes that came with the request are the protocol's
}

// protocolTrafficOnLoop gives the inbound bytes to the protocol.
func (cn *conn) protocolTrafficOnLoop() {
	u := cn.up
	// The first pass after the hand-over calls Traffic even with nothing
	// buffered, so that the protocol starts (and may speak first: a
	// greeting, a replay) without waiting for the client's first bytes.
	if u.closing || (u.started && cn.gc.InboundBuffered() == 0) {
		return
	}
	u.started = true
	buf, _ := cn.gc.Peek(-1)
	n := u.trafficOnLoop(buf)
	if n > 0 {
		_, _ = cn.gc.Discard(min(n, len(buf)))
	}
}

func (u *Upgraded) trafficOnLoop(buf []byte) (n int) {
	defer func() {
		if r := recover(); r != nil {
			u.cn.l.log.Error("panic in an upgraded protocol's Traffic; closing the connection",
				zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
			u.closing = true
			n = 0
		}
	}()
	return u.p.Traffic(u, buf)
}

// Write sends p (copied). The future is ready at once while the
// connection's output is under MaxOutboundBytes, and otherwise settles once
// the client has drained it to half (the same back-pressure as
// Stream.Write); it fails once the connection is closed. Loop-only.
func (u *Upgraded) Write(p []byte) runtime.Future[struct{}] {
	if u.gone || u.closing {
		return runtime.Rejected[struct{}](ErrClientGone)
	}
	cn := u.cn
	_, _ = cn.gc.Write(p)
	if cn.closedNow() {
		return runtime.Rejected[struct{}](ErrClientGone)
	}
	cn.lastActive = cn.l.st.now.Load()
	if cn.gc.OutboundBuffered() < cn.l.st.cfg.maxOutbound {
		return runtime.Future[struct{}]{}
	}
	pr := runtime.NewPromise[struct{}](cn.l)
	u.waiters = append(u.waiters, pr)
	if !cn.inPass {
		cn.l.watchOnLoop(cn)
	}
	return pr.Future()
}

// OutboundBuffered returns the bytes written and not yet sent to the
// client. Loop-only.
func (u *Upgraded) OutboundBuffered() int {
	if u.gone {
		return 0
	}
	return u.cn.gc.OutboundBuffered()
}

// Close closes the connection once what was written is handed to the
// kernel (or WriteTimeout passes without progress, for a client that does
// not read); the protocol's Closed follows. Nothing more is read or
// written meanwhile. Loop-only.
func (u *Upgraded) Close() {
	if u.gone || u.closing {
		return
	}
	u.closing = true
	u.cn.markOnLoop(evSettled)
}

// Loop returns the connection's loop. Safe for concurrent use.
func (u *Upgraded) Loop() runtime.Loop { return u.cn.l }

// Context returns a context cancelled when the connection closes (or the
// server gives up on Shutdown). Loop-only; the context is safe for
// concurrent use.
func (u *Upgraded) Context() context.Context { return u.ctx }

// RemoteAddr returns the client's address, or nil once closed. Loop-only.
func (u *Upgraded) RemoteAddr() stdnet.Addr {
	if u.gone {
		return nil
	}
	return u.cn.gc.RemoteAddr()
}

// releaseOnLoop resolves the writers held back once the output is down to
// half the limit.
func (u *Upgraded) releaseOnLoop() {
	if len(u.waiters) == 0 || u.cn.gc.OutboundBuffered() > u.cn.l.st.cfg.maxOutbound/2 {
		return
	}
	ws := u.waiters
	u.waiters = nil
	for _, p := range ws {
		p.Resolve(struct{}{})
	}
}

// shutdownOnLoop tells the protocol the server drains, or closes the
// connection if it does not listen.
func (u *Upgraded) shutdownOnLoop() {
	if u.gone || u.closing {
		return
	}
	if s, ok := u.p.(interface{ Shutdown() }); ok {
		func() {
			defer func() {
				if r := recover(); r != nil {
					u.cn.l.log.Error("panic in an upgraded protocol's Shutdown", zap.Any("panic", r))
					u.Close()
				}
			}()
			s.Shutdown()
		}()
		return
	}
	u.Close()
}

// closedOnLoop tells the protocol the connection is gone.
func (u *Upgraded) closedOnLoop(err error) {
	if u.gone {
		return
	}
	u.gone = true
	u.cancel()
	ws := u.waiters
	u.waiters = nil
	for _, p := range ws {
		p.Reject(ErrClientGone)
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	defer func() {
		if r := recover(); r != nil {
			u.cn.l.log.Error("panic in an upgraded protocol's Closed", zap.Any("panic", r))
		}
	}()
	u.p.Closed(u, err)
}
