package net

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// BindOptions tune BindJSONWith. The zero value is what BindJSON uses.
type BindOptions struct {
	// MaxBytes refuses a body longer than this with 413. 0: no limit
	// beyond the server's (Server.MaxBodyBytes, or the route's
	// Group.MaxBody), which has refused larger bodies before the handler
	// ran. Set it where one handler accepts less than its route.
	MaxBytes int64
	// DisallowUnknownFields refuses (400) an object with a field that
	// matches no field of the destination struct, naming the field.
	DisallowUnknownFields bool
	// AllowMissingContentType accepts a body sent without a Content-Type
	// header as JSON. A Content-Type that is not JSON is still refused.
	AllowMissingContentType bool
}

// BindJSON decodes the request body, one JSON value, into v (a pointer),
// with the zero BindOptions: see BindJSONWith. Loop-only.
//
//	var t Todo
//	if err := c.BindJSON(&t); err != nil {
//		return net.Fail(err) // 400 or 415, saying what is wrong
//	}
func (c *Ctx) BindJSON(v any) error { return c.BindJSONWith(v, BindOptions{}) }

// BindJSONWith decodes the request body, one JSON value, into v (a pointer)
// with encoding/json, and checks what encoding/json alone lets through. Its
// error is an *Error whose Message says what is wrong and reaches the
// client through the server's error handler (return net.Fail(err)):
//
//   - 415 if the Content-Type is not application/json or a +json type
//     (application/problem+json), or is missing (unless
//     AllowMissingContentType);
//   - 413 if the body is longer than o.MaxBytes;
//   - 400 if the body is empty, is not valid JSON (with the offset), has a
//     value of the wrong type for a field (naming the field), has a field v
//     does not have (with o.DisallowUnknownFields), or has anything but
//     white space after the value ({"a":1} garbage, or two values).
//
// The cause from encoding/json is kept in the Error's Err (logged, not
// sent). Decoding costs what encoding/json costs; nothing is copied first.
// Loop-only; in a Blocking function, decode a copy of Body yourself.
func (c *Ctx) BindJSONWith(v any, o BindOptions) error {
	if ct := c.Header("Content-Type"); ct != "" || !o.AllowMissingContentType {
		if !isJSONType(ct) {
			if ct == "" {
				return &Error{Status: StatusUnsupportedMediaType,
					Message: "request body: Content-Type is missing; want application/json"}
			}
			return &Error{Status: StatusUnsupportedMediaType,
				Message: fmt.Sprintf("request body: Content-Type %q is not JSON; want application/json", ct)}
		}
	}
	body := c.Body()
	if o.MaxBytes > 0 && int64(len(body)) > o.MaxBytes {
		return &Error{Status: StatusContentTooLarge,
			Message: fmt.Sprintf("request body: %d bytes; at most %d accepted", len(body), o.MaxBytes)}
	}
	return decodeJSON(body, v, o.DisallowUnknownFields)
}

// decodeJSON decodes exactly one JSON value from body into v.
func decodeJSON(body []byte, v any, strict bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &Error{Status: StatusBadRequest, Message: "request body: empty; want a JSON value"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	// Anything but white space after the value is an error: a second
	// value, or garbage that encoding/json's Decoder would leave unread.
	off := dec.InputOffset()
	rest := bytes.TrimLeft(body[off:], " \t\r\n")
	if len(rest) > 0 {
		return &Error{Status: StatusBadRequest,
			Message: fmt.Sprintf("request body: unexpected data after the JSON value at offset %d", int64(len(body)-len(rest)))}
	}
	return nil
}

// jsonError turns an encoding/json error into a 400 whose message a client
// can act on.
func jsonError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		inv *json.InvalidUnmarshalError
	)
	var msg string
	switch {
	case errors.As(err, &inv):
		// The handler passed a non-pointer: a bug on the server's side.
		return &Error{Status: StatusInternalServerError, Err: err}
	case errors.As(err, &syn):
		msg = fmt.Sprintf("request body: invalid JSON at offset %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ):
		want := jsonKind(typ.Type.Kind().String())
		if want == "an integer" && isIntegerValue(typ.Value) {
			want = integerRange(typ.Type) // an integer out of range
		}
		if typ.Field != "" {
			msg = fmt.Sprintf("request body: field %q: want %s, got %s", typ.Field, want, typ.Value)
		} else {
			msg = fmt.Sprintf("request body: want %s, got %s", want, typ.Value)
		}
	case errors.Is(err, io.ErrUnexpectedEOF):
		msg = "request body: JSON value cut short"
	default:
		// Unknown fields ("json: unknown field \"x\"") and errors from
		// UnmarshalJSON methods.
		msg = "request body: " + strings.TrimPrefix(err.Error(), "json: ")
	}
	return &Error{Status: StatusBadRequest, Message: msg, Err: err}
}

// jsonKind names a Go kind as a JSON type, for messages.
func jsonKind(k string) string {
	switch k {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return k
}

// isIntegerValue reports whether v, an UnmarshalTypeError's Value, is a
// JSON number written as an integer ("number 300", not "number 1.5").
func isIntegerValue(v string) bool {
	n, ok := strings.CutPrefix(v, "number ")
	n = strings.TrimPrefix(n, "-")
	return ok && n != "" && strings.Trim(n, "0123456789") == ""
}

// integerRange names the values an integer type holds, for messages.
func integerRange(t reflect.Type) string {
	bits := t.Bits()
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("an integer from %d to %d", int64(-1)<<(bits-1), int64(1)<<(bits-1)-1)
	}
	return fmt.Sprintf("an integer from 0 to %d", uint64(1)<<bits-1)
}

// isJSONType reports whether the media type of Content-Type value ct is
// application/json or application/<something>+json, parameters ignored.
func isJSONType(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	sub, ok := cutPrefixFold(mt, "application/")
	if !ok {
		return false
	}
	return equalFoldASCII(sub, "json") || (len(sub) > 5 && equalFoldASCII(sub[len(sub)-5:], "+json"))
}

// cutPrefixFold is strings.CutPrefix ignoring ASCII case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !equalFoldASCII(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}
