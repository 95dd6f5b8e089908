package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // decoders for image.Decode
	_ "image/jpeg"
	"image/png"
)

// maxPixels bounds the decoded size of an upload (a 1 MB PNG can decode to
// gigabytes).
const maxPixels = 40_000_000

var errTooLarge = errors.New("image too large")

// thumbnail decodes an image, scales it to fit width×width with a box
// filter, blurs it with radius blur (0: none) and encodes a PNG. It is pure
// CPU work, so it runs in offload; it checks ctx between rows so a client
// that leaves stops it.
func thumbnail(ctx context.Context, src []byte, width, blur int) ([]byte, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(src))
	if err != nil {
		return nil, fmt.Errorf("not an image: %w", err)
	}
	if cfg.Width*cfg.Height > maxPixels {
		return nil, errTooLarge
	}
	img, _, err := image.Decode(bytes.NewReader(src))
	if err != nil {
		return nil, fmt.Errorf("not an image: %w", err)
	}
	out, err := scale(ctx, img, width)
	if err != nil {
		return nil, err
	}
	if blur > 0 {
		if out, err = boxBlur(ctx, out, blur); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// scale shrinks img to fit in size×size, averaging the source pixels that
// fall in each destination pixel (a box filter). Smaller images are copied.
func scale(ctx context.Context, img image.Image, size int) (*image.RGBA, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	f := max(float64(w)/float64(size), float64(h)/float64(size), 1)
	dw, dh := max(int(float64(w)/f), 1), max(int(float64(h)/f), 1)
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range dh {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sy0, sy1 := b.Min.Y+y*h/dh, b.Min.Y+max((y+1)*h/dh, y*h/dh+1)
		for x := range dw {
			sx0, sx1 := b.Min.X+x*w/dw, b.Min.X+max((x+1)*w/dw, x*w/dw+1)
			var r, g, bl, a, n uint64
			for sy := sy0; sy < sy1; sy++ {
				for sx := sx0; sx < sx1; sx++ {
					cr, cg, cb, ca := img.At(sx, sy).RGBA()
					r, g, bl, a, n = r+uint64(cr), g+uint64(cg), bl+uint64(cb), a+uint64(ca), n+1
				}
			}
			dst.SetRGBA(x, y, color.RGBA{uint8(r / n >> 8), uint8(g / n >> 8), uint8(bl / n >> 8), uint8(a / n >> 8)})
		}
	}
	return dst, nil
}

// boxBlur averages each pixel with its neighbours within radius, in two
// passes (rows, then columns).
func boxBlur(ctx context.Context, img *image.RGBA, radius int) (*image.RGBA, error) {
	b := img.Bounds()
	tmp := image.NewRGBA(b)
	out := image.NewRGBA(b)
	pass := func(src, dst *image.RGBA, dx, dy int) error {
		for y := b.Min.Y; y < b.Max.Y; y++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			for x := b.Min.X; x < b.Max.X; x++ {
				var sum [4]int
				n := 0
				for k := -radius; k <= radius; k++ {
					p := image.Pt(x+k*dx, y+k*dy)
					if !p.In(b) {
						continue
					}
					i := src.PixOffset(p.X, p.Y)
					for c := range 4 {
						sum[c] += int(src.Pix[i+c])
					}
					n++
				}
				i := dst.PixOffset(x, y)
				for c := range 4 {
					dst.Pix[i+c] = uint8(sum[c] / n)
				}
			}
		}
		return nil
	}
	if err := pass(img, tmp, 1, 0); err != nil {
		return nil, err
	}
	if err := pass(tmp, out, 0, 1); err != nil {
		return nil, err
	}
	return out, nil
}
