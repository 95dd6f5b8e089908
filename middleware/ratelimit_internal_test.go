package middleware

import (
	goruntime "runtime"
	"strconv"
	"testing"
	"time"
)

// TestRateLimitKeysStayBounded sends 1e5 distinct keys through a limiter
// that may remember 1,000 and checks both the count and the heap.
func TestRateLimitKeysStayBounded(t *testing.T) {
	const maxKeys, distinct = 1000, 100_000
	now := time.Unix(1_700_000_000, 0)
	l := newRateLimiter(RateLimitConfig{Limit: 1, Window: time.Hour, MaxKeys: maxKeys, Now: func() time.Time { return now }})

	heap := func() uint64 {
		goruntime.GC()
		var ms goruntime.MemStats
		goruntime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	for i := range maxKeys {
		l.take([]byte("warm-" + strconv.Itoa(i)))
	}
	before := heap()
	for i := range distinct {
		if d := l.take([]byte("key-" + strconv.Itoa(i))); !d.ok {
			t.Fatalf("key %d: a new key must start with a full bucket", i)
		}
		if i%10_000 == 0 && l.keys() > maxKeys {
			t.Fatalf("after %d keys the limiter remembers %d, want at most %d", i, l.keys(), maxKeys)
		}
	}
	if n := l.keys(); n > maxKeys || n < maxKeys-rateLimitShards {
		t.Fatalf("remembers %d keys, want about %d", n, maxKeys)
	}
	// The shards were full before the 1e5 keys went through: the heap
	// must not have grown by more than noise.
	if after := heap(); after > before+256<<10 {
		t.Fatalf("heap grew from %d to %d bytes over %d keys", before, after, distinct)
	}
	goruntime.KeepAlive(l)

	// The most recent keys are remembered: an exhausted one stays limited.
	recent := []byte("key-" + strconv.Itoa(distinct-1))
	if d := l.take(recent); d.ok {
		t.Fatal("the most recent key was forgotten")
	}
}

// TestRateLimitLRUOrder checks that a key in use survives a flood of new
// keys in its shard, and an idle one does not.
func TestRateLimitLRUOrder(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newRateLimiter(RateLimitConfig{Limit: 1, Window: time.Hour, MaxKeys: 4 * rateLimitShards, Now: func() time.Time { return now }})
	busy, idle := []byte("busy"), []byte("idle")
	l.take(busy)
	l.take(idle)
	for i := range 100_000 {
		l.take(busy) // keeps it most recently used
		l.take([]byte("flood-" + strconv.Itoa(i)))
	}
	if d := l.take(busy); d.ok {
		t.Fatal("busy key forgotten: its bucket was refilled")
	}
	if d := l.take(idle); !d.ok {
		t.Fatal("idle key still remembered after 100,000 newer keys")
	}
}

// BenchmarkRateLimitNewKeys measures the churn path: every request a key
// the limiter has forgotten.
func BenchmarkRateLimitNewKeys(b *testing.B) {
	l := newRateLimiter(RateLimitConfig{MaxKeys: 10_000})
	keys := make([][]byte, 100_000)
	for i := range keys {
		keys[i] = []byte("key-" + strconv.Itoa(i))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.take(keys[i%len(keys)])
		i++
	}
}
