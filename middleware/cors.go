package middleware

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/weftgo/weft/net"
)

// CORSConfig configures CORS. The zero value allows every origin, the
// methods GET, HEAD, PUT, PATCH, POST and DELETE and whatever headers a
// preflight asks for, without credentials: the defaults of Express's cors
// package.
type CORSConfig struct {
	// AllowOrigins lists the origins allowed, as browsers send them in the
	// Origin header: scheme, host and port, no path ("https://example.com",
	// "http://localhost:3000"); compared ignoring ASCII case. "*" allows
	// every origin. Default, when AllowOriginFunc is nil too: "*".
	AllowOrigins []string

	// AllowOriginFunc, if set, allows the origins for which it returns true,
	// besides those in AllowOrigins. It runs on the loop, so it must not
	// block, and it must be safe for concurrent use by every loop.
	AllowOriginFunc func(origin string) bool

	// AllowMethods lists the methods a preflight may ask for. "*" allows
	// every method. GET, HEAD and POST are always allowed, as browsers do
	// not check them. Default: GET, HEAD, PUT, PATCH, POST, DELETE.
	AllowMethods []string

	// AllowHeaders lists the request headers a preflight may ask for,
	// compared ignoring case. Default (nil), or "*": whatever the preflight
	// asks for is allowed and echoed back, as Express's cors does.
	AllowHeaders []string

	// ExposeHeaders lists the response headers scripts may read besides
	// the CORS-safelisted ones (Access-Control-Expose-Headers). Default:
	// none.
	ExposeHeaders []string

	// AllowCredentials lets browsers send cookies and HTTP authentication
	// and lets scripts read the response
	// (Access-Control-Allow-Credentials: true). Browsers refuse it with
	// "Access-Control-Allow-Origin: *", so it cannot be combined with every
	// origin allowed: list the origins or use AllowOriginFunc.
	AllowCredentials bool

	// MaxAge is how long browsers may cache a preflight's answer
	// (Access-Control-Max-Age, in whole seconds). Default 0: the header is
	// not sent and browsers use their own default (5 s in Chromium);
	// negative: "0", do not cache.
	MaxAge time.Duration

	// OptionsSuccessStatus is the status of the answer to a preflight.
	// Default 204; some old browsers need 200.
	OptionsSuccessStatus int

	// PreflightContinue passes preflights on to the next handler after
	// setting the CORS headers, instead of answering them. Default false.
	PreflightContinue bool
}

// cors is CORSConfig with defaults filled in and header values joined once.
type cors struct {
	anyOrigin   bool // every origin is allowed: "*" is sent, no Vary
	origins     []string
	originFunc  func(string) bool
	credentials bool

	anyMethod bool
	methods   []string
	anyHeader bool
	headers   []string

	allowMethods  string // Access-Control-Allow-Methods
	allowHeaders  string // Access-Control-Allow-Headers, "" when reflecting
	exposeHeaders string // Access-Control-Expose-Headers, or ""
	maxAge        string // Access-Control-Max-Age, or ""

	status int
	passOn bool
}

// expressMethods is Express's cors default, joined as it sends it.
var expressMethods = []string{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"}

// CORS returns middleware that answers cross-origin requests (the Fetch
// standard's CORS protocol) as Express's cors package does, with a few
// deliberate differences listed in the package doc:
//
//   - A preflight (OPTIONS with Origin and Access-Control-Request-Method) is
//     answered by the middleware itself with OptionsSuccessStatus, without
//     calling the next handler (unless PreflightContinue). If the origin,
//     the method or one of the headers it asks for is not allowed, the
//     answer carries no CORS header at all, which the browser takes as a
//     refusal.
//   - Any other request with an allowed Origin gets
//     Access-Control-Allow-Origin (and -Credentials, -Expose-Headers), then
//     goes on to the next handler. A request with a disallowed origin goes
//     on without them.
//   - Unless every origin is allowed, every response gets "Vary: Origin",
//     so that a cache never serves one origin's answer to another.
//
// Use it with Router.Use, not with a group's middleware: the router answers
// OPTIONS by itself for paths with no OPTIONS handler, and only Router.Use
// middleware runs before routing.
//
// A request that is not a preflight costs no allocation. CORS panics if cfg
// is invalid (credentials with every origin allowed, an origin with a path,
// a method or header that is not a token, a status not 2xx). The middleware
// runs on the loop and is safe for concurrent use by every loop.
func CORS(cfg CORSConfig) net.Middleware {
	st := newCORS(cfg)
	return func(next net.Handler) net.Handler {
		return func(c *net.Ctx) net.Result {
			origin := c.Header("Origin")
			if c.Method() == "OPTIONS" && origin != "" {
				if reqMethod := c.Header("Access-Control-Request-Method"); reqMethod != "" {
					st.preflight(c, origin, reqMethod)
					if st.passOn {
						return next(c)
					}
					return c.NoContent(st.status)
				}
			}
			st.simple(c, origin)
			return next(c)
		}
	}
}

func newCORS(cfg CORSConfig) *cors {
	st := &cors{
		originFunc:  cfg.AllowOriginFunc,
		credentials: cfg.AllowCredentials,
		status:      cfg.OptionsSuccessStatus,
		passOn:      cfg.PreflightContinue,
	}
	for _, o := range cfg.AllowOrigins {
		if o == "*" {
			st.anyOrigin = true
			continue
		}
		if err := checkOrigin(o); err != nil {
			panic(fmt.Sprintf("middleware.CORS: CORSConfig.AllowOrigins: %v", err))
		}
		st.origins = append(st.origins, o)
	}
	if cfg.AllowOrigins == nil && cfg.AllowOriginFunc == nil {
		st.anyOrigin = true
	}
	if st.anyOrigin && st.credentials {
		panic(`middleware.CORS: CORSConfig.AllowCredentials with every origin allowed: browsers refuse credentials with "Access-Control-Allow-Origin: *"; list the origins in AllowOrigins or decide with AllowOriginFunc`)
	}

	methods := cfg.AllowMethods
	if methods == nil {
		methods = expressMethods
	}
	st.anyMethod, st.methods = corsTokens("AllowMethods", "a method", methods)
	st.allowMethods = strings.Join(st.methods, ",")

	var anyHeader bool
	anyHeader, st.headers = corsTokens("AllowHeaders", "a header name", cfg.AllowHeaders)
	st.anyHeader = anyHeader || cfg.AllowHeaders == nil
	if !st.anyHeader {
		st.allowHeaders = strings.Join(st.headers, ",")
	}
	corsTokens("ExposeHeaders", "a header name", cfg.ExposeHeaders)
	st.exposeHeaders = strings.Join(cfg.ExposeHeaders, ",")

	switch {
	case cfg.MaxAge < 0:
		st.maxAge = "0"
	case cfg.MaxAge > 0:
		st.maxAge = strconv.FormatInt(int64(cfg.MaxAge/time.Second), 10)
	}
	switch {
	case st.status == 0:
		st.status = net.StatusNoContent
	case st.status < 200 || st.status > 299:
		panic(fmt.Sprintf("middleware.CORS: CORSConfig.OptionsSuccessStatus is %d; want a 2xx status", st.status))
	}
	return st
}

// corsTokens splits the configured list field into the "*" wildcard and
// the other entries, panicking on an entry that is not a token (what).
func corsTokens(field, what string, list []string) (wildcard bool, tokens []string) {
	for _, s := range list {
		switch {
		case s == "*":
			wildcard = true
		case !validToken(s):
			panic(fmt.Sprintf("middleware.CORS: CORSConfig.%s: %q is not %s", field, s, what))
		default:
			tokens = append(tokens, s)
		}
	}
	return wildcard, tokens
}

// checkOrigin rejects an allowed origin that no browser would send: one
// with a path (a trailing slash is the usual mistake), white space, or no
// scheme. "null" is accepted: browsers send it from sandboxed documents and
// file: URLs (allowing it lets any such document in).
func checkOrigin(o string) error {
	if o == "null" {
		return nil
	}
	scheme, rest, ok := strings.Cut(o, "://")
	if !ok || scheme == "" || rest == "" {
		return fmt.Errorf("%q is not an origin (want scheme://host[:port])", o)
	}
	if strings.ContainsAny(rest, "/?# \t") {
		return fmt.Errorf("%q is not an origin: no path, query or white space (want scheme://host[:port])", o)
	}
	return nil
}

// dependsOnOrigin reports whether responses differ by Origin, so that they
// need "Vary: Origin".
func (st *cors) dependsOnOrigin() bool { return !st.anyOrigin }

func (st *cors) originAllowed(origin string) bool {
	if st.anyOrigin {
		return true
	}
	for _, o := range st.origins {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return st.originFunc != nil && st.originFunc(origin)
}

// methodAllowed reports whether a preflight may ask for method. Methods are
// case-sensitive (RFC 9110 §9.1); browsers send the standard ones in upper
// case.
func (st *cors) methodAllowed(method string) bool {
	if st.anyMethod {
		return validToken(method)
	}
	switch method {
	case "GET", "HEAD", "POST":
		return true
	}
	for _, m := range st.methods {
		if m == method {
			return true
		}
	}
	return false
}

// headersAllowed reports whether every header in the preflight's
// comma-separated list is allowed (and is a header name at all).
func (st *cors) headersAllowed(list string) bool {
	for list != "" {
		var h string
		h, list, _ = strings.Cut(list, ",")
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if !validToken(h) {
			return false
		}
		if !st.anyHeader && !st.headerListed(h) {
			return false
		}
	}
	return true
}

func (st *cors) headerListed(h string) bool {
	for _, a := range st.headers {
		if strings.EqualFold(a, h) {
			return true
		}
	}
	return false
}

// setOrigin sets the headers every allowed CORS response carries.
func (st *cors) setOrigin(c *net.Ctx, origin string) {
	if st.anyOrigin {
		c.SetHeader("Access-Control-Allow-Origin", "*")
	} else {
		c.SetHeader("Access-Control-Allow-Origin", origin)
	}
	if st.credentials {
		c.SetHeader("Access-Control-Allow-Credentials", "true")
	}
}

// simple handles a request that is not a preflight.
func (st *cors) simple(c *net.Ctx, origin string) {
	if st.dependsOnOrigin() {
		addVary(c, "Origin")
	}
	if origin == "" || !st.originAllowed(origin) {
		return
	}
	st.setOrigin(c, origin)
	if st.exposeHeaders != "" {
		c.SetHeader("Access-Control-Expose-Headers", st.exposeHeaders)
	}
}

// preflight sets the headers of the answer to a preflight: all of them if
// the origin, the method and the headers are allowed, none but Vary if not.
func (st *cors) preflight(c *net.Ctx, origin, reqMethod string) {
	if st.dependsOnOrigin() {
		addVary(c, "Origin")
	}
	addVary(c, "Access-Control-Request-Method")
	addVary(c, "Access-Control-Request-Headers")
	reqHeaders := c.Header("Access-Control-Request-Headers")
	if !st.originAllowed(origin) || !st.methodAllowed(reqMethod) || !st.headersAllowed(reqHeaders) {
		return
	}
	st.setOrigin(c, origin)
	if st.anyMethod {
		c.SetHeader("Access-Control-Allow-Methods", reqMethod)
	} else {
		c.SetHeader("Access-Control-Allow-Methods", st.allowMethods)
	}
	switch {
	case !st.anyHeader:
		if st.allowHeaders != "" {
			c.SetHeader("Access-Control-Allow-Headers", st.allowHeaders)
		}
	case reqHeaders != "":
		c.SetHeader("Access-Control-Allow-Headers", reqHeaders)
	}
	if st.maxAge != "" {
		c.SetHeader("Access-Control-Max-Age", st.maxAge)
	}
}
