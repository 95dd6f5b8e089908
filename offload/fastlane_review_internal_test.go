package offload

import (
	"context"
	"testing"
)

// Choosing a lane costs every Run and Call a lookup: it must not allocate,
// whether the job is known by its function (Run) or by its Job (Call).
func TestLaneLookupDoesNotAllocate(t *testing.T) {
	p := &Pool{}
	fn := func() int { return 1 }
	j := NewJob("lookup", func(context.Context, int) (int, error) { return 0, nil }, JobConfig{})
	p.lane(fn)
	p.lane(j.lane)
	if n := testing.AllocsPerRun(100, func() { p.lane(fn) }); n != 0 {
		t.Errorf("a function's lane: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { p.lane(j.lane) }); n != 0 {
		t.Errorf("a Job's lane: %v allocations", n)
	}
}
