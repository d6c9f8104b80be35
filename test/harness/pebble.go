package harness

import (
	"bytes"
	"context"
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
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Pebble's tools, built from the module pinned in test/tools/pebble.
func pebbleTool() tool {
	return tool{name: "pebble", dir: "pebble", module: "github.com/letsencrypt/pebble/v2", pkg: "github.com/letsencrypt/pebble/v2/cmd/pebble"}
}

func challTestSrvTool() tool {
	return tool{name: "pebble-challtestsrv", dir: "pebble", module: "github.com/letsencrypt/pebble/v2", pkg: "github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv"}
}

// ensureTool15m builds t on first use, giving a cold module cache 15 minutes.
func ensureTool15m(t tool) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	return ensureOneTool(ctx, t)
}

// Profile names in DefaultPebbleProfiles.
const (
	PebbleDefaultProfile    = "default"
	PebbleShortLivedProfile = "shortlived"
)

// PebbleProfile is one certificate profile Pebble advertises in its
// directory's meta.profiles and honours in newOrder's "profile" field. An
// order that names no profile gets one picked at random, so tests that
// check lifetimes name one. Certificates run from NotBefore to
// NotBefore+Validity-1s.
type PebbleProfile struct {
	Description string
	// Validity is the issued certificates' lifetime, in whole seconds.
	Validity time.Duration
}

// DefaultPebbleProfiles returns the profiles StartPebble configures when
// PebbleOptions.Profiles is nil: "default" (90 days) and "shortlived"
// (6 days), as in Pebble's own test config and Let's Encrypt's offer.
func DefaultPebbleProfiles() map[string]PebbleProfile {
	return map[string]PebbleProfile{
		PebbleDefaultProfile:    {Description: "90-day certificates", Validity: 90 * 24 * time.Hour},
		PebbleShortLivedProfile: {Description: "6-day certificates", Validity: 6 * 24 * time.Hour},
	}
}

// PebbleOptions configures StartPebble.
type PebbleOptions struct {
	// DNSServer is the "host:port" of the DNS server Pebble's validation
	// authority resolves challenge names through (over TCP), normally
	// DNS.Addr(). Empty means the system resolver.
	DNSServer string
	// HTTPPort is the port Pebble's validation authority connects to for
	// HTTP-01 (a solver must listen there); 0 picks a free port.
	HTTPPort int
	// TLSPort is the port for TLS-ALPN-01; 0 picks a free port.
	TLSPort int
	// Profiles replaces DefaultPebbleProfiles when non-nil.
	Profiles map[string]PebbleProfile
	// Env is added to Pebble's environment, e.g. "PEBBLE_WFE_NONCEREJECT=0"
	// (default: 5% of good nonces rejected), "PEBBLE_AUTHZREUSE=0" (default:
	// 50% of valid authorizations reused), "PEBBLE_CHAIN_LENGTH=2".
	// PEBBLE_VA_NOSLEEP=1 is always set.
	Env []string
	// StartTimeout bounds the start once the binary is built (the first
	// build, up to 15 minutes, is not counted); default 1 minute.
	StartTimeout time.Duration
	// EABKeys, when set, makes Pebble require external account binding
	// (RFC 8555 §7.3.4) and accept these key IDs, each with its HMAC key
	// in base64url, as a commercial CA hands them out.
	EABKeys map[string]string
}

// Pebble is a running Pebble ACME server (github.com/letsencrypt/pebble/v2,
// version pinned in test/tools/pebble). Its state (accounts, orders, issuing
// CA) is in memory and new on every start.
type Pebble struct {
	dir      string
	port     int
	mgmtPort int
	httpPort int
	tlsPort  int
	caPEM    []byte // root of Pebble's HTTPS serving certificate
	rootsPEM []byte // Pebble's ACME issuance root
	client   *http.Client
	proc     *process
}

// StartPebble builds pebble on first use, then starts it with a generated
// config: the ACME API and the management API on two free loopback ports
// (HTTPS, with a serving certificate from a fresh CA, see CABundle), the
// validation authority's HTTP-01/TLS-ALPN-01 ports from opts, the profiles
// from opts, ECDSA issuance, Retry-After of 1s on pending authorizations and
// orders, and PEBBLE_VA_NOSLEEP=1 so validation starts at once. It waits
// until the directory and the management API's /roots/0 answer, and kills
// Pebble when the test ends, printing its log if the test failed.
func StartPebble(t testing.TB, opts PebbleOptions) *Pebble {
	t.Helper()
	bin, err := ensureTool15m(pebbleTool())
	if err != nil {
		t.Fatalf("StartPebble: %v", err)
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if opts.Profiles == nil {
		opts.Profiles = DefaultPebbleProfiles()
	}
	for name, prof := range opts.Profiles {
		if prof.Validity < time.Second {
			t.Fatalf("StartPebble: profile %q: validity %s is under a second", name, prof.Validity)
		}
	}

	p := &Pebble{dir: t.TempDir()}
	caPEM, certPEM, keyPEM, err := newServingCert()
	if err != nil {
		t.Fatalf("StartPebble: %v", err)
	}
	p.caPEM = caPEM
	certFile := filepath.Join(p.dir, "cert.pem")
	keyFile := filepath.Join(p.dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatalf("StartPebble: %v", err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatalf("StartPebble: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	p.client = &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
	t.Cleanup(p.client.CloseIdleConnections)

	for attempt := 1; ; attempt++ {
		err := p.start(ctx, bin, opts, certFile, keyFile)
		if err == nil {
			break
		}
		if !errors.Is(err, errPortInUse) || attempt == maxPortAttempts {
			t.Fatalf("StartPebble: %v", err)
		}
	}
	t.Cleanup(func() {
		p.proc.kill()
		if t.Failed() {
			data, _ := os.ReadFile(p.proc.logPath)
			t.Logf("pebble log (%s):\n%s", p.proc.logPath, tail(string(data), 80))
		}
	})
	return p
}

func (p *Pebble) start(ctx context.Context, bin string, opts PebbleOptions, certFile, keyFile string) error {
	ports, err := freePorts(4)
	if err != nil {
		return err
	}
	p.port, p.mgmtPort = ports[0], ports[1]
	p.httpPort, p.tlsPort = opts.HTTPPort, opts.TLSPort
	if p.httpPort == 0 {
		p.httpPort = ports[2]
	}
	if p.tlsPort == 0 {
		p.tlsPort = ports[3]
	}

	type profile struct {
		Description    string `json:"description"`
		ValidityPeriod uint64 `json:"validityPeriod"`
	}
	profiles := make(map[string]profile, len(opts.Profiles))
	for name, prof := range opts.Profiles {
		profiles[name] = profile{Description: prof.Description, ValidityPeriod: uint64(prof.Validity / time.Second)}
	}
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":                  net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)),
		"managementListenAddress":        net.JoinHostPort("127.0.0.1", strconv.Itoa(p.mgmtPort)),
		"certificate":                    certFile,
		"privateKey":                     keyFile,
		"httpPort":                       p.httpPort,
		"tlsPort":                        p.tlsPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": len(opts.EABKeys) > 0,
		"externalAccountMACKeys":         opts.EABKeys,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
		"keyAlgorithm":                   "ecdsa",
		"profiles":                       profiles,
	}}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	cfgFile := filepath.Join(p.dir, "pebble-config.json")
	if err := os.WriteFile(cfgFile, data, 0o644); err != nil {
		return err
	}
	args := []string{"-config", cfgFile}
	if opts.DNSServer != "" {
		args = append(args, "-dnsserver", opts.DNSServer)
	}
	proc, err := startProcessEnv("pebble", bin, filepath.Join(p.dir, "pebble.log"),
		append([]string{"PEBBLE_VA_NOSLEEP=1"}, opts.Env...), args...)
	if err != nil {
		return err
	}
	p.proc = proc
	tlsConfig := p.client.Transport.(*http.Transport).TLSClientConfig
	if err := waitReady(ctx, proc, p.DirectoryURL(), "", tlsConfig); err != nil {
		proc.kill()
		return err
	}
	if err := waitReady(ctx, proc, p.ManagementURL()+"/roots/0", "", tlsConfig); err != nil {
		proc.kill()
		return err
	}
	roots, err := p.get(ctx, p.ManagementURL()+"/roots/0")
	if err != nil {
		proc.kill()
		return proc.failure(err)
	}
	if block, _ := pem.Decode(roots); block == nil || block.Type != "CERTIFICATE" {
		proc.kill()
		return proc.failure(fmt.Errorf("/roots/0 is not a PEM certificate: %.200q", roots))
	}
	p.rootsPEM = roots
	return nil
}

// startProcessEnv is startProcess with extra environment variables on top
// of the test binary's.
func startProcessEnv(name, bin, logPath string, env []string, args ...string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, logFile: logFile, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// DirectoryURL returns the ACME directory URL (an Issuer's spec.acme.server).
func (p *Pebble) DirectoryURL() string {
	return fmt.Sprintf("https://127.0.0.1:%d/dir", p.port)
}

// ManagementURL returns the base URL of Pebble's management API (HTTPS,
// same serving certificate): GET /roots/0, /intermediates/0,
// /cert-status-by-serial/<hex>, POST /set-renewal-info/.
func (p *Pebble) ManagementURL() string {
	return fmt.Sprintf("https://127.0.0.1:%d", p.mgmtPort)
}

// CABundle returns the PEM of the CA that signed Pebble's HTTPS serving
// certificate (valid for 127.0.0.1 and localhost), for an Issuer's
// spec.acme.caBundle. It is generated afresh for every StartPebble.
func (p *Pebble) CABundle() []byte { return bytes.Clone(p.caPEM) }

// RootCAs returns the PEM of the root Pebble issues ACME certificates under,
// fetched from the management API's /roots/0 at start (new on every start).
func (p *Pebble) RootCAs() []byte { return bytes.Clone(p.rootsPEM) }

// HTTPPort returns the port Pebble's validation authority connects to, on
// the address the challenge name resolves to, for HTTP-01.
func (p *Pebble) HTTPPort() int { return p.httpPort }

// TLSPort returns the port Pebble's validation authority connects to for
// TLS-ALPN-01.
func (p *Pebble) TLSPort() int { return p.tlsPort }

// HTTPClient returns an HTTP client trusting CABundle.
func (p *Pebble) HTTPClient() *http.Client { return p.client }

// LogPath returns the path of Pebble's log.
func (p *Pebble) LogPath() string { return p.proc.logPath }

// SetRenewalInfo makes Pebble's ARI endpoint answer for the certificate in
// certPEM (one Pebble issued; matched by serial) with the suggested window
// [start, end) instead of its default: two days centred two thirds into the
// certificate's lifetime (clipped to it), or a one-second window an hour in
// the past once revoked. The override lasts for the life of this Pebble.
// Pebble sends a fixed Retry-After of 6 hours with every ARI answer.
func (p *Pebble) SetRenewalInfo(t testing.TB, certPEM []byte, start, end time.Time) {
	t.Helper()
	window := map[string]any{"suggestedWindow": map[string]string{
		"start": start.UTC().Format(time.RFC3339Nano),
		"end":   end.UTC().Format(time.RFC3339Nano),
	}}
	data, err := json.Marshal(window)
	if err != nil {
		t.Fatalf("SetRenewalInfo: %v", err)
	}
	p.SetRenewalInfoRaw(t, certPEM, string(data))
}

// SetRenewalInfoRaw makes Pebble's ARI endpoint answer for the certificate
// in certPEM with body verbatim (any bytes, even malformed JSON). Only the
// first PEM block of certPEM is used.
func (p *Pebble) SetRenewalInfoRaw(t testing.TB, certPEM []byte, body string) {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("SetRenewalInfo: certPEM does not start with a PEM certificate")
	}
	req, err := json.Marshal(map[string]string{
		"certificate": string(pem.EncodeToMemory(block)),
		"ariResponse": body,
	})
	if err != nil {
		t.Fatalf("SetRenewalInfo: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, p.ManagementURL()+"/set-renewal-info/", bytes.NewReader(req))
	if err != nil {
		t.Fatalf("SetRenewalInfo: %v", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(hreq)
	if err != nil {
		t.Fatalf("SetRenewalInfo: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("SetRenewalInfo: POST /set-renewal-info/: %s: %s", resp.Status, msg)
	}
}

func (p *Pebble) get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %.300s", url, resp.Status, body)
	}
	return body, nil
}

// newServingCert makes a throwaway CA and an ECDSA serving certificate for
// 127.0.0.1, ::1 and localhost signed by it.
func newServingCert() (caPEM, certPEM, keyPEM []byte, err error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "certsweep harness Pebble HTTPS CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create serving CA: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create serving certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		nil
}

// ChallTestSrv is a running pebble-challtestsrv serving HTTP-01 challenge
// responses on a loopback port, set through its management API. Its mock
// DNS, DoH, HTTPS-01 and TLS-ALPN-01 servers are off: DNS is DNS's job.
type ChallTestSrv struct {
	httpPort int
	mgmtPort int
	client   *http.Client
	proc     *process
}

// StartChallTestSrv builds pebble-challtestsrv on first use and starts it with
// its HTTP-01 server on 127.0.0.1:httpPort (0 picks a free port; pass
// Pebble.HTTPPort() so Pebble's validation authority reaches it) and its
// management API on a free port. It waits until a probe challenge added
// through the management API is served, and kills it when the test ends.
func StartChallTestSrv(t testing.TB, httpPort int) *ChallTestSrv {
	t.Helper()
	bin, err := ensureTool15m(challTestSrvTool())
	if err != nil {
		t.Fatalf("StartChallTestSrv: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	s := &ChallTestSrv{client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}}
	for attempt := 1; ; attempt++ {
		err := s.start(ctx, bin, dir, httpPort)
		if err == nil {
			break
		}
		if !errors.Is(err, errPortInUse) || attempt == maxPortAttempts {
			t.Fatalf("StartChallTestSrv: %v", err)
		}
	}
	t.Cleanup(func() {
		s.proc.kill()
		if t.Failed() {
			data, _ := os.ReadFile(s.proc.logPath)
			t.Logf("pebble-challtestsrv log (%s):\n%s", s.proc.logPath, tail(string(data), 60))
		}
	})
	return s
}

func (s *ChallTestSrv) start(ctx context.Context, bin, dir string, httpPort int) error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	s.mgmtPort, s.httpPort = ports[0], ports[1]
	if httpPort != 0 {
		s.httpPort = httpPort
	}
	proc, err := startProcess("pebble-challtestsrv", bin, filepath.Join(dir, "pebble-challtestsrv.log"),
		"-management", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.mgmtPort)),
		"-http01", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.httpPort)),
		"-https01", "", "-doh", "", "-dnsserver", "", "-tlsalpn01", "")
	if err != nil {
		return err
	}
	s.proc = proc
	const probeToken, probeContent = "certsweep-harness-probe", "ready"
	var lastErr error
	for {
		lastErr = s.post(ctx, "/add-http01", map[string]string{"token": probeToken, "content": probeContent})
		if lastErr == nil {
			var body []byte
			body, lastErr = s.getChallenge(ctx, probeToken)
			if lastErr == nil && string(body) == probeContent {
				if err := s.post(ctx, "/del-http01", map[string]string{"token": probeToken}); err != nil {
					proc.kill()
					return proc.failure(err)
				}
				return nil
			}
			if lastErr == nil {
				lastErr = fmt.Errorf("probe challenge served %q, want %q", body, probeContent)
			}
		}
		// pebble-challtestsrv logs a failed bind and keeps running.
		if logContains(proc, "address already in use") {
			proc.kill()
			return fmt.Errorf("%w: %w", errPortInUse, proc.failure(lastErr))
		}
		select {
		case <-proc.exited:
			return proc.failure(fmt.Errorf("process exited: %v", proc.err))
		case <-ctx.Done():
			proc.kill()
			return proc.failure(fmt.Errorf("%w (last probe: %v)", ctx.Err(), lastErr))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// HTTPPort returns the port the HTTP-01 server listens on (127.0.0.1).
func (s *ChallTestSrv) HTTPPort() int { return s.httpPort }

// ManagementURL returns the base URL of pebble-challtestsrv's management API
// (plain HTTP).
func (s *ChallTestSrv) ManagementURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d", s.mgmtPort)
}

// AddHTTP01 serves keyAuth at /.well-known/acme-challenge/<token>.
func (s *ChallTestSrv) AddHTTP01(t testing.TB, token, keyAuth string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.post(ctx, "/add-http01", map[string]string{"token": token, "content": keyAuth}); err != nil {
		t.Fatalf("ChallTestSrv.AddHTTP01: %v", err)
	}
}

// DelHTTP01 stops serving token.
func (s *ChallTestSrv) DelHTTP01(t testing.TB, token string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.post(ctx, "/del-http01", map[string]string{"token": token}); err != nil {
		t.Fatalf("ChallTestSrv.DelHTTP01: %v", err)
	}
}

func (s *ChallTestSrv) post(ctx context.Context, path string, body any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.ManagementURL()+path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("POST %s: %s: %s", path, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

func (s *ChallTestSrv) getChallenge(ctx context.Context, token string) ([]byte, error) {
	url := fmt.Sprintf("http://127.0.0.1:%d/.well-known/acme-challenge/%s", s.httpPort, token)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}
