// Command go-chi is the chi peer: net/http with chi's radix-tree router
// (`/users/{id}`), no middleware. Handlers run on the goroutine of their
// connection, so /cpu computes in the handler. docs/migrating.md shows the
// same framework beside weft.
package main

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/weftgo/weft/bench/internal/common"
)

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

func main() {
	job := common.JobFromEnv()
	r := chi.NewRouter()
	r.Get("/plaintext", func(w http.ResponseWriter, _ *http.Request) {
		w.Header()["Content-Type"] = []string{"text/plain"}
		io.WriteString(w, common.HelloWorld)
	})
	r.Get("/json", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, &common.Message{Message: common.HelloWorld})
	})
	r.Get("/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, &common.User{ID: chi.URLParam(r, "id")})
	})
	r.Get("/cpu", func(w http.ResponseWriter, _ *http.Request) {
		w.Header()["Content-Type"] = []string{"text/plain"}
		io.WriteString(w, job.Run())
	})
	r.Post("/echo", func(w http.ResponseWriter, r *http.Request) {
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
		w.Write(body)
	})
	srv := &http.Server{Addr: common.Addr(), Handler: r}
	go func() {
		if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
			log.Fatal(err)
		}
	}()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}
