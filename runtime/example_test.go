package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/weftgo/weft/runtime"
	"github.com/weftgo/weft/runtime/runtimetest"
)

// A loop hands blocking work to Blocking, continues with Then when the
// result comes back, and recovers from failure with Catch. The
// continuations run on the loop; only the blocking function runs elsewhere.
func Example() {
	l := runtimetest.New() // in a server, net's loops play this part
	defer l.Close()

	var out runtime.Future[string]
	l.Do(func() {
		scope := loopScope{l}
		rows := runtime.Blocking(scope, func(ctx context.Context) ([]string, error) {
			return []string{"ada", "grace"}, nil // a database query, off the loop
		})
		out = runtime.Then(scope, rows, func(names []string) runtime.Future[string] {
			return runtime.Resolved(strings.Join(names, ", ")) // back on the loop
		}).Catch(scope, func(err error) runtime.Future[string] {
			return runtime.Resolved("no users: " + err.Error())
		})
	})
	v, err := out.Wait(context.Background()) // off the loop: main may wait
	fmt.Println(v, err)
	// Output: ada, grace <nil>
}

// All waits for several futures; the first error wins.
func ExampleAll() {
	s := runtime.Detached(context.Background())
	a := runtime.Blocking(s, func(context.Context) (int, error) { return 1, nil })
	b := runtime.Blocking(s, func(context.Context) (int, error) { return 2, nil })
	c := runtime.Blocking(s, func(context.Context) (int, error) { return 0, errors.New("c failed") })
	fmt.Println(runtime.All(s, a, b).Wait(context.Background()))
	fmt.Println(runtime.All(s, a, b, c).Wait(context.Background()))
	// Output:
	// [1 2] <nil>
	// [] c failed
}

// A ready future costs nothing, and Then runs at once on it.
func ExampleResolved() {
	s := runtime.Detached(context.Background())
	f := runtime.Then(s, runtime.Resolved(20), func(v int) runtime.Future[int] {
		return runtime.Resolved(v + 1)
	})
	v, _ := f.Get()
	fmt.Println(f.Ready(), v)
	// Output: true 21
}

// loopScope runs asynchronous work for the loop l.
type loopScope struct{ l *runtimetest.Loop }

func (s loopScope) Loop() runtime.Loop       { return s.l }
func (s loopScope) Context() context.Context { return context.Background() }
