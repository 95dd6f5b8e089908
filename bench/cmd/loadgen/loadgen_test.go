package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/weftgo/weft/bench/internal/common"
)

func TestParseEvents(t *testing.T) {
	at := time.Unix(0, 1_000_000_000)
	now := func() time.Time { return at }
	tests := []struct {
		name    string
		stream  string
		want    int
		delays  int
		wantErr string
	}{
		{"ids from 0", "id: 0\ndata: 999000000\n\nid: 1\ndata: 998000000\n\n", 2, 2, ""},
		{"ids from 1, CRLF", "id: 1\r\ndata: 999000000\r\n\r\nid: 2\r\ndata: 999000000\r\n\r\n", 2, 2, ""},
		{"comments and blank lines skipped", ": ping\n\nid: 0\ndata: 999000000\n\n", 1, 1, ""},
		{"an id skipped", "id: 0\ndata: 1\n\nid: 2\ndata: 1\n\n", 2, 1, "event id 2, want 1"},
		{"too few events", "id: 0\ndata: 1\n\n", 2, 1, "1 events, want 2"},
		{"bad data", "id: 0\ndata: x\n\n", 1, 0, "bad data line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := parseEvents(bufio.NewReader(strings.NewReader(tt.stream)), tt.want, 0, now, nil)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if len(d.parsed) != tt.delays || d.arrived != nil {
				t.Fatalf("%d delays, %d arrivals; want %d, none", len(d.parsed), len(d.arrived), tt.delays)
			}
		})
	}
	d, _ := parseEvents(bufio.NewReader(strings.NewReader("id: 0\ndata: 999000000\n\n")), 1, 0, now, nil)
	if d.parsed[0] != time.Millisecond {
		t.Errorf("delay = %v, want 1ms", d.parsed[0])
	}
}

// TestParseEventsWriteLate: each event's time against the first's plus
// k·every.
func TestParseEventsWriteLate(t *testing.T) {
	// Due at 100, 150, 200, 250 ms; written at 100, 153, 200, 280.
	stream := "id: 0\ndata: 100000000\n\nid: 1\ndata: 153000000\n\nid: 2\ndata: 200000000\n\nid: 3\ndata: 280000000\n\n"
	d, err := parseEvents(bufio.NewReader(strings.NewReader(stream)), 4, 50*time.Millisecond, func() time.Time { return time.Unix(1, 0) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := durations{0, 3 * time.Millisecond, 0, 30 * time.Millisecond}
	if fmt.Sprint(d.writeLate) != fmt.Sprint(want) {
		t.Errorf("write lateness %v, want %v", d.writeLate, want)
	}
}

// TestParseEventsReceived: each event takes the receive time current when
// its blank line is read; none while the connection has given none.
func TestParseEventsReceived(t *testing.T) {
	at := time.Unix(0, 1_000_000_000)
	stream := "id: 0\ndata: 990000000\n\nid: 1\ndata: 995000000\n\nid: 2\ndata: 996000000\n\n"
	// The receive time as a fake connection would hold it: none at first,
	// then 997 ms, then 998 ms, changing as each event's end is read.
	stamps := []int64{0, 997_000_000, 998_000_000}
	calls := 0
	received := func() time.Time {
		ns := stamps[min(calls, len(stamps)-1)]
		calls++
		if ns == 0 {
			return time.Time{}
		}
		return time.Unix(0, ns)
	}
	d, err := parseEvents(bufio.NewReader(strings.NewReader(stream)), 3, 0, func() time.Time { return at }, received)
	if err != nil {
		t.Fatal(err)
	}
	wantParsed := durations{10 * time.Millisecond, 5 * time.Millisecond, 4 * time.Millisecond}
	wantArrived := durations{2 * time.Millisecond, 2 * time.Millisecond} // events 1 and 2
	wantLag := durations{3 * time.Millisecond, 2 * time.Millisecond}
	if fmt.Sprint(d.parsed) != fmt.Sprint(wantParsed) || fmt.Sprint(d.arrived) != fmt.Sprint(wantArrived) || fmt.Sprint(d.readLag) != fmt.Sprint(wantLag) {
		t.Errorf("parsed %v arrived %v lag %v; want %v %v %v", d.parsed, d.arrived, d.readLag, wantParsed, wantArrived, wantLag)
	}
}

func TestPatternChecker(t *testing.T) {
	var body bytes.Buffer
	if err := common.WritePattern(&body, 200_000); err != nil {
		t.Fatal(err)
	}
	b := body.Bytes()
	for _, split := range []int{1, 7, 26, 65536, len(b)} {
		chk := &patternChecker{}
		for i := 0; i < len(b); i += split {
			if _, err := chk.Write(b[i:min(i+split, len(b))]); err != nil {
				t.Fatalf("split %d: %v", split, err)
			}
		}
	}
	b[150_001] = 'A'
	chk := &patternChecker{}
	if _, err := chk.Write(b); err == nil || !strings.Contains(err.Error(), "byte 150001") {
		t.Fatalf("a changed byte: err = %v", err)
	}
}

// TestAgainstNetHTTPPeer runs the streaming clients against the net/http
// peer's routes: the same code run.sh drives against every target.
func TestAgainstNetHTTPPeer(t *testing.T) {
	srv := httptest.NewServer(common.NewServeMux(common.Job{Iters: 1, BufBytes: 32}))
	defer srv.Close()
	c := client(4, 10*time.Second)
	defer c.CloseIdleConnections()

	d, err := readEvents(c, srv.URL+"/sse?n=3&every=1", 3, time.Millisecond)
	if err != nil || len(d.parsed) != 3 {
		t.Fatalf("sse: %d events, %v", len(d.parsed), err)
	}
	if len(d.arrived) != 0 {
		t.Fatalf("a plain client's connection gave %d receive times", len(d.arrived))
	}
	sc := sseClient(4, 10*time.Second)
	defer sc.CloseIdleConnections()
	before := time.Now()
	d, err = readEvents(sc, srv.URL+"/sse?n=3&every=1", 3, time.Millisecond)
	if err != nil || len(d.parsed) != 3 || len(d.arrived) != 3 {
		t.Fatalf("sse with receive times: %d events, %d stamped, %v", len(d.parsed), len(d.arrived), err)
	}
	for i := range d.arrived {
		// The kernel received each event after the server wrote it and
		// before the client parsed it; all within the test.
		if d.arrived[i] < 0 || d.readLag[i] < 0 || d.arrived[i] > d.parsed[i] || d.parsed[i] > time.Since(before) {
			t.Errorf("event %d: arrival %v, read lag %v, parse delay %v", i, d.arrived[i], d.readLag[i], d.parsed[i])
		}
	}
	resp, err := c.Get(srv.URL + "/bytes/100000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var chk patternChecker
	if _, err := chk.ReadFrom(resp.Body); err != nil || chk.off != 100_000 {
		t.Fatalf("bytes: %d checked, %v", chk.off, err)
	}
}

func TestWSCheck(t *testing.T) {
	echo := httptest.NewServer(common.WSEcho(false))
	defer echo.Close()
	none := httptest.NewServer(http.NotFoundHandler())
	defer none.Close()
	tests := []struct {
		name string
		url  string
		want error // nil, errNoWebSocket, or errAny
	}{
		{"echo", "ws" + strings.TrimPrefix(echo.URL, "http"), nil},
		{"no route", "ws" + strings.TrimPrefix(none.URL, "http"), errNoWebSocket},
		{"not loopback", "ws://192.0.2.1:80/ws", errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := wsCheck([]string{"-url", tt.url})
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("err = %v", err)
			case tt.want == errAny && err == nil:
				t.Fatal("no error")
			case tt.want == errNoWebSocket && !errors.Is(err, errNoWebSocket):
				t.Fatalf("err = %v, want errNoWebSocket", err)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestHistogram(t *testing.T) {
	page := func(b1, b2, b5, inf int) string {
		return fmt.Sprintf(`# HELP weft_loop_lag_seconds lag
# TYPE weft_loop_lag_seconds histogram
weft_loop_lag_seconds_bucket{loop="0",le="0.001"} %d
weft_loop_lag_seconds_bucket{loop="0",le="0.002"} %d
weft_loop_lag_seconds_bucket{loop="0",le="0.005"} %d
weft_loop_lag_seconds_bucket{loop="0",le="+Inf"} %d
weft_loop_lag_seconds_bucket{loop="1",le="0.001"} 0
weft_loop_lag_seconds_bucket{loop="1",le="0.002"} 0
weft_loop_lag_seconds_bucket{loop="1",le="0.005"} 0
weft_loop_lag_seconds_bucket{loop="1",le="+Inf"} 0
weft_loop_lag_seconds_sum{loop="0"} 1
weft_connections 3
`, b1, b2, b5, inf)
	}
	before, series, err := parseHistogram(strings.NewReader(page(10, 10, 10, 10)), "weft_loop_lag_seconds")
	if err != nil || series != 10 {
		t.Fatalf("series %d, %v", series, err)
	}
	// 100 new observations: 90 under 1 ms, 8 in (1, 2] ms, 2 in (2, 5] ms.
	after, _, err := parseHistogram(strings.NewReader(page(100, 108, 110, 110)), "weft_loop_lag_seconds")
	if err != nil {
		t.Fatal(err)
	}
	d := after.minus(before)
	tests := []struct {
		q, want float64
	}{
		{0.50, 0.001 * 50 / 90}, // rank 50 of the 90 in [0, 1 ms]
		{0.90, 0.001},
		{0.99, 0.002 + 0.003*(99-98)/2.0},
	}
	if d.count() != 100 {
		t.Fatalf("count %v, want 100", d.count())
	}
	for _, tt := range tests {
		if got := d.quantile(tt.q); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if _, _, err := parseHistogram(strings.NewReader("other_metric 1\n"), "weft_loop_lag_seconds"); err == nil {
		t.Error("a page without the histogram: no error")
	}
}

// TestReadMessageInto checks the echo reader wsEcho uses: the type and the
// exact length of messages shorter than, as long as, and longer than its
// buffer, each read to its end (the next one reads cleanly), with no
// allocation per message once warm.
func TestReadMessageInto(t *testing.T) {
	echo := httptest.NewServer(common.WSEcho(false))
	defer echo.Close()
	c, _, err := dialer(false).Dial("ws"+strings.TrimPrefix(echo.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 65)
	for _, n := range []int{0, 1, 64, 65, 66, 4096} {
		msg := bytes.Repeat([]byte{'x'}, n)
		if err := c.WriteMessage(websocket.BinaryMessage, msg); err != nil {
			t.Fatal(err)
		}
		typ, got, err := readMessageInto(c, buf)
		if err != nil || typ != websocket.BinaryMessage || got != n {
			t.Fatalf("%d bytes: type %d, %d bytes, %v", n, typ, got, err)
		}
	}
	msg := make([]byte, 64)
	allocs := testing.AllocsPerRun(50, func() {
		if err := c.WriteMessage(websocket.BinaryMessage, msg); err != nil {
			t.Fatal(err)
		}
		if _, n, err := readMessageInto(c, buf); err != nil || n != len(msg) {
			t.Fatalf("%d bytes, %v", n, err)
		}
	})
	t.Logf("%.1f allocations per exchange (gorilla's writer and reader)", allocs)
}
