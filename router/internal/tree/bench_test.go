package tree

import "testing"

func benchmarkLookup(b *testing.B, paths ...string) {
	tr := build(b, githubAPI)
	values := make([]string, 0, tr.MaxParams())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, p := range paths {
			_, values, _ = tr.Lookup(p, values[:0])
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	b.Run("static", func(b *testing.B) { benchmarkLookup(b, "/user/repos") })
	b.Run("one param", func(b *testing.B) { benchmarkLookup(b, "/users/gordon") })
	b.Run("four params", func(b *testing.B) { benchmarkLookup(b, "/legacy/issues/search/o/r/open/go") })
	b.Run("backtracking", func(b *testing.B) { benchmarkLookup(b, "/repos/o/r/git/x") })
	b.Run("miss", func(b *testing.B) { benchmarkLookup(b, "/repos/o/r/git/x/y") })
	b.Run("GitHub API all", func(b *testing.B) {
		paths := make([]string, len(githubAPI))
		for i, p := range githubAPI {
			paths[i], _ = githubPath(p)
		}
		benchmarkLookup(b, paths...)
	})
}

func BenchmarkAdd(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var tr Tree[string]
		for _, p := range githubAPI {
			if err := tr.Add(p, p); err != nil {
				b.Fatal(err)
			}
		}
	}
}
