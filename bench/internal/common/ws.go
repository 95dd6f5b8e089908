package common

import (
	"net/http"
	"os"

	"github.com/gorilla/websocket"
)

// WSMaxMessage is the largest message the /ws echo endpoints accept (16 MiB,
// as issue 12 asks of weft's); a larger one closes the session with 1009.
const WSMaxMessage = 16 << 20

// WSCompress reports whether WS_COMPRESS=1: the peers then accept
// permessage-deflate when a client offers it. Off by default, which is
// gorilla's default and Node ws's.
func WSCompress() bool { return os.Getenv("WS_COMPRESS") == "1" }

// WSEcho returns gorilla/websocket's echo handler for GET /ws: every
// message is sent back with its type, one goroutine per session (gorilla's
// model: the reading goroutine writes the echo).
func WSEcho(compress bool) http.HandlerFunc {
	up := websocket.Upgrader{
		ReadBufferSize:    4096,
		WriteBufferSize:   4096,
		EnableCompression: compress,
		CheckOrigin:       func(*http.Request) bool { return true },
	}
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered the client
		}
		defer c.Close()
		c.SetReadLimit(WSMaxMessage)
		for {
			typ, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(typ, msg); err != nil {
				return
			}
		}
	}
}
