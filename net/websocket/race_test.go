//go:build race

package websocket

// raceEnabled is true under -race, where sync.Pool drops items at random
// (to find misuse), so allocation counts of pooled paths mean nothing.
const raceEnabled = true
