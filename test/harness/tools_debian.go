package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Command-line tools tests read certsweep's output with: the real programs
// people use, not a second Go implementation that could share its bugs.
// Each comes from a Debian package, installed with apt-get on first use
// when missing, as StartDNS does for BIND 9.

// OpenSSL returns the path of the openssl command (Debian's openssl). If it
// is missing and cannot be installed, the test is skipped with the reason.
func OpenSSL(t testing.TB) string {
	t.Helper()
	return lookupDebianTool(t, "openssl", []string{"openssl"}, func() string {
		return findCommand("openssl", "/usr/bin", "/usr/local/bin")
	})
}

// Keytool returns the path of Java's keytool, from Debian's default Java
// runtime (default-jre-headless), which reads JKS and PKCS#12 keystores as
// Java programs do. If it is missing and cannot be installed, the test is
// skipped with the reason.
func Keytool(t testing.TB) string {
	t.Helper()
	return lookupDebianTool(t, "keytool", []string{"default-jre-headless"}, func() string {
		if p := findCommand("keytool", "/usr/bin"); p != "" {
			return p
		}
		// A JRE installed without update-alternatives' links.
		matches, _ := filepath.Glob("/usr/lib/jvm/*/bin/keytool")
		for _, m := range matches {
			if isExecutable(m) {
				return m
			}
		}
		return ""
	})
}

func findCommand(name string, dirs ...string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range dirs {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	return ""
}

// debianTools remembers, per tool, the outcome of the first lookup or
// install in this process.
var debianTools struct {
	mu    sync.Mutex
	tools map[string]*toolState
}

type toolState struct {
	once sync.Once
	path string
	err  error
}

// aptUpdate runs apt-get update at most once per process.
var aptUpdate struct {
	once sync.Once
	err  error
}

func lookupDebianTool(t testing.TB, name string, packages []string, find func() string) string {
	t.Helper()
	debianTools.mu.Lock()
	if debianTools.tools == nil {
		debianTools.tools = map[string]*toolState{}
	}
	st, ok := debianTools.tools[name]
	if !ok {
		st = &toolState{}
		debianTools.tools[name] = st
	}
	debianTools.mu.Unlock()
	st.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		st.path, st.err = ensureDebianTool(ctx, name, packages, find)
	})
	if st.err != nil {
		t.Skipf("harness: %s is missing and could not be installed (apt-get install %s): %v", name, strings.Join(packages, " "), st.err)
	}
	return st.path
}

// ensureDebianTool finds name, or installs packages with apt-get and finds
// it then. Parallel test binaries serialise installs on a lock file in
// CacheDir, and apt-get itself waits for dpkg's lock.
func ensureDebianTool(ctx context.Context, name string, packages []string, find func() string) (string, error) {
	if p := find(); p != "" {
		return p, nil
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("create cache directory: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(cache, "apt-"+name+".lock"))
	if err != nil {
		return "", fmt.Errorf("lock %s install: %w", name, err)
	}
	defer unlock()
	if p := find(); p != "" {
		return p, nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("not root, so cannot apt-get install %s; install it by hand", strings.Join(packages, " "))
	}
	aptGet, err := exec.LookPath("apt-get")
	if err != nil {
		return "", fmt.Errorf("no apt-get to install %s with: %w", strings.Join(packages, " "), err)
	}
	apt := func(args ...string) error {
		cmd := exec.CommandContext(ctx, aptGet, append([]string{"-o", "DPkg::Lock::Timeout=300", "-q"}, args...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get %s: %w\n%s", strings.Join(args, " "), err, tail(string(out), 20))
		}
		return nil
	}
	fmt.Fprintf(os.Stderr, "harness: installing %s with apt-get (first use)\n", strings.Join(packages, " "))
	start := time.Now()
	// A failed update may still leave usable package lists; let install
	// decide, but report both if it fails too.
	aptUpdate.once.Do(func() { aptUpdate.err = apt("update") })
	if err := apt(append([]string{"install", "-y", "--no-install-recommends"}, packages...)...); err != nil {
		if aptUpdate.err != nil {
			err = fmt.Errorf("%w\n(after %w)", err, aptUpdate.err)
		}
		return "", err
	}
	p := find()
	if p == "" {
		return "", errors.New("apt-get installed " + strings.Join(packages, " ") + " but " + name + " is still not found")
	}
	fmt.Fprintf(os.Stderr, "harness: installed %s in %s\n", strings.Join(packages, " "), time.Since(start).Round(time.Second))
	return p, nil
}
