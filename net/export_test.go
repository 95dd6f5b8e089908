package net

import "time"

// SetBlockedQuiet replaces the blocked-loop watchdog's start-up quiet time
// (1 s) for a test; call it before Start.
func SetBlockedQuiet(s *Server, d time.Duration) { s.blockedQuiet = d }

// TracerPid exposes tracerPid.
func TracerPid(status []byte) int { return tracerPid(status) }
