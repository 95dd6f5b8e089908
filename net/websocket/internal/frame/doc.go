// Package frame is weft's WebSocket frame codec (RFC 6455 §5): pure
// functions over []byte that parse and validate frame headers, track the
// rules that span frames (fragmentation, UTF-8 across fragment boundaries),
// parse close payloads, mask and unmask payloads, and append server frames.
// It does no I/O, starts no goroutines and allocates nothing, on success and
// on error.
//
// # Strictness
//
// Every rule of RFC 6455 a receiver must enforce is checked where it applies,
// with its section in a comment, and each returns its own *Error sentinel
// carrying the close code to fail the connection with: 1002 for protocol
// errors (an unmasked client frame, reserved bits or opcodes, a control frame
// longer than 125 bytes or fragmented, a continuation with no message or a
// new message inside one, a non-minimal length, a bad close payload or code),
// 1007 for invalid UTF-8 in a text message or a close reason, 1009 for a
// message over the caller's limit.
//
// # Use
//
// A server reads a frame header with ParseHeader over the bytes received so
// far; (0, nil) means "incomplete, call again with more". It then passes the
// header to Stream.Begin, which checks the rules between frames, unmasks the
// payload (Mask) as it arrives, feeds text payloads to Stream.Text (UTF-8
// validated across fragments), and calls Stream.End at the end of each
// frame:
//
//	var st frame.Stream
//	var h frame.Header
//	n, err := frame.ParseHeader(in, &h, frame.Server)
//	// err: fail the connection with err.(*frame.Error).Code
//	// n == 0: wait for more bytes
//	err = st.Begin(&h, maxMessage, deflateNegotiated)
//
// # Concurrency
//
// Pure functions; a Stream or Header is confined to one goroutine.
// Package-level values (the error sentinels, tables) are read-only.
package frame
