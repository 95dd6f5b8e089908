// Package cpujob is the benchmark harness's /cpu job as an offload.Job, so
// that the NATS benchserver and the worker register the same name. It is
// examples/benchserver's cpu.go (weft's module) as a job by name.
package cpujob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"

	"github.com/weftgo/weft/offload"
)

// Name is the job's name on the wire.
const Name = "cpu"

// New returns the job: iters times SHA-256 over a buffer of bufBytes, each
// digest written back over the buffer's first 32 bytes; the output is the
// final digest in hex. It checks its context every checkEvery iterations.
// It is idempotent (a pure function): a job whose worker is lost runs again.
func New(iters, bufBytes, checkEvery int) *offload.Job[struct{}, string] {
	return offload.NewJob(Name, func(ctx context.Context, _ struct{}) (string, error) {
		buf := make([]byte, max(bufBytes, 32))
		var sum [32]byte
		for i := range iters {
			if i%checkEvery == 0 {
				if err := ctx.Err(); err != nil {
					return "", err
				}
			}
			sum = sha256.Sum256(buf)
			copy(buf, sum[:])
		}
		return hex.EncodeToString(sum[:]), nil
	}, offload.JobConfig{Idempotent: true})
}

// FromEnv reads CPU_ITERS (default 440), CPU_BUF_BYTES (16384) and
// CPU_CHECK_EVERY (8), as examples/benchserver does. A variable set to
// anything but a positive integer is an error that names it.
func FromEnv() (*offload.Job[struct{}, string], error) {
	iters, err := EnvInt("CPU_ITERS", 440)
	if err != nil {
		return nil, err
	}
	buf, err := EnvInt("CPU_BUF_BYTES", 16384)
	if err != nil {
		return nil, err
	}
	check, err := EnvInt("CPU_CHECK_EVERY", 8)
	if err != nil {
		return nil, err
	}
	return New(iters, buf, check), nil
}

// EnvInt returns the positive integer in the environment variable name, or
// def if it is unset or empty; anything else is an error naming it (a
// worker started with WORKERS=two must not quietly run one job per CPU).
func EnvInt(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive integer", name, v)
	}
	return n, nil
}
