package harness

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"

	"k8s.io/client-go/rest"
)

// Request verbs as recorded by RequestCounter, following the Kubernetes
// audit/RBAC vocabulary (upper-cased).
const (
	VerbGet              = "GET"
	VerbList             = "LIST" // GET on a collection
	VerbWatch            = "WATCH"
	VerbCreate           = "CREATE" // POST
	VerbUpdate           = "UPDATE" // PUT
	VerbPatch            = "PATCH"
	VerbDelete           = "DELETE"
	VerbDeleteCollection = "DELETECOLLECTION" // DELETE on a collection
)

// Request is one API request seen by a RequestCounter.
type Request struct {
	Verb        string
	Method      string
	Path        string // URL path without query
	Namespace   string
	Resource    string // "certificates.cert-manager.io", "secrets"; the path for non-resource URLs
	Name        string
	Subresource string
	StatusCode  int // 0 if the request failed without a response
}

// Key is the aggregation key used by Snapshot.ByResource:
// "VERB resource[/subresource]", e.g. "PATCH certificates.cert-manager.io/status".
func (r Request) Key() string {
	res := r.Resource
	if r.Subresource != "" {
		res += "/" + r.Subresource
	}
	return r.Verb + " " + res
}

// IsWrite reports whether the request mutates state.
func (r Request) IsWrite() bool {
	switch r.Verb {
	case VerbCreate, VerbUpdate, VerbPatch, VerbDelete, VerbDeleteCollection:
		return true
	}
	return false
}

func (r Request) String() string {
	s := r.Verb + " " + r.Path
	if r.StatusCode != 0 {
		s += fmt.Sprintf(" -> %d", r.StatusCode)
	}
	return s
}

// RequestCounter records the requests made through a config returned by
// WrapCounting. It is safe for concurrent use.
type RequestCounter struct {
	mu   sync.Mutex
	reqs []*Request
}

// CountSnapshot is a point-in-time copy of a RequestCounter.
type CountSnapshot struct {
	Total      int
	ByVerb     map[string]int // VerbList -> 3
	ByResource map[string]int // Request.Key() -> count
	Requests   []Request      // in the order they were sent
}

// Writes returns the requests that mutate state.
func (s CountSnapshot) Writes() []Request {
	var w []Request
	for _, r := range s.Requests {
		if r.IsWrite() {
			w = append(w, r)
		}
	}
	return w
}

// String renders the counts sorted by key, for test failure messages.
func (s CountSnapshot) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests", s.Total)
	for _, k := range slices.Sorted(maps.Keys(s.ByResource)) {
		fmt.Fprintf(&b, "\n  %4d %s", s.ByResource[k], k)
	}
	return b.String()
}

// WrapCounting returns a copy of cfg whose transport records every request in
// the returned counter. Use it to assert e.g. that a no-op run makes no write
// requests: `if n := c.Writes(); n != 0 { t.Errorf("%v", c.Snapshot().Writes()) }`.
func WrapCounting(cfg *rest.Config) (*rest.Config, *RequestCounter) {
	c := &RequestCounter{}
	out := rest.CopyConfig(cfg)
	// Chain rather than replace, so an existing wrapper (e.g. from another
	// WrapCounting) keeps working.
	out.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return &countingTransport{next: rt, counter: c}
	})
	return out, c
}

// Writes returns the number of CREATE, UPDATE, PATCH, DELETE and
// DELETECOLLECTION requests so far.
func (c *RequestCounter) Writes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.reqs {
		if r.IsWrite() {
			n++
		}
	}
	return n
}

// Count returns the number of requests with the given verb so far.
func (c *RequestCounter) Count(verb string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.reqs {
		if r.Verb == verb {
			n++
		}
	}
	return n
}

// Snapshot returns a copy of everything recorded so far.
func (c *RequestCounter) Snapshot() CountSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := CountSnapshot{
		Total:      len(c.reqs),
		ByVerb:     map[string]int{},
		ByResource: map[string]int{},
		Requests:   make([]Request, 0, len(c.reqs)),
	}
	for _, r := range c.reqs {
		s.ByVerb[r.Verb]++
		s.ByResource[r.Key()]++
		s.Requests = append(s.Requests, *r)
	}
	return s
}

// Reset forgets everything recorded so far, e.g. after a test's setup phase.
func (c *RequestCounter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = nil
}

func (c *RequestCounter) record(r *Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = append(c.reqs, r)
}

func (c *RequestCounter) setStatus(r *Request, code int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r.StatusCode = code
}

type countingTransport struct {
	next    http.RoundTripper
	counter *RequestCounter
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// Record before sending so a request counts even if it hangs (a watch)
	// or fails; attach the status once known.
	r := classify(req)
	t.counter.record(r)
	resp, err := t.next.RoundTrip(req)
	if resp != nil {
		t.counter.setStatus(r, resp.StatusCode)
	}
	return resp, err
}

// classify maps an HTTP request to the Kubernetes verb and resource by parsing
// the API path: /api/v1/... or /apis/<group>/<version>/..., then optional
// namespaces/<ns>/, then <resource>[/<name>[/<subresource>]].
func classify(req *http.Request) *Request {
	r := &Request{Method: req.Method, Path: req.URL.Path}
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	group := ""
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		group = parts[1]
		parts = parts[3:]
	default:
		parts = nil // discovery, /version, /openapi, /readyz ...
	}
	watch := req.URL.Query().Get("watch")
	isWatch := watch == "true" || watch == "1"
	if len(parts) > 0 && parts[0] == "watch" { // deprecated /watch/ prefix
		isWatch = true
		parts = parts[1:]
	}
	// namespaces/<ns>/<resource>... is namespaced, except namespaces/<name>/
	// {status,finalize}, which are subresources of the Namespace itself.
	if len(parts) >= 3 && parts[0] == "namespaces" && !(len(parts) == 3 && (parts[2] == "status" || parts[2] == "finalize")) {
		r.Namespace = parts[1]
		parts = parts[2:]
	}
	if len(parts) == 0 {
		r.Resource = req.URL.Path
		r.Verb = nonResourceVerb(req.Method)
		return r
	}
	r.Resource = parts[0]
	if group != "" {
		r.Resource += "." + group
	}
	if len(parts) >= 2 {
		r.Name = parts[1]
	}
	if len(parts) >= 3 {
		r.Subresource = strings.Join(parts[2:], "/")
	}
	collection := r.Name == ""
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		switch {
		case isWatch:
			r.Verb = VerbWatch
		case collection:
			r.Verb = VerbList
		default:
			r.Verb = VerbGet
		}
	case http.MethodPost:
		r.Verb = VerbCreate
	case http.MethodPut:
		r.Verb = VerbUpdate
	case http.MethodPatch:
		r.Verb = VerbPatch
	case http.MethodDelete:
		if collection {
			r.Verb = VerbDeleteCollection
		} else {
			r.Verb = VerbDelete
		}
	default:
		r.Verb = req.Method
	}
	return r
}

func nonResourceVerb(method string) string {
	switch method {
	case http.MethodPost:
		return VerbCreate
	case http.MethodPut:
		return VerbUpdate
	case http.MethodPatch:
		return VerbPatch
	case http.MethodDelete:
		return VerbDelete
	}
	return VerbGet
}
