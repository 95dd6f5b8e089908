package middleware_test

import (
	"errors"
	"io"
	"net/http"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
)

// TestReview6LoggerAbortedBeforeHeadIsAWhole500 (beaf0d2): Logger adds
// aborted: true when c.Aborted() at the Result's settling. A stream aborted
// before its head was sent is not cut: net answers the failure with a whole
// 500 (Stream.Abort's doc), and Ctx.Aborted is documented as "cut short ...
// after its head was sent". The access line still says aborted: true for a
// response the client received whole.
func TestReview6LoggerAbortedBeforeHeadIsAWhole500(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	h := net.Chain(func(c *net.Ctx) net.Result {
		s := c.Stream(200)
		return s.Abort(errors.New("upstream failed before any byte"))
	}, middleware.Logger(middleware.LoggerConfig{Logger: zap.New(core)}))
	_, addr := startServer(t, h, 1)
	res, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != 500 {
		t.Fatalf("status %d, body error %v: want a whole 500", res.StatusCode, err)
	}
	if logs.Len() != 1 {
		t.Fatalf("%d access lines", logs.Len())
	}
	f := logs.All()[0].ContextMap()
	if f["aborted"] == true {
		t.Fatalf("access line %v says aborted, but the client got a whole 500", f)
	}
}
