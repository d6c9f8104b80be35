package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestIssueWindow(t *testing.T) {
	cases := []struct {
		name              string
		timeout, deadline time.Duration
		want              time.Duration
	}{
		{"default: the last minute is kept for issuances in flight", 240 * time.Second, 0, 180 * time.Second},
		{"short timeout: the last quarter is kept", 40 * time.Second, 0, 30 * time.Second},
		{"long timeout: at most a minute is kept", 15 * time.Minute, 0, 14 * time.Minute},
		{"a shorter CERTSWEEP_DEADLINE wins", 240 * time.Second, time.Minute, time.Minute},
		{"a longer CERTSWEEP_DEADLINE does not", 240 * time.Second, time.Hour, 180 * time.Second},
	}
	for _, tc := range cases {
		if got := issueWindow(tc.timeout, tc.deadline); got != tc.want {
			t.Errorf("%s: issueWindow(%s, %s) = %s, want %s", tc.name, tc.timeout, tc.deadline, got, tc.want)
		}
	}
}

func TestTriggerSettings(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		c, err := loadConfig()
		if err != nil {
			t.Fatal(err)
		}
		if c.Port != 8080 || c.RequestTimeout != 240*time.Second || c.EventFile != "" {
			t.Fatalf("port %d, request timeout %s, event file %q", c.Port, c.RequestTimeout, c.EventFile)
		}
	})
	t.Run("Knative's plain PORT is read", func(t *testing.T) {
		t.Setenv("PORT", "9090")
		c, err := loadConfig()
		if err != nil {
			t.Fatal(err)
		}
		if c.Port != 9090 {
			t.Fatalf("port %d, want 9090", c.Port)
		}
	})
	t.Run("a zero request timeout is bad configuration", func(t *testing.T) {
		t.Setenv("CERTSWEEP_REQUEST_TIMEOUT", "0s")
		if _, err := loadConfig(); err == nil {
			t.Fatal("accepted")
		} else if _, ok := err.(configError); !ok {
			t.Fatalf("error %v is not a configError (exit 2)", err)
		}
	})
	t.Run("--every with an event file is bad usage", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "event")
		ping := `{"specversion":"1.0","id":"1","source":"/s","type":"dev.knative.sources.ping"}`
		if err := os.WriteFile(path, []byte(ping), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("CERTSWEEP_EVENT_FILE", path)
		t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
		var out, errOut testBuffer
		if code := runMain(t.Context(), []string{"run", "--every", "@hourly"}, &out, &errOut); code != exitBadConfig || !strings.Contains(errOut.String(), "--every") {
			t.Fatalf("exit %d, want %d naming --every; stderr %s", code, exitBadConfig, errOut)
		}
	})
}

type testBuffer []byte

func (b *testBuffer) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }
func (b testBuffer) String() string               { return string(b) }
