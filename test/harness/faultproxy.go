package harness

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
)

// FaultKind is a kind of failure a FaultProxy injects.
type FaultKind string

const (
	// FaultTooManyRequests answers 429 with a Retry-After header and a
	// TooManyRequests Status, without forwarding. client-go honours
	// Retry-After itself (up to 10 retries), so with Max unset and Rate 1
	// the caller sees apierrors.IsTooManyRequests only after client-go gives
	// up; with a small Max client-go usually absorbs the fault.
	FaultTooManyRequests FaultKind = "TooManyRequests"
	// FaultInternalError answers 500 with an InternalError Status
	// (apierrors.IsInternalError), without forwarding.
	FaultInternalError FaultKind = "InternalError"
	// FaultServiceUnavailable answers 503 with a ServiceUnavailable Status
	// (apierrors.IsServiceUnavailable) and no Retry-After, without
	// forwarding, so client-go does not retry it.
	FaultServiceUnavailable FaultKind = "ServiceUnavailable"
	// FaultResetBeforeForward reads the request and then resets the client's
	// TCP connection (RST, not FIN) without forwarding: the write never
	// reached the apiserver, the client sees "connection reset by peer".
	FaultResetBeforeForward FaultKind = "ResetBeforeForward"
	// FaultResetAfterForward forwards the request, reads the apiserver's
	// complete response (so the write has happened), then resets the
	// client's TCP connection instead of answering. This is the ambiguous
	// failure a client must cope with: an error although the change is
	// persisted.
	FaultResetAfterForward FaultKind = "ResetAfterForward"
	// FaultSlow forwards the request, reads the complete response (the write
	// happens) and holds it for FaultRule.Delay before relaying it. With the
	// client timeout of RESTConfig shorter than the delay, the client sees a
	// timeout error although the change is persisted. The hold ends early
	// when the client gives up, so the proxy never waits longer than Delay.
	FaultSlow FaultKind = "Slow"
	// FaultConflict answers 409 with a Conflict Status (apierrors.IsConflict),
	// without forwarding. It only applies to writes (CREATE, UPDATE, PATCH,
	// DELETE, DELETECOLLECTION).
	FaultConflict FaultKind = "Conflict"
	// FaultExpiredContinue answers 410 with an Expired Status
	// (apierrors.IsResourceExpired), as the apiserver does once etcd has
	// compacted the revision a continue token refers to, without
	// forwarding. It only applies to LIST requests carrying a continue
	// token, i.e. the second and later pages of a paginated list.
	FaultExpiredContinue FaultKind = "ExpiredContinue"
)

// FaultKinds lists every FaultKind, e.g. for table-driven tests.
var FaultKinds = []FaultKind{
	FaultTooManyRequests, FaultInternalError, FaultServiceUnavailable,
	FaultResetBeforeForward, FaultResetAfterForward, FaultSlow,
	FaultConflict, FaultExpiredContinue,
}

const (
	// FaultClientTimeout is the rest.Config.Timeout of FaultProxy.RESTConfig.
	// It is generous for a loaded CI machine, where an apiserver request
	// normally takes milliseconds, yet keeps FaultSlow tests short.
	FaultClientTimeout = 3 * time.Second
	// DefaultSlowDelay is FaultSlow's hold when FaultRule.Delay is unset:
	// past FaultClientTimeout so the client times out, and bounded.
	DefaultSlowDelay = FaultClientTimeout + 2*time.Second
	// DefaultFaultSeed seeds the rate decisions unless $CERTSWEEP_FAULT_SEED
	// is set or SetSeed is called.
	DefaultFaultSeed uint64 = 1
)

// FaultRule selects requests to fail. A request matches when its verb is in
// Verbs and its resource in Resources (empty means any); a matching request
// then gets the fault with probability Rate, drawn from the proxy's seeded
// generator, until the rule has fired Max times.
//
// WATCH requests and non-resource requests (discovery, /version, /readyz)
// never match: certsweep does not watch, and failing discovery would test
// client-go rather than certsweep.
type FaultRule struct {
	Kind FaultKind
	// Verbs are Verb* constants (VerbGet, VerbList, VerbCreate, ...),
	// matched case-insensitively. Empty matches every verb but WATCH.
	Verbs []string
	// Resources are "resource" or "resource/subresource", with the resource
	// either plain ("certificates", "secrets") or group-qualified
	// ("certificates.cert-manager.io"). "certificates" matches only the
	// main resource, "certificates/status" only the status subresource,
	// "certificates/*" both, and "*" any resource. Empty matches any
	// resource.
	Resources []string
	// Rate is the probability in (0, 1] that a matching request gets the
	// fault. 0 is rejected because such a rule could never fire, which is
	// almost certainly a mistake (an omitted field) rather than intent.
	Rate float64
	// Max caps how many times this rule fires; 0 means no cap. Counting
	// restarts with SetRules.
	Max int
	// Delay is FaultSlow's hold; 0 means DefaultSlowDelay.
	Delay time.Duration
	// RetryAfter is the Retry-After value, in whole seconds as the header
	// requires, sent with FaultTooManyRequests. 0 (the default) makes
	// client-go retry at once, keeping tests fast.
	RetryAfter int
}

func (r FaultRule) validate() error {
	if !slices.Contains(FaultKinds, r.Kind) {
		return fmt.Errorf("fault rule: unknown kind %q", r.Kind)
	}
	if !(r.Rate > 0 && r.Rate <= 1) {
		return fmt.Errorf("fault rule %s: rate %v is not in (0, 1]", r.Kind, r.Rate)
	}
	if r.Max < 0 || r.Delay < 0 || r.RetryAfter < 0 {
		return fmt.Errorf("fault rule %s: Max, Delay and RetryAfter must not be negative", r.Kind)
	}
	return nil
}

// matches reports whether req is eligible for the rule, ignoring Rate and Max.
func (r FaultRule) matches(req *Request, hasContinue bool) bool {
	if req.Verb == VerbWatch || strings.HasPrefix(req.Resource, "/") {
		return false
	}
	switch r.Kind {
	case FaultConflict:
		if !req.IsWrite() {
			return false
		}
	case FaultExpiredContinue:
		if req.Verb != VerbList || !hasContinue {
			return false
		}
	}
	if len(r.Verbs) > 0 && !slices.ContainsFunc(r.Verbs, func(v string) bool { return strings.EqualFold(v, req.Verb) }) {
		return false
	}
	if len(r.Resources) == 0 {
		return true
	}
	plain, _, _ := strings.Cut(req.Resource, ".")
	for _, want := range r.Resources {
		res, sub, hasSub := strings.Cut(want, "/")
		if res != "*" && res != req.Resource && res != plain {
			continue
		}
		if res == "*" && !hasSub || sub == "*" || sub == req.Subresource {
			return true
		}
	}
	return false
}

// FaultEvent records one injected fault.
type FaultEvent struct {
	Kind FaultKind
	// Request is the faulted request. StatusCode is the injected status, or
	// for FaultResetAfterForward and FaultSlow the apiserver's status (what
	// the write really did), or 0 for FaultResetBeforeForward.
	Request Request
}

func (e FaultEvent) String() string { return string(e.Kind) + ": " + e.Request.String() }

// FaultStats counts what a FaultProxy did.
type FaultStats struct {
	// Requests is every request the proxy received.
	Requests int
	// Forwarded is the requests sent to the apiserver, including those later
	// reset (FaultResetAfterForward) or delayed (FaultSlow).
	Forwarded int
	// UpstreamErrors counts forwards that failed without a response (e.g.
	// the apiserver is restarting); the proxy resets the client connection
	// then, as a direct connection would have failed.
	UpstreamErrors int
	// Faults counts injected faults by kind.
	Faults map[FaultKind]int
	// Events lists the injected faults in the order they were decided.
	Events []FaultEvent
}

// Total returns the number of injected faults of all kinds.
func (s FaultStats) Total() int {
	n := 0
	for _, c := range s.Faults {
		n += c
	}
	return n
}

// String renders the stats for test failure messages.
func (s FaultStats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests, %d forwarded, %d upstream errors, %d faults", s.Requests, s.Forwarded, s.UpstreamErrors, s.Total())
	for _, k := range slices.Sorted(maps.Keys(s.Faults)) {
		fmt.Fprintf(&b, "\n  %4d %s", s.Faults[k], k)
	}
	for _, e := range s.Events {
		fmt.Fprintf(&b, "\n  %v", e)
	}
	return b.String()
}

// FaultProxy is an in-process HTTPS proxy in front of a ControlPlane's
// kube-apiserver that injects faults according to FaultRules. Clients reach it
// through RESTConfig; it authenticates to the apiserver as the harness admin
// unless the client sends its own Authorization header, and passes
// impersonation headers through. It is safe for concurrent use.
//
// It speaks HTTP/1.1 only (no HTTP/2), so that a reset affects exactly one
// request, as it would for one HTTP/1.1 connection, rather than every stream
// multiplexed on a shared connection, and because resets need
// http.Hijacker, which HTTP/2 does not offer.
//
// Decisions are deterministic for a given seed and request order: each
// matching rule (in order, first firing rule wins) with 0 < Rate < 1 draws one
// number from a math/rand generator. Concurrent clients make the order, and
// so the outcome, vary between runs.
//
// Note that retries below the caller can hide or multiply faults: net/http
// transparently resends an idempotent request (GET) whose reused connection
// was reset, and client-go retries GETs after resets and any request after a
// 429 with Retry-After. Writes (POST/PUT/PATCH/DELETE) reach the caller as
// errors.
type FaultProxy struct {
	url       string
	caPEM     []byte
	upstream  string
	transport http.RoundTripper
	srv       *http.Server

	mu     sync.Mutex
	rules  []FaultRule
	fired  []int // per rule, parallel to rules
	seed   uint64
	rng    *mathrand.Rand
	stats  FaultStats
	gen    int // incremented by ResetStats, so late status updates skip dropped events
	closed bool
	active sync.WaitGroup // handlers in flight; Add only under mu while !closed
}

// StartFaultProxy starts a FaultProxy in front of cp's apiserver, on a free
// loopback port, injecting faults per rules. It is stopped when the test ends.
// The seed is DefaultFaultSeed, or $CERTSWEEP_FAULT_SEED to explore others.
func StartFaultProxy(t testing.TB, cp *ControlPlane, rules ...FaultRule) *FaultProxy {
	t.Helper()
	p, err := newFaultProxy(cp)
	if err != nil {
		t.Fatalf("start fault proxy: %v", err)
	}
	t.Cleanup(p.close)
	if s := os.Getenv("CERTSWEEP_FAULT_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("start fault proxy: parse $CERTSWEEP_FAULT_SEED: %v", err)
		}
		p.SetSeed(seed)
		t.Logf("harness: fault proxy seed %d (from $CERTSWEEP_FAULT_SEED)", seed)
	}
	if err := p.setRules(rules); err != nil {
		t.Fatalf("start fault proxy: %v", err)
	}
	return p
}

func newFaultProxy(cp *ControlPlane) (*FaultProxy, error) {
	// The admin config's transport verifies the apiserver's self-signed
	// certificate and adds the bearer token only when the request has no
	// Authorization header of its own.
	transport, err := rest.TransportFor(cp.Config)
	if err != nil {
		return nil, fmt.Errorf("build apiserver transport: %w", err)
	}
	cert, caPEM, err := selfSignedLoopbackCert()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	p := &FaultProxy{
		url:       "https://" + ln.Addr().String(),
		caPEM:     caPEM,
		upstream:  strings.TrimSuffix(cp.URL, "/"),
		transport: transport,
		seed:      DefaultFaultSeed,
		stats:     FaultStats{Faults: map[FaultKind]int{}},
	}
	p.rng = newRand(p.seed)
	p.srv = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: time.Minute,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"http/1.1"},
			MinVersion:   tls.VersionTLS12,
		},
		// A non-nil empty map disables HTTP/2; see FaultProxy.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	go func() {
		// ServeTLS returns ErrServerClosed after close; anything else
		// surfaces as failing client requests, with the cause logged here.
		if err := p.srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "harness: fault proxy: serve: %v\n", err)
		}
	}()
	return p, nil
}

// close stops accepting requests, closes client connections and waits for
// handlers, which are bounded: closing a connection cancels its request's
// context, which ends forwards and FaultSlow holds.
func (p *FaultProxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	_ = p.srv.Close()
	p.active.Wait()
}

// URL returns the proxy's base URL, https://127.0.0.1:<port>.
func (p *FaultProxy) URL() string { return p.url }

// RESTConfig returns a client config for the proxy: it trusts the proxy's
// certificate, carries no credentials (the proxy adds the admin's), allows
// 1000 QPS like the harness's admin config, and has Timeout
// FaultClientTimeout so FaultSlow surfaces as a timeout. Set Impersonate on it
// to act as another identity.
func (p *FaultProxy) RESTConfig() *rest.Config {
	return &rest.Config{
		Host:            p.url,
		TLSClientConfig: rest.TLSClientConfig{CAData: slices.Clone(p.caPEM)},
		QPS:             1000,
		Burst:           2000,
		Timeout:         FaultClientTimeout,
	}
}

// SetRules replaces the rules, restarts their Max counting and reseeds the
// generator with the current seed, so that the decisions from here on depend
// only on the seed and the requests. It panics on an invalid rule, which is a
// bug in the test.
func (p *FaultProxy) SetRules(rules ...FaultRule) {
	if err := p.setRules(rules); err != nil {
		panic("harness: FaultProxy.SetRules: " + err.Error())
	}
}

func (p *FaultProxy) setRules(rules []FaultRule) error {
	for _, r := range rules {
		if err := r.validate(); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = slices.Clone(rules)
	p.fired = make([]int, len(rules))
	p.rng = newRand(p.seed)
	return nil
}

// Disable removes all rules: requests pass through unchanged, e.g. for a
// clean run after a faulty one. Stats keep counting.
func (p *FaultProxy) Disable() { p.SetRules() }

// SetSeed reseeds the generator behind Rate decisions.
func (p *FaultProxy) SetSeed(seed uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seed = seed
	p.rng = newRand(seed)
}

// Stats returns a copy of the counts so far.
func (p *FaultProxy) Stats() FaultStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Faults = maps.Clone(p.stats.Faults)
	s.Events = slices.Clone(p.stats.Events)
	return s
}

// ResetStats zeroes the counts, e.g. after a test's setup phase.
func (p *FaultProxy) ResetStats() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats = FaultStats{Faults: map[FaultKind]int{}}
	p.gen++
}

func newRand(seed uint64) *mathrand.Rand {
	return mathrand.New(mathrand.NewPCG(seed, 0))
}

// eventRef identifies a recorded FaultEvent across ResetStats.
type eventRef struct{ gen, index int }

// injectedStatus is the status code a fault answers with; 0 for faults that
// answer nothing (the upstream status is filled in when known).
var injectedStatus = map[FaultKind]int{
	FaultTooManyRequests:    http.StatusTooManyRequests,
	FaultInternalError:      http.StatusInternalServerError,
	FaultServiceUnavailable: http.StatusServiceUnavailable,
	FaultConflict:           http.StatusConflict,
	FaultExpiredContinue:    http.StatusGone,
}

// decide counts the request and picks the fault for it, if any. The returned
// eventRef lets the handler fill in the upstream status later.
func (p *FaultProxy) decide(req *Request, hasContinue bool) (rule FaultRule, event eventRef, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Requests++
	for i, r := range p.rules {
		if r.Max > 0 && p.fired[i] >= r.Max || !r.matches(req, hasContinue) {
			continue
		}
		// Draw only for fractional rates so that a rate-1 rule does not
		// shift the sequence seen by the other rules.
		if r.Rate < 1 && p.rng.Float64() >= r.Rate {
			continue
		}
		p.fired[i]++
		p.stats.Faults[r.Kind]++
		ev := FaultEvent{Kind: r.Kind, Request: *req}
		ev.Request.StatusCode = injectedStatus[r.Kind]
		p.stats.Events = append(p.stats.Events, ev)
		return r, eventRef{p.gen, len(p.stats.Events) - 1}, true
	}
	return FaultRule{}, eventRef{}, false
}

func (p *FaultProxy) count(f func(s *FaultStats)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.stats)
}

func (p *FaultProxy) setEventStatus(event eventRef, code int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// ResetStats may have dropped the event meanwhile.
	if event.gen == p.gen && event.index < len(p.stats.Events) {
		p.stats.Events[event.index].Request.StatusCode = code
	}
}

// maxRequestBody bounds how much of a request body the proxy buffers; API
// objects are far smaller (etcd's limit is ~1.5 MiB).
const maxRequestBody = 16 << 20

func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		resetClient(w)
		return
	}
	p.active.Add(1)
	p.mu.Unlock()
	defer p.active.Done()

	req := classify(r)
	rule, event, faulted := p.decide(req, r.URL.Query().Get("continue") != "")

	// Read the whole body first: forwarding needs it, and for
	// FaultResetBeforeForward it means the client has finished sending, so
	// the reset hits it while it waits for the response as intended.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil {
		resetClient(w)
		return
	}

	if !faulted {
		if req.Verb == VerbWatch {
			p.streamWatch(w, r, body)
			return
		}
		resp, respBody, err := p.forward(r, body)
		if err != nil {
			resetClient(w)
			return
		}
		relay(w, resp, respBody)
		return
	}

	switch rule.Kind {
	case FaultTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(rule.RetryAfter))
		writeStatus(w, apierrors.NewTooManyRequests("injected fault: too many requests, please try again later", rule.RetryAfter))
	case FaultInternalError:
		writeStatus(w, apierrors.NewInternalError(errors.New("injected fault: internal error")))
	case FaultServiceUnavailable:
		writeStatus(w, apierrors.NewServiceUnavailable("injected fault: service unavailable"))
	case FaultConflict:
		gr := schema.ParseGroupResource(req.Resource)
		writeStatus(w, apierrors.NewConflict(gr, req.Name, errors.New("injected fault: the object has been modified; please apply your changes to the latest version and try again")))
	case FaultExpiredContinue:
		writeStatus(w, apierrors.NewResourceExpired("injected fault: the provided continue parameter is too old to display a consistent list result; start a new list without the continue parameter"))
	case FaultResetBeforeForward:
		resetClient(w)
	case FaultResetAfterForward:
		if resp, _, err := p.forward(r, body); err == nil {
			p.setEventStatus(event, resp.StatusCode)
		}
		resetClient(w)
	case FaultSlow:
		resp, respBody, err := p.forward(r, body)
		if err != nil {
			resetClient(w)
			return
		}
		p.setEventStatus(event, resp.StatusCode)
		delay := rule.Delay
		if delay == 0 {
			delay = DefaultSlowDelay
		}
		timer := time.NewTimer(delay)
		defer timer.Stop()
		select {
		case <-timer.C:
			relay(w, resp, respBody)
		case <-r.Context().Done():
			// The client gave up (its timeout); nothing to answer.
		}
	}
}

// hopHeaders are connection-scoped (RFC 9110 section 7.6.1) and must not be
// forwarded. Accept-Encoding is dropped too so that the upstream transport
// negotiates and undoes compression itself and the relayed body is plain.
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

func (p *FaultProxy) upstreamRequest(r *http.Request, body []byte) (*http.Request, error) {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build upstream request: %w", err)
	}
	out.Header = r.Header.Clone()
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	out.Header.Del("Accept-Encoding")
	return out, nil
}

// forward sends the request to the apiserver and reads the whole response,
// so that when it returns the apiserver has finished handling the request.
func (p *FaultProxy) forward(r *http.Request, body []byte) (*http.Response, []byte, error) {
	out, err := p.upstreamRequest(r, body)
	if err != nil {
		return nil, nil, err
	}
	p.count(func(s *FaultStats) { s.Forwarded++ })
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		p.count(func(s *FaultStats) { s.UpstreamErrors++ })
		return nil, nil, fmt.Errorf("forward %s %s: %w", r.Method, r.URL.Path, err)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	if err != nil {
		p.count(func(s *FaultStats) { s.UpstreamErrors++ })
		return nil, nil, fmt.Errorf("read response to %s %s: %w", r.Method, r.URL.Path, err)
	}
	return resp, respBody, nil
}

// streamWatch relays a watch as it arrives; watches are never faulted.
func (p *FaultProxy) streamWatch(w http.ResponseWriter, r *http.Request, body []byte) {
	out, err := p.upstreamRequest(r, body)
	if err != nil {
		resetClient(w)
		return
	}
	p.count(func(s *FaultStats) { s.Forwarded++ })
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		p.count(func(s *FaultStats) { s.UpstreamErrors++ })
		resetClient(w)
		return
	}
	defer resp.Body.Close()
	copyHeader(w.Header(), resp.Header)
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		if slices.Contains(hopHeaders, http.CanonicalHeaderKey(k)) || k == "Content-Length" {
			continue
		}
		dst[k] = slices.Clone(vs)
	}
}

func relay(w http.ResponseWriter, resp *http.Response, body []byte) {
	copyHeader(w.Header(), resp.Header)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

// writeStatus answers with err's Status as JSON, which every client-go
// client decodes (protobuf clients accept JSON too), so apierrors.Is*
// classify the error as they would a real apiserver's.
func writeStatus(w http.ResponseWriter, err *apierrors.StatusError) {
	st := err.Status()
	st.Kind, st.APIVersion = "Status", "v1"
	body, jerr := json.Marshal(st)
	if jerr != nil {
		// A metav1.Status always marshals; fail loudly if not.
		panic(fmt.Sprintf("marshal Status: %v", jerr))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(int(st.Code))
	_, _ = w.Write(body)
}

// resetClient drops the client connection with a TCP RST, without any
// response, so the client sees "connection reset by peer" as when a server
// or load balancer dies mid-request. SO_LINGER 0 makes close send RST instead
// of FIN; the raw TCP connection is closed beneath TLS so no close_notify
// alert is sent either.
func resetClient(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Cannot happen on the HTTP/1.1-only server; aborting still closes
		// the connection without a response.
		panic(http.ErrAbortHandler)
	}
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = raw.Close()
}

// selfSignedLoopbackCert makes a serving certificate for 127.0.0.1 that is its
// own CA, returned also as PEM for clients to trust.
func selfSignedLoopbackCert() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("generate fault proxy key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("generate fault proxy serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "certsweep harness fault proxy"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("create fault proxy certificate: %w", err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
