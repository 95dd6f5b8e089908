package websocket

import (
	"sync"
	"time"

	"github.com/weftgo/weft/net/websocket/internal/frame"
	"github.com/weftgo/weft/runtime"
)

// PreparedMessage is a message encoded once for many sessions: its frame is
// built on first use for each distinct encoding (uncompressed; compressed
// with no context takeover for a given window), then shared, read-only, by
// every session and loop that sends it. Safe for concurrent use.
type PreparedMessage struct {
	typ  MessageType
	data []byte

	mu     sync.Mutex
	frames map[int][]byte // window bits (0: uncompressed) -> whole frame
	level  int
}

// NewPreparedMessage copies data into a message ready to be sent to many
// sessions. Safe for concurrent use.
func NewPreparedMessage(typ MessageType, data []byte) *PreparedMessage {
	return &PreparedMessage{typ: typ, data: append([]byte(nil), data...), frames: make(map[int][]byte, 2)}
}

// frameFor returns the frame to send to a session: compressed for one with
// permessage-deflate when the message is at least cfg.compressMin bytes.
// The first session of an encoding builds it; for the compressed encoding
// that means one compression on that session's loop, whatever the size (a
// known limit: Send offloads large compressions, SendPrepared does not).
func (pm *PreparedMessage) frameFor(cfg *config, d deflateParams) []byte {
	bits := 0
	if d.enabled && !d.serverTakeover && len(pm.data) >= cfg.compressMin {
		// A session with context takeover gets it uncompressed: a
		// shared compressed frame cannot use its window (RFC 7692
		// allows an uncompressed message on any session).
		bits = d.windowBits
	}
	pm.mu.Lock()
	defer pm.mu.Unlock()
	if f, ok := pm.frames[bits]; ok {
		return f
	}
	var f []byte
	if bits == 0 {
		f = frame.AppendHeader(nil, true, false, frame.Opcode(pm.typ), len(pm.data))
		f = append(f, pm.data...)
	} else {
		z := cfg.codec.compress(nil, pm.data, bits, nil)
		f = frame.AppendHeader(make([]byte, 0, len(z)+frame.MaxHeaderLen), true, true, frame.Opcode(pm.typ), len(z))
		f = append(f, z...)
	}
	pm.frames[bits] = f
	return f
}

// SendPrepared sends a prepared message, as Send does, without encoding it
// again. Loop-only.
func (c *Conn) SendPrepared(pm *PreparedMessage) runtime.Future[struct{}] {
	if !isData(pm.typ) {
		return runtime.Rejected[struct{}](ErrMessageType)
	}
	if c.state != stateOpen {
		return runtime.Rejected[struct{}](ErrClosed)
	}
	if c.overLimitOnLoop() {
		return runtime.Rejected[struct{}](ErrBufferFull)
	}
	f := pm.frameFor(c.cfg, c.deflate)
	c.lastData = time.Now() // a data message going out: not idle
	c.cfg.stats.msgsOut.Add(1)
	c.cfg.stats.bytesOut.Add(int64(len(pm.data)))
	if len(c.pending) > 0 {
		// Behind an off-loop compression: keep the order. The frame is
		// written whole, so it travels as an already-built payload.
		return c.queueFrameOnLoop(f, len(pm.data))
	}
	return c.t.Write(f)
}

// queueFrameOnLoop queues a complete frame, of a message of msgLen bytes,
// behind pending sends.
func (c *Conn) queueFrameOnLoop(f []byte, msgLen int) runtime.Future[struct{}] {
	ps := &pendingSend{c: c, whole: f, ready: true, size: len(f), msgLen: msgLen, out: runtime.NewPromise[struct{}](c.t.Loop())}
	c.pending = append(c.pending, ps)
	c.pendingBytes += ps.size
	return ps.out.Future()
}

// Group is a set of sessions, on any loops, that messages are broadcast
// to. A broadcast posts one task to each loop that has members, and that
// task sends to its loop's members; the frame is encoded once per encoding
// (see PreparedMessage), not once per session. A broadcast reaches the
// sessions that were members when Broadcast was called: one added after it
// does not get it, even if its loop's task runs later.
//
// Add and Remove are loop-only (the session's loop); Broadcast and Len are
// safe for concurrent use. A session leaves its groups when it ends.
type Group struct {
	mu    sync.Mutex
	loops map[runtime.Loop]*groupLoop
	n     int
	seq   uint64 // broadcasts so far
}

// groupLoop is a group's members on one loop. members is touched only on
// that loop; queue and posted under the group's mu.
type groupLoop struct {
	g       *Group
	loop    runtime.Loop
	members map[*Conn]uint64 // the session, and the group's count of broadcasts when it joined
	queue   []queuedBroadcast
	posted  bool
}

// queuedBroadcast is a message waiting for its loop's task, with its
// number among the group's broadcasts (1, 2, ...).
type queuedBroadcast struct {
	pm  *PreparedMessage
	seq uint64
}

// NewGroup returns an empty group. Safe for concurrent use.
func NewGroup() *Group { return &Group{loops: make(map[runtime.Loop]*groupLoop)} }

// Add adds c to the group. Loop-only: call on c's loop.
func (g *Group) Add(c *Conn) {
	if c.state == stateGone {
		return
	}
	l := c.t.Loop()
	g.mu.Lock()
	gl := g.loops[l]
	if gl == nil {
		gl = &groupLoop{g: g, loop: l, members: make(map[*Conn]uint64)}
		g.loops[l] = gl
	}
	if _, ok := gl.members[c]; !ok {
		gl.members[c] = g.seq
		g.n++
		c.groups = append(c.groups, g)
	}
	g.mu.Unlock()
}

// Remove removes c from the group. Loop-only: call on c's loop.
func (g *Group) Remove(c *Conn) {
	g.removeOnLoop(c)
	for i, x := range c.groups {
		if x == g {
			c.groups = append(c.groups[:i], c.groups[i+1:]...)
			break
		}
	}
}

func (g *Group) removeOnLoop(c *Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	gl := g.loops[c.t.Loop()]
	if gl == nil {
		return
	}
	if _, ok := gl.members[c]; ok {
		delete(gl.members, c)
		g.n--
	}
}

// Len returns the number of sessions in the group. Safe for concurrent use.
func (g *Group) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// Broadcast sends pm to every session in the group, on each session's
// loop. It returns at once; a session that cannot take the message (closed,
// or over its buffer limit, which closes it with 1008) is skipped. Safe for
// concurrent use.
func (g *Group) Broadcast(pm *PreparedMessage) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seq++
	for l, gl := range g.loops {
		gl.queue = append(gl.queue, queuedBroadcast{pm, g.seq})
		if gl.posted {
			continue
		}
		if gl.loop.Post(gl) != nil {
			// The loop has stopped: its sessions are gone.
			delete(g.loops, l)
			g.n -= len(gl.members)
			continue
		}
		gl.posted = true
	}
}

// Run sends the queued messages to the loop's members; it runs on the loop.
func (gl *groupLoop) Run() {
	gl.g.mu.Lock()
	queue := gl.queue
	gl.queue, gl.posted = nil, false
	gl.g.mu.Unlock()
	for _, q := range queue {
		for c, joined := range gl.members {
			if joined < q.seq {
				c.SendPrepared(q.pm)
			}
		}
	}
}
