//go:build !linux

package offload

// setThreadNice is a no-op where thread priorities are not supported.
func setThreadNice(int) error { return nil }
