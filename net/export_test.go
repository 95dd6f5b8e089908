package net

import "time"

// SetBlockedQuiet replaces the blocked-loop watchdog's start-up quiet time
// (1 s) for a test; call it before Start.
func SetBlockedQuiet(s *Server, d time.Duration) { s.blockedQuiet = d }

// TracerPid exposes tracerPid.
func TracerPid(status []byte) int { return tracerPid(status) }

// Sweeps returns how many timeout sweeps the server's loops have run.
func Sweeps(s *Server) int64 {
	st := s.state.Load()
	if st == nil {
		return 0
	}
	var n int64
	st.forEachLoop(func(l *loop) { n += l.sweeps.Load() })
	return n
}

// SetTick replaces the period of the timeout sweep (250 ms) for a test;
// call it before Start.
func SetTick(s *Server, d time.Duration) { s.tick = d }

// EndBlockedQuiet ends the blocked-loop watchdog's start-up quiet time now.
func EndBlockedQuiet(s *Server) {
	w := s.state.Load().watch
	w.quietFor.Store(int64(time.Since(w.started)))
}
