package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestBenchACMESmoke runs the ACME scenario with a few Certificates: every
// one is Ready, with exactly one order each counted three ways, no
// Challenge or TXT record is left, the CA proxy and Pebble's log agree,
// the last run writes nothing, and the section merges into an existing
// report without touching the rest.
func TestBenchACMESmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane, BIND and Pebble; -short runs only pure tests")
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
		binary:      binary,
		acmeOnly:    true,
		acmeSize:    3,
		acmeWait:    45 * time.Second,
		acmeMaxRuns: 5,
		out:         filepath.Join(dir, "performance.md"),
	}
	const before = "# Performance\n\nkept\n\n## Hot paths (Go benchmarks)\n\nkept too\n"
	if err := os.WriteFile(cfg.out, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := bench(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(cfg.out)
	if err != nil {
		t.Fatal(err)
	}
	report := string(raw)
	if !strings.HasPrefix(report, "# Performance\n\nkept\n\n## ACME issuance\n") || !strings.HasSuffix(report, "\n## Hot paths (Go benchmarks)\n\nkept too\n") {
		t.Errorf("the ACME section was not merged in place:\n%s", report)
	}
	for _, target := range []string{
		"| runs until all 3 Ready",
		"| exactly one order per Certificate |",
		"| one CertificateRequest per Certificate |",
		"| certificates of the `shortlived` profile",
		"| no Challenge and no DNS-01 TXT record left |",
		"| the last run writes nothing |",
		"| CA requests: proxy against Pebble's log",
	} {
		if line := lineWith(report, target); !strings.HasSuffix(line, "| yes |") {
			t.Errorf("target not met in the report: %q", line)
		}
	}
}

func TestReplaceSection(t *testing.T) {
	const sec = "## ACME issuance\n\nnew\n"
	for _, c := range []struct{ doc, want string }{
		{"", "## ACME issuance\n\nnew\n"},
		{"# P\n\na\n", "# P\n\na\n\n## ACME issuance\n\nnew\n"},
		{"# P\n\na\n## Hot paths\n\nb\n", "# P\n\na\n\n## ACME issuance\n\nnew\n\n## Hot paths\n\nb\n"},
		{"# P\n\n## ACME issuance\n\nold\nold\n\n## Hot paths\n\nb\n", "# P\n\n## ACME issuance\n\nnew\n\n## Hot paths\n\nb\n"},
		{"# P\n\n## ACME issuance\n\nold\n", "# P\n\n## ACME issuance\n\nnew\n"},
		{"# P\n\nsee ## ACME issuance\n", "# P\n\nsee ## ACME issuance\n\n## ACME issuance\n\nnew\n"},
	} {
		if got := replaceSection(c.doc, acmeHeading, sec, "## Hot paths"); got != c.want {
			t.Errorf("replaceSection(%q) =\n%q\nwant\n%q", c.doc, got, c.want)
		}
	}
}
