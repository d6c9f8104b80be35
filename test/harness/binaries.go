package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// mainModule is the module path used to recognise the repository root.
const mainModule = "github.com/certsweep/certsweep"

// tool describes one control-plane binary built from a pinned Go module under
// test/tools. The version is read from that module's go.mod so that bumping
// the pin changes the cache file name and forces a rebuild.
type tool struct {
	name    string // cache file prefix and test/tools sub-directory
	dir     string // test/tools sub-directory when it is not name (several tools, one pin)
	module  string // module whose version is pinned in test/tools/<dir>/go.mod
	pkg     string // main package to build
	version string // filled in by resolve
}

func etcdTool() tool {
	return tool{name: "etcd", module: "go.etcd.io/etcd/server/v3", pkg: "go.etcd.io/etcd/server/v3"}
}

func apiserverTool() tool {
	return tool{name: "kube-apiserver", module: "k8s.io/kubernetes", pkg: "k8s.io/kubernetes/cmd/kube-apiserver"}
}

// RepoRoot returns the root of the certsweep repository, found by walking up
// from the working directory (which `go test` sets to the package directory)
// to the go.mod that declares the certsweep module.
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("get working directory: %w", err)
	}
	for dir := wd; ; {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && modulePath(data) == mainModule {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod for module %s in %s or any parent directory", mainModule, wd)
		}
		dir = parent
	}
}

// modulePath extracts the module path from go.mod contents. A tiny parser is
// enough here and avoids adding golang.org/x/mod to the main module.
func modulePath(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

// requiredVersion returns the version of module required by go.mod contents,
// handling both the single-line and the block form of require.
func requiredVersion(gomod []byte, module string) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	inBlock := false
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
			continue
		case f[0] == "require" && len(f) >= 2 && f[1] == "(":
			inBlock = true
			continue
		case inBlock && f[0] == ")":
			inBlock = false
			continue
		case f[0] == "require":
			f = f[1:]
		case !inBlock:
			continue
		}
		if len(f) >= 2 && f[0] == module {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("module %s is not required", module)
}

// CacheDir returns the directory holding the built control-plane binaries:
// $CERTSWEEP_CACHE_DIR, else $XDG_CACHE_HOME/certsweep/bin, else
// ~/.cache/certsweep/bin.
func CacheDir() (string, error) {
	if d := os.Getenv("CERTSWEEP_CACHE_DIR"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "certsweep", "bin"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("locate cache directory: %w", err)
	}
	return filepath.Join(home, ".cache", "certsweep", "bin"), nil
}

// EnsureBinaries returns the paths of the etcd and kube-apiserver binaries,
// building them from the pinned modules under test/tools on first use. Builds
// take several minutes when the module cache is cold, so the result is cached
// across runs keyed by the pinned versions.
func EnsureBinaries(ctx context.Context) (etcd, apiserver string, err error) {
	root, err := RepoRoot()
	if err != nil {
		return "", "", err
	}
	cache, err := CacheDir()
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", "", fmt.Errorf("create cache directory: %w", err)
	}
	etcd, err = ensureTool(ctx, root, cache, etcdTool())
	if err != nil {
		return "", "", err
	}
	apiserver, err = ensureTool(ctx, root, cache, apiserverTool())
	if err != nil {
		return "", "", err
	}
	return etcd, apiserver, nil
}

// ensureOneTool is EnsureBinaries for a single pinned tool: it returns the
// path of t's cached binary, building it on first use.
func ensureOneTool(ctx context.Context, t tool) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("create cache directory: %w", err)
	}
	return ensureTool(ctx, root, cache, t)
}

func ensureTool(ctx context.Context, root, cache string, t tool) (string, error) {
	modDir := filepath.Join(root, "test", "tools", t.name)
	if t.dir != "" {
		modDir = filepath.Join(root, "test", "tools", t.dir)
	}
	gomod, err := os.ReadFile(filepath.Join(modDir, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("read %s pin: %w", t.name, err)
	}
	t.version, err = requiredVersion(gomod, t.module)
	if err != nil {
		return "", fmt.Errorf("read %s pin from %s/go.mod: %w", t.name, modDir, err)
	}
	bin := filepath.Join(cache, t.name+"-"+t.version)
	if isExecutable(bin) {
		return bin, nil
	}

	// `go test ./...` runs packages in parallel, so several test binaries may
	// want the same tool at once; serialise on a per-tool lock and re-check
	// after acquiring it so only the first one builds.
	unlock, err := lockFile(ctx, bin+".lock")
	if err != nil {
		return "", fmt.Errorf("lock %s build: %w", t.name, err)
	}
	defer unlock()
	if isExecutable(bin) {
		return bin, nil
	}
	if err := build(ctx, modDir, t, bin); err != nil {
		return "", err
	}
	return bin, nil
}

func build(ctx context.Context, modDir string, t tool, bin string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("build %s: go toolchain not in PATH: %w", t.name, err)
	}
	// Build next to the final path so the rename is atomic (same filesystem)
	// and a killed build never leaves a truncated binary under the real name.
	tmp, err := os.CreateTemp(filepath.Dir(bin), filepath.Base(bin)+".tmp-*")
	if err != nil {
		return fmt.Errorf("build %s: %w", t.name, err)
	}
	tmpName := tmp.Name()
	_ = tmp.Close()
	defer os.Remove(tmpName) // no-op after a successful rename

	fmt.Fprintf(os.Stderr, "harness: building %s %s into %s (first use; this can take several minutes)\n", t.name, t.version, bin)
	start := time.Now()
	cmd := exec.CommandContext(ctx, goBin, "build", "-C", modDir, "-trimpath", "-o", tmpName, t.pkg)
	// The tools are separate modules; a go.work in a parent directory or
	// GOFLAGS=-mod=vendor from the caller must not change how they resolve.
	// VCS stamping is off because the binaries' identity is the pinned
	// version, and stamping fails in some checkouts (e.g. untracked dirs).
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("build %s %s: %w\n%s", t.name, t.version, err, tail(string(out), 40))
	}
	if err := os.Chmod(tmpName, 0o755); err != nil {
		return fmt.Errorf("build %s: %w", t.name, err)
	}
	if err := os.Rename(tmpName, bin); err != nil {
		return fmt.Errorf("install %s: %w", t.name, err)
	}
	fmt.Fprintf(os.Stderr, "harness: built %s in %s\n", t.name, time.Since(start).Round(time.Second))
	return nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// lockFile takes an exclusive flock on path. It polls with LOCK_NB rather than
// blocking so that a cancelled context stops the wait (a blocked flock cannot
// be interrupted). The kernel drops the lock if the process dies.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	announced := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("flock %s: %w", path, err)
		}
		if !announced {
			fmt.Fprintf(os.Stderr, "harness: waiting for another process building %s\n", strings.TrimSuffix(filepath.Base(path), ".lock"))
			announced = true
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("wait for %s: %w", path, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// EnsureAllBinaries builds, on first use, every server binary the tests
// start from a pinned Go module: etcd and kube-apiserver, Pebble and
// pebble-challtestsrv, and Vault. `make test` runs it (test/prebuild)
// before any test, so a cold cache's one-time builds, Vault's above all,
// are not made inside a test binary's timeout, nor while the end-to-end
// tests are competing for the same cores.
func EnsureAllBinaries(ctx context.Context) error {
	if _, _, err := EnsureBinaries(ctx); err != nil {
		return err
	}
	for _, t := range []tool{pebbleTool(), challTestSrvTool()} {
		if _, err := ensureOneTool(ctx, t); err != nil {
			return err
		}
	}
	if _, err := EnsureVault(ctx); err != nil {
		return err
	}
	return nil
}
