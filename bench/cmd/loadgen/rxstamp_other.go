//go:build !linux

package main

import (
	"context"
	"net"
	"time"
)

// stampConn is Linux's; elsewhere a plain connection: no receive times.
type stampConn struct{ net.Conn }

func dialStamped(ctx context.Context, d *net.Dialer, network, addr string) (net.Conn, error) {
	return d.DialContext(ctx, network, addr)
}

func (c *stampConn) received() time.Time { return time.Time{} }
