package main

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// stampConn is a TCP connection whose reads take the kernel's receive time
// of the bytes they return (SO_TIMESTAMPNS, read with recvmsg(2)): what the
// sse command compares with an event's write time to tell a server that
// wrote late from a client that read late.
//
// For TCP the kernel reports one time per read, that of the latest segment
// the read consumed (segments coalesced in the receive queue keep the later
// time). On loopback a segment is stamped when the sender's write passes
// it to the device, so the time is within a few µs of the server's write
// reaching the kernel. When one read returns bytes of two events, both get
// the later event's time: an upper bound for the earlier one.
type stampConn struct {
	*net.TCPConn
	raw  syscall.RawConn
	oob  []byte
	last atomic.Int64 // Unix ns of the latest read's stamp, 0 before one
}

// dialStamped dials addr over TCP and turns on receive timestamps.
func dialStamped(ctx context.Context, d *net.Dialer, network, addr string) (net.Conn, error) {
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	sc, err := newStampConn(tc)
	if err != nil {
		c.Close()
		return nil, err
	}
	return sc, nil
}

func newStampConn(tc *net.TCPConn) (*stampConn, error) {
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, serr
	}
	return &stampConn{TCPConn: tc, raw: raw, oob: make([]byte, syscall.CmsgSpace(64))}, nil
}

// Read reads like the TCPConn (deadlines kept) and records the bytes'
// receive time.
func (c *stampConn) Read(p []byte) (int, error) {
	var n, oobn int
	var err error
	rerr := c.raw.Read(func(fd uintptr) bool {
		n, oobn, _, _, err = syscall.Recvmsg(int(fd), p, c.oob, 0)
		return !errors.Is(err, syscall.EAGAIN)
	})
	if rerr != nil {
		return 0, rerr
	}
	if err != nil {
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	if ts, ok := rxStamp(c.oob[:oobn]); ok {
		c.last.Store(ts.UnixNano())
	}
	return n, nil
}

// received returns the receive time of the latest bytes read, zero before
// any read carried one.
func (c *stampConn) received() time.Time {
	if ns := c.last.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// rxStamp finds an SCM_TIMESTAMPNS control message (a struct timespec) in
// the control bytes recvmsg returned.
func rxStamp(oob []byte) (time.Time, bool) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
			return time.Unix(sec, nsec), true
		}
	}
	return time.Time{}, false
}
