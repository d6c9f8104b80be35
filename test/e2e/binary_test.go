package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBinaryRunExitCodes runs `certsweep run` as the pod would: it issues
// and prints the summary (0), fails to reach the API server (1), and
// rejects bad configuration (2), each failure with one error line.
func TestBinaryRunExitCodes(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.create(certificate("site", issuerRef("ca")))
	bin := certsweepBinary(t)

	code, stdout, stderr := runBinary(t, bin, e.podEnv(e.cp.Config), "run")
	if code != 0 || !regexp.MustCompile(`(?m)^scanned=2 issued=2 failed=0 `).MatchString(stdout) {
		t.Fatalf("run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	e.requireReady("site", 1)

	// A kubeconfig pointing at a port nobody listens on.
	dead := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(dead, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(e.podEnv(e.cp.Config), "KUBECONFIG="+dead)
	code, _, stderr = runBinary(t, bin, env, "run")
	if code != 1 || !oneErrorLine(stderr) {
		t.Fatalf("unreachable API: exit %d, stderr %q", code, stderr)
	}

	for _, bad := range []string{"CERTSWEEP_SCHEDULE=not a schedule", "CERTSWEEP_CONCURRENCY=many", "CERTSWEEP_LOG_FORMAT=xml"} {
		code, _, stderr = runBinary(t, bin, append(e.podEnv(e.cp.Config), bad), "run")
		if code != 2 || !oneErrorLine(stderr) {
			t.Fatalf("%s: exit %d, stderr %q", bad, code, stderr)
		}
	}
}

// oneErrorLine reports whether stderr ends with exactly one
// "certsweep: error:" line.
func oneErrorLine(stderr string) bool {
	return strings.Count(stderr, "certsweep: error:") == 1 &&
		strings.HasPrefix(lastLine(stderr), "certsweep: error:")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
