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
}

func (e *engine) OnBoot(eng gnet.Engine) gnet.Action {
	addr, err := listenAddrOf(eng)
	e.srv.mu.Lock()
	e.srv.eng, e.srv.addr = eng, addr
	e.srv.mu.Unlock()
	e.booted <- err
	if err != nil {
		return gnet.Shutdown
	}
	return gnet.None
}

func (e *engine) OnOpen(gc gnet.Conn) (_ []byte, action gnet.Action) {
	defer e.recoverOnLoop("OnOpen", &action)
	st := e.st
	if st.draining.Load() || st.conns.Load() >= int64(st.cfg.maxConns) {
		// No Context set: OnClose will know it was never counted.
		return nil, gnet.Close
	}
	st.conns.Add(1)
	l := st.loopFor(gc.EventLoop())
	gc.SetContext(l.openOnLoop(gc))
	return nil, gnet.None
}

func (e *engine) OnTraffic(gc gnet.Conn) gnet.Action {
	cn, ok := gc.Context().(*conn)
	if !ok {
		return gnet.Close
	}
	return cn.onTraffic()
}

func (e *engine) OnClose(gc gnet.Conn, _ error) (action gnet.Action) {
	defer e.recoverOnLoop("OnClose", &action)
	if cn, ok := gc.Context().(*conn); ok {
		gc.SetContext(nil)
		cn.closedOnLoop()
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
