package harness

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"
)

// Chromium returns the path of Debian's chromium, the browser tests render
// certsweep's HTML pages in: what a page looks like after its scripts ran
// is a browser's answer, not a template's. It is installed with apt-get on
// first use when missing; if that cannot be done, the test is skipped with
// the reason.
func Chromium(t testing.TB) string {
	t.Helper()
	return lookupDebianTool(t, "chromium", []string{"chromium"}, func() string {
		return findCommand("chromium", "/usr/bin")
	})
}

// chromiumArgs start a headless browser that keeps to itself: its own
// profile (so parallel tests share no state), no first-run work, and none
// of the background fetches a desktop browser makes, so a test sees only
// what the page itself does. --no-sandbox because tests run as root.
func chromiumArgs(t testing.TB) []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu",
		"--user-data-dir=" + t.TempDir(),
		"--no-first-run", "--no-default-browser-check",
		"--disable-extensions", "--disable-background-networking",
		"--disable-component-update", "--disable-sync",
		"--hide-scrollbars",
	}
}

// DumpDOM loads url (a file:// URL, with a #fragment if the page reads
// one) in headless Chromium and returns the DOM as it stands after the
// page's scripts ran (chromium --dump-dom), serialised as HTML.
func DumpDOM(t testing.TB, url string) string {
	t.Helper()
	out := runChromium(t, append(chromiumArgs(t), "--dump-dom", url)...)
	if len(bytes.TrimSpace(out)) == 0 {
		t.Fatalf("chromium --dump-dom %s printed nothing", url)
	}
	return string(out)
}

// Screenshot loads url in headless Chromium at width×height and writes
// what it shows to path as PNG.
func Screenshot(t testing.TB, url, path string, width, height int) {
	t.Helper()
	runChromium(t, append(chromiumArgs(t), "--screenshot="+path, fmt.Sprintf("--window-size=%d,%d", width, height), url)...)
}

func runChromium(t testing.TB, args ...string) []byte {
	t.Helper()
	bin := Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, tail(stderr.String(), 20))
	}
	return stdout.Bytes()
}
