package metrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// pushRecorder is a stand-in Pushgateway that keeps the last request.
type pushRecorder struct {
	mu      sync.Mutex
	method  string
	path    string
	auth    string
	body    []byte
	ctype   string
	answer  int
	pushes  int
	replies string
}

func (p *pushRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pushes++
	p.method, p.path, p.auth, p.ctype = r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type")
	p.body, _ = io.ReadAll(r.Body)
	if p.answer != 0 {
		http.Error(w, p.replies, p.answer)
	}
}

// TestPushReplacesTheGroup: a push is a PUT to the job's group (and the
// shard's), carrying what the gatherer has.
func TestPushReplacesTheGroup(t *testing.T) {
	rec := &pushRecorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	gw, err := ParsePushgatewayURL(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(CertificateCollector([]Certificate{cert("web", "site", cmmeta.ConditionTrue)}))
	if err := gw.Push(context.Background(), map[string]string{"shard": "1"}, reg); err != nil {
		t.Fatal(err)
	}
	if rec.method != http.MethodPut || rec.path != "/metrics/job/certsweep/shard/1" {
		t.Fatalf("push: %s %s, want PUT /metrics/job/certsweep/shard/1", rec.method, rec.path)
	}
	dec := expfmt.NewDecoder(strings.NewReader(string(rec.body)), expfmt.Format(rec.ctype))
	names := map[string]int{}
	for {
		mf := &dto.MetricFamily{}
		if err := dec.Decode(mf); err != nil {
			break
		}
		names[mf.GetName()] = len(mf.GetMetric())
	}
	if names["certmanager_certificate_ready_status"] != 3 || names["certmanager_certificate_expiration_timestamp_seconds"] != 1 {
		t.Fatalf("pushed families: %v", names)
	}

	if err := gw.Push(context.Background(), nil, reg); err != nil {
		t.Fatal(err)
	}
	if rec.path != "/metrics/job/certsweep" {
		t.Fatalf("unsharded push went to %s", rec.path)
	}
}

// TestPushCredentials: credentials in the URL go as basic auth, and
// appear in no error.
func TestPushCredentials(t *testing.T) {
	rec := &pushRecorder{answer: http.StatusInternalServerError, replies: "storage full"}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	gw, err := ParsePushgatewayURL(strings.Replace(srv.URL, "http://", "http://pusher:s3cret@", 1))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(gw.String(), "s3cret") {
		t.Fatalf("String() shows the password: %s", gw)
	}
	err = gw.Push(context.Background(), nil, prometheus.NewRegistry())
	if err == nil || !strings.Contains(err.Error(), "storage full") {
		t.Fatalf("push to a failing Pushgateway: %v", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("the error shows the password: %v", err)
	}
	if !strings.HasPrefix(rec.auth, "Basic ") {
		t.Fatalf("Authorization = %q, want basic auth", rec.auth)
	}
}

func TestParsePushgatewayURL(t *testing.T) {
	for _, ok := range []string{"http://pushgateway:9091", "https://pg.example.com/base", "http://u:p@127.0.0.1:9091"} {
		if _, err := ParsePushgatewayURL(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"pushgateway:9091", "ftp://pg", "http://", "http://pg:9091/?x=1", "http://u:p@pg:9091/#f", "://"} {
		_, err := ParsePushgatewayURL(bad)
		if err == nil {
			t.Errorf("%s: accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), ":p@") {
			t.Errorf("%s: error shows the password: %v", bad, err)
		}
	}
}
