package metrics

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestACMERequestsCountsEveryRequest: each request counts once under its
// scheme, host, action, method and status, 999 when there was no
// response; the summary has the same label sets. (Durations are not
// asserted.) A request outside an ACME client call is unnamed_action, as
// in cert-manager; the client's own actions are tested in issuance/acme.
func TestACMERequestsCountsEveryRequest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	a := NewACMERequests()
	client := &http.Client{Transport: a.Wrap(http.DefaultTransport)}
	for _, path := range []string{"/dir", "/dir", "/missing"} {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	failing := &http.Client{Transport: a.Wrap(roundTripperFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("connection refused")
	}))}
	if _, err := failing.Head("https://ca.example:14000/nonce"); err == nil {
		t.Fatal("want the transport's error")
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	want := `
# HELP certmanager_http_acme_client_request_count Total number of outbound ACME HTTP requests. Labels: scheme (http/https), host (ACME host), action (logical ACME operation), method (HTTP verb), status (HTTP status code).
# TYPE certmanager_http_acme_client_request_count counter
certmanager_http_acme_client_request_count{action="unnamed_action",host="` + host + `",method="GET",scheme="http",status="200"} 2
certmanager_http_acme_client_request_count{action="unnamed_action",host="` + host + `",method="GET",scheme="http",status="404"} 1
certmanager_http_acme_client_request_count{action="unnamed_action",host="ca.example:14000",method="HEAD",scheme="https",status="999"} 1
`
	if err := testutil.CollectAndCompare(a, strings.NewReader(want), "certmanager_http_acme_client_request_count"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(a, "certmanager_http_acme_client_request_duration_seconds"); n != 3 {
		t.Errorf("%d duration summaries, want one per label set (3)", n)
	}
}
