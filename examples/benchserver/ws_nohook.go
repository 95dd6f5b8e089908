//go:build !weft_upgrade

package main

import "github.com/weftgo/weft/router"

// addWebSocket does nothing until net's upgrade hook is on main (see ws.go,
// built with -tags weft_upgrade).
func addWebSocket(*router.Router) {}
