package weft_test

import (
	"context"
	"sync"
	"testing"

	"github.com/weftgo/weft"
)

// App documents Start, Listen, Run, Shutdown and Addr as safe for
// concurrent use: two Starts at once (a Run and a test's Start, say) must
// not race on the App's settings (-race), and exactly one of them starts
// the app.
func TestConcurrentStartsDoNotRace(t *testing.T) {
	app := weft.New()
	app.Server.Loops = 1
	app.GET("/", func(c *weft.Ctx) weft.Result { return c.Text(200, "ok") })
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { errs[i] = app.Start("127.0.0.1:0") })
	}
	wg.Wait()
	defer app.Shutdown(context.Background())
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("Start errors %v and %v: want exactly one to start the app", errs[0], errs[1])
	}
}
