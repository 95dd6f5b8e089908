package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strconv"
)

// cpuJob is the harness's CPU job: iters times SHA-256 over a buffer of
// bufBytes, each digest written back over the buffer's first 32 bytes; the
// result is the final digest in hex. It checks its context every
// checkEvery iterations (default 8, about 90 µs here): a cancelled request
// stops that soon, and each check is where an offload worker lets a waiting
// loop run (offload.Config.YieldEvery).
type cpuJob struct {
	iters, bufBytes, checkEvery int
}

func cpuJobFromEnv() cpuJob {
	return cpuJob{
		iters:      envInt("CPU_ITERS", 440),
		bufBytes:   envInt("CPU_BUF_BYTES", 16384),
		checkEvery: envInt("CPU_CHECK_EVERY", 8),
	}
}

func (j cpuJob) run(ctx context.Context) (string, error) {
	buf := make([]byte, max(j.bufBytes, 32))
	var sum [32]byte
	for i := range j.iters {
		if i%j.checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return "", err
			}
		}
		sum = sha256.Sum256(buf)
		copy(buf, sum[:])
	}
	return hex.EncodeToString(sum[:]), nil
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// envSigned returns the integer in the environment variable name, negative
// ones included, or 0 if it is unset or not an integer.
func envSigned(name string) int {
	v, _ := strconv.Atoi(os.Getenv(name))
	return v
}
