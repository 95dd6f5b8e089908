package router

import (
	"slices"
	"strings"

	"github.com/weftgo/weft/net"
)

// The methods with a slot of their own; others go to a map.
const (
	mGET = iota
	mHEAD
	mPOST
	mPUT
	mPATCH
	mDELETE
	mOPTIONS
	nMethods
)

var methodNames = [nMethods]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// methodIndex returns m's slot, or -1. It compares strings of known
// lengths, which the compiler turns into a few word compares.
func methodIndex(m string) int {
	switch m {
	case "GET":
		return mGET
	case "HEAD":
		return mHEAD
	case "POST":
		return mPOST
	case "PUT":
		return mPUT
	case "PATCH":
		return mPATCH
	case "DELETE":
		return mDELETE
	case "OPTIONS":
		return mOPTIONS
	}
	return -1
}

// route is everything registered under one pattern.
type route struct {
	pattern  string
	names    []string
	byMethod [nMethods]net.Handler
	other    map[string]net.Handler // other methods
	limits   map[string]int64       // body limit by method, if its group set one
	streams  map[string]int64       // streamed-body limit by method, if its group set one
	allow    string                 // the Allow header value
	where    map[string]string      // method -> registration site
}

func (rt *route) handler(method string) net.Handler {
	if i := methodIndex(method); i >= 0 {
		return rt.byMethod[i]
	}
	return rt.other[method]
}

func (rt *route) set(method string, h net.Handler, where string, limit, stream int64) {
	if stream > 0 {
		if rt.streams == nil {
			rt.streams = map[string]int64{}
		}
		rt.streams[method] = stream
	}
	if limit > 0 {
		if rt.limits == nil {
			rt.limits = map[string]int64{}
		}
		rt.limits[method] = limit
	}
	if i := methodIndex(method); i >= 0 {
		rt.byMethod[i] = h
	} else {
		if rt.other == nil {
			rt.other = map[string]net.Handler{}
		}
		rt.other[method] = h
	}
	rt.where[method] = where
	allowed := rt.methods()
	if rt.byMethod[mGET] != nil && rt.byMethod[mHEAD] == nil {
		allowed = append(allowed, "HEAD")
	}
	if rt.byMethod[mOPTIONS] == nil {
		allowed = append(allowed, "OPTIONS")
	}
	slices.Sort(allowed)
	rt.allow = strings.Join(slices.Compact(allowed), ", ")
}

// methods returns the methods registered explicitly, sorted.
func (rt *route) methods() []string {
	var ms []string
	for i, h := range rt.byMethod {
		if h != nil {
			ms = append(ms, methodNames[i])
		}
	}
	for m := range rt.other {
		ms = append(ms, m)
	}
	slices.Sort(ms)
	return ms
}

// firstWhere returns a registration site of the route, for messages.
func (rt *route) firstWhere() string {
	for _, m := range rt.methods() {
		return rt.where[m]
	}
	return "unknown location"
}
