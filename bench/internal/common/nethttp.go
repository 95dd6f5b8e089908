package common

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

// NewServeMux returns a standard library ServeMux with all endpoints (the
// streaming ones of stream.go included), using
// Go 1.22+ method and wildcard patterns. go-nethttp and go-nbio both serve it.
func NewServeMux(job Job) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /plaintext", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"text/plain"}
		h["Content-Length"] = []string{strconv.Itoa(len(HelloWorld))}
		io.WriteString(w, HelloWorld)
	})
	mux.HandleFunc("GET /json", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, &Message{Message: HelloWorld})
	})
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, &User{ID: r.PathValue("id")})
	})
	mux.HandleFunc("GET /cpu", func(w http.ResponseWriter, r *http.Request) {
		d := job.Run()
		w.Header()["Content-Type"] = []string{"text/plain"}
		io.WriteString(w, d)
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ct := r.Header.Get("Content-Type")
		if ct == "" {
			ct = "application/octet-stream"
		}
		w.Header()["Content-Type"] = []string{ct}
		w.Header()["Content-Length"] = []string{strconv.Itoa(len(body))}
		w.Write(body)
	})
	addStreamRoutes(mux)
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.Write(b)
}
