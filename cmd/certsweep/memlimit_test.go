package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// TestMain lets a test run this package's main() in a child process, as
// the pod runs the binary.
func TestMain(m *testing.M) {
	if os.Getenv("CERTSWEEP_TEST_RUN_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// memoryLimitTest gives a test a known runtime memory limit and no
// GOMEMLIMIT or AUTOMEMLIMIT in the environment, and puts all three back
// afterwards.
func memoryLimitTest(t *testing.T) (before int64) {
	t.Helper()
	before = 3 << 40 // no real container has this
	orig := debug.SetMemoryLimit(before)
	t.Cleanup(func() { debug.SetMemoryLimit(orig) })
	for _, name := range []string{"GOMEMLIMIT", "AUTOMEMLIMIT"} {
		t.Setenv(name, "") // registers the restore
		if err := os.Unsetenv(name); err != nil {
			t.Fatal(err)
		}
	}
	return before
}

// fakeCgroup is a memory limit source that counts its reads.
func fakeCgroup(limit uint64, err error, reads *int) memlimit.Provider {
	return func() (uint64, error) {
		*reads++
		return limit, err
	}
}

// debugLog is a debug-level JSON logger's output.
type debugLog struct{ bytes.Buffer }

// record returns the one record whose message starts with "memory limit".
func (l *debugLog) record(t *testing.T) map[string]any {
	t.Helper()
	var found []map[string]any
	for line := range strings.Lines(l.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if msg, _ := rec["msg"].(string); strings.HasPrefix(msg, "memory limit") {
			found = append(found, rec)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one memory limit record, got %d; log:\n%s", len(found), l.String())
	}
	if found[0]["level"] != "DEBUG" {
		t.Errorf("memory limit logged at %v, want DEBUG", found[0]["level"])
	}
	return found[0]
}

func TestSetMemoryLimitFromCgroup(t *testing.T) {
	for _, ratio := range []float64{0.9, 0.5, 1} {
		t.Run(fmt.Sprint(ratio), func(t *testing.T) {
			memoryLimitTest(t)
			const cgroup = 512 << 20
			var reads int
			var log debugLog
			setMemoryLimit(ratio, fakeCgroup(cgroup, nil, &reads), newLogger(&log, "json", "debug"))

			want := int64(float64(cgroup) * ratio)
			if got := debug.SetMemoryLimit(-1); got != want {
				t.Fatalf("memory limit %d, want %v × %d = %d", got, ratio, cgroup, want)
			}
			if reads != 1 {
				t.Errorf("cgroup read %d times, want once", reads)
			}
			rec := log.record(t)
			if rec["msg"] != "memory limit set" || rec["limitBytes"] != float64(want) || rec["containerBytes"] != float64(cgroup) {
				t.Errorf("log record %v", rec)
			}
		})
	}
}

func TestSetMemoryLimitLeavesLimitAlone(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		ratio   float64
		limit   uint64
		err     error
		reads   int
		wantLog string
	}{
		{name: "an explicit GOMEMLIMIT wins", env: map[string]string{"GOMEMLIMIT": "100MiB"},
			ratio: 0.9, limit: 512 << 20, reads: 0, wantLog: "memory limit left to GOMEMLIMIT"},
		{name: "ratio 0 turns it off",
			ratio: 0, limit: 512 << 20, reads: 0, wantLog: "CERTSWEEP_MEMORY_LIMIT_RATIO is 0"},
		{name: "AUTOMEMLIMIT=off, the library's own switch", env: map[string]string{"AUTOMEMLIMIT": "off"},
			ratio: 0.9, limit: 512 << 20, reads: 0, wantLog: "AUTOMEMLIMIT is off"},
		{name: "no cgroup", ratio: 0.9, err: memlimit.ErrNoCgroup, reads: 1, wantLog: "process is not in cgroup"},
		{name: "cgroups not supported", ratio: 0.9, err: memlimit.ErrCgroupsNotSupported, reads: 1, wantLog: "not supported"},
		{name: "a cgroup without a memory limit", ratio: 0.9, err: memlimit.ErrNoLimit, reads: 1, wantLog: "no memory limit"},
		{name: "an unreadable cgroup", ratio: 0.9, err: errors.New("failed to parse memory.max value"), reads: 1, wantLog: "memory.max"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := memoryLimitTest(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var reads int
			var log debugLog
			setMemoryLimit(tc.ratio, fakeCgroup(tc.limit, tc.err, &reads), newLogger(&log, "json", "debug"))

			if got := debug.SetMemoryLimit(-1); got != before {
				t.Fatalf("memory limit changed from %d to %d", before, got)
			}
			if reads != tc.reads {
				t.Errorf("cgroup read %d times, want %d", reads, tc.reads)
			}
			if rec := log.record(t); !strings.Contains(fmt.Sprint(rec), tc.wantLog) {
				t.Errorf("log record %v does not say %q", rec, tc.wantLog)
			}
		})
	}
}

func TestMemoryLimitRatioSetting(t *testing.T) {
	c, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if c.MemoryLimitRatio != 0.9 {
		t.Errorf("default ratio %v, want 0.9", c.MemoryLimitRatio)
	}
	for _, ok := range []string{"0", "0.75", "1"} {
		t.Setenv("CERTSWEEP_MEMORY_LIMIT_RATIO", ok)
		if _, err := loadConfig(); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"-0.1", "1.5", "NaN", "most"} {
		t.Setenv("CERTSWEEP_MEMORY_LIMIT_RATIO", bad)
		if _, err := loadConfig(); err == nil {
			t.Errorf("%s: accepted", bad)
		} else if _, ok := err.(configError); !ok {
			t.Errorf("%s: error %v is not a configError (exit 2)", bad, err)
		}
	}
}

// TestRunSetsMemoryLimitAtStartup runs `certsweep run` in a child process
// with the real cgroup source: the memory limit is decided, and logged,
// before the run goes on to the API server (for which there is no
// configuration here, so the run then exits 2).
func TestRunSetsMemoryLimitAtStartup(t *testing.T) {
	cases := []struct {
		name    string
		env     []string
		code    int
		wantLog string
	}{
		{"from the cgroup, if it has a limit", nil, exitBadConfig, `"msg":"memory limit`},
		{"GOMEMLIMIT", []string{"GOMEMLIMIT=200MiB"}, exitBadConfig, `"msg":"memory limit left to GOMEMLIMIT","GOMEMLIMIT":"200MiB"`},
		{"off", []string{"CERTSWEEP_MEMORY_LIMIT_RATIO=0"}, exitBadConfig, "CERTSWEEP_MEMORY_LIMIT_RATIO is 0"},
		{"bad ratio", []string{"CERTSWEEP_MEMORY_LIMIT_RATIO=2"}, exitBadConfig, "certsweep: error: CERTSWEEP_MEMORY_LIMIT_RATIO must be in [0,1]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "run")
			cmd.Env = append(childEnv(t), tc.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != tc.code {
				t.Fatalf("exit: %v, want code %d; stderr:\n%s", err, tc.code, stderr.String())
			}
			logged := strings.Index(stderr.String(), tc.wantLog)
			failed := strings.Index(stderr.String(), "certsweep: error:")
			if logged < 0 || logged > failed {
				t.Fatalf("stderr does not say %q before the error line:\n%s", tc.wantLog, stderr.String())
			}
		})
	}
}

// childEnv is this environment without anything that sets a memory limit
// or reaches a cluster, plus debug JSON logging.
func childEnv(t *testing.T) []string {
	t.Helper()
	env := []string{
		"CERTSWEEP_TEST_RUN_MAIN=1",
		"CERTSWEEP_LOG_LEVEL=debug",
		"CERTSWEEP_LOG_FORMAT=json",
		"KUBECONFIG=" + t.TempDir() + "/none",
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "GOMEMLIMIT", name == "AUTOMEMLIMIT", name == "KUBECONFIG",
			strings.HasPrefix(name, "CERTSWEEP_"), strings.HasPrefix(name, "KUBERNETES_"):
			continue
		}
		env = append(env, kv)
	}
	return env
}
