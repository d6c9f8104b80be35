package main

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
)

// benchTB lets the bench program use the harness helpers that take a
// testing.TB (StartDNS, StartPebble) outside `go test`. It implements what
// those helpers call: Helper, Fatalf/Fatal/FailNow abort the helper (do
// turns that into an error), Skipf/Skip likewise (a missing tool is an
// error for a benchmark, not a skip), TempDir makes a directory removed by
// cleanup, Cleanup registers what cleanup runs, last first. testing.TB is
// embedded (nil) only because the interface cannot be implemented
// otherwise; any method not defined here would panic, and the harness
// calls none.
type benchTB struct {
	testing.TB
	name string

	mu       sync.Mutex
	cleanups []func()
	failed   bool
}

func newBenchTB(name string) *benchTB { return &benchTB{name: name} }

// tbAbort is what Fatalf and Skipf panic with; do recovers it.
type tbAbort struct {
	msg  string
	skip bool
}

// do runs fn, turning a Fatalf or Skipf inside it into an error.
func (t *benchTB) do(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			a, ok := r.(tbAbort)
			if !ok {
				panic(r)
			}
			if a.skip {
				err = fmt.Errorf("%s: cannot run: %s", t.name, a.msg)
			} else {
				err = errors.New(a.msg)
			}
		}
	}()
	fn()
	return nil
}

// cleanup runs the registered cleanups, last first, once.
func (t *benchTB) cleanup() {
	t.mu.Lock()
	fns := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

func (t *benchTB) Helper()      {}
func (t *benchTB) Name() string { return t.name }

func (t *benchTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *benchTB) TempDir() string {
	dir, err := os.MkdirTemp("", "certsweep-bench-"+t.name+"-")
	if err != nil {
		t.Fatalf("TempDir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func (t *benchTB) Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "    [%s] %s\n", t.name, fmt.Sprintf(format, args...))
}
func (t *benchTB) Log(args ...any) { t.Logf("%s", fmt.Sprint(args...)) }

func (t *benchTB) Errorf(format string, args ...any) {
	t.Fail()
	t.Logf(format, args...)
}
func (t *benchTB) Error(args ...any) { t.Errorf("%s", fmt.Sprint(args...)) }

func (t *benchTB) Fail() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed = true
}

func (t *benchTB) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *benchTB) FailNow() { t.Fatalf("FailNow") }
func (t *benchTB) Fatal(args ...any) {
	t.Fatalf("%s", fmt.Sprint(args...))
}

func (t *benchTB) Fatalf(format string, args ...any) {
	t.Fail()
	panic(tbAbort{msg: fmt.Sprintf(format, args...)})
}

func (t *benchTB) SkipNow()      { t.Skipf("SkipNow") }
func (t *benchTB) Skip(a ...any) { t.Skipf("%s", fmt.Sprint(a...)) }
func (t *benchTB) Skipf(format string, args ...any) {
	panic(tbAbort{msg: fmt.Sprintf(format, args...), skip: true})
}
func (t *benchTB) Skipped() bool { return false }
