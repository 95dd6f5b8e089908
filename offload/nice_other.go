//go:build !linux

package offload

// threadNiceSupported reports whether setThreadNice does anything.
const threadNiceSupported = false

// setThreadNice is a no-op where thread priorities are not supported.
func setThreadNice(int) error { return nil }
