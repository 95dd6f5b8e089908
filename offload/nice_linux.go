package offload

import "golang.org/x/sys/unix"

// threadNiceSupported reports whether setThreadNice does anything.
const threadNiceSupported = true

// setThreadNice sets the nice value of the calling OS thread (on Linux,
// PRIO_PROCESS with a thread id affects that thread only), but never below
// the thread's own: a privileged process run niced (nice -n 19) would
// otherwise get workers that the kernel favours over its loops.
func setThreadNice(nice int) error {
	tid := unix.Gettid()
	if prio, err := unix.Getpriority(unix.PRIO_PROCESS, tid); err == nil {
		nice = max(nice, 20-prio) // getpriority returns 20-nice on Linux
	}
	return unix.Setpriority(unix.PRIO_PROCESS, tid, nice)
}
