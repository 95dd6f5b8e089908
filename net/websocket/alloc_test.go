package websocket

import (
	"context"
	goruntime "runtime"
	"strconv"
	"testing"
	"unsafe"

	"github.com/weftgo/weft/net/websocket/internal/frame"
	"github.com/weftgo/weft/runtime/runtimetest"
)

// TestEchoDoesNotAllocate fails on any allocation in a warm session's
// receive, deliver and send path for a small message: parse, unmask,
// UTF-8, the callback, and the frame written back.
func TestEchoDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	h := newHarness(t, &Upgrader{}, deflateParams{}, nil)
	h.c.h.OnMessage = func(c *Conn, typ MessageType, data []byte) {
		c.Send(typ, data)
		c.SendText("and a string")
	}
	in := cat(client(true, frame.OpText, []byte("hello, weft")), client(false, frame.OpBinary, make([]byte, 300)),
		client(true, frame.OpPing, []byte("p")), client(true, frame.OpContinuation, make([]byte, 300)))
	h.loop.Do(func() {
		run := func() {
			h.ft.out = h.ft.out[:0]
			if n := h.c.trafficOnLoop(in); n != len(in) {
				t.Errorf("consumed %d of %d", n, len(in))
				return
			}
		}
		run()
		if a := testing.AllocsPerRun(200, run); a != 0 {
			t.Errorf("%v allocations per echo", a)
		}
	})
}

func BenchmarkEcho(b *testing.B) {
	for _, size := range []int{64, 16 << 10} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			h := newHarness(b, &Upgrader{MaxMessageBytes: 1 << 20}, deflateParams{}, nil)
			h.c.h.OnMessage = func(c *Conn, typ MessageType, data []byte) { c.Send(typ, data) }
			in := client(true, frame.OpBinary, make([]byte, size))
			b.SetBytes(int64(size))
			b.ReportAllocs()
			h.loop.Do(func() {
				for b.Loop() {
					h.ft.out = h.ft.out[:0]
					h.c.trafficOnLoop(in)
				}
			})
		})
	}
}

// BenchmarkIdleSessionHeap reports the heap an idle session holds beside
// its connection (its Conn, its timer, nothing else: no read buffer, no
// compression window), over fake transports. The whole-server figure
// (connection, gnet buffers, kernel) is docs/websocket.md's to measure.
//
//	go test -run XXX -bench IdleSessionHeap -benchtime 1x ./net/websocket/
func BenchmarkIdleSessionHeap(b *testing.B) {
	for _, d := range []deflateParams{{}, {enabled: true, windowBits: 15}} {
		b.Run("deflate="+strconv.FormatBool(d.enabled), func(b *testing.B) {
			const n = 5000
			u := &Upgrader{EnableCompression: d.enabled}
			cfg, _ := u.configure()
			loop := runtimetest.NewLoop(b)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			conns := make([]*Conn, n)
			fts := make([]*fakeTransport, n)
			in := client(true, frame.OpText, []byte("hello"))
			for b.Loop() {
				var before, after goruntime.MemStats
				goruntime.GC()
				goruntime.ReadMemStats(&before)
				loop.Do(func() {
					for i := range conns {
						fts[i] = &fakeTransport{loop: loop, ctx: ctx, cancel: func() {}}
						conns[i] = newConn(cfg, Handler{}, "", d)
						fts[i].c = conns[i]
						conns[i].openOnLoop(fts[i])
						conns[i].trafficOnLoop(in) // one message each, then idle
					}
				})
				goruntime.GC()
				goruntime.ReadMemStats(&after)
				// The fake transports are the test's, not the session's.
				perFake := int64(unsafe.Sizeof(fakeTransport{}))
				b.ReportMetric(float64(int64(after.HeapAlloc-before.HeapAlloc)/n-perFake), "B/session")
				loop.Do(func() {
					for i := range conns {
						conns[i].closedOnLoop(nil)
					}
				})
			}
		})
	}
}
