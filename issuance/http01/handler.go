package http01

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// Handler serves key at ChallengePath/token to requests for domain, and
// 200 on "/" and "/healthz" for probes. Everything else is a 404: the
// solver is reachable from the internet and answers one question.
func Handler(domain, token, key string, log *slog.Logger) http.Handler {
	answerPath := ChallengePath + "/" + token
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Neither the CA nor a probe sends anything but GET; HEAD is GET
		// without the body.
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.NotFound(w, r)
			return
		}
		// The escaped path, so that a token spelled with percent-escapes
		// is not the token: the CA sends it as it is.
		path := r.URL.EscapedPath()
		if path == "/" || path == "/healthz" {
			w.WriteHeader(http.StatusOK)
			return
		}
		host := requestHost(r.Host)
		if path != answerPath || host != domain {
			// Scanners knock on every public port; this is not news.
			log.Debug("no challenge here", "host", r.Host, "path", path)
			http.NotFound(w, r)
			return
		}
		log.Info("answering the HTTP-01 challenge", "host", host, "token", token, "remote", r.RemoteAddr)
		// A cached answer outlives the challenge: a CA that validates the
		// same name again later must see the new token's key, not this one.
		w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(key)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, key)
		}
	})
}

// requestHost is the host in a Host header: without its port, and without
// the brackets RFC 3986 puts around an IPv6 literal, so that an IP address
// identifier (RFC 8738) compares equal to the address in spec.dnsName.
func requestHost(hostport string) string {
	if host, port, err := net.SplitHostPort(hostport); err == nil && isDigits(port) {
		return host
	}
	if inner, ok := strings.CutPrefix(hostport, "["); ok {
		if inner, ok := strings.CutSuffix(inner, "]"); ok {
			return inner
		}
	}
	return hostport
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
