// Command chat is a chat room over WebSocket: one page, one room, every
// message broadcast to everyone, the last 50 replayed to newcomers. The
// browser side reconnects (with backoff) when the server restarts, so a
// deploy costs users a second, not a reload.
//
//	go run ./examples/chat
//	open http://localhost:8080/ in two tabs; stop and restart the server
//
// Sessions live on weft's loops (no goroutine each); the room is a
// websocket.Group, so a broadcast is framed once and posted once per loop.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/websocket"
	"github.com/weftgo/weft/router"
)

//go:embed index.html
var page string

// chatMessage is what the page sends and receives, as JSON.
type chatMessage struct {
	Name string    `json:"name"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// room is the one chat room: its sessions (on any loop) and its history.
// Safe for concurrent use.
type room struct {
	members *websocket.Group

	mu      sync.Mutex
	history []*websocket.PreparedMessage // the last maxHistory messages
}

const maxHistory = 50

func newRoom() *room { return &room{members: websocket.NewGroup()} }

// join adds a session and replays the history to it. Loop-only (s's loop).
// The history is read and the session added under one lock, and say
// records and broadcasts under it too, so a message is either in the
// replay or broadcast to s, never both or neither (a broadcast reaches the
// members of its time: websocket.Group).
func (r *room) join(s *websocket.Conn) {
	r.mu.Lock()
	replay := append([]*websocket.PreparedMessage(nil), r.history...)
	r.members.Add(s)
	r.mu.Unlock()
	for _, pm := range replay {
		s.SendPrepared(pm) // before any later broadcast: its task runs after this one
	}
}

// say records a message and broadcasts it to every session.
func (r *room) say(m chatMessage) {
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	pm := websocket.NewPreparedMessage(websocket.TextMessage, b)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.history = append(r.history, pm)
	if len(r.history) > maxHistory {
		r.history = append(r.history[:0], r.history[len(r.history)-maxHistory:]...)
	}
	r.members.Broadcast(pm) // posts tasks; never blocks
}

// handler serves the page and the room's WebSocket endpoint.
func handler(rm *room) net.Handler {
	up := &websocket.Upgrader{
		Subprotocols:      []string{"chat.v1"},
		EnableCompression: true,
		MaxMessageBytes:   4 << 10,
		PingInterval:      20 * time.Second,
	}
	r := router.New()
	r.GET("/", func(c *net.Ctx) net.Result { return c.HTML(net.StatusOK, page) })
	r.GET("/ws", func(c *net.Ctx) net.Result {
		return up.Upgrade(c, websocket.Handler{
			OnOpen: rm.join,
			OnMessage: func(s *websocket.Conn, typ websocket.MessageType, data []byte) {
				var m chatMessage
				if typ != websocket.TextMessage || json.Unmarshal(data, &m) != nil || m.Text == "" {
					s.Close(websocket.StatusUnsupportedData, "send JSON {name, text}")
					return
				}
				if m.Name == "" {
					m.Name = "anonymous"
				}
				m.At = time.Now().UTC()
				rm.say(m)
			},
		})
	})
	return r.Serve
}

func main() {
	addr := "127.0.0.1:8080"
	if p := os.Getenv("PORT"); p != "" {
		addr = "127.0.0.1:" + p
	}
	srv := &net.Server{Addr: addr, Handler: handler(newRoom())}
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	log.Printf("chat: http://%s/", addr)
	stop, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	<-stop.Done()
	// Every session gets close 1001; the page reconnects to the next server.
	ctx, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShutdown()
	if err := srv.Shutdown(ctx); err != nil {
		log.Print(err)
	}
}
