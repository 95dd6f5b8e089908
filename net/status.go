package net

import "strconv"

// HTTP status codes (RFC 9110 §15). They equal net/http's; weft defines its own
// so that the net package does not pull in net/http.
const (
	StatusContinue                    = 100
	StatusSwitchingProtocols          = 101
	StatusEarlyHints                  = 103
	StatusOK                          = 200
	StatusCreated                     = 201
	StatusAccepted                    = 202
	StatusNonAuthoritativeInfo        = 203
	StatusNoContent                   = 204
	StatusResetContent                = 205
	StatusPartialContent              = 206
	StatusMultipleChoices             = 300
	StatusMovedPermanently            = 301
	StatusFound                       = 302
	StatusSeeOther                    = 303
	StatusNotModified                 = 304
	StatusTemporaryRedirect           = 307
	StatusPermanentRedirect           = 308
	StatusBadRequest                  = 400
	StatusUnauthorized                = 401
	StatusPaymentRequired             = 402
	StatusForbidden                   = 403
	StatusNotFound                    = 404
	StatusMethodNotAllowed            = 405
	StatusNotAcceptable               = 406
	StatusProxyAuthRequired           = 407
	StatusRequestTimeout              = 408
	StatusConflict                    = 409
	StatusGone                        = 410
	StatusLengthRequired              = 411
	StatusPreconditionFailed          = 412
	StatusContentTooLarge             = 413
	StatusURITooLong                  = 414
	StatusUnsupportedMediaType        = 415
	StatusRangeNotSatisfiable         = 416
	StatusExpectationFailed           = 417
	StatusMisdirectedRequest          = 421
	StatusUnprocessableContent        = 422
	StatusTooEarly                    = 425
	StatusUpgradeRequired             = 426
	StatusPreconditionRequired        = 428
	StatusTooManyRequests             = 429
	StatusRequestHeaderFieldsTooLarge = 431
	StatusInternalServerError         = 500
	StatusNotImplemented              = 501
	StatusBadGateway                  = 502
	StatusServiceUnavailable          = 503
	StatusGatewayTimeout              = 504
	StatusHTTPVersionNotSupported     = 505
)

// StatusClientClosedRequest (499, nginx's) is never sent: it is what
// ResultStatus reports, for metrics and access logs, for a request whose
// client left before its answer was written.
const StatusClientClosedRequest = 499

// statusText holds the reason phrases, indexed by code.
var statusText = [600]string{
	StatusContinue:                    "Continue",
	StatusSwitchingProtocols:          "Switching Protocols",
	StatusEarlyHints:                  "Early Hints",
	StatusOK:                          "OK",
	StatusCreated:                     "Created",
	StatusAccepted:                    "Accepted",
	StatusNonAuthoritativeInfo:        "Non-Authoritative Information",
	StatusNoContent:                   "No Content",
	StatusResetContent:                "Reset Content",
	StatusPartialContent:              "Partial Content",
	StatusMultipleChoices:             "Multiple Choices",
	StatusMovedPermanently:            "Moved Permanently",
	StatusFound:                       "Found",
	StatusSeeOther:                    "See Other",
	StatusNotModified:                 "Not Modified",
	StatusTemporaryRedirect:           "Temporary Redirect",
	StatusPermanentRedirect:           "Permanent Redirect",
	StatusBadRequest:                  "Bad Request",
	StatusUnauthorized:                "Unauthorized",
	StatusPaymentRequired:             "Payment Required",
	StatusForbidden:                   "Forbidden",
	StatusNotFound:                    "Not Found",
	StatusMethodNotAllowed:            "Method Not Allowed",
	StatusNotAcceptable:               "Not Acceptable",
	StatusProxyAuthRequired:           "Proxy Authentication Required",
	StatusRequestTimeout:              "Request Timeout",
	StatusConflict:                    "Conflict",
	StatusGone:                        "Gone",
	StatusLengthRequired:              "Length Required",
	StatusPreconditionFailed:          "Precondition Failed",
	StatusContentTooLarge:             "Content Too Large",
	StatusURITooLong:                  "URI Too Long",
	StatusUnsupportedMediaType:        "Unsupported Media Type",
	StatusRangeNotSatisfiable:         "Range Not Satisfiable",
	StatusExpectationFailed:           "Expectation Failed",
	StatusMisdirectedRequest:          "Misdirected Request",
	StatusUnprocessableContent:        "Unprocessable Content",
	StatusTooEarly:                    "Too Early",
	StatusUpgradeRequired:             "Upgrade Required",
	StatusPreconditionRequired:        "Precondition Required",
	StatusTooManyRequests:             "Too Many Requests",
	StatusRequestHeaderFieldsTooLarge: "Request Header Fields Too Large",
	StatusInternalServerError:         "Internal Server Error",
	StatusNotImplemented:              "Not Implemented",
	StatusBadGateway:                  "Bad Gateway",
	StatusServiceUnavailable:          "Service Unavailable",
	StatusGatewayTimeout:              "Gateway Timeout",
	StatusHTTPVersionNotSupported:     "HTTP Version Not Supported",
}

// StatusText returns the reason phrase of a status code (RFC 9110 §15), or
// "Status NNN" for a code it does not know.
func StatusText(code int) string {
	if code >= 0 && code < len(statusText) && statusText[code] != "" {
		return statusText[code]
	}
	return "Status " + strconv.Itoa(code)
}

// statusLines holds "HTTP/1.1 NNN Reason\r\n" for known codes, so the hot
// path writes a status line with one append.
var statusLines = func() (lines [600]string) {
	for code, text := range statusText {
		if text != "" {
			lines[code] = "HTTP/1.1 " + strconv.Itoa(code) + " " + text + "\r\n"
		}
	}
	return lines
}()

// appendStatusLine appends the status line for code.
func appendStatusLine(b []byte, code int) []byte {
	if code >= 0 && code < len(statusLines) && statusLines[code] != "" {
		return append(b, statusLines[code]...)
	}
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, StatusText(code)...)
	return append(b, "\r\n"...)
}
