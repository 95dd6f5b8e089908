// Command gorilla is gorilla/websocket on net/http as an echo server, the
// peer of weft's GET /ws in docs/websocket.md: every message back with its
// type, messages up to 16 MiB, permessage-deflate when asked and offered.
// Its own module, so that gorilla stays out of weft's go.mod.
//
//	go -C examples/wsload/peers/gorilla run . -addr 127.0.0.1:8081 [-deflate]
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/gorilla/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	deflate := flag.Bool("deflate", false, "accept permessage-deflate")
	flag.Parse()
	up := websocket.Upgrader{EnableCompression: *deflate}
	http.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadLimit(16 << 20)
		for {
			typ, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(typ, msg); err != nil {
				return
			}
		}
	})
	log.Printf("gorilla echo on %s/ws, deflate=%v", *addr, *deflate)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
