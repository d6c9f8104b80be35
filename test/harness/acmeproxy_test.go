package harness

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cert-manager/cert-manager/third_party/forked/acme"
)

// TestACMEProxyCountsAnswers: the proxy counts every answer by endpoint,
// status and ACME problem type, Pebble's (a 201 for an account and an
// order, a problem document for a wrong method) and its own faults alike,
// and still counts requests as before.
func TestACMEProxyCountsAnswers(t *testing.T) {
	p := StartPebble(t, PebbleOptions{Env: []string{"PEBBLE_WFE_NONCEREJECT=0"}})
	px := StartACMEProxy(t, p, ACMEFault{
		Method: "POST", PathSuffix: "/order-plz", Status: http.StatusBadRequest, ProblemType: "rejectedIdentifier",
		Detail: "not this one", Max: 1,
	})
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(px.CABundle()) {
		t.Fatalf("CABundle is not PEM: %q", px.CABundle())
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer hc.CloseIdleConnections()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := &acme.Client{Key: key, DirectoryURL: px.DirectoryURL(), HTTPClient: hc, UserAgent: "certsweep-harness-test"}
	if _, err := client.Register(ctx, &acme.Account{}, acme.AcceptTOS); err != nil {
		t.Fatalf("register through the proxy: %v", err)
	}
	ids := []acme.AuthzID{{Type: "dns", Value: "proxy.example.test"}}
	var acmeErr *acme.Error
	if _, err := client.AuthorizeOrder(ctx, ids); !errors.As(err, &acmeErr) || acmeErr.ProblemType != "urn:ietf:params:acme:error:rejectedIdentifier" {
		t.Fatalf("first order: %v, want the injected rejectedIdentifier", err)
	}
	if _, err := client.AuthorizeOrder(ctx, ids); err != nil {
		t.Fatalf("second order: %v", err)
	}
	// Pebble's own problem document: newOrder is POST only.
	resp, err := hc.Get("https://" + px.addr + "/order-plz")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()

	got := px.Responses()
	for want, n := range map[ACMEResponse]int{
		{Method: "GET", Endpoint: "/dir", Status: 200}:                                                     1,
		{Method: "POST", Endpoint: "/sign-me-up", Status: 201}:                                             1,
		{Method: "POST", Endpoint: "/order-plz", Status: 400, Problem: "rejectedIdentifier"}:               1,
		{Method: "POST", Endpoint: "/order-plz", Status: 201}:                                              1,
		{Method: "GET", Endpoint: "/order-plz", Status: http.StatusMethodNotAllowed, Problem: "malformed"}: 1,
	} {
		if got[want] != n {
			t.Errorf("Responses()[%+v] = %d, want %d; all: %v", want, got[want], n, got)
		}
	}
	answered := 0
	for r, n := range got {
		answered += n
		if r.Problem != "" && r.Status < 400 {
			t.Errorf("a problem type on a %d answer: %+v", r.Status, r)
		}
	}
	if answered != px.Total() {
		t.Errorf("%d answers counted, %d requests", answered, px.Total())
	}
	if n := px.Requests("POST /order-plz"); n != 2 {
		t.Errorf(`Requests("POST /order-plz") = %d, want 2`, n)
	}
	if n := px.Injected(); n != 1 {
		t.Errorf("Injected() = %d, want 1", n)
	}
	if r := (ACMEResponse{Endpoint: "/order-plz"}); r.Resource() != "newOrder" {
		t.Errorf("Resource() of %s = %q, want newOrder", r.Endpoint, r.Resource())
	}
	if r := (ACMEResponse{Endpoint: "/draft-ietf-acme-ari-03"}); r.Resource() != "renewalInfo" {
		t.Errorf("Resource() of %s = %q, want renewalInfo", r.Endpoint, r.Resource())
	}
}

// TestACMEProxyAnswerKeepsOnlyProblemDocuments: the proxy reads the body
// of a problem document (up to maxProblemBody), never of another answer.
func TestACMEProxyAnswerKeepsOnlyProblemDocuments(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 1<<20)

	a := &answer{ResponseWriter: httptest.NewRecorder()}
	a.Header().Set("Content-Type", "application/pem-certificate-chain")
	_, _ = a.Write(big)
	if a.status != http.StatusOK || a.isProblem || a.body != nil {
		t.Errorf("certificate answer: status %d, problem %v, %d bytes kept", a.status, a.isProblem, len(a.body))
	}

	a = &answer{ResponseWriter: httptest.NewRecorder()}
	a.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	a.WriteHeader(http.StatusBadRequest)
	_, _ = a.Write([]byte(`{"type": "urn:ietf:params:acme:error:badNonce", "detail": "`))
	_, _ = a.Write(big)
	if !a.isProblem || len(a.body) != maxProblemBody {
		t.Errorf("problem answer: problem %v, %d bytes kept, want %d", a.isProblem, len(a.body), maxProblemBody)
	}
	if got := problemType(a.body); got != "badNonce" {
		t.Errorf("problemType of a document cut after its type = %q, want badNonce", got)
	}
	for doc, want := range map[string]string{
		`{"type": "urn:ietf:params:acme:error:badNonce", "status": 400}`: "badNonce",
		`{"type": "about:blank"}`: "about:blank",
		`{"detail": "no type"}`:   "",
		`{"detail": "type last", "type": "urn:ietf:params:acme:error:rateLimited"}`: "rateLimited",
		`{"detail": "cut before the ty`:                                             "",
		`[]`:                                                                        "",
		`not json`:                                                                  "",
	} {
		if got := problemType([]byte(doc)); got != want {
			t.Errorf("problemType(%s) = %q, want %q", doc, got, want)
		}
	}
}
