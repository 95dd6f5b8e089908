package net

import (
	"context"
	"errors"
	"fmt"
	stdnet "net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// weft accepts connections itself and hands each one to a gnet loop with
// Engine.Register, instead of letting gnet accept them: gnet stops its whole
// engine (and drops every connection) on any accept error but a few, EMFILE
// included (gnet's acceptor_unix.go; gnet issues #159, #453). gnet still
// needs a listener of its own; it gets a private Unix socket that nothing
// but Start's probes connects to (engine.OnOpen refuses anything that does,
// after the probes).

// privateSocket returns the address of gnet's own listener and a func that
// removes it: a Unix socket in a new directory only this user can enter,
// under the first writable one of TMPDIR, XDG_RUNTIME_DIR and /dev/shm; if
// none is (a read-only root filesystem, issue 8 §5.8), a TCP port on the
// loopback interface. (An abstract Unix socket would need no directory, but
// gnet's address parser turns "unix://@name" into the path "name".) Either
// way engine.OnOpen refuses whatever connects to it but Start's probes.
func privateSocket() (addr string, cleanup func(), err error) {
	dirs := []string{os.TempDir()}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	return privateSocketIn(append(dirs, "/dev/shm"))
}

// privateSocketIn is privateSocket with the directories to try.
func privateSocketIn(dirs []string) (addr string, cleanup func(), err error) {
	for _, d := range dirs {
		dir, err := os.MkdirTemp(d, "weft-")
		if err != nil {
			continue
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			os.RemoveAll(dir)
			continue
		}
		return "unix://" + filepath.Join(dir, "loops.sock"), func() { os.RemoveAll(dir) }, nil
	}
	// Reserve a loopback port and hand it to gnet (it must bind it
	// itself); another process taking it meanwhile makes Start fail, and
	// Start may be retried.
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("no directory for a private socket and no loopback port: %w", err)
	}
	addr = ln.Addr().String()
	ln.Close()
	return "tcp://" + addr, func() {}, nil
}

// isPrivate reports whether a connection came through gnet's own listener
// (Start's probes, or a stranger), not from weft's accept loop.
func (st *serverState) isPrivate(local stdnet.Addr) bool {
	if _, ok := local.(*stdnet.UnixAddr); ok {
		return true
	}
	return st.private != "" && local != nil && local.String() == st.private
}

// probeLoops waits until gnet's loops run, and makes weft know each of
// them: gnet calls OnBoot before it starts them, and weft hands connections
// to loops it has chosen (Enroll). gnet accepts on its private socket only
// once the loops exist, and its round-robin balancer gives n probes, one
// after another, to n different loops.
func probeLoops(addr string, n int, probed, stopped <-chan struct{}) error {
	network, address, _ := strings.Cut(addr, "://")
	for range n {
		c, err := stdnet.Dial(network, address)
		if err != nil {
			return err
		}
		select {
		case <-probed:
			c.Close()
		case <-stopped:
			c.Close()
			return errors.New("the engine stopped")
		case <-time.After(10 * time.Second):
			c.Close()
			return errors.New("the loops did not start within 10 s")
		}
	}
	return nil
}

// acceptLoop accepts connections until ln is closed. It runs on a goroutine
// of its own.
//
// It holds one spare descriptor and accepts only while it can: gnet's
// Register duplicates each connection's descriptor, and if that fails for
// want of one, gnet closes the connection. So the spare is released just
// before Register, and when it cannot be taken back the process is out of
// descriptors: the loop stops accepting, leaving connections queued in the
// kernel, until some close.
func (st *serverState) acceptLoop(ln stdnet.Listener, done chan<- struct{}) {
	defer close(done)
	log := st.cfg.log
	spare := -1
	defer func() {
		if spare >= 0 {
			unix.Close(spare)
		}
	}()
	var delay time.Duration
	// backOff waits before trying again; it reports false once Shutdown
	// has begun.
	backOff := func(err error) bool {
		if delay == 0 {
			delay = 5 * time.Millisecond
			log.Warn("cannot accept; serving existing connections and retrying", zap.Error(err))
		} else {
			delay = min(2*delay, time.Second)
		}
		select {
		case <-time.After(delay):
			return true
		case <-st.stopping:
			return false
		}
	}
	for {
		if spare < 0 {
			fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				if !backOff(err) {
					return
				}
				continue
			}
			spare = fd
		}
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, stdnet.ErrClosed) {
				return
			}
			// Out of descriptors or memory all the same: keep serving
			// the connections we have and try again later, as net/http
			// does.
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				st.refusedConn(false, err, nil)
			}
			if !backOff(err) {
				return
			}
			continue
		}
		if delay != 0 {
			log.Info("accepting again", zap.Duration("after backing off up to", delay))
			delay = 0
		}
		switch {
		case st.draining.Load():
			c.Close()
		case st.conns.Load()+st.registering.Load() >= int64(st.cfg.maxConns):
			st.refusedConn(true, nil, c.RemoteAddr())
			refuse(c)
		default:
			unix.Close(spare)
			spare = -1
			st.register(c)
		}
	}
}

// register hands c to the loop pickLoop chooses; gnet duplicates the
// descriptor and closes c. It waits a little for the loop to take it, which
// keeps the spare descriptor's promise (gnet's dup happens before that), but
// not behind a loop that is busy: the other loops' clients must not wait.
func (st *serverState) register(c stdnet.Conn) {
	l := st.pickLoop()
	if l == nil {
		c.Close()
		return
	}
	ch, err := l.el.Enroll(context.Background(), c)
	if err != nil {
		c.Close()
		return
	}
	st.registering.Add(1)
	l.enrolling.Add(1)
	done := func(r gnet.RegisteredResult) {
		l.enrolling.Add(-1)
		st.registering.Add(-1)
		if r.Err != nil {
			st.cfg.log.Debug("cannot register a connection with a loop", zap.Error(r.Err))
		}
	}
	t := time.NewTimer(registerWait)
	defer t.Stop()
	select {
	case r := <-ch:
		done(r)
	case <-t.C:
		go func() { done(<-ch) }()
	}
}

// registerWait is how long accepting waits for a loop to take a connection.
const registerWait = 20 * time.Millisecond

// refuse answers a connection beyond MaxConns with 503 and closes it,
// without giving it to a loop.
func refuse(c stdnet.Conn) {
	_ = c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	_, _ = c.Write(refusal)
	c.Close()
}

var refusal = []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Content-Length: 19\r\nRetry-After: 1\r\nConnection: close\r\n\r\nService Unavailable")
