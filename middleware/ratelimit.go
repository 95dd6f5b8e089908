package middleware

import (
	"fmt"
	"hash/maphash"
	"math"
	stdnet "net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/time/rate"

	"github.com/weftgo/weft/net"
)

// RateLimitConfig configures RateLimit. The zero value is ready to use:
// every field has a documented default.
type RateLimitConfig struct {
	// Limit is how many requests a key may make per Window, on average:
	// its bucket refills at Limit/Window tokens per second. Default 100.
	Limit int

	// Window is the period Limit counts over. Default one minute.
	Window time.Duration

	// Burst is the size of the bucket: how many requests a key may make
	// at once after being idle. Default Limit (the Express
	// express-rate-limit behaviour: Limit requests, then Limit more per
	// Window).
	Burst int

	// Key returns the key a request is counted under, for limits per user
	// or per API key. It runs on the loop and must be safe for concurrent
	// use by every loop. A request whose key is "" is not limited.
	// Default: the client's IP address (see TrustedProxies).
	Key func(c *net.Ctx) string

	// TrustedProxies lists the addresses or CIDR prefixes ("10.0.0.0/8",
	// "::1") of reverse proxies whose X-Forwarded-For is believed. For a
	// request from one of them, the client is the rightmost address of
	// X-Forwarded-For that is not itself a trusted proxy, so a client
	// cannot escape its limit by sending a forged X-Forwarded-For.
	// Default none: the connection's address is the client, always.
	TrustedProxies []string

	// MaxKeys bounds the keys remembered at once; past it, the least
	// recently seen key is forgotten (its next request starts with a
	// full bucket). Keep it above the clients active within one Window.
	// Memory is about 200 bytes per key. Default 100,000 (about 20 MB
	// when full).
	MaxKeys int

	// Skip, if set, exempts the requests for which it returns true
	// (health checks, internal callers). It runs on the loop and must be
	// safe for concurrent use.
	Skip func(c *net.Ctx) bool

	// OmitHeaders stops the RateLimit-* headers on allowed responses; a
	// 429 still carries them and Retry-After. Default false: every
	// limited response tells the client its budget.
	OmitHeaders bool

	// Now is the clock. Default time.Now; tests set a fake one.
	Now func() time.Time
}

// RateLimit returns middleware that limits each key (the client's IP by
// default) with a token bucket from golang.org/x/time/rate: a request takes
// a token, and a key with none left is answered 429 Too Many Requests with
// Retry-After (seconds until a token is back), without calling the handler.
//
// Responses carry the rate-limit fields of
// draft-ietf-httpapi-ratelimit-headers-06 (the draft express-rate-limit
// calls "draft-6"): RateLimit-Limit (the bucket size), RateLimit-Remaining
// (tokens left), RateLimit-Reset (seconds until the bucket is full again)
// and RateLimit-Policy ("100;w=60": Limit per Window in seconds, with
// ";burst=N" when Burst differs from Limit). Later drafts merge them into
// one structured RateLimit field that few clients parse yet.
//
// Keys live in shards (a mutex, a map and an LRU list each), shared by
// every loop: a client's budget is the same whichever loop its connections
// land on. Memory is bounded by MaxKeys. A request of a known key allocates
// nothing; a new key allocates its string and its limiter.
//
// RateLimit panics on an invalid config. The middleware runs on the loop
// and is safe for concurrent use by every loop.
func RateLimit(cfg RateLimitConfig) net.Middleware {
	l := newRateLimiter(cfg)
	return func(next net.Handler) net.Handler {
		return func(c *net.Ctx) net.Result {
			if l.skip != nil && l.skip(c) {
				return next(c)
			}
			var ipKey [16]byte
			var key []byte
			if l.key != nil {
				k := l.key(c)
				key = unsafe.Slice(unsafe.StringData(k), len(k)) // read only
			} else if ip, ok := l.clientIP(c); ok {
				ipKey = ip.As16()
				key = ipKey[:]
			}
			if len(key) == 0 {
				return next(c)
			}
			d := l.take(key)
			if !d.ok {
				l.setHeaders(c, d)
				c.SetHeader("Retry-After", l.itoa(d.retry))
				return c.Text(net.StatusTooManyRequests, net.StatusText(net.StatusTooManyRequests))
			}
			if !l.omitHeaders {
				l.setHeaders(c, d)
			}
			return next(c)
		}
	}
}

const rateLimitShards = 64

// rateLimiter is RateLimit's state, shared by every loop.
type rateLimiter struct {
	limit       rate.Limit
	burst       int
	key         func(*net.Ctx) string
	skip        func(*net.Ctx) bool
	trusted     []netip.Prefix
	omitHeaders bool
	now         func() time.Time
	seed        maphash.Seed

	limitHeader, policyHeader string
	ints                      []string // decimal strings of 0..len-1, to set headers without allocating

	shards [rateLimitShards]rateShard
}

func newRateLimiter(cfg RateLimitConfig) *rateLimiter {
	check := func(field string, v int64) {
		if v < 0 {
			panic(fmt.Sprintf("middleware.RateLimit: RateLimitConfig.%s is %d, want >= 0 (0: the default)", field, v))
		}
	}
	check("Limit", int64(cfg.Limit))
	check("Window", int64(cfg.Window))
	check("Burst", int64(cfg.Burst))
	check("MaxKeys", int64(cfg.MaxKeys))
	if cfg.Limit == 0 {
		cfg.Limit = 100
	}
	if cfg.Window == 0 {
		cfg.Window = time.Minute
	}
	if cfg.Burst == 0 {
		cfg.Burst = cfg.Limit
	}
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = 100_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &rateLimiter{
		limit:       rate.Limit(float64(cfg.Limit) / cfg.Window.Seconds()),
		burst:       cfg.Burst,
		key:         cfg.Key,
		skip:        cfg.Skip,
		omitHeaders: cfg.OmitHeaders,
		now:         cfg.Now,
		seed:        maphash.MakeSeed(),
	}
	for _, s := range cfg.TrustedProxies {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				panic(fmt.Sprintf("middleware.RateLimit: RateLimitConfig.TrustedProxies has %q, neither an address nor a CIDR prefix", s))
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		l.trusted = append(l.trusted, p.Masked())
	}
	l.ints = make([]string, min(max(cfg.Burst, int(cfg.Window/time.Second))+2, 1<<14))
	for i := range l.ints {
		l.ints[i] = strconv.Itoa(i)
	}
	l.limitHeader = strconv.Itoa(cfg.Burst)
	l.policyHeader = strconv.Itoa(cfg.Limit) + ";w=" + strconv.FormatInt(int64(math.Ceil(cfg.Window.Seconds())), 10)
	if cfg.Burst != cfg.Limit {
		l.policyHeader += ";burst=" + strconv.Itoa(cfg.Burst)
	}
	// Share MaxKeys out exactly (at least one key per shard).
	for i := range l.shards {
		n := cfg.MaxKeys / rateLimitShards
		if i < cfg.MaxKeys%rateLimitShards {
			n++
		}
		l.shards[i].init(max(n, 1))
	}
	return l
}

// decision is the outcome of one request's take.
type decision struct {
	ok        bool
	remaining int   // whole tokens left
	reset     int64 // seconds until the bucket is full
	retry     int64 // seconds until a token is back (when !ok)
}

// take spends a token of key's bucket.
func (l *rateLimiter) take(key []byte) decision {
	now := l.now()
	sh := &l.shards[maphash.Bytes(l.seed, key)%rateLimitShards]
	sh.mu.Lock()
	lim := sh.getLocked(key, l.limit, l.burst)
	ok := lim.AllowN(now, 1)
	tokens := lim.TokensAt(now)
	sh.mu.Unlock()
	d := decision{ok: ok, remaining: max(0, int(math.Floor(tokens)))}
	d.reset = ceilSeconds((float64(l.burst) - tokens) / float64(l.limit))
	if !ok {
		d.retry = max(1, ceilSeconds((1-tokens)/float64(l.limit)))
	}
	return d
}

func ceilSeconds(s float64) int64 {
	if s <= 0 {
		return 0
	}
	return int64(math.Ceil(s - 1e-9)) // float dust must not add a second
}

func (l *rateLimiter) setHeaders(c *net.Ctx, d decision) {
	c.SetHeader("RateLimit-Limit", l.limitHeader)
	c.SetHeader("RateLimit-Remaining", l.itoa(int64(d.remaining)))
	c.SetHeader("RateLimit-Reset", l.itoa(d.reset))
	c.SetHeader("RateLimit-Policy", l.policyHeader)
}

// itoa formats n, without allocating for the values headers usually carry.
func (l *rateLimiter) itoa(n int64) string {
	if n >= 0 && n < int64(len(l.ints)) {
		return l.ints[n]
	}
	return strconv.FormatInt(n, 10)
}

// clientIP returns the address requests are counted under: the
// connection's, or, from a trusted proxy, the client X-Forwarded-For names.
func (l *rateLimiter) clientIP(c *net.Ctx) (netip.Addr, bool) {
	tcp, ok := c.RemoteAddr().(*stdnet.TCPAddr)
	if !ok {
		return netip.Addr{}, false
	}
	ip, ok := netip.AddrFromSlice(tcp.IP)
	if !ok {
		return netip.Addr{}, false
	}
	ip = ip.Unmap()
	if !l.isTrusted(ip) {
		return ip, true
	}
	// Walk the X-Forwarded-For fields from the right (the nearest proxy
	// appends), skipping trusted proxies; the first other address is the
	// client. Keep the last good address if a value is malformed.
	var fields [8]string
	n := 0
	for name, value := range c.Headers() {
		if strings.EqualFold(name, "X-Forwarded-For") {
			if n == len(fields) {
				copy(fields[:], fields[1:])
				n--
			}
			fields[n] = value
			n++
		}
	}
	for i := n - 1; i >= 0; i-- {
		v := fields[i]
		for v != "" {
			var hop string
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				hop, v = v[j+1:], v[:j]
			} else {
				hop, v = v, ""
			}
			a, err := netip.ParseAddr(strings.TrimSpace(hop))
			if err != nil {
				return ip, true
			}
			ip = a.Unmap()
			if !l.isTrusted(ip) {
				return ip, true
			}
		}
	}
	return ip, true
}

func (l *rateLimiter) isTrusted(ip netip.Addr) bool {
	for _, p := range l.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// rateShard holds some of the keys: a map from key to slot, and the slots
// in a doubly linked LRU list (by index, so that a slot costs no
// allocation of its own). Its fields are guarded by mu.
type rateShard struct {
	mu         sync.Mutex
	index      map[string]int32
	slots      []rateSlot
	head, tail int32 // most and least recently used; -1: empty
	max        int
	_          [64]byte // keep shards' mutexes on separate cache lines
}

type rateSlot struct {
	key        string
	lim        *rate.Limiter
	prev, next int32
}

func (s *rateShard) init(max int) {
	s.index = make(map[string]int32)
	s.head, s.tail = -1, -1
	s.max = max
}

// getLocked returns key's limiter, making it (and forgetting the least
// recently used key if the shard is full) if key is new. s.mu is held.
func (s *rateShard) getLocked(key []byte, limit rate.Limit, burst int) *rate.Limiter {
	if i, ok := s.index[string(key)]; ok { // no allocation for the lookup
		s.moveToFrontLocked(i)
		return s.slots[i].lim
	}
	var i int32
	if len(s.slots) < s.max {
		s.slots = append(s.slots, rateSlot{})
		i = int32(len(s.slots) - 1)
	} else {
		i = s.tail
		s.unlinkLocked(i)
		delete(s.index, s.slots[i].key)
	}
	k := string(key)
	s.slots[i] = rateSlot{key: k, lim: rate.NewLimiter(limit, burst), prev: -1, next: -1}
	s.index[k] = i
	s.pushFrontLocked(i)
	return s.slots[i].lim
}

func (s *rateShard) unlinkLocked(i int32) {
	sl := &s.slots[i]
	if sl.prev >= 0 {
		s.slots[sl.prev].next = sl.next
	} else {
		s.head = sl.next
	}
	if sl.next >= 0 {
		s.slots[sl.next].prev = sl.prev
	} else {
		s.tail = sl.prev
	}
	sl.prev, sl.next = -1, -1
}

func (s *rateShard) pushFrontLocked(i int32) {
	sl := &s.slots[i]
	sl.prev, sl.next = -1, s.head
	if s.head >= 0 {
		s.slots[s.head].prev = i
	}
	s.head = i
	if s.tail < 0 {
		s.tail = i
	}
}

func (s *rateShard) moveToFrontLocked(i int32) {
	if s.head != i {
		s.unlinkLocked(i)
		s.pushFrontLocked(i)
	}
}

// keys returns how many keys the limiter remembers (for tests).
func (l *rateLimiter) keys() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.index)
		s.mu.Unlock()
	}
	return n
}
