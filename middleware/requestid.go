package middleware

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/weftgo/weft/net"
)

// RequestIDConfig configures RequestID. The zero value is ready to use.
type RequestIDConfig struct {
	// Header is the request and response header that carries the id.
	// Default "X-Request-ID".
	Header string

	// IgnoreIncoming makes every id a generated one, ignoring the id the
	// client sent: for servers whose clients should not choose the ids
	// that appear in the logs. Default false: a valid incoming id is kept.
	IgnoreIncoming bool

	// MaxLength is the longest incoming id kept; a longer one is replaced
	// by a generated id. Default 128.
	MaxLength int

	// Generate, if set, makes the ids instead of the built-in generator.
	// It runs on the loop, for every request without a valid incoming id,
	// so it must be fast and safe for concurrent use by every loop. Its
	// result is sent as a header value, so it must be visible ASCII.
	Generate func() string
}

const (
	defaultRequestIDHeader = "X-Request-ID"
	defaultRequestIDMax    = 128
)

// requestIDKey is the Ctx value key under which RequestID stores the id.
type requestIDKey struct{}

// requestID is RequestID's configuration, with defaults filled in, and its
// generator. Stored as the Ctx value, it means "the id is the request's
// header": a pointer in an interface costs no allocation.
type requestID struct {
	header   string
	ignore   bool
	maxLen   int
	generate func() string

	prefix [idPrefixLen]byte
	n      atomic.Uint64
}

// A generated id is idPrefixLen characters fixed for the life of the
// middleware (50 random bits) and idCountLen characters of a counter (50
// bits, starting at a random value), in lowercase base32hex: 20 characters,
// unique within the process, and unlikely to collide across processes.
const (
	idPrefixLen = 10
	idCountLen  = 10
	idAlphabet  = "0123456789abcdefghijklmnopqrstuv"
)

// generatedID is one generated id. It is the only allocation of a request
// that gets a generated id: the Ctx value points at it, and the id string
// (RequestIDFrom, the response header) shares its bytes.
type generatedID struct {
	b [idPrefixLen + idCountLen]byte
}

func (g *generatedID) String() string { return unsafe.String(&g.b[0], len(g.b)) }

// customID is an id made by RequestIDConfig.Generate.
type customID struct{ s string }

// RequestID returns middleware that gives every request an id: the one the
// client sent in the X-Request-ID header if it is valid (1 to MaxLength
// visible ASCII characters), or a new one. It sets the id on the response
// header and stores it in the Ctx, where RequestIDFrom reads it; Logger and
// Recover log it.
//
// A request that brings a valid id costs no allocation; a generated id
// costs one (the id itself), and no system call: the generator is a random
// prefix drawn once, when RequestID is called, and an atomic counter.
//
// It panics if cfg is invalid (a Header that is not a valid field name, a
// negative MaxLength). The middleware runs on the loop and is safe for
// concurrent use by every loop.
func RequestID(cfg RequestIDConfig) net.Middleware {
	st := newRequestID(cfg)
	return func(next net.Handler) net.Handler {
		return func(c *net.Ctx) net.Result {
			id := st.assign(c)
			c.SetHeader(st.header, id)
			net.SetRequestID(c, id) // for the server's own lines: panics, blocked loops
			return next(c)
		}
	}
}

func newRequestID(cfg RequestIDConfig) *requestID {
	st := &requestID{header: cfg.Header, ignore: cfg.IgnoreIncoming, maxLen: cfg.MaxLength, generate: cfg.Generate}
	if st.header == "" {
		st.header = defaultRequestIDHeader
	}
	if !validToken(st.header) {
		panic(fmt.Sprintf("middleware.RequestID: RequestIDConfig.Header %q is not a valid header name", cfg.Header))
	}
	switch {
	case st.maxLen < 0:
		panic(fmt.Sprintf("middleware.RequestID: RequestIDConfig.MaxLength is %d; want 0 (default %d) or more", cfg.MaxLength, defaultRequestIDMax))
	case st.maxLen == 0:
		st.maxLen = defaultRequestIDMax
	}
	var seed [16]byte
	_, _ = rand.Read(seed[:]) // crypto/rand.Read never fails (Go 1.24+).
	encodeBase32(st.prefix[:], binary.LittleEndian.Uint64(seed[:8]))
	st.n.Store(binary.LittleEndian.Uint64(seed[8:]))
	return st
}

// assign picks the request's id, stores it in c and returns it.
func (st *requestID) assign(c *net.Ctx) string {
	if !st.ignore {
		if id := c.Header(st.header); st.valid(id) {
			c.SetValue(requestIDKey{}, st)
			return id
		}
	}
	if st.generate != nil {
		id := &customID{st.generate()}
		c.SetValue(requestIDKey{}, id)
		return id.s
	}
	id := st.next()
	c.SetValue(requestIDKey{}, id)
	return id.String()
}

// valid reports whether an incoming id may be kept: 1 to maxLen visible
// ASCII characters, so that it is safe in a header and in a log line.
func (st *requestID) valid(id string) bool {
	if id == "" || len(id) > st.maxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// next returns a new generated id.
func (st *requestID) next() *generatedID {
	g := &generatedID{}
	copy(g.b[:idPrefixLen], st.prefix[:])
	encodeBase32(g.b[idPrefixLen:], st.n.Add(1))
	return g
}

// encodeBase32 writes the low 5*len(dst) bits of v into dst, most
// significant first.
func encodeBase32(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = idAlphabet[v&31]
		v >>= 5
	}
}

// RequestIDFrom returns the id RequestID gave the request, or "" if
// RequestID did not run for it. The string is valid until the Ctx is
// recycled: copy it (strings.Clone) to keep it longer. Loop-only, like
// every Ctx method.
func RequestIDFrom(c *net.Ctx) string {
	switch v := c.Value(requestIDKey{}).(type) {
	case *requestID:
		return c.Header(v.header)
	case *generatedID:
		return v.String()
	case *customID:
		return v.s
	}
	return ""
}
