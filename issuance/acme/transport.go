package acme

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxBodyBytes bounds every response body read from the CA. lego reads
// JSON bodies whole; a certificate chain or an ACME object is a few KiB.
const maxBodyBytes = 4 << 20

// maxRetryAfter bounds a Retry-After the CA sends: a larger value (or one
// that would overflow a Duration) is cut to this.
const maxRetryAfter = 30 * 24 * time.Hour

// newHTTPClient builds the HTTP client for the CA: roots from cfg.CABundle
// (only those, when set) or the system's, TLS verification off only with
// cfg.SkipTLSVerify, the per-request timeout, and the recording transport
// below.
func newHTTPClient(cfg Config) (*http.Client, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.SkipTLSVerify {
		tlsConfig.InsecureSkipVerify = true // #nosec G402 -- the Issuer's spec.acme.skipTLSVerify asks for it
	}
	if len(cfg.CABundle) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.CABundle) {
			// cert-manager silently falls back to the system roots here; a
			// bundle that trusts nothing is a mistake worth saying.
			return nil, errors.New("caBundle holds no PEM certificate")
		}
		tlsConfig.RootCAs = pool
	}
	base := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		TLSClientConfig:       tlsConfig,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	var next http.RoundTripper = base
	if cfg.WrapTransport != nil {
		next = cfg.WrapTransport(base)
	}
	return &http.Client{Transport: &recordingTransport{base: base, next: next, directoryURL: cfg.DirectoryURL}, Timeout: cfg.Timeout}, nil
}

// recordingTransport caps response bodies and, for calls that carry a
// recorder in their context, notes what lego reads and drops: the status,
// Retry-After, Location and Link headers of each response.
type recordingTransport struct {
	base *http.Transport
	// next is base, or base wrapped by Config.WrapTransport.
	next http.RoundTripper
	// directoryURL tells lego's directory fetches, which carry no
	// context of ours, apart: Action names them "discover".
	directoryURL string
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if _, ok := req.Context().Value(recorderKey{}).(*recorder); !ok && req.Method == http.MethodGet && req.URL.String() == t.directoryURL {
		ctx, _ := record(req.Context(), opDiscover)
		req = req.WithContext(ctx)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp == nil {
		return resp, err
	}
	resp.Body = &cappedBody{rc: resp.Body, left: maxBodyBytes}
	if rec, ok := req.Context().Value(recorderKey{}).(*recorder); ok {
		rec.observe(req, resp)
	}
	return resp, nil
}

func (t *recordingTransport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// cappedBody fails a read past its limit rather than truncating silently.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Is there more? One byte tells.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("response body exceeds %d bytes", maxBodyBytes)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }

// recorderKey is the context key of a call's recorder.
type recorderKey struct{}

// exchange is what the recorder keeps of one response.
type exchange struct {
	method     string
	url        *url.URL
	status     int
	retryAfter time.Duration
	location   string
	links      []string // raw Link header values
}

// recorder collects the responses of one Client call. Nonce HEADs are
// skipped: the last GET or POST is the response lego acted on.
type recorder struct {
	// op is the call's operation, as its errors name it.
	op        string
	mu        sync.Mutex
	exchanges []exchange
}

// record returns ctx carrying a fresh recorder for the call op.
func record(ctx context.Context, op string) (context.Context, *recorder) {
	rec := &recorder{op: op}
	return context.WithValue(ctx, recorderKey{}, rec), rec
}

// opDiscover is the directory fetch lego makes on its own.
const opDiscover = "discover"

// UnnamedAction is Action's answer for a request made outside any known
// call, cert-manager's label value for the same.
const UnnamedAction = "unnamed_action"

// actions maps the operations of this package's calls to the logical ACME
// operations cert-manager v1.21 labels its ACME client's requests with
// (the action label of certmanager_http_acme_client_request_count), so
// that the series match, whichever ACME library is underneath.
var actions = map[string]string{
	opDiscover:                             "discover",
	"register account":                     "register_account",
	"update account":                       "update_registration",
	"new order":                            "authorize_order",
	"get order":                            "get_order",
	"finalize order":                       "create_order_cert",
	"get authorization":                    "get_authorization",
	"accept challenge":                     "accept_challenge",
	"get challenge":                        "get_challenge",
	"download certificate":                 "fetch_cert",
	"download alternate certificate chain": "fetch_cert",
	"get renewal info":                     "get_renewal_info",
}

// Action returns the logical ACME operation req belongs to, by
// cert-manager's names ("authorize_order", "get_order", "fetch_cert",
// ...), its nonce fetches and badNonce retries included; UnnamedAction
// for a request made outside a Client call. A Config.WrapTransport
// calls it to label what it counts.
func Action(req *http.Request) string {
	if rec, ok := req.Context().Value(recorderKey{}).(*recorder); ok {
		if a, ok := actions[rec.op]; ok {
			return a
		}
	}
	return UnnamedAction
}

func (r *recorder) observe(req *http.Request, resp *http.Response) {
	if req.Method == http.MethodHead {
		return
	}
	ex := exchange{
		method:     req.Method,
		url:        req.URL,
		status:     resp.StatusCode,
		retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		location:   resp.Header.Get("Location"),
		links:      resp.Header.Values("Link"),
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// A call makes a handful of requests (badNonce retries at most a few
	// dozen); keep the last 64.
	if len(r.exchanges) == 64 {
		r.exchanges = append(r.exchanges[:0], r.exchanges[1:]...)
	}
	r.exchanges = append(r.exchanges, ex)
}

// last returns the last response seen, if any.
func (r *recorder) last() (exchange, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.exchanges) == 0 {
		return exchange{}, false
	}
	return r.exchanges[len(r.exchanges)-1], true
}

// sawStatus reports whether any response had the given status.
func (r *recorder) sawStatus(status int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ex := range r.exchanges {
		if ex.status == status {
			return true
		}
	}
	return false
}

// parseRetryAfter reads a Retry-After value (RFC 9110 §10.2.3): a number of
// seconds or an HTTP-date, relative to now. Anything else, a negative delay
// or a date in the past is 0; a delay over maxRetryAfter is maxRetryAfter.
func parseRetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	if value[0] >= '0' && value[0] <= '9' {
		secs, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			var numErr *strconv.NumError
			if errors.As(err, &numErr) && errors.Is(numErr.Err, strconv.ErrRange) {
				return maxRetryAfter
			}
			return 0
		}
		if secs > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	at, err := http.ParseTime(value)
	if err != nil {
		return 0
	}
	d := at.Sub(now)
	switch {
	case d <= 0:
		return 0
	case d > maxRetryAfter:
		return maxRetryAfter
	}
	return d
}

// parseLinks returns the targets of the Link header values (RFC 8288) whose
// rel includes rel, in order, resolved against base. Malformed links are
// skipped.
func parseLinks(values []string, rel string, base *url.URL) []string {
	var out []string
	for _, v := range values {
		for len(v) > 0 {
			v = strings.TrimLeft(v, " \t,")
			if !strings.HasPrefix(v, "<") {
				// Not a link-value: skip to the next comma outside quotes.
				v = skipParam(v)
				continue
			}
			end := strings.IndexByte(v, '>')
			if end < 0 {
				break
			}
			target := v[1:end]
			v = v[end+1:]
			var rels []string
			// Parameters: ; name [= token | quoted-string]
			for {
				v = strings.TrimLeft(v, " \t")
				if !strings.HasPrefix(v, ";") {
					break
				}
				v = strings.TrimLeft(v[1:], " \t")
				name, value, rest := parseParam(v)
				v = rest
				if strings.EqualFold(name, "rel") {
					rels = append(rels, strings.Fields(value)...)
				}
			}
			for _, r := range rels {
				if strings.EqualFold(r, rel) {
					if u, err := resolveURL(base, target); err == nil {
						out = append(out, u)
					}
					break
				}
			}
			v = skipParam(v)
		}
	}
	return out
}

// parseParam reads `name [= value]` at the start of s; value may be a
// quoted string. It returns the rest after the parameter.
func parseParam(s string) (name, value, rest string) {
	i := strings.IndexAny(s, "=;,")
	if i < 0 {
		return strings.TrimSpace(s), "", ""
	}
	name = strings.TrimSpace(s[:i])
	if s[i] != '=' {
		return name, "", s[i:]
	}
	s = strings.TrimLeft(s[i+1:], " \t")
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		for j := 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				if j+1 < len(s) {
					j++
					b.WriteByte(s[j])
				}
			case '"':
				return name, b.String(), s[j+1:]
			default:
				b.WriteByte(s[j])
			}
		}
		return name, b.String(), ""
	}
	j := strings.IndexAny(s, ";,")
	if j < 0 {
		return name, strings.TrimSpace(s), ""
	}
	return name, strings.TrimSpace(s[:j]), s[j:]
}

// skipParam drops s up to and including the next comma outside a quoted
// string: the end of the current link-value.
func skipParam(s string) string {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if inQuote {
				i++
			}
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				return s[i+1:]
			}
		}
	}
	return ""
}

// resolveURL resolves ref against base and insists on HTTPS, as every ACME
// URL is.
func resolveURL(base *url.URL, ref string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(ref))
	if err != nil {
		return "", err
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	if u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("link %q is not an absolute HTTPS URL", ref)
	}
	return u.String(), nil
}
