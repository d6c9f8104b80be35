package metrics

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// APIRequests counts the Kubernetes API requests this process sends, by
// verb, through the round tripper Wrap puts on its clients. It is a
// prometheus.Collector of certsweep_sweep_api_requests_total.
type APIRequests struct {
	total *prometheus.CounterVec
}

// NewAPIRequests returns a counter with no requests yet.
func NewAPIRequests() *APIRequests {
	return &APIRequests{total: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "certsweep_sweep_api_requests_total",
		Help: "Kubernetes API requests sent by this process, by verb (get, list, watch, create, update, patch, apply, delete, deletecollection), whatever their answer.",
	}, []string{"verb"})}
}

func (a *APIRequests) Describe(ch chan<- *prometheus.Desc) { a.total.Describe(ch) }
func (a *APIRequests) Collect(ch chan<- prometheus.Metric) { a.total.Collect(ch) }

// Wrap returns rt with every request counted; it fits rest.Config.Wrap.
func (a *APIRequests) Wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		a.total.WithLabelValues(verbOf(req)).Inc()
		return rt.RoundTrip(req)
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// verbOf is the Kubernetes verb of an API request, as the API server names
// it in its own apiserver_request_total, lower-cased: a GET is a get when
// the path names one object, a list when it names a collection, a watch
// with ?watch; a server-side apply is apply, any other PATCH patch. A
// request outside the resource paths (discovery, /version) counts by its
// method.
func verbOf(req *http.Request) string {
	named, resource := namesObject(req.URL.Path)
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		switch {
		case !resource:
			return "get"
		case isWatch(req):
			return "watch"
		case named:
			return "get"
		}
		return "list"
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		if strings.HasPrefix(req.Header.Get("Content-Type"), "application/apply-patch") {
			return "apply"
		}
		return "patch"
	case http.MethodDelete:
		if resource && !named {
			return "deletecollection"
		}
		return "delete"
	}
	return strings.ToLower(req.Method)
}

func isWatch(req *http.Request) bool {
	w := req.URL.Query().Get("watch")
	return w == "true" || w == "1"
}

// namesObject says whether an API path is a resource path (under /api/v1
// or /apis/GROUP/VERSION) and whether it names one object rather than a
// collection:
//
//	/api/v1/namespaces                             collection
//	/api/v1/namespaces/ns                          object (the namespace)
//	/api/v1/namespaces/ns/secrets                  collection
//	/apis/cert-manager.io/v1/namespaces/ns/certificates/c/status  object
//	/apis/cert-manager.io/v1/clusterissuers/ci     object
func namesObject(path string) (named, resource bool) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		parts = parts[3:]
	default:
		return false, false
	}
	if len(parts) > 2 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	return len(parts) >= 2, true
}
