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
// result is the final digest in hex. It checks its context every 32
// iterations, so a cancelled request stops within a fraction of a
// millisecond.
type cpuJob struct {
	iters, bufBytes int
}

func cpuJobFromEnv() cpuJob {
	return cpuJob{iters: envInt("CPU_ITERS", 440), bufBytes: envInt("CPU_BUF_BYTES", 16384)}
}

func (j cpuJob) run(ctx context.Context) (string, error) {
	buf := make([]byte, max(j.bufBytes, 32))
	var sum [32]byte
	for i := range j.iters {
		if i%32 == 0 {
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
