package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certsweep/certsweep/issuance/acme"
)

// ACMERequests counts and times the HTTP requests certsweep's ACME clients
// send, as cert-manager v1.21 does on its ACME client's transport
// (pkg/acme/client/http.go): certmanager_http_acme_client_request_count
// and the summary certmanager_http_acme_client_request_duration_seconds,
// labelled scheme, host, action (the logical ACME operation, by
// cert-manager's names: see acme.Action), method and status (the HTTP
// status code, 999 when there was no response). Every request counts:
// nonce fetches and badNonce retries too.
type ACMERequests struct {
	count    *prometheus.CounterVec
	duration *prometheus.SummaryVec
	// now times the requests; tests leave it, nothing asserts durations.
	now func() time.Time
}

var acmeRequestLabels = []string{"scheme", "host", "action", "method", "status"}

// NewACMERequests returns a counter with no requests yet.
func NewACMERequests() *ACMERequests {
	return &ACMERequests{
		count: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "certmanager", Subsystem: "http", Name: "acme_client_request_count",
			Help: "Total number of outbound ACME HTTP requests. Labels: scheme (http/https), host (ACME host), " +
				"action (logical ACME operation), method (HTTP verb), status (HTTP status code).",
		}, acmeRequestLabels),
		duration: prometheus.NewSummaryVec(prometheus.SummaryOpts{
			Namespace: "certmanager", Subsystem: "http", Name: "acme_client_request_duration_seconds",
			Help: "Latency of outbound ACME HTTP requests in seconds. Summary quantiles approximate request distribution. " +
				"Labels: scheme (http/https), host (ACME host), action (logical ACME operation), method (HTTP verb), " +
				"status (HTTP status code). Use with acme_client_request_count for rate/error analysis.",
			Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001},
		}, acmeRequestLabels),
		now: time.Now,
	}
}

func (a *ACMERequests) Describe(ch chan<- *prometheus.Desc) {
	a.count.Describe(ch)
	a.duration.Describe(ch)
}

func (a *ACMERequests) Collect(ch chan<- prometheus.Metric) {
	a.count.Collect(ch)
	a.duration.Collect(ch)
}

// Wrap returns next with every request counted and timed; it fits
// job.Options.ACMETransport.
func (a *ACMERequests) Wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		start := a.now()
		resp, err := next.RoundTrip(req)
		status := 999 // cert-manager's value for "no response"
		if resp != nil {
			status = resp.StatusCode
		}
		labels := []string{req.URL.Scheme, req.URL.Host, acme.Action(req), req.Method, strconv.Itoa(status)}
		a.duration.WithLabelValues(labels...).Observe(a.now().Sub(start).Seconds())
		a.count.WithLabelValues(labels...).Inc()
		return resp, err
	})
}
