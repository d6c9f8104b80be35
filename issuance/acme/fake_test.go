package acme_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certsweep/certsweep/issuance/acme"
)

// fakeCA is an ACME server that answers what each test scripts: enough
// to drive lego's requests (directory, nonces, account) and to answer
// newOrder and finalize with whatever a real CA might send. It does not
// check signatures.
type fakeCA struct {
	srv      *httptest.Server
	newOrder http.HandlerFunc
	finalize http.HandlerFunc
	dir      http.HandlerFunc // nil: the normal directory
	account  http.HandlerFunc // nil: a new account at /account/1
	agents   sync.Map         // User-Agent values seen
	nonces   atomic.Int64
}

func newFakeCA(t *testing.T) *fakeCA {
	t.Helper()
	f := &fakeCA{}
	mux := http.NewServeMux()
	mux.HandleFunc("/dir", func(w http.ResponseWriter, r *http.Request) {
		if f.dir != nil {
			f.dir(w, r)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"newNonce":    f.srv.URL + "/nonce",
			"newAccount":  f.srv.URL + "/account",
			"newOrder":    f.srv.URL + "/order",
			"renewalInfo": f.srv.URL + "/ari",
			"meta":        map[string]any{"profiles": map[string]string{"classic": "the usual"}},
		})
	})
	mux.HandleFunc("/nonce", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("/account", func(w http.ResponseWriter, r *http.Request) {
		if f.account != nil {
			f.account(w, r)
			return
		}
		w.Header().Set("Location", f.srv.URL+"/account/1")
		writeJSON(w, http.StatusCreated, map[string]any{"status": "valid"})
	})
	mux.HandleFunc("/order", func(w http.ResponseWriter, r *http.Request) { f.newOrder(w, r) })
	mux.HandleFunc("/finalize", func(w http.ResponseWriter, r *http.Request) { f.finalize(w, r) })
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.agents.Store(r.Header.Get("User-Agent"), true)
		w.Header().Set("Replay-Nonce", base64.RawURLEncoding.EncodeToString(big.NewInt(f.nonces.Add(1)).Bytes()))
		mux.ServeHTTP(w, r)
	}))
	// TestNewTLS makes failed handshakes on purpose.
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

// bundle is the PEM of the fake's serving certificate (self-signed).
func (f *fakeCA) bundle() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
}

func (f *fakeCA) client(t *testing.T) *acme.Client {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := acme.New(t.Context(), acme.Config{DirectoryURL: f.srv.URL + "/dir", CABundle: f.bundle()}, key, f.srv.URL+"/account/1")
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	ct := "application/json"
	if m, ok := v.(map[string]any); ok && m["type"] != nil {
		ct = "application/problem+json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func problem(typ, detail string, status int) map[string]any {
	return map[string]any{"type": typ, "detail": detail, "status": status}
}

// payload decodes a JWS request's payload.
func payload(t *testing.T, r *http.Request) map[string]any {
	var jws struct{ Payload string }
	if err := json.NewDecoder(r.Body).Decode(&jws); err != nil {
		t.Errorf("request body: %v", err)
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(jws.Payload)
	if err != nil {
		t.Errorf("payload: %v", err)
		return nil
	}
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Errorf("payload: %v", err)
		}
	}
	return out
}

// echoOrder answers a newOrder with a pending order for what was asked.
func (f *fakeCA) echoOrder(w http.ResponseWriter, p map[string]any) {
	w.Header().Set("Location", f.srv.URL+"/order/1")
	writeJSON(w, http.StatusCreated, map[string]any{
		"status":         "pending",
		"identifiers":    p["identifiers"],
		"authorizations": []string{f.srv.URL + "/authz/1"},
		"finalize":       f.srv.URL + "/finalize",
		"replaces":       p["replaces"],
	})
}

func TestNewOrderServerErrorRetryAfter(t *testing.T) {
	f := newFakeCA(t)
	f.newOrder = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		writeJSON(w, http.StatusServiceUnavailable, problem(acme.ProblemServerInternal, "down for maintenance", 503))
	}
	_, err := f.client(t).NewOrder(t.Context(), []string{"a.example.com"}, "", "")
	refused, retryAfter, p := acme.Classify(err)
	if refused || retryAfter != 120*time.Second || p == nil || p.Type != acme.ProblemServerInternal || p.Status != 503 {
		t.Fatalf("Classify(%v) = %v, %s, %+v; want false, 2m, serverInternal 503", err, refused, retryAfter, p)
	}
	var ae *acme.Error
	if !errors.As(err, &ae) || ae.Status != 503 || ae.URL != f.srv.URL+"/order" {
		t.Errorf("error %#v: want *acme.Error, status 503, URL of newOrder", err)
	}
	var seen []string
	f.agents.Range(func(k, _ any) bool { seen = append(seen, k.(string)); return true })
	for _, ua := range seen {
		if !strings.HasPrefix(ua, "certsweep ") {
			t.Errorf("User-Agent %q does not start with the default certsweep", ua)
		}
	}
}

func TestNewOrderRateLimited(t *testing.T) {
	f := newFakeCA(t)
	f.newOrder = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
		writeJSON(w, http.StatusTooManyRequests, problem(acme.ProblemRateLimited, "too many certificates", 429))
	}
	_, err := f.client(t).NewOrder(t.Context(), []string{"a.example.com"}, "", "")
	refused, retryAfter, p := acme.Classify(err)
	if refused || retryAfter < 58*time.Minute || retryAfter > time.Hour || p == nil || p.Type != acme.ProblemRateLimited {
		t.Fatalf("Classify(%v) = %v, %s, %+v; want false, ~1h, rateLimited", err, refused, retryAfter, p)
	}
}

func TestNewOrderNotJSON(t *testing.T) {
	f := newFakeCA(t)
	f.newOrder = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>bad gateway</html>"))
	}
	_, err := f.client(t).NewOrder(t.Context(), []string{"a.example.com"}, "", "")
	refused, retryAfter, p := acme.Classify(err)
	var ae *acme.Error
	if err == nil || refused || retryAfter != 0 || p != nil || !errors.As(err, &ae) || ae.Status != http.StatusBadGateway {
		t.Fatalf("Classify(%v) = %v, %s, %+v; want an error with status 502, not refused, no problem", err, refused, retryAfter, p)
	}
}

func TestNewOrderBadNonceRetried(t *testing.T) {
	f := newFakeCA(t)
	var calls atomic.Int32
	f.newOrder = func(w http.ResponseWriter, r *http.Request) {
		p := payload(t, r)
		if calls.Add(1) <= 2 {
			writeJSON(w, http.StatusBadRequest, problem(acme.ProblemBadNonce, "stale nonce", 400))
			return
		}
		f.echoOrder(w, p)
	}
	o, err := f.client(t).NewOrder(t.Context(), []string{"a.example.com", "192.0.2.1", "2001:DB8::1"}, "", "")
	if err != nil {
		t.Fatalf("NewOrder after two badNonce: %v", err)
	}
	if want := []string{"a.example.com", "192.0.2.1", "2001:db8::1"}; strings.Join(o.Identifiers, " ") != strings.Join(want, " ") {
		t.Errorf("identifiers %q, want %q", o.Identifiers, want)
	}
	if o.URL != f.srv.URL+"/order/1" || calls.Load() != 3 {
		t.Errorf("order URL %q after %d calls", o.URL, calls.Load())
	}
}

func TestNewOrderAlreadyReplaced(t *testing.T) {
	f := newFakeCA(t)
	var replaces []any
	f.newOrder = func(w http.ResponseWriter, r *http.Request) {
		p := payload(t, r)
		replaces = append(replaces, p["replaces"])
		if p["replaces"] != nil {
			writeJSON(w, http.StatusConflict, problem(acme.ProblemAlreadyReplaced, "already replaced", 409))
			return
		}
		f.echoOrder(w, p)
	}
	o, err := f.client(t).NewOrder(t.Context(), []string{"a.example.com"}, "classic", "aki.serial")
	if err != nil {
		t.Fatalf("NewOrder: %v", err)
	}
	if !o.ReplacesDropped || len(replaces) != 2 || replaces[0] != "aki.serial" || replaces[1] != nil {
		t.Errorf("ReplacesDropped %v after requests with replaces %v; want true after [aki.serial <nil>]", o.ReplacesDropped, replaces)
	}
}

func TestFinalizeInvalidOrder(t *testing.T) {
	f := newFakeCA(t)
	f.finalize = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", f.srv.URL+"/order/1")
		writeJSON(w, http.StatusOK, map[string]any{
			"status": "invalid",
			"error":  problem(acme.ProblemBadCSR, "key too weak", 0),
		})
	}
	o, err := f.client(t).Finalize(t.Context(), f.srv.URL+"/finalize", []byte{0x30, 0x00})
	if !errors.Is(err, acme.ErrOrderInvalid) {
		t.Fatalf("Finalize error %v, want ErrOrderInvalid", err)
	}
	if o.Status != "invalid" || o.URL != f.srv.URL+"/order/1" || o.Error == nil || o.Error.Type != acme.ProblemBadCSR {
		t.Errorf("Finalize order %+v", o)
	}
	if refused, _, p := acme.Classify(err); !refused || p == nil || p.Type != acme.ProblemBadCSR {
		t.Errorf("Classify(%v) = %v, %+v; want refused, badCSR", err, refused, p)
	}
	if !strings.Contains(err.Error(), "key too weak") {
		t.Errorf("error %q does not say why", err)
	}
}

func TestNewChecksInput(t *testing.T) {
	f := newFakeCA(t)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	cfg := acme.Config{DirectoryURL: f.srv.URL + "/dir", CABundle: f.bundle()}
	for name, tc := range map[string]struct {
		cfg acme.Config
		key crypto.Signer
	}{
		"ed25519 key":    {cfg, ed},
		"P-521 key":      {cfg, p521},
		"1024-bit RSA":   {cfg, small},
		"nil key":        {cfg, nil},
		"no directory":   {acme.Config{CABundle: f.bundle()}, ec},
		"empty caBundle": {acme.Config{DirectoryURL: cfg.DirectoryURL, CABundle: []byte("not PEM")}, ec},
	} {
		_, err := acme.New(t.Context(), tc.cfg, tc.key, "")
		if !errors.Is(err, acme.ErrInvalidInput) {
			t.Errorf("%s: New error %v, want ErrInvalidInput", name, err)
		}
		if refused, _, _ := acme.Classify(err); !refused {
			t.Errorf("%s: Classify(%v) not refused", name, err)
		}
	}
}

func TestNewTLS(t *testing.T) {
	f := newFakeCA(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	dir := f.srv.URL + "/dir"

	// Only the bundle is trusted: another CA's bundle fails, and so do
	// the system roots.
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "another CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	otherBundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	for name, cfg := range map[string]acme.Config{
		"other bundle": {DirectoryURL: dir, CABundle: otherBundle},
		"system roots": {DirectoryURL: dir},
	} {
		_, err := acme.New(t.Context(), cfg, key, "")
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("%s: New = %v, want a TLS verification error", name, err)
		}
		if refused, _, _ := acme.Classify(err); refused {
			t.Errorf("%s: TLS error classified refused", name)
		}
	}
	c, err := acme.New(t.Context(), acme.Config{DirectoryURL: dir, SkipTLSVerify: true}, key, "")
	if err != nil {
		t.Fatalf("New with SkipTLSVerify: %v", err)
	}
	c.Close()
	if got := f.client(t).Profiles(); got["classic"] != "the usual" {
		t.Errorf("Profiles = %v", got)
	}
}

func TestNewHonoursContext(t *testing.T) {
	f := newFakeCA(t)
	release := make(chan struct{})
	defer close(release)
	f.dir = func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ctx, cancel := context.WithCancel(t.Context())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err := acme.New(ctx, acme.Config{DirectoryURL: f.srv.URL + "/dir", CABundle: f.bundle()}, key, "")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("New with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestResponseBodyCapped(t *testing.T) {
	f := newFakeCA(t)
	f.dir = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"newAccount":"` + strings.Repeat("a", 5<<20) + `"}`))
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, err := acme.New(t.Context(), acme.Config{DirectoryURL: f.srv.URL + "/dir", CABundle: f.bundle()}, key, "")
	if err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("New with a 5 MiB directory = %v, want a size error", err)
	}
}

// rfc7638Key is the RSA public key of RFC 7638 §3.1, whose JWK thumbprint
// is NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs. Only its public half is
// known; KeyAuthorization does not sign.
func rfc7638Key(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	if err != nil {
		t.Fatal(err)
	}
	return &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}}
}

// TestKeyAuthorization checks the key authorization (RFC 8555 §8.1) with
// RFC 7638's thumbprint example and RFC 8555 §8.4's token, and its DNS-01
// value, computed independently with
//
//	printf %s "$keyAuth" | openssl dgst -binary -sha256 | base64 | tr -d = | tr /+ _-
func TestKeyAuthorization(t *testing.T) {
	f := newFakeCA(t)
	c, err := acme.New(t.Context(), acme.Config{DirectoryURL: f.srv.URL + "/dir", CABundle: f.bundle()}, rfc7638Key(t), "")
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer c.Close()
	const token = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
	ka, err := c.KeyAuthorization(token)
	if err != nil {
		t.Fatalf("KeyAuthorization: %v", err)
	}
	if want := token + ".NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; ka != want {
		t.Errorf("KeyAuthorization = %q, want %q", ka, want)
	}
	if got, want := acme.DNS01Value(ka), "ZTRx1Ckl1-tM05o5zaizTTA0yUy5AGereMgSNWC6Ll8"; got != want {
		t.Errorf("DNS01Value = %q, want %q", got, want)
	}
	for _, bad := range []string{"", "a/b", "tok en", "tok=", "ü"} {
		if _, err := c.KeyAuthorization(bad); err == nil {
			t.Errorf("KeyAuthorization(%q) accepted a token that is not base64url", bad)
		}
	}
}

func TestDNS01Value(t *testing.T) {
	// SHA-256("") = e3b0c442...; its base64url without padding:
	if got, want := acme.DNS01Value(""), "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"; got != want {
		t.Errorf("DNS01Value(\"\") = %q, want %q", got, want)
	}
	if v := acme.DNS01Value("x.y"); len(v) != 43 || strings.ContainsAny(v, "=+/") {
		t.Errorf("DNS01Value = %q: want 43 base64url characters without padding", v)
	}
}

// protected decodes a JWS request's protected header.
func protected(t *testing.T, jws map[string]any) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(jws["protected"].(string))
	if err != nil {
		t.Fatalf("protected header: %v", err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("protected header: %v", err)
	}
	return out
}

// TestRegisterEAB checks newAccount: signed with the JWK even by a client
// that knows its account URL, terms agreed, the contact lower-cased, and
// the external account binding signed for the key ID.
func TestRegisterEAB(t *testing.T) {
	f := newFakeCA(t)
	var body map[string]any
	f.account = func(w http.ResponseWriter, r *http.Request) {
		body = map[string]any{}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("newAccount body: %v", err)
		}
		w.Header().Set("Location", f.srv.URL+"/account/1")
		writeJSON(w, http.StatusOK, map[string]any{"status": "valid"})
	}
	c := f.client(t) // knows its account URL already

	// base64url, without padding, as in an Issuer's EAB Secret.
	const hmacKey = "c2VjcmV0LWhtYWMta2V5LWJ5dGVzLTEyMzQ1Njc4OTA"
	url, err := c.Register(t.Context(), "Me@Example.COM", &acme.EAB{KeyID: "kid-1", HMACKey: hmacKey})
	if err != nil || url != f.srv.URL+"/account/1" {
		t.Fatalf("Register = %q, %v", url, err)
	}
	if h := protected(t, body); h["jwk"] == nil || h["kid"] != nil {
		t.Errorf("newAccount signed with %v; want the JWK, no kid", h)
	}
	p := decodePayload(t, body["payload"].(string))
	if p["termsOfServiceAgreed"] != true || len(p["contact"].([]any)) != 1 || p["contact"].([]any)[0] != "mailto:me@example.com" {
		t.Errorf("newAccount payload %v", p)
	}
	eab, ok := p["externalAccountBinding"].(map[string]any)
	if !ok {
		t.Fatalf("no externalAccountBinding in %v", p)
	}
	if h := protected(t, eab); h["kid"] != "kid-1" || h["alg"] != "HS256" || h["url"] != f.srv.URL+"/account" {
		t.Errorf("EAB header %v", h)
	}
	if strings.Contains(string(mustJSON(t, body)), hmacKey) {
		t.Errorf("the HMAC key is in the request")
	}
	if c.AccountURL() != url {
		t.Errorf("AccountURL = %q after Register", c.AccountURL())
	}

	_, err = c.Register(t.Context(), "", &acme.EAB{KeyID: "kid-1", HMACKey: "not base64!"})
	if !errors.Is(err, acme.ErrInvalidInput) || strings.Contains(err.Error(), "not base64!") {
		t.Errorf("Register with a bad HMAC key = %v; want ErrInvalidInput without the key", err)
	}
}

func decodePayload(t *testing.T, s string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("payload: %v", err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("payload: %v", err)
	}
	return out
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
