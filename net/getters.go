package net

import (
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"strings"
	"unsafe"
)

// Typed getters for query parameters, route parameters and form values.
//
// Each returns (value, error): the default when the parameter is absent (or
// empty), the parsed value when it parses, and otherwise an *Error with
// status 400 whose Message names the parameter and the value, so that a
// handler can pass it on as it is:
//
//	limit, err := c.QueryInt("limit", 20)
//	if err != nil {
//		return net.Fail(err) // 400 query parameter "limit": "ten" is not an integer
//	}
//
// They allocate nothing when the value parses and needs no decoding.

// QueryInt returns the query parameter key as an int, or def when it is
// absent or empty. Loop-only.
func (c *Ctx) QueryInt(key string, def int) (int, error) {
	v, err := c.QueryInt64(key, int64(def))
	if err == nil && int64(int(v)) != v {
		return def, badValue("query parameter", key, c.Query(key), "is out of range")
	}
	return int(v), err
}

// QueryInt64 returns the query parameter key as an int64 (decimal, with an
// optional sign), or def when it is absent or empty. Loop-only.
func (c *Ctx) QueryInt64(key string, def int64) (int64, error) {
	return parseInt("query parameter", key, c.Query(key), def)
}

// QueryFloat returns the query parameter key as a float64, or def when it is
// absent or empty. NaN and infinities are refused. Loop-only.
func (c *Ctx) QueryFloat(key string, def float64) (float64, error) {
	s := c.Query(key)
	if s == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f || f > maxFloat || f < -maxFloat {
		return def, badValue("query parameter", key, s, "is not a finite number")
	}
	return f, nil
}

const maxFloat = 1.7976931348623157e308

// QueryBool returns the query parameter key as a bool, or def when it is
// absent or empty. It accepts what strconv.ParseBool does (1, t, true,
// TRUE, 0, f, false, ...). Loop-only.
func (c *Ctx) QueryBool(key string, def bool) (bool, error) {
	s := c.Query(key)
	if s == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return def, badValue("query parameter", key, s, "is not true or false")
	}
	return b, nil
}

// QueryValues yields every value of the query parameter key, decoded, in
// order (?tag=a&tag=b yields "a" then "b"). Loop-only.
func (c *Ctx) QueryValues(key string) iter.Seq[string] {
	return pairValues(c.RawQuery(), key)
}

// ParamInt returns the route parameter name as an int. A route parameter is
// never empty when its route matched; a missing one (a typo in name) is an
// error too. Loop-only.
func (c *Ctx) ParamInt(name string) (int, error) {
	v, err := c.ParamInt64(name)
	if err == nil && int64(int(v)) != v {
		return 0, badValue("path parameter", name, c.Param(name), "is out of range")
	}
	return int(v), err
}

// ParamInt64 returns the route parameter name as an int64. Loop-only.
func (c *Ctx) ParamInt64(name string) (int64, error) {
	s := c.Param(name)
	if s == "" {
		return 0, &Error{Status: StatusBadRequest, Message: fmt.Sprintf("path parameter %q is missing", name)}
	}
	return parseInt("path parameter", name, s, 0)
}

func parseInt(what, key, s string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return def, badValue(what, key, s, "is out of range")
		}
		return def, badValue(what, key, s, "is not an integer")
	}
	return n, nil
}

// badValue is the 400 of a getter. The value is quoted and cut short, so
// that the message stays readable and safe to send.
func badValue(what, key, value, problem string) *Error {
	if len(value) > 64 {
		value = value[:64] + "..."
	}
	return &Error{Status: StatusBadRequest, Message: fmt.Sprintf("%s %q: %q %s", what, key, value, problem)}
}

// HeaderValues yields the value of every request header field named name
// (case-insensitive), in the order they were sent, each as sent: a field
// that lists several values with commas is one value here. Loop-only.
func (c *Ctx) HeaderValues(name string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, h := range c.req.Headers {
			if equalFoldASCII(c.str(h.Name), name) && !yield(c.str(h.Value)) {
				return
			}
		}
	}
}

// Forms: urlencoded request bodies. FormValue, FormValues and Form read a
// body read whole (Body); for a streamed one (Server.StreamBody) use
// URLEncodedForm (form.go), and MultipartForm for multipart bodies.

// FormValue returns the first value of the field key of an
// application/x-www-form-urlencoded request body read whole, decoded, or ""
// when there is none, the body is not urlencoded, or it is streamed (use
// URLEncodedForm). Unlike net/http's FormValue it
// never looks at the query (use Query). It allocates only when the value is
// encoded. Loop-only.
func (c *Ctx) FormValue(key string) string {
	if !c.isForm() {
		return ""
	}
	s := unsafeString(c.Body())
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k == key || (strings.ContainsAny(k, "%+") && unescapeQuery(k) == key) {
			return unescapeQuery(v)
		}
	}
	return ""
}

// FormValues yields every value of the field key of an urlencoded request
// body, decoded, in order; nothing if the body is not urlencoded. Loop-only.
func (c *Ctx) FormValues(key string) iter.Seq[string] {
	if !c.isForm() {
		return func(func(string) bool) {}
	}
	return pairValues(unsafeString(c.Body()), key)
}

// Form parses the whole urlencoded request body into a url.Values (a copy,
// safe to keep). It returns a 415 *Error if the Content-Type is not
// application/x-www-form-urlencoded, a 400 if the body is not valid
// urlencoded data, and ErrBodyStreamed (a 500) if the body is streamed
// (read that with URLEncodedForm). Loop-only.
func (c *Ctx) Form() (url.Values, error) {
	if !c.isForm() {
		return nil, notForm(c)
	}
	if c.bodyIn != nil {
		return nil, ErrBodyStreamed
	}
	return parseForm(c.Body())
}

func (c *Ctx) isForm() bool {
	mt, _, _ := strings.Cut(c.Header("Content-Type"), ";")
	return equalFoldASCII(strings.TrimSpace(mt), "application/x-www-form-urlencoded")
}

// pairValues yields the decoded values of key in s, a string of
// "k=v&k=v" pairs (a query, a form body), as Ctx.Query matches them.
func pairValues(s, key string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for s != "" {
			var pair string
			pair, s, _ = strings.Cut(s, "&")
			k, v, _ := strings.Cut(pair, "=")
			if k == key || (strings.ContainsAny(k, "%+") && unescapeQuery(k) == key) {
				if !yield(unescapeQuery(v)) {
					return
				}
			}
		}
	}
}

// unsafeString returns b as a string sharing its bytes: for views of the
// request's bytes, which stay put while the Ctx lives.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
