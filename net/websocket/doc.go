// Package websocket serves WebSocket sessions (RFC 6455, with
// permessage-deflate, RFC 7692) on weft's event loops.
//
// A route handler upgrades its request; from then on the connection belongs
// to a session on the same loop, for its whole life. There is no goroutine
// per session: messages arrive as callbacks on the loop, sends return
// futures, and an idle session holds about half a KiB of its own beside
// its connection (its Conn and a timer; no read buffer, no stack, no
// compression window unless context takeover is negotiated: see
// BenchmarkIdleSessionHeap and docs/websocket.md).
//
//	var up websocket.Upgrader // zero value: same-origin, 1 MiB messages, no compression
//	r.GET("/ws", func(c *net.Ctx) net.Result {
//		return up.Upgrade(c, websocket.Handler{
//			OnMessage: func(s *websocket.Conn, typ websocket.MessageType, data []byte) {
//				s.Send(typ, data) // echo; data is copied before Send returns
//			},
//		})
//	})
//
// The middleware around the handler (authentication, request ids, logging)
// runs before the upgrade as for any request. The handshake is checked
// strictly (GET over HTTP/1.1, Upgrade: websocket, Connection: upgrade,
// version 13, a valid key, the Origin policy); a request that fails gets a
// 400, 403, 405 or 426 and no session.
//
// # Protocol
//
// The frame codec (internal/frame) is pure, fuzzed and allocation-free;
// every rule of RFC 6455 that a server must enforce fails the connection
// with its close code: 1002 for protocol errors (unmasked client frames,
// reserved bits or opcodes, long or fragmented control frames, broken
// fragmentation, bad close payloads or codes), 1007 for invalid UTF-8 in
// text or close reasons (checked as fragments arrive, and after
// decompression), 1009 for messages over Upgrader.MaxMessageBytes (counted
// after reassembly and decompression). Pings are answered with pongs; the
// close handshake runs both ways, with Upgrader.CloseTimeout.
//
// # Back-pressure
//
// Conn.Send copies the message into the connection's output and returns a
// future that settles when it is handed to the socket: at once while the
// output is under net's high-water mark, later otherwise. A producer that
// waits for it never makes the server buffer without bound. One that does
// not is stopped at Upgrader.MaxBufferedBytes: the session is closed with
// 1008 and the send fails with ErrBufferFull.
//
// # Concurrency
//
// A Conn is loop-only: its callbacks run on its loop, in order, and its
// methods must be called there (Loop and Context are safe anywhere). To
// reach sessions from another loop or goroutine, use a Group: Broadcast is
// safe for concurrent use, posts one task per loop, and encodes the
// message once per encoding (PreparedMessage), not once per session.
// Upgrader and PreparedMessage are safe for concurrent use. Message data
// given to OnMessage is borrowed until the callback returns.
//
// A panic in a callback closes that session with 1011 and is logged once;
// other sessions go on. Compression of messages of Upgrader.OffloadAbove
// bytes or more runs off the loop (on an offload.Pool or a Blocking
// goroutine), with later sends waiting their turn so that order is kept;
// so does the decompression of received messages past that size, with
// later messages waiting theirs.
package websocket
