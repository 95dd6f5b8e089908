package runtime

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
)

// ErrTimeout is the error of a future given up on by [WithTimeout]. It matches
// context.DeadlineExceeded under errors.Is.
var ErrTimeout error = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string        { return "weft/runtime: future timed out" }
func (timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// ErrPending is returned by [Future.Get] for a future that has not settled.
var ErrPending = errors.New("weft/runtime: future not settled")

// A PanicError is a panic recovered from user code (a continuation, a
// blocking function, an offload job), delivered as the error of the future
// that code was to resolve.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
	// Stack is the stack of the panicking goroutine, as debug.Stack gives it.
	Stack []byte
}

// NewPanicError wraps a recovered panic value with the current goroutine's
// stack. Call it directly in the deferred function that recovered.
func NewPanicError(v any) *PanicError {
	return &PanicError{Value: v, Stack: debug.Stack()}
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("panic: %v", e.Value)
}

// Unwrap returns the panic value if it is an error, so that errors.Is and
// errors.As see through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
