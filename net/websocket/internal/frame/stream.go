package frame

import (
	"encoding/binary"
	"strings"
	"unicode/utf8"
)

// Stream holds the state that spans frames on one direction of a
// connection: whether a fragmented message is in progress, its opcode,
// whether it is compressed, its size so far, and the UTF-8 state of its
// text. Its zero value is ready: no message in progress.
type Stream struct {
	inMessage  bool
	op         Opcode
	compressed bool
	size       int64
	text       UTF8
}

// Begin checks a frame header against the frames before it and the limits,
// and records it: RSV1 only on the first frame of a data message and only
// with permessage-deflate (RFC 7692 §6.1), continuations only inside a
// message and data frames only outside one (§5.4), and the message's size
// within maxMessage (§7.4.1: 1009). Control frames may come between
// fragments (§5.4) and do not change the message state.
//
// For a compressed message the limit applies to the decompressed bytes,
// which the caller counts with Grow; Begin bounds the compressed payload
// only loosely (deflate expands incompressible data by a few bytes per
// block).
func (s *Stream) Begin(h *Header, maxMessage int64, deflate bool) error {
	if h.Op.IsControl() {
		// RFC 7692 §6.1: an endpoint MUST NOT set RSV1 on control frames.
		if h.RSV1 {
			if deflate {
				return ErrCompressedControl
			}
			return ErrReservedBits
		}
		return nil
	}
	if h.RSV1 && !deflate {
		// §5.2: RSV1 without a negotiated extension defining it.
		return ErrReservedBits
	}
	if h.Op == OpContinuation {
		if !s.inMessage {
			return ErrUnexpectedContinuation
		}
		// RFC 7692 §6.1: RSV1 is set on the first frame only.
		if h.RSV1 {
			return ErrCompressedContinuation
		}
	} else {
		if s.inMessage {
			return ErrExpectedContinuation
		}
		s.inMessage, s.op, s.compressed, s.size = true, h.Op, h.RSV1, 0
		s.text.Reset()
	}
	limit := maxMessage
	if s.compressed {
		limit += limit>>8 + 1024
	}
	if h.Length > limit-s.size {
		return ErrTooBig
	}
	s.size += h.Length
	return nil
}

// InMessage reports whether a data message is in progress.
func (s *Stream) InMessage() bool { return s.inMessage }

// Message returns the opcode (OpText or OpBinary) and compression of the
// message in progress.
func (s *Stream) Message() (op Opcode, compressed bool) { return s.op, s.compressed }

// Text feeds a piece of an uncompressed text message's payload (unmasked)
// to the UTF-8 validator. Pieces may split a character anywhere; the error
// comes as soon as the bytes so far cannot start valid UTF-8 (§8.1: 1007).
func (s *Stream) Text(p []byte) error {
	if !s.text.Write(p) {
		return ErrInvalidUTF8
	}
	return nil
}

// End ends the message in progress after its final frame: for text, the
// last character must be complete. Call it after the final frame's payload
// (and Text for it). It resets the stream for the next message.
func (s *Stream) End() error {
	ok := s.op != OpText || s.compressed || s.text.Complete()
	s.inMessage, s.op, s.compressed, s.size = false, 0, false, 0
	s.text.Reset()
	if !ok {
		return ErrInvalidUTF8
	}
	return nil
}

// UTF8 validates text that arrives in pieces. Its zero value expects the
// start of a text.
type UTF8 struct {
	pend [utf8.UTFMax]byte // the start of a character split across pieces
	n    uint8
}

// Reset forgets any pending partial character.
func (u *UTF8) Reset() { u.n = 0 }

// Complete reports whether the text so far ends on a character boundary.
func (u *UTF8) Complete() bool { return u.n == 0 }

// Write validates the next piece, and reports false as soon as the text so
// far cannot be the start of valid UTF-8. It never allocates.
func (u *UTF8) Write(p []byte) bool {
	if u.n > 0 {
		// Complete the character split at the previous boundary.
		for len(p) > 0 && !utf8.FullRune(u.pend[:u.n]) {
			u.pend[u.n] = p[0]
			u.n++
			p = p[1:]
		}
		if !utf8.FullRune(u.pend[:u.n]) {
			return true // still incomplete, and a valid prefix so far
		}
		r, size := utf8.DecodeRune(u.pend[:u.n])
		if r == utf8.RuneError && size <= 1 || size != int(u.n) {
			return false
		}
		u.n = 0
	}
	// Keep back a trailing partial character, if any.
	end := len(p)
	for i := len(p) - 1; i >= 0 && i >= len(p)-(utf8.UTFMax-1); i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				end = i
			}
			break
		}
	}
	if !utf8.Valid(p[:end]) {
		return false
	}
	u.n = uint8(copy(u.pend[:], p[end:]))
	return true
}

// Close codes with a meaning in this package's API (RFC 6455 §7.4.1).
const (
	CodeNormal          = 1000
	CodeNoStatus        = 1005 // reported when a close frame has no body; never sent
	CodeAbnormal        = 1006 // reported when the connection dropped; never sent
	CodeInternalError   = 1011
	CodeGoingAway       = 1001
	CodePolicyViolation = 1008
)

// ValidCloseCode reports whether code may appear in a close frame (§7.4.1,
// §7.4.2, and the IANA registry's 1012-1014): 1000-1003, 1007-1014, and
// 3000-4999 for libraries, frameworks and applications.
func ValidCloseCode(code uint16) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// ParseClose parses an unmasked close frame payload (§5.5.1): empty (code
// 1005, no status), or a 2-byte code and a UTF-8 reason. The reason is a
// slice of p.
func ParseClose(p []byte) (code uint16, reason []byte, err error) {
	switch len(p) {
	case 0:
		return CodeNoStatus, nil, nil
	case 1:
		return 0, nil, ErrBadClosePayload
	}
	code = binary.BigEndian.Uint16(p)
	if !ValidCloseCode(code) {
		return 0, nil, ErrBadCloseCode
	}
	reason = p[2:]
	if !utf8.Valid(reason) {
		return 0, nil, ErrInvalidUTF8
	}
	return code, reason, nil
}

// AppendClosePayload appends a close frame payload to dst: code and as much
// of reason as fits in a control frame (123 bytes, cut on a character
// boundary). A reason that is not UTF-8 has its invalid bytes replaced
// with U+FFFD (§5.5.1: the reason MUST be UTF-8). Code 1005 appends nothing
// (an empty close).
func AppendClosePayload(dst []byte, code uint16, reason string) []byte {
	if code == CodeNoStatus {
		return dst
	}
	dst = binary.BigEndian.AppendUint16(dst, code)
	if !utf8.ValidString(reason) {
		reason = strings.ToValidUTF8(reason, "\uFFFD")
	}
	if len(reason) > MaxControlPayload-2 {
		reason = reason[:MaxControlPayload-2]
		for len(reason) > 0 && !utf8.ValidString(reason) {
			reason = reason[:len(reason)-1]
		}
	}
	return append(dst, reason...)
}
