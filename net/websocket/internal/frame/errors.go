package frame

// Error is a protocol violation together with the close code (RFC 6455
// §7.4.1) to fail the connection with. Every Error returned by this package
// is one of the exported sentinels below, so returning one never allocates;
// compare with == or errors.Is.
//
// Safe for concurrent use: Error values are never modified.
type Error struct {
	Code   uint16 // close code: 1002, 1007 or 1009
	Reason string // short, fixed, human-readable cause, usable as a close reason
}

// Error returns the reason prefixed with the package name.
func (e *Error) Error() string { return "websocket: " + e.Reason }

// Close codes this package returns (RFC 6455 §7.4.1).
const (
	CodeProtocolError = 1002
	CodeInvalidData   = 1007
	CodeTooBig        = 1009
)

// Frame header errors (RFC 6455 §5.2).
var (
	// ErrUnmasked: a client frame without the MASK bit (§5.1: the server
	// MUST close the connection).
	ErrUnmasked = &Error{CodeProtocolError, "client frame not masked"}
	// ErrMasked: a server frame with the MASK bit, seen by a client (§5.1).
	ErrMasked = &Error{CodeProtocolError, "server frame masked"}
	// ErrReservedBits: RSV1, RSV2 or RSV3 set without an extension that
	// defines it (§5.2); RSV1 is permessage-deflate's (RFC 7692 §6).
	ErrReservedBits = &Error{CodeProtocolError, "reserved bits set"}
	// ErrReservedOpcode: opcode 0x3-0x7 or 0xB-0xF (§5.2).
	ErrReservedOpcode = &Error{CodeProtocolError, "reserved opcode"}
	// ErrNonMinimalLength: a payload length not encoded in the minimal
	// number of bytes, or a 64-bit length with its top bit set (§5.2).
	ErrNonMinimalLength = &Error{CodeProtocolError, "payload length not minimally encoded"}
)

// Control frame errors (RFC 6455 §5.5).
var (
	// ErrControlTooLong: a control frame with a payload over 125 bytes (§5.5).
	ErrControlTooLong = &Error{CodeProtocolError, "control frame payload over 125 bytes"}
	// ErrControlFragmented: a control frame without FIN (§5.5).
	ErrControlFragmented = &Error{CodeProtocolError, "fragmented control frame"}
	// ErrCompressedControl: a control frame with RSV1 set (RFC 7692 §6.1:
	// only data messages are compressed).
	ErrCompressedControl = &Error{CodeProtocolError, "compressed control frame"}
)

// Fragmentation errors (RFC 6455 §5.4).
var (
	// ErrUnexpectedContinuation: a continuation frame with no message in
	// progress (§5.4).
	ErrUnexpectedContinuation = &Error{CodeProtocolError, "continuation frame with no message to continue"}
	// ErrExpectedContinuation: a text or binary frame while a fragmented
	// message is in progress (§5.4: fragments of one message are not
	// interleaved with another's).
	ErrExpectedContinuation = &Error{CodeProtocolError, "new data frame inside a fragmented message"}
	// ErrCompressedContinuation: RSV1 on a continuation frame (RFC 7692
	// §6.1: it is set on the first frame of a message only).
	ErrCompressedContinuation = &Error{CodeProtocolError, "RSV1 set on a continuation frame"}
)

// Payload errors.
var (
	// ErrTooBig: the message (after decompression, for a compressed one)
	// exceeds the caller's limit (§7.4.1: 1009).
	ErrTooBig = &Error{CodeTooBig, "message too big"}
	// ErrInvalidUTF8: a text message, or a close reason, that is not valid
	// UTF-8 (§5.6, §8.1: 1007).
	ErrInvalidUTF8 = &Error{CodeInvalidData, "invalid UTF-8 in text"}
	// ErrBadClosePayload: a close frame with a 1-byte payload (§5.5.1: a
	// body starts with a 2-byte code).
	ErrBadClosePayload = &Error{CodeProtocolError, "close payload of 1 byte"}
	// ErrBadCloseCode: a close code that may not be sent on the wire
	// (§7.4.1, §7.4.2: 0-999, 1004-1006, 1015, unassigned 1016-2999,
	// 5000 and up).
	ErrBadCloseCode = &Error{CodeProtocolError, "invalid close code"}
)

// allErrors lists every sentinel, for tests.
var allErrors = []*Error{
	ErrUnmasked, ErrMasked, ErrReservedBits, ErrReservedOpcode, ErrNonMinimalLength,
	ErrControlTooLong, ErrControlFragmented, ErrCompressedControl,
	ErrUnexpectedContinuation, ErrExpectedContinuation, ErrCompressedContinuation,
	ErrTooBig, ErrInvalidUTF8, ErrBadClosePayload, ErrBadCloseCode,
}
