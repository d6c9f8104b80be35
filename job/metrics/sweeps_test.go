package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/certsweep/certsweep/job"
)

// TestSweeps: nothing before the first completed sweep (a last success of
// 0 would fire "sweeps stopped" at once), then the last sweep's numbers.
func TestSweeps(t *testing.T) {
	s := &Sweeps{}
	if n := testutil.CollectAndCount(s); n != 0 {
		t.Fatalf("series before any sweep = %d, want 0", n)
	}
	s.Observe(nil, time.Unix(1, 0)) // a sweep that could not run
	if n := testutil.CollectAndCount(s); n != 0 {
		t.Fatalf("series after a failed sweep = %d, want 0", n)
	}
	s.Observe(&job.Report{Scanned: 10, Issued: 2, Failed: 1, Waiting: 3, Rewritten: 1, Deferred: 0, Duration: 1500 * time.Millisecond}, time.Unix(1_750_000_000, 0))
	want := `
# HELP certsweep_last_success_timestamp_seconds When the last sweep that could run (listed every Certificate in scope) ended, as a Unix Epoch Time. A Certificate that failed does not make the sweep fail.
# TYPE certsweep_last_success_timestamp_seconds gauge
certsweep_last_success_timestamp_seconds 1.75e+09
# HELP certsweep_sweep_certificates Certificates of the last completed sweep by what became of them: scanned (all of them), issued, failed, waiting, rewritten (Secret repaired), deferred (the run's issuance budget was spent).
# TYPE certsweep_sweep_certificates gauge
certsweep_sweep_certificates{result="deferred"} 0
certsweep_sweep_certificates{result="failed"} 1
certsweep_sweep_certificates{result="issued"} 2
certsweep_sweep_certificates{result="rewritten"} 1
certsweep_sweep_certificates{result="scanned"} 10
certsweep_sweep_certificates{result="waiting"} 3
# HELP certsweep_sweep_duration_seconds How long the last completed sweep took, in seconds.
# TYPE certsweep_sweep_duration_seconds gauge
certsweep_sweep_duration_seconds 1.5
`
	if err := testutil.CollectAndCompare(s, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

// TestVerb names requests as the API server does.
func TestVerb(t *testing.T) {
	for _, c := range []struct {
		method, url, contentType, want string
	}{
		{"GET", "/apis/cert-manager.io/v1/namespaces/ns/certificates?limit=500", "", "list"},
		{"GET", "/apis/cert-manager.io/v1/certificates", "", "list"},
		{"GET", "/apis/cert-manager.io/v1/namespaces/ns/certificates/web", "", "get"},
		{"GET", "/apis/cert-manager.io/v1/clusterissuers/ca", "", "get"},
		{"GET", "/api/v1/namespaces/ns/secrets?labelSelector=x", "", "list"},
		{"GET", "/api/v1/namespaces/ns/secrets?watch=true", "", "watch"},
		{"GET", "/api/v1/namespaces", "", "list"},
		{"GET", "/api/v1/namespaces/ns", "", "get"},
		{"GET", "/version", "", "get"},
		{"GET", "/apis/cert-manager.io/v1", "", "get"},
		{"POST", "/apis/cert-manager.io/v1/namespaces/ns/certificaterequests", "application/json", "create"},
		{"POST", "/api/v1/namespaces/ns/events", "application/vnd.kubernetes.protobuf", "create"},
		{"PUT", "/apis/cert-manager.io/v1/namespaces/ns/certificates/web/status", "application/json", "update"},
		{"PATCH", "/api/v1/namespaces/ns/secrets/web-tls?fieldManager=x", "application/apply-patch+yaml", "apply"},
		{"PATCH", "/apis/cert-manager.io/v1/namespaces/ns/certificates/web", "application/merge-patch+json", "patch"},
		{"DELETE", "/api/v1/namespaces/ns/secrets/web-next-key", "", "delete"},
		{"DELETE", "/api/v1/namespaces/ns/secrets", "", "deletecollection"},
	} {
		req := httptest.NewRequest(c.method, "http://api.test"+c.url, nil)
		if c.contentType != "" {
			req.Header.Set("Content-Type", c.contentType)
		}
		if got := verbOf(req); got != c.want {
			t.Errorf("%s %s (%s): verb %q, want %q", c.method, c.url, c.contentType, got, c.want)
		}
	}
}

// TestAPIRequests counts through the wrapped transport, failed requests
// included.
func TestAPIRequests(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusConflict)
		}
	}))
	defer srv.Close()
	a := NewAPIRequests()
	client := &http.Client{Transport: a.Wrap(http.DefaultTransport)}
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/namespaces/ns/secrets"},
		{"GET", "/api/v1/namespaces/ns/secrets"},
		{"GET", "/api/v1/namespaces/ns/secrets/s"},
		{"POST", "/api/v1/namespaces/ns/secrets"},
	} {
		req, _ := http.NewRequest(r.method, srv.URL+r.path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	want := `
# HELP certsweep_sweep_api_requests_total Kubernetes API requests sent by this process, by verb (get, list, watch, create, update, patch, apply, delete, deletecollection), whatever their answer.
# TYPE certsweep_sweep_api_requests_total counter
certsweep_sweep_api_requests_total{verb="create"} 1
certsweep_sweep_api_requests_total{verb="get"} 1
certsweep_sweep_api_requests_total{verb="list"} 2
`
	if err := testutil.CollectAndCompare(a, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}
