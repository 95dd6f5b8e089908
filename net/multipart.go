package net

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"

	"github.com/weftgo/weft/runtime"
)

// MultipartForm parses a multipart/form-data body off the loop
// (runtime.Blocking) with mime/multipart's ReadForm: values and files up
// to maxMemory bytes in all are kept in memory, larger files are written to
// temporary files, as net/http's ParseMultipartForm does. Call
// form.RemoveAll when done with it. The body may be streamed (see
// Server.StreamBody: uploads of any size then pass through in bounded
// memory) or read whole. The future fails with a 415 *Error if the request
// is not multipart/form-data, with a 400 one if the body is malformed.
// Loop-only; the future settles on the loop.
func (c *Ctx) MultipartForm(maxMemory int64) runtime.Future[*multipart.Form] {
	mt, params, err := mime.ParseMediaType(c.Header("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return runtime.Rejected[*multipart.Form](NewError(StatusUnsupportedMediaType, "want multipart/form-data with a boundary"))
	}
	var body io.Reader
	if c.bodyIn != nil {
		body = c.BodyReader()
	} else {
		body = bytes.NewReader(c.body)
	}
	mr := multipart.NewReader(body, params["boundary"])
	return runtime.Blocking(c, func(context.Context) (*multipart.Form, error) {
		form, err := mr.ReadForm(maxMemory)
		if err != nil {
			var pe *fs.PathError
			if StatusOf(err) != StatusInternalServerError || errors.As(err, &pe) || errors.Is(err, context.Canceled) {
				return nil, err // the body's own error (413, ...), a temporary file's, a client gone
			}
			return nil, &Error{Status: StatusBadRequest, Message: "malformed multipart body", Err: err}
		}
		return form, nil
	})
}
