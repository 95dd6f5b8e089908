package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/router"
)

func TestStreamRoutes(t *testing.T) {
	r := router.New()
	streamRoutes(r)
	srv := &net.Server{Addr: "127.0.0.1:0", Loops: 1, MaxOutboundBytes: 256 << 10, Handler: r.Serve, StreamBody: r.StreamBody}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	base := "http://" + srv.ListenAddr().String()
	for _, n := range []int{0, 1, 26, 100_000, 3 << 20} {
		res, err := http.Get(base + "/bytes/" + strconv.Itoa(n))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || len(body) != n || res.ContentLength != int64(n) {
			t.Fatalf("/bytes/%d: %d bytes, length %d, %v", n, len(body), res.ContentLength, err)
		}
		for i, b := range body {
			if b != 'a'+byte(i%26) {
				t.Fatalf("/bytes/%d: byte %d is %q", n, i, b)
			}
		}
	}
	// 8 MiB, twice MaxBodyBytes: streamed, not buffered.
	up := strings.Repeat("0123456789abcdef", 1<<19)
	want := sha256.Sum256([]byte(up))
	res, err := http.Post(base+"/sha256", "application/octet-stream", strings.NewReader(up))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(got) != hex.EncodeToString(want[:])+"\n" {
		t.Fatalf("/sha256: %d %q", res.StatusCode, got)
	}
	res, err = http.Get(base + "/sse?n=3&every=1")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	for i := range 3 {
		id, _ := br.ReadString('\n')
		data, _ := br.ReadString('\n')
		blank, _ := br.ReadString('\n')
		if id != "id: "+strconv.Itoa(i)+"\n" || !strings.HasPrefix(data, "data: ") || blank != "\n" {
			t.Fatalf("event %d: %q %q %q", i, id, data, blank)
		}
		if _, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(data, "data: ")), 10, 64); err != nil {
			t.Fatalf("event %d data: %q", i, data)
		}
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("after the events: %q, %v", rest, err)
	}
}

// TestEventTickerKeepsItsPhase checks /sse's schedule: each event is due
// at start + i·every whatever the lateness of the ones before (a wait of
// every after each send would push every later event back by it), and a
// stream more than a period behind takes one tick at once, then the next
// on the grid, as a time.Ticker does.
func TestEventTickerKeepsItsPhase(t *testing.T) {
	ms := time.Millisecond
	start := time.Unix(1_000, 0)
	tests := []struct {
		name  string
		every time.Duration
		at    []time.Duration // when each next is called, after start
		want  []time.Duration // the waits it returns
	}{
		{"on time", 50 * ms, []time.Duration{0, 50 * ms, 100 * ms}, []time.Duration{50 * ms, 50 * ms, 50 * ms}},
		{"lateness is not carried", 50 * ms, []time.Duration{3 * ms, 56 * ms, 109 * ms}, []time.Duration{47 * ms, 44 * ms, 41 * ms}},
		{"one missed tick at once", 50 * ms, []time.Duration{0, 110 * ms, 110 * ms}, []time.Duration{50 * ms, 0, 40 * ms}},
		{"several missed: one at once, then the grid", 50 * ms, []time.Duration{0, 170 * ms, 171 * ms}, []time.Duration{50 * ms, 0, 29 * ms}},
		{"every 0: at once", 0, []time.Duration{0, 5 * ms}, []time.Duration{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := eventTicker{start: start, every: tt.every}
			for i, at := range tt.at {
				if got := tk.next(start.Add(at)); got != tt.want[i] {
					t.Fatalf("call %d at +%v: wait %v, want %v", i, at, got, tt.want[i])
				}
			}
		})
	}
}
