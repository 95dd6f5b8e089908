package net

import (
	goruntime "runtime"
	"testing"
)

// TestBodyReaderTakesAnAnswerWithoutParking: with one processor, as on a
// server pinned to one core, a BodyReader that has asked the loop for its
// next chunk yields instead of parking, so the goroutine that answers (the
// loop's, in the server) runs on the reader's thread and the answer is
// taken without a park and a wake-up. Here the answering goroutine is
// already runnable when the reader starts to wait: a reader that parked at
// once (select on the channel) would report no answer from pollOffLoop.
func TestBodyReaderTakesAnAnswerWithoutParking(t *testing.T) {
	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(1))
	r := &bodyReader{got: make(chan chunkResult, 1)}
	chunk := []byte("the next chunk")
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.got <- chunkResult{b: chunk}
	}()
	res, ok := r.pollOffLoop()
	<-done
	if !ok || string(res.b) != string(chunk) {
		t.Fatalf("pollOffLoop = %q, %v; want the answer sent by a runnable goroutine", res.b, ok)
	}
}

// TestBodyReaderParksWhenNoAnswerComes: the yielding is bounded; with no
// answer, pollOffLoop gives up and the reader parks on its channel as
// before.
func TestBodyReaderParksWhenNoAnswerComes(t *testing.T) {
	r := &bodyReader{got: make(chan chunkResult, 1)}
	if res, ok := r.pollOffLoop(); ok {
		t.Fatalf("pollOffLoop = %q, true with nothing sent", res.b)
	}
}
