package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certsweep/certsweep/test/harness"
)

// TestBenchSmoke runs every scenario of the benchmark at a tiny size, so
// `make bench` cannot rot between the times someone runs it: the binary
// issues, the no-op sweep writes nothing, the mixed sweep writes exactly
// to the due Certificates, and the report and plot are written. It asserts
// no timings.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane; -short runs only pure tests")
	}
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	binary := filepath.Join(dir, "certsweep")
	build := exec.Command("go", "build", "-o", binary, "./cmd/certsweep")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building certsweep: %v\n%s", err, out)
	}
	cfg := config{
		binary:   binary,
		sizes:    []int{40},
		repeats:  1,
		dueEvery: 10,
		out:      filepath.Join(dir, "performance.md"),
		plot:     filepath.Join(dir, "performance.png"),
		floorMax: 40,
	}
	if err := bench(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	report, err := os.ReadFile(cfg.out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"write floor", "![wall time"} {
		if !strings.Contains(string(report), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Targets that hold at any size: one sweep, at most 8 writes each
	// (7, plus the issuer's Ready condition once), LISTs by the page.
	for _, target := range []string{
		"| issue 40 new: sweeps to all Ready |",
		"| issue 40 new: ≤ 8 writes per certificate, events included |",
		"| issue 40 new: LISTs ≤ 1 per 500 objects per kind |",
	} {
		if line := lineWith(string(report), target); !strings.HasSuffix(line, "| yes |") {
			t.Errorf("target not met in the report: %q", line)
		}
	}
	if info, err := os.Stat(cfg.plot); err != nil || info.Size() == 0 {
		t.Fatalf("no plot: %v", err)
	}
}

func lineWith(text, prefix string) string {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	return ""
}
