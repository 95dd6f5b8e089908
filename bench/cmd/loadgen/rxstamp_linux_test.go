package main

import (
	"encoding/binary"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// cmsg builds one control message as the kernel lays it out.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, syscall.CmsgSpace(len(data)))
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(syscall.CmsgLen(len(data)))
	copy(b[syscall.CmsgLen(0):], data)
	return b
}

func timespec(sec, nsec int64) []byte {
	b := make([]byte, 16)
	binary.NativeEndian.PutUint64(b[0:], uint64(sec))
	binary.NativeEndian.PutUint64(b[8:], uint64(nsec))
	return b
}

func TestRxStamp(t *testing.T) {
	ts := cmsg(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, timespec(1_700_000_000, 123_456_789))
	other := cmsg(syscall.SOL_SOCKET, syscall.SCM_RIGHTS, []byte{1, 2, 3, 4})
	for _, tt := range []struct {
		name string
		oob  []byte
		want time.Time
		ok   bool
	}{
		{"the stamp", ts, time.Unix(1_700_000_000, 123_456_789), true},
		{"after another message", append(other, ts...), time.Unix(1_700_000_000, 123_456_789), true},
		{"none", nil, time.Time{}, false},
		{"another message only", other, time.Time{}, false},
		{"truncated", ts[:syscall.CmsgLen(8)], time.Time{}, false},
		{"wrong level", cmsg(syscall.IPPROTO_TCP, syscall.SCM_TIMESTAMPNS, timespec(1, 2)), time.Time{}, false},
	} {
		got, ok := rxStamp(tt.oob)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("%s: %v %v, want %v %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

// TestStampConn: over a real loopback connection, each read carries a
// receive time between the peer's write and the read's return.
func TestStampConn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := dialStamped(t.Context(), &net.Dialer{}, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, ok := c.(*stampConn)
	if !ok {
		t.Fatalf("dialStamped gave a %T", c)
	}
	peer := <-accepted
	if peer == nil {
		t.Fatal("accept failed")
	}
	if !sc.received().IsZero() {
		t.Fatal("a receive time before any read")
	}
	buf := make([]byte, 64)
	var prev time.Time
	for i := range 3 {
		before := time.Now()
		if _, err := peer.Write([]byte("event\n")); err != nil {
			t.Fatal(err)
		}
		n, err := io.ReadFull(sc, buf[:6])
		after := time.Now()
		if err != nil || string(buf[:n]) != "event\n" {
			t.Fatalf("read %d: %q %v", i, buf[:n], err)
		}
		at := sc.received()
		if at.Before(before.Add(-time.Millisecond)) || at.After(after) || !at.After(prev) {
			t.Errorf("read %d: received %v, written after %v, read by %v, previous %v", i, at, before, after, prev)
		}
		prev = at
	}
	peer.Close()
	if n, err := sc.Read(buf); n != 0 || err != io.EOF {
		t.Errorf("after the peer closed: %d, %v; want 0, EOF", n, err)
	}
}
