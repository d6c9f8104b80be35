package harness

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"maps"
	"mime"
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
// HTTPS port, counting requests and their answers and injecting faults. It
// passes the Host header through, so Pebble names every URL (directory,
// orders, nonces) after the proxy and the client never talks to Pebble
// directly; Pebble's check of each JWS "url" against the request still
// holds.
type ACMEProxy struct {
	srv   *http.Server
	addr  string
	caPEM []byte

	mu        sync.Mutex
	faults    []ACMEFault
	injected  []int
	requests  map[string]int // "METHOD /path-without-ids" → count
	total     int
	responses map[ACMEResponse]int
}

// ACMEResponse is a kind of answer the proxy gave, Pebble's or a fault.
type ACMEResponse struct {
	// Method and Endpoint are the request's, Endpoint as in Requests: the
	// path's first segment ("/order-plz").
	Method   string
	Endpoint string
	// Status is the HTTP status code; 502 when Pebble could not be reached.
	Status int
	// Problem is the type of an RFC 8555 problem document answered
	// (application/problem+json), without "urn:ietf:params:acme:error:"
	// ("badNonce", "rateLimited"); "" when the answer is no problem document.
	Problem string
}

// Resource is the RFC 8555 name of the endpoint ("newOrder" for
// "/order-plz"), or the endpoint itself if Pebble's paths have no such
// name.
func (r ACMEResponse) Resource() string {
	if name, ok := pebbleResources[r.Endpoint]; ok {
		return name
	}
	return r.Endpoint
}

// pebbleResources names Pebble's ACME endpoints (wfe/wfe.go) by their RFC
// 8555 (and ARI) resource.
var pebbleResources = map[string]string{
	"/dir":                    "directory",
	"/nonce-plz":              "newNonce",
	"/sign-me-up":             "newAccount",
	"/my-account":             "account",
	"/order-plz":              "newOrder",
	"/my-order":               "order",
	"/finalize-order":         "finalize",
	"/authZ":                  "authz",
	"/chalZ":                  "challenge",
	"/certZ":                  "certificate",
	"/draft-ietf-acme-ari-03": "renewalInfo",
	"/revoke-cert":            "revokeCert",
	"/rollover-account-key":   "keyChange",
	"/list-orderz":            "orders",
}

// acmeErrorPrefix starts the type of every ACME problem document.
const acmeErrorPrefix = "urn:ietf:params:acme:error:"

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
	px := &ACMEProxy{addr: ln.Addr().String(), caPEM: caPEM, requests: map[string]int{}, responses: map[ACMEResponse]int{}}
	px.SetFaults(faults...)
	// Pebble's client's transport, but keeping as many connections open as
	// a client with many orders in flight makes.
	transport := p.HTTPClient().Transport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	upstream := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: target.Scheme, Host: target.Host})
			r.Out.Host = r.In.Host // Pebble builds its URLs from Host
		},
		Transport: transport,
	}
	px.srv = &http.Server{
		Handler:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { px.serve(w, r, upstream) }),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
	}
	go func() { _ = px.srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() {
		_ = px.srv.Close()
		transport.CloseIdleConnections()
	})
	return px
}

func (px *ACMEProxy) serve(rw http.ResponseWriter, r *http.Request, upstream http.Handler) {
	w := &answer{ResponseWriter: rw}
	defer px.record(r, w) // also when the ReverseProxy aborts a copy by panicking
	if f, ok := px.match(r); ok {
		w.Header().Set("Content-Type", "application/problem+json")
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		w.WriteHeader(f.Status)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"type": acmeErrorPrefix + f.ProblemType, "detail": f.Detail, "status": f.Status,
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

// record counts the answer a gave to r.
func (px *ACMEProxy) record(r *http.Request, a *answer) {
	resp := ACMEResponse{Method: r.Method, Endpoint: pathKind(r.URL.Path), Status: a.status}
	if resp.Status == 0 {
		resp.Status = http.StatusOK // nothing written: net/http answers 200
	}
	if a.isProblem {
		resp.Problem = problemType(a.body)
	}
	px.mu.Lock()
	defer px.mu.Unlock()
	px.responses[resp]++
}

// maxProblemBody bounds how much of a problem document the proxy reads
// for its type; bodies of other answers are not kept at all.
const maxProblemBody = 16 << 10

// answer is the ResponseWriter of one request, noting the status and the
// start of the body of a problem document on its way to the client.
type answer struct {
	http.ResponseWriter
	status    int
	isProblem bool
	body      []byte
}

func (a *answer) WriteHeader(code int) {
	if a.status == 0 && code >= 200 { // 1xx are informational, not the answer
		a.status = code
		mt, _, _ := mime.ParseMediaType(a.Header().Get("Content-Type"))
		a.isProblem = mt == "application/problem+json"
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *answer) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.WriteHeader(http.StatusOK)
	}
	if a.isProblem && len(a.body) < maxProblemBody {
		a.body = append(a.body, b[:min(len(b), maxProblemBody-len(a.body))]...)
	}
	return a.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (the ReverseProxy's flushes) reach
// the connection's writer.
func (a *answer) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// problemType is the ACME problem type of a problem document ("badNonce"),
// the type in full if it is not an ACME one, or "" if there is none. It
// reads the document up to its "type" member, which a document cut short
// at maxProblemBody still has if that member comes first (Pebble's does).
func problemType(doc []byte) string {
	dec := json.NewDecoder(bytes.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return ""
		}
		if key == "type" {
			var typ string
			if dec.Decode(&typ) != nil {
				return ""
			}
			return strings.TrimPrefix(typ, acmeErrorPrefix)
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
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

// Responses counts the answers the proxy has given by kind, faults
// included; the map is a copy.
func (px *ACMEProxy) Responses() map[ACMEResponse]int {
	px.mu.Lock()
	defer px.mu.Unlock()
	return maps.Clone(px.responses)
}
