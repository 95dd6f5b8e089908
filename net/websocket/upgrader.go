package websocket

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/flate"
	"go.uber.org/zap"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/offload"
)

// Upgrader holds one route's WebSocket settings. Its zero value is ready to
// use: every field has a documented default, filled in on the first
// Upgrade. Do not change its fields after the first Upgrade. Safe for
// concurrent use by every loop.
type Upgrader struct {
	// CheckOrigin decides whether a browser's Origin may open a session
	// (RFC 6455 §10.2); a refused origin is answered 403. It runs on the
	// loop with the request's Ctx. Default: SameOrigin (no Origin header,
	// or an Origin whose host equals Host).
	CheckOrigin func(c *net.Ctx) bool

	// Subprotocols lists the subprotocols the server speaks. The first of
	// the client's Sec-WebSocket-Protocol values that is listed here is
	// chosen (the client's order decides, as in gorilla/websocket); with
	// none in common the session opens without one (RFC 6455 §4.2.2) and
	// Conn.Subprotocol is "".
	Subprotocols []string

	// EnableCompression accepts permessage-deflate (RFC 7692) when the
	// client offers it, always with no context takeover either way (see
	// docs/websocket.md). Default false, as in gorilla/websocket and
	// Node's ws.
	EnableCompression bool

	// ContextTakeover lets each side of a compressed session keep its
	// LZ77 window from message to message (RFC 7692 §7.1.1) unless the
	// client declines it: a better ratio on streams of similar messages,
	// for 32 KiB held per direction per session. Default false: every
	// message is compressed on its own (no window held; a broadcast is
	// compressed once for all sessions).
	ContextTakeover bool

	// CompressionLevel is the flate level, 1 (fastest) to 9. Default 1,
	// gorilla's: messages are small and latency counts.
	CompressionLevel int

	// CompressMin is the smallest message compressed on a session that
	// negotiated permessage-deflate; smaller ones go uncompressed (RSV1
	// clear, which RFC 7692 allows per message). Default 128 bytes.
	CompressMin int

	// OffloadAbove is the message size from which compression runs off the
	// loop, on Pool if set, else on a runtime.Blocking goroutine; sends
	// after it wait their turn, so messages keep their order. A received
	// compressed message is decompressed on the loop up to this many bytes
	// of output, the rest off the loop; messages received meanwhile wait
	// behind it, in order. Default 16 KiB, as middleware.Compress.
	// Negative: always on the loop.
	OffloadAbove int

	// Pool runs large compressions and decompressions when set (see
	// OffloadAbove). A full pool is no error: an outgoing message then
	// goes uncompressed, an incoming one is finished on the loop.
	Pool *offload.Pool

	// MaxMessageBytes is the largest message accepted, after reassembly of
	// its fragments and after decompression; a larger one closes the
	// session with 1009. Default 1 MiB. It bounds what one session can
	// make the server hold. Values above 1 EiB (1<<60, no limit in
	// practice) are taken as 1 EiB.
	MaxMessageBytes int64

	// MaxBufferedBytes is the hard limit on bytes queued for a client that
	// does not read: a send finding more than this already buffered closes
	// the session with 1008 and fails. Below it, a send's future waits
	// while the connection is over net's high-water mark
	// (net.Server.MaxOutboundBytes, 4 MiB by default), so it should be well
	// above that mark. Default 16 MiB.
	MaxBufferedBytes int

	// PingInterval is how long a session may go without receiving
	// anything before the server pings it; a session that then stays
	// silent for PongTimeout more is closed (code 1006 reported). Default
	// 30 s. Negative: never ping.
	PingInterval time.Duration

	// PongTimeout is how long the server waits for any frame after a ping.
	// Default 30 s.
	PongTimeout time.Duration

	// IdleTimeout closes a session (1001) when no data message has gone
	// either way for this long. Default 0: never.
	IdleTimeout time.Duration

	// CloseTimeout is how long the server waits for the client's close
	// frame after sending its own before it closes the connection. Default
	// 5 s.
	CloseTimeout time.Duration

	// Logger receives panics from callbacks and protocol failures (at
	// debug level). Default zap.NewNop().
	Logger *zap.Logger

	once sync.Once
	cfg  *config
	err  error
}

// config is an Upgrader's settings with defaults filled in, and the state
// its sessions share. Read-only after configure, except the pools and
// counters, which are safe for concurrent use.
type config struct {
	compression  bool
	compressMin  int
	offloadAbove int
	pool         *offload.Pool
	maxMessage   int64
	maxBuffered  int
	pingInterval time.Duration
	pongTimeout  time.Duration
	idleTimeout  time.Duration
	closeTimeout time.Duration
	log          *zap.Logger

	codec   codec
	scratch sync.Pool // of *[]byte: frames built for one Write
	msgs    sync.Pool // of *[]byte: inbound messages being assembled

	stats counters
}

// configure fills in the defaults once; a bad field is an error that names
// it.
// maxMessageCeiling is the largest MaxMessageBytes taken as given (1 EiB).
const maxMessageCeiling = 1 << 60

func (u *Upgrader) configure() (*config, error) {
	u.once.Do(func() {
		c := &config{
			compression:  u.EnableCompression,
			compressMin:  u.CompressMin,
			offloadAbove: u.OffloadAbove,
			pool:         u.Pool,
			maxMessage:   u.MaxMessageBytes,
			maxBuffered:  u.MaxBufferedBytes,
			pingInterval: u.PingInterval,
			pongTimeout:  u.PongTimeout,
			idleTimeout:  u.IdleTimeout,
			closeTimeout: u.CloseTimeout,
			log:          u.Logger,
		}
		c.codec.level = u.CompressionLevel
		switch {
		case c.codec.level == 0:
			c.codec.level = flate.BestSpeed
		case c.codec.level < flate.BestSpeed || c.codec.level > flate.BestCompression:
			u.err = fmt.Errorf("websocket: Upgrader.CompressionLevel %d: want 1 to 9", u.CompressionLevel)
			return
		}
		if c.compressMin == 0 {
			c.compressMin = 128
		}
		if c.offloadAbove == 0 {
			c.offloadAbove = 16 << 10
		}
		switch {
		case c.maxMessage == 0:
			c.maxMessage = 1 << 20
		case c.maxMessage < 0:
			u.err = fmt.Errorf("websocket: Upgrader.MaxMessageBytes %d is negative", u.MaxMessageBytes)
			return
		case c.maxMessage > maxMessageCeiling:
			// The limit's arithmetic (a compressed frame's bound, the
			// reassembly and inflate bounds) adds to it; kept far from
			// overflow.
			c.maxMessage = maxMessageCeiling
		}
		switch {
		case c.maxBuffered == 0:
			c.maxBuffered = 16 << 20
		case c.maxBuffered < 0:
			u.err = fmt.Errorf("websocket: Upgrader.MaxBufferedBytes %d is negative", u.MaxBufferedBytes)
			return
		}
		if c.pingInterval == 0 {
			c.pingInterval = 30 * time.Second
		}
		if c.pongTimeout <= 0 {
			c.pongTimeout = 30 * time.Second
		}
		if c.idleTimeout < 0 {
			c.idleTimeout = 0
		}
		if c.closeTimeout <= 0 {
			c.closeTimeout = 5 * time.Second
		}
		if c.log == nil {
			c.log = zap.NewNop()
		}
		u.cfg = c
	})
	return u.cfg, u.err
}

// Stats are an Upgrader's counters since it was made.
type Stats struct {
	Open        int64 // sessions open now
	Opened      int64 // sessions opened in all
	MessagesIn  int64 // data messages received
	MessagesOut int64 // data messages sent: handed to the socket, or queued to be (one dropped at close is taken back)
	BytesIn     int64 // payload bytes of the messages received (decompressed)
	BytesOut    int64 // payload bytes of the messages sent (before compression)
}

type counters struct {
	open, opened, msgsIn, msgsOut, bytesIn, bytesOut atomic.Int64
}

// Stats returns the Upgrader's counters, for metrics beside the HTTP ones.
// Safe for concurrent use.
func (u *Upgrader) Stats() Stats {
	c, err := u.configure()
	if err != nil {
		return Stats{}
	}
	s := &c.stats
	return Stats{
		Open: s.open.Load(), Opened: s.opened.Load(),
		MessagesIn: s.msgsIn.Load(), MessagesOut: s.msgsOut.Load(),
		BytesIn: s.bytesIn.Load(), BytesOut: s.bytesOut.Load(),
	}
}

// getBuf takes a buffer from pool p.
func getBuf(p *sync.Pool) *[]byte {
	if b, ok := p.Get().(*[]byte); ok {
		return b
	}
	return new([]byte)
}

// maxPooledBuf bounds the buffers pools keep, so one huge message does not
// pin its memory for good.
const maxPooledBuf = 64 << 10

func putBuf(p *sync.Pool, b *[]byte) {
	if cap(*b) <= maxPooledBuf {
		*b = (*b)[:0]
		p.Put(b)
	}
}
