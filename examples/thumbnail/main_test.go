package main

import (
	"bufio"
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/offload"
)

func testPNG(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func post(t *testing.T, tc *net.TestConn, target string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req := "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	out, err := tc.Serve(append([]byte(req), body...), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestThumbnail(t *testing.T) {
	pool, err := offload.New(offload.Config{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close(context.Background())
	tc, err := net.NewTestConn(&net.Server{Handler: routes(pool).Serve, MaxBodyBytes: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	cases := []struct {
		name       string
		target     string
		body       []byte
		wantStatus int
		wantW      int
		wantH      int
	}{
		{"landscape", "/thumbnail?width=100", testPNG(t, 400, 200), 200, 100, 50},
		{"blurred", "/thumbnail?width=64&blur=2", testPNG(t, 128, 128), 200, 64, 64},
		{"small stays", "/thumbnail?width=500", testPNG(t, 30, 20), 200, 30, 20},
		{"not an image", "/thumbnail", []byte("hello"), 415, 0, 0},
		{"bad width", "/thumbnail?width=0", testPNG(t, 10, 10), 400, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := post(t, tc, c.target, c.body)
			if resp.StatusCode != c.wantStatus {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, c.wantStatus)
			}
			if c.wantStatus != 200 {
				return
			}
			img, err := png.Decode(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != c.wantW || b.Dy() != c.wantH {
				t.Fatalf("thumbnail is %dx%d, want %dx%d", b.Dx(), b.Dy(), c.wantW, c.wantH)
			}
		})
	}
}
