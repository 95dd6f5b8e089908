package middleware_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/offload"
)

// The usual stack, RequestID, Logger and Recover, on the plaintext
// handler: its cost per request beside the bare handler (the table in
// docs/middleware.md comes from BenchmarkStack).

func plainText(c *net.Ctx) net.Result { return c.Text(net.StatusOK, "Hello, World!") }

var plaintextRequest = "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"

// discardLogger is an unsampled production JSON logger writing to
// io.Discard: the cost of encoding each line, without the write.
func discardLogger() *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zapcore.InfoLevel))
}

// stack returns the usual middleware in the documented order.
func stack(log *zap.Logger) []net.Middleware {
	return []net.Middleware{
		middleware.RequestID(middleware.RequestIDConfig{}),
		middleware.Logger(middleware.LoggerConfig{Logger: log}),
		middleware.Recover(middleware.RecoverConfig{Logger: log}),
	}
}

// benchServe serves req to h in memory b.N times.
func benchServe(b *testing.B, h net.Handler, req string) {
	tc := testConn(b, h)
	raw := []byte(req)
	b.ReportAllocs()
	var out []byte
	for b.Loop() {
		var err error
		if out, err = tc.Serve(raw, time.Second); err != nil {
			b.Fatal(err)
		}
	}
	if !bytes.HasPrefix(out, []byte("HTTP/1.1 ")) {
		b.Fatalf("response %q", out)
	}
}

// benchCase is one row of a benchmark: a handler and the request it
// serves.
type benchCase struct {
	name string
	h    net.Handler
	req  string
}

// runBench runs one sub-benchmark per case.
func runBench(b *testing.B, cases []benchCase) {
	for _, bm := range cases {
		b.Run(bm.name, func(b *testing.B) { benchServe(b, bm.h, bm.req) })
	}
}

// allocsPerRequest serves req through h once, to warm up the Ctx and the
// pools, then returns the mean allocations of serving it again.
func allocsPerRequest(t *testing.T, h net.Handler, req string) float64 {
	t.Helper()
	tc := testConn(t, h)
	raw := []byte(req)
	if _, err := tc.Serve(raw, time.Second); err != nil {
		t.Fatal(err)
	}
	return testing.AllocsPerRun(1000, func() {
		if _, err := tc.Serve(raw, time.Second); err != nil {
			t.Fatal(err)
		}
	})
}

// testPool returns an offload pool of one worker, closed when the test
// ends.
func testPool(t *testing.T) *offload.Pool {
	t.Helper()
	pool, err := offload.New(offload.Config{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := pool.Close(ctx); err != nil {
			t.Errorf("pool.Close: %v", err)
		}
	})
	return pool
}

// BenchmarkStack is the table of docs/middleware.md.
func BenchmarkStack(b *testing.B) {
	withID := "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-Request-ID: 3f2a9c1d-0b7e\r\n\r\n"
	runBench(b, []benchCase{
		{"bare", plainText, plaintextRequest},
		{"stack/nop-logger/incoming-id", net.Chain(plainText, stack(zap.NewNop())...), withID},
		{"stack/nop-logger/generated-id", net.Chain(plainText, stack(zap.NewNop())...), plaintextRequest},
		{"stack/json-discard/incoming-id", net.Chain(plainText, stack(discardLogger())...), withID},
		{"stack/json-discard/generated-id", net.Chain(plainText, stack(discardLogger())...), plaintextRequest},
	})
}

// TestStackAllocations: the usual stack costs no allocation per request
// when the id comes with the request and no line is written, and one (the
// copy of the logged request strings) when every line is encoded.
func TestStackAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	withID := "GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Request-ID: abc\r\n\r\n"
	tests := []struct {
		name string
		log  *zap.Logger
		want float64
	}{
		{"nop logger", zap.NewNop(), 0},
		{"json logger", discardLogger(), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allocs := allocsPerRequest(t, net.Chain(plainText, stack(tt.log)...), withID)
			if allocs != tt.want {
				t.Fatalf("%v allocations per request, want %v", allocs, tt.want)
			}
		})
	}
}
