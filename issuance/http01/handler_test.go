package http01

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

var discard = slog.New(slog.DiscardHandler)

const answerPath = "/.well-known/acme-challenge/tok-123_ABC"

func TestHandler(t *testing.T) {
	tests := []struct {
		name     string
		domain   string // testDomain when empty
		method   string // GET when empty
		host     string
		target   string
		wantCode int
		wantBody string
	}{
		{name: "the challenge", host: "example.com", target: answerPath, wantCode: 200, wantBody: testKey},
		{name: "HEAD: no body", method: http.MethodHead, host: "example.com", target: answerPath, wantCode: 200},
		{name: "host with port", host: "example.com:80", target: answerPath, wantCode: 200, wantBody: testKey},
		{name: "host with an empty port", host: "example.com:", target: answerPath, wantCode: 200, wantBody: testKey},
		{name: "IPv6 literal", domain: "2001:db8::1", host: "[2001:db8::1]", target: answerPath, wantCode: 200, wantBody: testKey},
		{name: "IPv6 literal with port", domain: "2001:db8::1", host: "[2001:db8::1]:80", target: answerPath, wantCode: 200, wantBody: testKey},
		{name: "IPv4 literal with port", domain: "192.0.2.7", host: "192.0.2.7:8089", target: answerPath, wantCode: 200, wantBody: testKey},
		{name: "a query string is ignored", host: "example.com", target: answerPath + "?x=1", wantCode: 200, wantBody: testKey},
		{name: "root", host: "anything", target: "/", wantCode: 200},
		{name: "healthz, any host", host: "10.0.0.1:8089", target: "/healthz", wantCode: 200},

		{name: "wrong host", host: "example.org", target: answerPath, wantCode: 404},
		{name: "host that only starts right", host: "example.com.evil", target: answerPath, wantCode: 404},
		{name: "host in another case", host: "EXAMPLE.com", target: answerPath, wantCode: 404},
		{name: "non-numeric port", host: "example.com:http", target: answerPath, wantCode: 404},
		{name: "IPv6 with doubled brackets", domain: "2001:db8::1", host: "[[2001:db8::1]]", target: answerPath, wantCode: 404},
		{name: "wrong token", host: "example.com", target: "/.well-known/acme-challenge/other", wantCode: 404},
		{name: "token prefix", host: "example.com", target: "/.well-known/acme-challenge/tok-123", wantCode: 404},
		{name: "trailing slash", host: "example.com", target: answerPath + "/", wantCode: 404},
		{name: "deeper path", host: "example.com", target: "/.well-known/acme-challenge/x/tok-123_ABC", wantCode: 404},
		{name: "doubled slash", host: "example.com", target: "/.well-known//acme-challenge/tok-123_ABC", wantCode: 404},
		{name: "dot segment", host: "example.com", target: "/.well-known/x/../acme-challenge/tok-123_ABC", wantCode: 404},
		{name: "percent-escaped token", host: "example.com", target: "/.well-known/acme-challenge/%74ok-123_ABC", wantCode: 404},
		{name: "wrong directory", host: "example.com", target: "/acme-challenge/tok-123_ABC", wantCode: 404},
		{name: "POST", method: http.MethodPost, host: "example.com", target: answerPath, wantCode: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			domain := tc.domain
			if domain == "" {
				domain = testDomain
			}
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			r := httptest.NewRequest(method, tc.target, nil)
			r.Host = tc.host
			w := httptest.NewRecorder()
			Handler(domain, testToken, testKey, discard).ServeHTTP(w, r)

			if w.Code != tc.wantCode {
				t.Errorf("status %d, want %d", w.Code, tc.wantCode)
			}
			if tc.wantBody != "" && w.Body.String() != tc.wantBody {
				t.Errorf("body %q, want %q", w.Body.String(), tc.wantBody)
			}
			if tc.wantBody == "" && strings.Contains(w.Body.String(), testKey) {
				t.Errorf("body %q gives the key away", w.Body.String())
			}
			if tc.wantBody != "" {
				if cc := w.Header().Get("Cache-Control"); cc != "no-cache, no-store, must-revalidate" {
					t.Errorf("Cache-Control %q", cc)
				}
			}
		})
	}
}

// FuzzHandler feeds arbitrary Host headers and request targets to the
// handler: it must never panic, and it hands the key out only for the exact
// path on the domain (with at most brackets and a numeric port around it).
func FuzzHandler(f *testing.F) {
	for _, seed := range [][2]string{
		{"example.com", answerPath},
		{"example.com:80", answerPath},
		{"[2001:db8::1]:443", answerPath},
		{"[2001:db8::1]", answerPath},
		{"example.com", "/healthz"},
		{"example.com", "/.well-known//acme-challenge/tok-123_ABC"},
		{"[example.com]", answerPath + "?a=b"},
		{"example.com:1:2", answerPath},
		{"", "/.well-known/acme-challenge/%74ok-123_ABC"},
		{"[", "//"},
	} {
		f.Add(seed[0], seed[1])
	}
	domains := []string{testDomain, "2001:db8::1"}
	f.Fuzz(func(t *testing.T, host, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return // the server answers 400 before any handler sees it
		}
		for _, domain := range domains {
			r := &http.Request{Method: http.MethodGet, Host: host, URL: u, RequestURI: target, Header: http.Header{}}
			w := httptest.NewRecorder()
			Handler(domain, testToken, testKey, discard).ServeHTTP(w, r)

			gotKey := w.Code == http.StatusOK && w.Body.String() == testKey
			exactPath := u.EscapedPath() == answerPath
			if gotKey && !(exactPath && hostNames(host, domain)) {
				t.Fatalf("domain %q: host %q, target %q got the key", domain, host, target)
			}
			if exactPath && (host == domain || host == "["+domain+"]") && !gotKey {
				t.Fatalf("domain %q: host %q, target %q got %d %q, want the key", domain, host, target, w.Code, w.Body.String())
			}
			if !gotKey && w.Code == http.StatusOK && u.EscapedPath() != "/" && u.EscapedPath() != "/healthz" {
				t.Fatalf("host %q, target %q: 200 without the key", host, target)
			}
		}
	})
}

// hostNames says whether a Host header may name domain: the domain itself,
// or in brackets, either followed by a colon and a (possibly empty) port
// number.
func hostNames(host, domain string) bool {
	for _, name := range []string{domain, "[" + domain + "]"} {
		rest, ok := strings.CutPrefix(host, name)
		if !ok {
			continue
		}
		if rest == "" {
			return true
		}
		if port, ok := strings.CutPrefix(rest, ":"); ok && strings.Trim(port, "0123456789") == "" {
			return true
		}
	}
	return false
}
