//go:build race

package middleware_test

// raceEnabled is true under -race, where sync.Pool drops items at random
// (to find misuse), so allocation counts of pooled paths mean nothing.
const raceEnabled = true
