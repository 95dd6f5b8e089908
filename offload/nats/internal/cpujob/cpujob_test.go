package cpujob

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// ants' default pool, started when it is imported.
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
	)
}

// TestEnvInt: a variable that is set but not a positive integer is an
// error naming it (a worker started with WORKERS=two must not quietly run
// one job per CPU); an unset or empty one gives the default.
func TestEnvInt(t *testing.T) {
	cases := []struct {
		name, value string
		want        int
		wantErr     bool
	}{
		{"unset", "", 5, false},
		{"set", "3", 3, false},
		{"not a number", "two", 0, true},
		{"zero", "0", 0, true},
		{"negative", "-4", 0, true},
		{"trailing junk", "4x", 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CPUJOB_TEST", tc.value)
			n, err := EnvInt("CPUJOB_TEST", 5)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "CPUJOB_TEST") {
					t.Fatalf("EnvInt(%q) = (%d, %v), want an error naming the variable", tc.value, n, err)
				}
				return
			}
			if err != nil || n != tc.want {
				t.Fatalf("EnvInt(%q) = (%d, %v), want %d", tc.value, n, err, tc.want)
			}
		})
	}
}

// TestFromEnvRejectsABadSize: FromEnv reports a bad CPU_* variable.
func TestFromEnvRejectsABadSize(t *testing.T) {
	t.Setenv("CPU_ITERS", "lots")
	if _, err := FromEnv(); err == nil || !strings.Contains(err.Error(), "CPU_ITERS") {
		t.Fatalf("FromEnv with CPU_ITERS=lots: %v, want an error naming CPU_ITERS", err)
	}
}
