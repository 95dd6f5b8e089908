// Package runtimetest provides a [runtime.Loop] for tests of code that uses
// futures, without a network server.
package runtimetest

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"testing"

	"github.com/weftgo/weft/runtime"
)

// Loop is a runtime.Loop that runs its tasks on a goroutine of its own, in the
// order they were posted. A panic in a task is reported (as a test error,
// with NewLoop) and the loop goes on. Post, Running, Do and Close are safe for concurrent use.
type Loop struct {
	onPanic func(v any, stack []byte)
	owner   runtime.Owner

	mu     sync.Mutex
	queue  []runtime.Task
	closed bool
	wake   chan struct{}
	done   chan struct{}
}

// NewLoop starts a loop that is closed when the test ends; a panic in a
// task is reported as a test error.
func NewLoop(tb testing.TB) *Loop {
	l := start(func(v any, stack []byte) {
		tb.Errorf("runtimetest: panic in a loop task: %v\n%s", v, stack)
	})
	tb.Cleanup(l.Close)
	return l
}

// New starts a loop outside a test (an example, a program); Close it when
// done. A panic in a task is printed to standard error.
func New() *Loop {
	return start(func(v any, stack []byte) {
		fmt.Fprintf(os.Stderr, "runtimetest: panic in a loop task: %v\n%s", v, stack)
	})
}

func start(onPanic func(any, []byte)) *Loop {
	l := &Loop{onPanic: onPanic, wake: make(chan struct{}, 1), done: make(chan struct{})}
	started := make(chan struct{})
	go l.run(started)
	<-started
	return l
}

// Post queues t. It returns runtime.ErrLoopClosed after Close.
func (l *Loop) Post(t runtime.Task) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return runtime.ErrLoopClosed
	}
	l.queue = append(l.queue, t)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return nil
}

// Running reports whether the caller runs on the loop.
func (l *Loop) Running() bool { return l.owner.Running() }

// Loop returns l: a *Loop is also a [runtime.Scope], so that a test can pass
// it to the combinators (runtime.Then(l, f, fn)) and to runtime.Blocking.
func (l *Loop) Loop() runtime.Loop { return l }

// Context returns context.Background(): work started with l as its scope is
// never cancelled by it.
func (l *Loop) Context() context.Context { return context.Background() }

// Do runs fn on the loop and waits for it to return. Called on the loop, it
// runs fn at once.
func (l *Loop) Do(fn func()) {
	if l.Running() {
		fn()
		return
	}
	done := make(chan struct{})
	if err := l.Post(runtime.TaskFunc(func() { defer close(done); fn() })); err != nil {
		panic("runtimetest: Do on a closed loop")
	}
	<-done
}

// Close runs the tasks already queued, stops the loop and waits for it.
func (l *Loop) Close() {
	l.mu.Lock()
	already := l.closed
	l.closed = true
	l.mu.Unlock()
	if !already {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	<-l.done
}

func (l *Loop) run(started chan<- struct{}) {
	defer close(l.done)
	l.owner.Claim()
	close(started)
	for {
		<-l.wake
		for {
			l.mu.Lock()
			batch, closed := l.queue, l.closed
			l.queue = nil
			l.mu.Unlock()
			if len(batch) == 0 {
				if closed {
					return
				}
				break
			}
			for _, t := range batch {
				l.runTask(t)
			}
		}
	}
}

func (l *Loop) runTask(t runtime.Task) {
	defer func() {
		if r := recover(); r != nil {
			l.onPanic(r, debug.Stack())
		}
	}()
	t.Run()
}

// String names the loop in test output.
func (l *Loop) String() string { return fmt.Sprintf("runtimetest.Loop(%p)", l) }
