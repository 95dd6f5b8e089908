module github.com/weftgo/weft/bench/diag/loopwait

go 1.26.0

// A module of its own so that the execution-trace reader stays out of
// bench's go.mod.
require golang.org/x/exp v0.0.0-20261113113407-e3970619a1a4
