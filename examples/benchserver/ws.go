package main

import (
	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/websocket"
	"github.com/weftgo/weft/router"
)

// addWebSocket serves GET /ws: an echo endpoint (every message sent back
// with its type), messages up to 16 MiB (larger: close 1009, counted after
// decompression), permessage-deflate whenever the client offers it. It
// returns the endpoint's Upgrader, for its metrics.
func addWebSocket(r *router.Router) *websocket.Upgrader {
	up := &websocket.Upgrader{
		EnableCompression: true,
		MaxMessageBytes:   16 << 20,
		MaxBufferedBytes:  32 << 20, // room for a 16 MiB echo to a slow reader
		PingInterval:      -1,       // load generators do not idle
	}
	echo := websocket.Handler{
		OnMessage: func(s *websocket.Conn, typ websocket.MessageType, data []byte) {
			s.Send(typ, data)
		},
	}
	r.GET("/ws", func(c *net.Ctx) net.Result { return up.Upgrade(c, echo) })
	return up
}
