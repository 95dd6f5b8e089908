package runtime

import (
	"bytes"
	goruntime "runtime"
	"strconv"
	"sync/atomic"
)

// Activity tells another goroutine what a loop is doing, without reading the
// clock on the loop: the loop marks the start and the end of each callback
// it runs (Enter, Exit), and a watchdog samples the marks (Sample) every few
// milliseconds. Two samples of the same turn, busy both times, mean the loop
// has been in one callback at least the time between them; the share of busy
// samples is the loop's utilization.
//
// Enter and Exit are loop-only: call them on the loop whose activity this
// is. Each is one atomic store, a few ns, and allocates nothing. Sample is
// safe for concurrent use. The zero Activity is idle.
type Activity struct {
	state atomic.Uint64 // turn<<8 | kind<<1 | busy
	turn  uint64        // loop-only: callbacks entered so far
	depth int           // loop-only: nested Enters
}

// ActivitySample is what an Activity showed at one moment.
type ActivitySample struct {
	// Turn counts the callbacks the loop has entered; it changes with
	// every one.
	Turn uint64
	// Kind is the kind given to Enter, meaningful while Busy.
	Kind uint8
	// Busy reports whether the loop was inside a callback.
	Busy bool
}

// Enter marks the start of a callback of the given kind (0 to 127, the
// caller's own numbering). A nested Enter (a callback that runs another
// synchronously) counts as part of the outer one. Loop-only.
func (a *Activity) Enter(kind uint8) {
	a.depth++
	if a.depth > 1 {
		return
	}
	a.turn++
	a.state.Store(a.turn<<8 | uint64(kind&0x7f)<<1 | 1)
}

// Exit marks the end of the callback the matching Enter began. Loop-only.
func (a *Activity) Exit() {
	a.depth--
	if a.depth > 0 {
		return
	}
	a.state.Store(a.turn << 8)
}

// Sample returns what the loop is doing now. Safe for concurrent use.
func (a *Activity) Sample() ActivitySample {
	s := a.state.Load()
	return ActivitySample{Turn: s >> 8, Kind: uint8(s>>1) & 0x7f, Busy: s&1 != 0}
}

// Stack returns the owning goroutine's current stack, formatted as
// runtime.Stack formats it (its first line is "goroutine N [state]:"), or
// nil if no goroutine owns the loop or it has exited. It collects every
// goroutine's stack, which stops the world for a moment: it is for
// diagnostics (a blocked-loop warning), never for a hot path. Safe for
// concurrent use.
func (o *Owner) Stack() []byte {
	id := o.id.Load()
	if id == 0 {
		return nil
	}
	buf := make([]byte, 256<<10)
	for {
		n := goruntime.Stack(buf, true)
		if n < len(buf) || len(buf) >= 64<<20 {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	return goroutineStack(buf, id)
}

// goroutineStack returns the stack of goroutine id out of all, a dump of
// every goroutine's stack as runtime.Stack(buf, true) writes it: blocks
// separated by blank lines, each starting "goroutine N [".
func goroutineStack(all []byte, id int64) []byte {
	head := []byte("goroutine " + strconv.FormatInt(id, 10) + " [")
	for len(all) > 0 {
		block := all
		if i := bytes.Index(all, []byte("\n\n")); i >= 0 {
			block, all = all[:i+1], all[i+2:]
		} else {
			all = nil
		}
		if bytes.HasPrefix(block, head) {
			return bytes.Clone(block)
		}
	}
	return nil
}
