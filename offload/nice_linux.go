package offload

import "golang.org/x/sys/unix"

// threadNiceSupported reports whether setThreadNice does anything.
const threadNiceSupported = true

// setThreadNice sets the nice value of the calling OS thread (on Linux,
// PRIO_PROCESS with a thread id affects that thread only).
func setThreadNice(nice int) error {
	return unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), nice)
}
