package net

import (
	"runtime/debug"

	"github.com/panjf2000/gnet/v2"
	"go.uber.org/zap"
)

// engine receives gnet's events. OnBoot runs on the goroutine of gnet.Run;
// OnOpen, OnTraffic and OnClose run on the loop that owns the connection.
type engine struct {
	gnet.BuiltinEventEngine
	srv    *Server
	st     *serverState
	booted chan<- error

	// probed receives each connection that reaches a loop through gnet's
	// private socket: Start's probes, which prove the loops run and let
	// weft know every loop before it hands connections to them.
	probed chan struct{}
}

func (e *engine) OnBoot(eng gnet.Engine) gnet.Action {
	e.srv.mu.Lock()
	e.srv.eng = eng
	e.srv.mu.Unlock()
	e.booted <- nil
	return gnet.None
}

func (e *engine) OnOpen(gc gnet.Conn) (_ []byte, action gnet.Action) {
	defer e.recoverOnLoop("OnOpen", &action)
	if w, ok := gc.Context().(*waker); ok {
		w.openedOnLoop(gc)
		return nil, gnet.None
	}
	st := e.st
	if st.isPrivate(gc.LocalAddr()) {
		// Start's probe through gnet's private socket (or a stranger):
		// this loop runs. Never served.
		st.loopFor(gc.EventLoop())
		select {
		case e.probed <- struct{}{}:
		default:
		}
		return nil, gnet.Close
	}
	if st.draining.Load() {
		// Raced Shutdown. No Context set: OnClose knows it was never
		// counted.
		return nil, gnet.Close
	}
	st.conns.Add(1)
	l := st.loopFor(gc.EventLoop())
	l.obs.act.Enter(kindConn)
	defer l.obs.act.Exit()
	l.open.Add(1)
	gc.SetContext(l.openOnLoop(gc))
	return nil, gnet.None
}

func (e *engine) OnTraffic(gc gnet.Conn) gnet.Action {
	cn, ok := gc.Context().(*conn)
	if !ok {
		if w, ok := gc.Context().(*waker); ok {
			w.trafficOnLoop()
			return gnet.None
		}
		return gnet.Close
	}
	cn.l.obs.act.Enter(kindTraffic)
	action := cn.onTraffic()
	cn.l.obs.act.Exit()
	return action
}

func (e *engine) OnClose(gc gnet.Conn, err error) (action gnet.Action) {
	defer e.recoverOnLoop("OnClose", &action)
	if w, ok := gc.Context().(*waker); ok {
		w.closedOnLoop()
		return gnet.None
	}
	if cn, ok := gc.Context().(*conn); ok {
		cn.l.obs.act.Enter(kindConn)
		defer cn.l.obs.act.Exit()
		gc.SetContext(nil)
		cn.closedOnLoop(err)
		cn.l.open.Add(-1)
		e.st.conns.Add(-1)
	}
	return gnet.None
}

// recoverOnLoop keeps a panic in weft's own code from killing the process
// (gnet does not recover): it is logged and the connection closed.
func (e *engine) recoverOnLoop(where string, action *gnet.Action) {
	if r := recover(); r != nil {
		e.st.cfg.log.Error("panic in "+where+"; closing the connection",
			zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
		*action = gnet.Close
	}
}
