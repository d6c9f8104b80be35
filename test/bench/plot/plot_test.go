package plot

import (
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// sampleOut lets a developer render the test data to a known path and look
// at it, since a test can only check that the image is plausible, not legible.
var sampleOut = flag.String("plot.out", "", "also write the test plot to this path")

func testSeries() []Series {
	mk := func(n int, wall, cpu time.Duration, rssMiB uint64, reqs int) Sample {
		return Sample{N: n, Wall: wall, CPU: cpu, PeakRSSBytes: rssMiB << 20, Requests: reqs}
	}
	return []Series{
		{Name: "issue (all new)", Samples: []Sample{
			// Deliberately out of order: WritePNG must sort.
			mk(10000, 95*time.Second, 40*time.Second, 180, 30012),
			mk(1000, 9*time.Second, 4*time.Second, 45, 3012),
			mk(5000, 46*time.Second, 19*time.Second, 110, 15012),
		}},
		{Name: "no-op sweep", Samples: []Sample{
			mk(1000, 800*time.Millisecond, 300*time.Millisecond, 30, 12),
			mk(5000, 3*time.Second, 1500*time.Millisecond, 70, 12),
			mk(10000, 7*time.Second, 3200*time.Millisecond, 130, 12),
		}},
		{Name: "raw LIST floor", Samples: []Sample{
			// Measured in-process: only wall time is known.
			{N: 1000, Wall: 400 * time.Millisecond},
			{N: 5000, Wall: 1900 * time.Millisecond},
			{N: 10000, Wall: 4 * time.Second},
		}},
	}
}

func TestWritePNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "growth.png")
	if err := WritePNG(path, "certsweep growth (test data)", testSeries()); err != nil {
		t.Fatalf("WritePNG: %v", err)
	}
	if *sampleOut != "" {
		if err := WritePNG(*sampleOut, "certsweep growth (test data)", testSeries()); err != nil {
			t.Fatalf("WritePNG to -plot.out: %v", err)
		}
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}

	b := img.Bounds()
	if w, h := b.Dx(), b.Dy(); w < 1500 || w > 1700 || h < 1100 || h > 1300 {
		t.Errorf("image is %dx%d, want about 1600x1200", w, h)
	}

	first := img.At(b.Min.X, b.Min.Y)
	r0, g0, b0, a0 := first.RGBA()
	uniform := true
	for y := b.Min.Y; y < b.Max.Y && uniform; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bb, a := img.At(x, y).RGBA()
			if r != r0 || g != g0 || bb != b0 || a != a0 {
				uniform = false
				break
			}
		}
	}
	if uniform {
		t.Error("image is a single colour; nothing was drawn")
	}
}

func TestWritePNGNoSeries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "growth.png")
	if err := WritePNG(path, "empty", nil); err == nil {
		t.Error("WritePNG with no series returned nil error")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("WritePNG with no series left a file behind (stat err %v)", err)
	}
}
