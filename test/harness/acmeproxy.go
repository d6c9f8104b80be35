package harness

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// ACMEFault is an answer the ACME proxy gives instead of Pebble's: a CA
// that rate-limits, refuses or is down, which Pebble cannot be told to be.
type ACMEFault struct {
	// Method and PathSuffix select the requests (e.g. "POST" and
	// "/order-plz", Pebble's newOrder); an empty Method matches any.
	Method     string
	PathSuffix string
	// Status and ProblemType make the answer: an RFC 8555 problem document
	// ("urn:ietf:params:acme:error:" + ProblemType) with Detail.
	Status      int
	ProblemType string
	Detail      string
	// RetryAfter, in seconds, is sent as the Retry-After header when set.
	RetryAfter int
	// Max bounds how many requests get the fault; 0 means all of them.
	Max int
}

// ACMEProxy stands between an ACME client and Pebble on its own loopback
// HTTPS port, counting requests and injecting faults. It passes the Host
// header through, so Pebble names every URL (directory, orders, nonces)
// after the proxy and the client never talks to Pebble directly; Pebble's
// check of each JWS "url" against the request still holds.
type ACMEProxy struct {
	srv   *http.Server
	addr  string
	caPEM []byte

	mu       sync.Mutex
	faults   []ACMEFault
	injected []int
	requests map[string]int // "METHOD /path-without-ids" → count
	total    int
}

// StartACMEProxy starts a proxy in front of p with the given faults.
func StartACMEProxy(t testing.TB, p *Pebble, faults ...ACMEFault) *ACMEProxy {
	t.Helper()
	caPEM, certPEM, keyPEM, err := newServingCert()
	if err != nil {
		t.Fatalf("acme proxy: serving certificate: %v", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("acme proxy: serving key pair: %v", err)
	}
	target, err := url.Parse(p.DirectoryURL())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("acme proxy: listen: %v", err)
	}
	px := &ACMEProxy{addr: ln.Addr().String(), caPEM: caPEM, requests: map[string]int{}}
	px.SetFaults(faults...)
	upstream := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: target.Scheme, Host: target.Host})
			r.Out.Host = r.In.Host // Pebble builds its URLs from Host
		},
		Transport: p.HTTPClient().Transport,
	}
	px.srv = &http.Server{
		Handler:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { px.serve(w, r, upstream) }),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
	}
	go func() { _ = px.srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = px.srv.Close() })
	return px
}

func (px *ACMEProxy) serve(w http.ResponseWriter, r *http.Request, upstream http.Handler) {
	if f, ok := px.match(r); ok {
		w.Header().Set("Content-Type", "application/problem+json")
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		w.WriteHeader(f.Status)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"type": "urn:ietf:params:acme:error:" + f.ProblemType, "detail": f.Detail, "status": f.Status,
		})
		return
	}
	upstream.ServeHTTP(w, r)
}

// match counts r and reports the fault to answer it with, if any.
func (px *ACMEProxy) match(r *http.Request) (ACMEFault, bool) {
	px.mu.Lock()
	defer px.mu.Unlock()
	px.total++
	px.requests[r.Method+" "+pathKind(r.URL.Path)]++
	for i, f := range px.faults {
		if (f.Method == "" || f.Method == r.Method) && strings.HasSuffix(r.URL.Path, f.PathSuffix) && (f.Max == 0 || px.injected[i] < f.Max) {
			px.injected[i]++
			return f, true
		}
	}
	return ACMEFault{}, false
}

// pathKind is a path without its object IDs: Pebble's paths are
// "/<endpoint>/<id>...", so the first segment names the endpoint.
func pathKind(p string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	return "/" + seg
}

// SetFaults replaces the faults (none: a transparent proxy).
func (px *ACMEProxy) SetFaults(faults ...ACMEFault) {
	px.mu.Lock()
	defer px.mu.Unlock()
	px.faults = faults
	px.injected = make([]int, len(faults))
}

// DirectoryURL is the proxy's ACME directory, for spec.acme.server.
func (px *ACMEProxy) DirectoryURL() string { return fmt.Sprintf("https://%s/dir", px.addr) }

// CABundle is the PEM of the CA of the proxy's serving certificate, for
// spec.acme.caBundle.
func (px *ACMEProxy) CABundle() []byte { return px.caPEM }

// Requests is how many requests for an endpoint (method and first path
// segment, e.g. "POST /order-plz") the proxy has seen, faults included.
func (px *ACMEProxy) Requests(methodAndEndpoint string) int {
	px.mu.Lock()
	defer px.mu.Unlock()
	return px.requests[methodAndEndpoint]
}

// Total is how many requests the proxy has seen.
func (px *ACMEProxy) Total() int {
	px.mu.Lock()
	defer px.mu.Unlock()
	return px.total
}

// Injected is how many requests got a fault.
func (px *ACMEProxy) Injected() int {
	px.mu.Lock()
	defer px.mu.Unlock()
	n := 0
	for _, c := range px.injected {
		n += c
	}
	return n
}
