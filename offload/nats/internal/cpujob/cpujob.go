// Package cpujob is the benchmark harness's /cpu job as an offload.Job, so
// that the NATS benchserver and the worker register the same name. It is
// examples/benchserver's cpu.go (weft's module) as a job by name.
package cpujob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
// CPU_CHECK_EVERY (8), as examples/benchserver does.
func FromEnv() *offload.Job[struct{}, string] {
	return New(EnvInt("CPU_ITERS", 440), EnvInt("CPU_BUF_BYTES", 16384), EnvInt("CPU_CHECK_EVERY", 8))
}

// EnvInt returns the positive integer in the environment variable name, or
// def.
func EnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
