package harness

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Pushgateway is a real Prometheus Pushgateway (Debian's
// prometheus-pushgateway) on a loopback port, with no persistence: what
// `certsweep run` pushes to when CERTSWEEP_PUSHGATEWAY_URL is set.
type Pushgateway struct {
	url  string
	proc *process
}

// pushgatewayStartTimeout bounds the start; it normally answers at once.
const pushgatewayStartTimeout = time.Minute

// StartPushgateway starts a Pushgateway on 127.0.0.1 at a free port and
// waits until it is ready. The binary comes from Debian's
// prometheus-pushgateway package, installed with apt-get on first use
// when missing (the Go module is not served by the module proxy); if that
// fails the test is skipped with the reason. The Pushgateway is killed
// when the test ends, and its log printed if the test failed.
func StartPushgateway(t testing.TB) *Pushgateway {
	t.Helper()
	bin := lookupDebianTool(t, "prometheus-pushgateway", []string{"prometheus-pushgateway"}, func() string {
		return findCommand("prometheus-pushgateway", "/usr/bin")
	})
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), pushgatewayStartTimeout)
	defer cancel()
	p := &Pushgateway{}
	for attempt := 1; ; attempt++ {
		err := p.start(ctx, bin, dir)
		if err == nil {
			break
		}
		if !errors.Is(err, errPortInUse) || attempt == maxPortAttempts {
			t.Fatalf("StartPushgateway: %v", err)
		}
	}
	t.Cleanup(func() {
		p.proc.kill()
		if t.Failed() {
			data, _ := os.ReadFile(p.proc.logPath)
			t.Logf("pushgateway log (%s):\n%s", p.proc.logPath, tail(string(data), 40))
		}
	})
	return p
}

func (p *Pushgateway) start(ctx context.Context, bin, dir string) error {
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	proc, err := startProcess("pushgateway", bin, filepath.Join(dir, "pushgateway.log"),
		"--web.listen-address="+addr, "--log.level=info")
	if err != nil {
		return err
	}
	p.url, p.proc = "http://"+addr, proc
	if err := waitReady(ctx, proc, p.url+"/-/ready", "", nil); err != nil {
		proc.kill()
		return err
	}
	return nil
}

// URL is the Pushgateway's base URL, as CERTSWEEP_PUSHGATEWAY_URL takes it.
func (p *Pushgateway) URL() string { return p.url }

// Metrics returns what the Pushgateway exposes on /metrics, in Prometheus's
// text format: every pushed group's series, with their grouping labels,
// and the Pushgateway's own.
func (p *Pushgateway) Metrics(t testing.TB) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.url+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The text format, whatever the client library would prefer.
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("reading the Pushgateway's metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("reading the Pushgateway's metrics: %s %v", resp.Status, err)
	}
	return string(body)
}
