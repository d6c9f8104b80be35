package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSolveHTTP01Serves(t *testing.T) {
	// The solver Pod has no kubeconfig and no CERTSWEEP_* settings: bad
	// ones here would fail any command that read them.
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
	t.Setenv("CERTSWEEP_SHARDS", "not-a-number")

	port := freePort(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr bytes.Buffer
	exited := make(chan int, 1)
	go func() {
		exited <- runMain(ctx, []string{"solve-http01",
			"--listen-port=" + strconv.Itoa(port),
			"--domain=example.com", "--token=tok", "--key=tok.thumb",
		}, io.Discard, &stderr)
	}()

	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/.well-known/acme-challenge/tok"
	body := getUntilServed(t, url, "example.com", exited)
	if body != "tok.thumb" {
		t.Errorf("body %q, want the key", body)
	}

	cancel()
	select {
	case code := <-exited:
		if code != exitOK {
			t.Errorf("exit %d after ctx ended, want %d; stderr:\n%s", code, exitOK, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("solve-http01 did not stop when ctx ended")
	}
}

// getUntilServed GETs url with the Host header host until the server is up,
// and returns the body of the first answer.
func getUntilServed(t *testing.T, url, host string, exited <-chan int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, body %q", resp.StatusCode, body)
			}
			return string(body)
		}
		select {
		case code := <-exited:
			t.Fatalf("solve-http01 exited with %d before serving", code)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing served at %s: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestSolveHTTP01BadUsage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no flags", nil, "needs --domain, --token, --key"},
		{"no key", []string{"--domain=example.com", "--token=tok"}, "needs --key"},
		{"empty domain", []string{"--domain=", "--token=tok", "--key=k"}, "needs --domain"},
		{"port out of range", []string{"--domain=a", "--token=t", "--key=k", "--listen-port=70000"}, "--listen-port"},
		{"unknown flag", []string{"--domain=a", "--token=t", "--key=k", "--port=1"}, "not defined: -port"},
		{"a stray argument", []string{"--domain=a", "--token=t", "--key=k", "extra"}, "no arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := runMain(t.Context(), append([]string{"solve-http01"}, tc.args...), io.Discard, &stderr)
			if code != exitBadConfig {
				t.Errorf("exit %d, want %d", code, exitBadConfig)
			}
			if !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), tc.wantErr)
			}
		})
	}
}
