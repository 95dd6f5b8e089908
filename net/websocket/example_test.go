package websocket_test

import (
	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/websocket"
	"github.com/weftgo/weft/router"
	"github.com/weftgo/weft/runtime"
)

// An echo endpoint: every message goes back with its type.
func ExampleUpgrader_Upgrade() {
	up := &websocket.Upgrader{EnableCompression: true}
	r := router.New()
	r.GET("/ws", func(c *net.Ctx) net.Result {
		return up.Upgrade(c, websocket.Handler{
			OnMessage: func(s *websocket.Conn, typ websocket.MessageType, data []byte) {
				s.Send(typ, data) // copies data
			},
		})
	})
	_ = &net.Server{Addr: ":8080", Handler: r.Serve}
}

// A room: every message to everyone, on whatever loop each session lives.
func ExampleGroup() {
	up := &websocket.Upgrader{}
	room := websocket.NewGroup()
	handler := func(c *net.Ctx) net.Result {
		return up.Upgrade(c, websocket.Handler{
			OnOpen: room.Add,
			OnMessage: func(s *websocket.Conn, typ websocket.MessageType, data []byte) {
				room.Broadcast(websocket.NewPreparedMessage(typ, data)) // framed once per encoding
			},
		})
	}
	_ = handler
}

// Back-pressure: send the next chunk only when the previous one is handed
// to the socket.
func ExampleConn_Send() {
	var pump func(s *websocket.Conn, chunks [][]byte) runtime.Future[struct{}]
	pump = func(s *websocket.Conn, chunks [][]byte) runtime.Future[struct{}] {
		if len(chunks) == 0 {
			return runtime.Resolved(struct{}{})
		}
		return runtime.Then(s, s.Send(websocket.BinaryMessage, chunks[0]), func(struct{}) runtime.Future[struct{}] {
			return pump(s, chunks[1:])
		})
	}
	_ = pump
}
