package frame

import "encoding/binary"

// Opcode is a frame's opcode (RFC 6455 §5.2).
type Opcode uint8

// The opcodes RFC 6455 §5.2 defines; all others are reserved.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// IsControl reports whether op is a control opcode (§5.5: the high bit of
// the opcode's nibble).
func (op Opcode) IsControl() bool { return op&0x8 != 0 }

// MaxControlPayload is the largest payload of a control frame (§5.5).
const MaxControlPayload = 125

// MaxHeaderLen is the longest frame header: 2 bytes, an 8-byte extended
// length and a 4-byte masking key (§5.2).
const MaxHeaderLen = 14

// Role says which end of the connection parses: a Server receives masked
// frames from its clients, a Client unmasked ones (§5.1).
type Role uint8

// The two roles.
const (
	Server Role = iota
	Client
)

// Header is a parsed frame header (§5.2).
type Header struct {
	Fin    bool
	RSV1   bool // permessage-deflate's "compressed" bit (RFC 7692 §6)
	Op     Opcode
	Masked bool
	Key    [4]byte // the masking key, if Masked
	Length int64   // payload length
}

// ParseHeader parses the frame header at the start of b into h, checking
// every rule that a header alone decides: RSV2 and RSV3 clear (no extension
// of ours defines them), a defined opcode, the mask bit as role requires,
// minimal length encoding, and control frames short and unfragmented. RSV1
// is left to Stream.Begin, which knows whether permessage-deflate was
// negotiated.
//
// It returns the header's length, or (0, nil) if b holds only part of a
// header, or (0, err) with one of the package's sentinels. It never
// allocates.
func ParseHeader(b []byte, h *Header, r Role) (int, error) {
	if len(b) < 2 {
		return 0, nil
	}
	b0, b1 := b[0], b[1]
	h.Fin = b0&0x80 != 0
	h.RSV1 = b0&0x40 != 0
	h.Op = Opcode(b0 & 0x0F)
	h.Masked = b1&0x80 != 0
	// §5.2: RSV2 and RSV3 MUST be 0 unless an extension defines them.
	if b0&0x30 != 0 {
		return 0, ErrReservedBits
	}
	// §5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved; an endpoint that
	// receives one MUST fail the connection.
	switch h.Op {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
	default:
		return 0, ErrReservedOpcode
	}
	// §5.1: a server MUST close the connection on an unmasked frame; a
	// client on a masked one.
	if r == Server && !h.Masked {
		return 0, ErrUnmasked
	}
	if r == Client && h.Masked {
		return 0, ErrMasked
	}
	n := 2
	length := int64(b1 & 0x7F)
	if h.Op.IsControl() {
		// §5.5: control frames have a payload of at most 125 bytes (so a
		// 7-bit length) and MUST NOT be fragmented.
		if length > MaxControlPayload {
			return 0, ErrControlTooLong
		}
		if !h.Fin {
			return 0, ErrControlFragmented
		}
	}
	switch length {
	case 126:
		if len(b) < 4 {
			return 0, nil
		}
		length = int64(binary.BigEndian.Uint16(b[2:]))
		n = 4
		// §5.2: "the minimal number of bytes MUST be used to encode the
		// length".
		if length < 126 {
			return 0, ErrNonMinimalLength
		}
	case 127:
		if len(b) < 10 {
			return 0, nil
		}
		u := binary.BigEndian.Uint64(b[2:])
		n = 10
		// §5.2: the most significant bit MUST be 0; and minimal encoding.
		if u>>63 != 0 || u <= 0xFFFF {
			return 0, ErrNonMinimalLength
		}
		length = int64(u)
	}
	h.Length = length
	if h.Masked {
		if len(b) < n+4 {
			return 0, nil
		}
		copy(h.Key[:], b[n:n+4])
		n += 4
	} else {
		h.Key = [4]byte{}
	}
	return n, nil
}

// AppendHeader appends an unmasked (server) frame header to dst.
func AppendHeader(dst []byte, fin, rsv1 bool, op Opcode, length int) []byte {
	return appendHeader(dst, fin, rsv1, op, length, false, [4]byte{})
}

// AppendMaskedHeader appends a masked (client) frame header with key to dst.
// The caller masks the payload with Mask(key, 0, payload).
func AppendMaskedHeader(dst []byte, fin, rsv1 bool, op Opcode, length int, key [4]byte) []byte {
	return appendHeader(dst, fin, rsv1, op, length, true, key)
}

func appendHeader(dst []byte, fin, rsv1 bool, op Opcode, length int, masked bool, key [4]byte) []byte {
	b0 := byte(op)
	if fin {
		b0 |= 0x80
	}
	if rsv1 {
		b0 |= 0x40
	}
	var m byte
	if masked {
		m = 0x80
	}
	switch {
	case length < 126:
		dst = append(dst, b0, m|byte(length))
	case length <= 0xFFFF:
		dst = append(dst, b0, m|126, byte(length>>8), byte(length))
	default:
		dst = append(dst, b0, m|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(length))
	}
	if masked {
		dst = append(dst, key[:]...)
	}
	return dst
}

// HeaderLen returns the length of an unmasked header for a payload of
// length bytes.
func HeaderLen(length int) int {
	switch {
	case length < 126:
		return 2
	case length <= 0xFFFF:
		return 4
	}
	return 10
}

// Mask XORs b in place with key, starting at byte pos of the key (0-3), and
// returns the key position after b: masking a payload in pieces gives the
// same bytes as masking it whole (§5.3). Masking and unmasking are the same
// operation. It works eight bytes at a time.
func Mask(key [4]byte, pos int, b []byte) int { return MaskTo(b, b, key, pos) }

// MaskTo writes src XOR key (from key byte pos) to dst, which must be at
// least as long as src and may be src itself, and returns the key position
// after src. It lets a server unmask a payload as it copies it out of a
// buffer it must not modify.
func MaskTo(dst, src []byte, key [4]byte, pos int) int {
	pos &= 3
	dst = dst[:len(src)]
	if len(src) >= 8 {
		// The key rotated so that byte pos comes first, twice.
		k := uint64(key[pos]) | uint64(key[(pos+1)&3])<<8 | uint64(key[(pos+2)&3])<<16 | uint64(key[(pos+3)&3])<<24
		k |= k << 32
		for len(src) >= 32 {
			binary.LittleEndian.PutUint64(dst, binary.LittleEndian.Uint64(src)^k)
			binary.LittleEndian.PutUint64(dst[8:], binary.LittleEndian.Uint64(src[8:])^k)
			binary.LittleEndian.PutUint64(dst[16:], binary.LittleEndian.Uint64(src[16:])^k)
			binary.LittleEndian.PutUint64(dst[24:], binary.LittleEndian.Uint64(src[24:])^k)
			src, dst = src[32:], dst[32:]
		}
		for len(src) >= 8 {
			binary.LittleEndian.PutUint64(dst, binary.LittleEndian.Uint64(src)^k)
			src, dst = src[8:], dst[8:]
		}
	}
	for i := range src {
		dst[i] = src[i] ^ key[pos]
		pos = (pos + 1) & 3
	}
	return pos
}
