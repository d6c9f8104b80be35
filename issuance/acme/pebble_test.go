package acme_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"

	"github.com/certsweep/certsweep/issuance/acme"
	"github.com/certsweep/certsweep/issuance/dns01"
	"github.com/certsweep/certsweep/issuance/pki"
	"github.com/certsweep/certsweep/test/harness"
)

const zone = "example.test."

// env is one named + one Pebble resolving through it, and an account.
type env struct {
	dns    *harness.DNS
	pebble *harness.Pebble
	client *acme.Client
	solver *dns01.RFC2136
}

// start brings up named and Pebble (with one alternate root, so there is
// an alternate chain) and a client for a fresh ECDSA account key.
func start(t *testing.T) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("starts named and Pebble")
	}
	d := harness.StartDNS(t, zone)
	p := harness.StartPebble(t, harness.PebbleOptions{DNSServer: d.Addr(), Env: []string{"PEBBLE_ALTERNATE_ROOTS=1"}})
	solver, err := dns01.NewRFC2136(cmacme.ACMEIssuerDNS01ProviderRFC2136{
		Nameserver:    d.Addr(),
		TSIGKeyName:   d.TSIGKeyName(),
		TSIGAlgorithm: d.TSIGAlgorithm(),
	}, d.TSIGSecret())
	if err != nil {
		t.Fatalf("NewRFC2136: %v", err)
	}
	e := &env{dns: d, pebble: p, solver: solver}
	e.client = e.newClient(t, newKey(t), "")
	return e
}

func (e *env) newClient(t *testing.T, key crypto.Signer, accountURL string) *acme.Client {
	t.Helper()
	c, err := acme.New(t.Context(), acme.Config{
		DirectoryURL: e.pebble.DirectoryURL(),
		CABundle:     e.pebble.CABundle(),
		UserAgent:    "certsweep/test",
	}, key, accountURL)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// poll calls f up to 60 times, 250ms apart, until it reports done.
func poll(t *testing.T, what string, f func() (done bool, err error)) {
	t.Helper()
	for range 60 {
		done, err := f()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if done {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s: not done after 60 polls", what)
}

// authorize completes every authorization of order with DNS-01 through
// the RFC 2136 solver, checking each step, and cleans the records up.
func (e *env) authorize(t *testing.T, order acme.Order) {
	t.Helper()
	ctx := t.Context()
	for _, authzURL := range order.Authorizations {
		authz, err := e.client.GetAuthorization(ctx, authzURL)
		if err != nil {
			t.Fatalf("GetAuthorization: %v", err)
		}
		if authz.Status == "valid" {
			continue // Pebble reuses valid authorizations at random
		}
		if authz.Status != "pending" {
			t.Fatalf("authorization %s is %s", authz.URL, authz.Status)
		}
		ch, ok := authz.Challenge("dns-01")
		if !ok {
			t.Fatalf("authorization for %s offers no dns-01: %+v", authz.Identifier, authz.Challenges)
		}
		keyAuth, err := e.client.KeyAuthorization(ch.Token)
		if err != nil {
			t.Fatalf("KeyAuthorization: %v", err)
		}
		fqdn := dns01.ChallengeFQDN(authz.Identifier)
		value := acme.DNS01Value(keyAuth)
		// Twice: Present is idempotent.
		for range 2 {
			if err := e.solver.Present(ctx, fqdn, value); err != nil {
				t.Fatalf("Present: %v", err)
			}
		}
		if got := e.dns.LookupTXT(t, fqdn); !slices.Equal(got, []string{value}) {
			t.Fatalf("TXT %s after Present = %q, want [%q]", fqdn, got, value)
		}
		seen, err := dns01.Propagated(ctx, fqdn, value, []string{e.dns.Addr()}, true)
		if err != nil || !seen {
			t.Fatalf("Propagated = %v, %v; want true", seen, err)
		}
		accepted, err := e.client.AcceptChallenge(ctx, ch.URL)
		if err != nil {
			t.Fatalf("AcceptChallenge: %v", err)
		}
		if accepted.URL != ch.URL || accepted.Type != "dns-01" {
			t.Errorf("AcceptChallenge returned %+v for %s", accepted, ch.URL)
		}
		poll(t, "authorization valid", func() (bool, error) {
			got, err := e.client.GetAuthorization(ctx, authzURL)
			if err != nil {
				return false, err
			}
			switch got.Status {
			case "valid":
				return true, nil
			case "pending":
				return false, nil
			}
			c, _ := got.Challenge("dns-01")
			return false, fmt.Errorf("authorization is %s: %+v", got.Status, c.Error)
		})
		got, err := e.client.GetChallenge(ctx, ch.URL)
		if err != nil || got.Status != "valid" {
			t.Fatalf("GetChallenge = %+v, %v; want valid", got, err)
		}
		// Twice: CleanUp is idempotent.
		for range 2 {
			if err := e.solver.CleanUp(ctx, fqdn, value); err != nil {
				t.Fatalf("CleanUp: %v", err)
			}
		}
		if got := e.dns.LookupTXT(t, fqdn); len(got) != 0 {
			t.Fatalf("TXT %s after CleanUp = %q, want none", fqdn, got)
		}
		if seen, err := dns01.Propagated(ctx, fqdn, value, []string{e.dns.Addr()}, true); err != nil || seen {
			t.Fatalf("Propagated after CleanUp = %v, %v; want false", seen, err)
		}
	}
}

// issue runs order to a certificate: authorize, wait for ready, finalize
// with a fresh key's CSR, wait for valid, download. It returns the chain
// PEM, the parsed chain and the key.
func (e *env) issue(t *testing.T, order acme.Order, names []string, preferredChain string) ([]byte, []*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	ctx := t.Context()
	e.authorize(t, order)
	poll(t, "order ready", func() (bool, error) {
		got, err := e.client.GetOrder(ctx, order.URL)
		if err != nil {
			return false, err
		}
		if err := got.Err(); err != nil {
			return false, err
		}
		return got.Status == "ready", nil
	})
	key := newKey(t)
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: names[0]},
		DNSNames: names,
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	finalized, err := e.client.Finalize(ctx, order.FinalizeURL, csr)
	if err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	if finalized.Status != "processing" && finalized.Status != "valid" {
		t.Fatalf("order after Finalize is %s", finalized.Status)
	}
	var certURL string
	poll(t, "order valid", func() (bool, error) {
		got, err := e.client.GetOrder(ctx, order.URL)
		if err != nil {
			return false, err
		}
		if err := got.Err(); err != nil {
			return false, err
		}
		certURL = got.CertificateURL
		return got.Status == "valid", nil
	})
	chainPEM, err := e.client.Certificate(ctx, certURL, preferredChain)
	if err != nil {
		t.Fatalf("Certificate: %v", err)
	}
	chain, err := pki.DecodeCertificates(chainPEM)
	if err != nil {
		t.Fatalf("chain: %v", err)
	}
	leaf := chain[0]
	if !slices.Equal(leaf.DNSNames, names) {
		t.Errorf("leaf DNS names %q, want %q", leaf.DNSNames, names)
	}
	if !key.PublicKey.Equal(leaf.PublicKey) {
		t.Errorf("leaf public key is not the CSR's")
	}
	for i := 1; i < len(chain); i++ {
		if err := chain[i-1].CheckSignatureFrom(chain[i]); err != nil {
			t.Errorf("chain[%d] is not signed by chain[%d]: %v", i-1, i, err)
		}
	}
	return chainPEM, chain, key
}

// TestPebbleDNS01 runs one order from account to certificate: every call
// of the client and the RFC 2136 solver against the real servers, then ARI
// and a replacement order.
func TestPebbleDNS01(t *testing.T) {
	e := start(t)
	ctx := t.Context()

	if !e.client.SupportsRenewalInfo() {
		t.Errorf("SupportsRenewalInfo = false; Pebble serves renewalInfo")
	}
	accountURL, err := e.client.Register(ctx, "Someone@Example.test", nil)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	again, err := e.client.Register(ctx, "someone@example.test", nil)
	if err != nil || again != accountURL {
		t.Fatalf("second Register = %q, %v; want %q", again, err, accountURL)
	}
	if e.client.AccountURL() != accountURL {
		t.Errorf("AccountURL = %q, want %q", e.client.AccountURL(), accountURL)
	}
	if err := e.client.UpdateEmail(ctx, "other@example.test"); err != nil {
		t.Errorf("UpdateEmail: %v", err)
	}

	names := []string{"a.example.test"}
	order, err := e.client.NewOrder(ctx, names, "", "")
	if err != nil {
		t.Fatalf("NewOrder: %v", err)
	}
	if order.URL == "" || order.Status != "pending" || order.FinalizeURL == "" || len(order.Authorizations) != 1 || !slices.Equal(order.Identifiers, names) {
		t.Fatalf("NewOrder = %+v", order)
	}
	// A second process picks the order up from its URL alone.
	got, err := e.client.GetOrder(ctx, order.URL)
	if err != nil || got.URL != order.URL || got.FinalizeURL != order.FinalizeURL {
		t.Fatalf("GetOrder = %+v, %v", got, err)
	}

	_, chain, _ := e.issue(t, order, names, "")
	leaf := chain[0]

	// ARI: Pebble's window lies within the certificate's lifetime.
	w, err := e.client.RenewalInfo(ctx, leaf)
	if err != nil {
		t.Fatalf("RenewalInfo: %v", err)
	}
	if !w.Start.Before(w.End) || w.Start.Before(leaf.NotBefore) || w.End.After(leaf.NotAfter) {
		t.Errorf("renewal window %s..%s, certificate %s..%s", w.Start, w.End, leaf.NotBefore, leaf.NotAfter)
	}
	if w.RetryAfter != 6*time.Hour {
		t.Errorf("renewal window RetryAfter = %s, want Pebble's 6h", w.RetryAfter)
	}
	start := leaf.NotBefore.Add(-2 * time.Hour).UTC().Truncate(time.Second)
	e.pebble.SetRenewalInfo(t, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), start, start.Add(time.Hour))
	if w, err := e.client.RenewalInfo(ctx, leaf); err != nil || !w.Start.Equal(start) || !w.End.Equal(start.Add(time.Hour)) {
		t.Errorf("RenewalInfo after SetRenewalInfo = %+v, %v; want %s..%s", w, err, start, start.Add(time.Hour))
	}

	// A replacement order names the leaf; once it is finalized, Pebble
	// marks the leaf replaced and a further order naming it is answered
	// alreadyReplaced, which NewOrder gets around by dropping replaces.
	certID, err := pki.ARICertID(leaf)
	if err != nil {
		t.Fatalf("CertID: %v", err)
	}
	replacement, err := e.client.NewOrder(ctx, names, "", certID)
	if err != nil {
		t.Fatalf("NewOrder replacing: %v", err)
	}
	if replacement.ReplacesDropped || replacement.Replaces != certID {
		t.Errorf("replacement order: ReplacesDropped %v, Replaces %q; want false, %q", replacement.ReplacesDropped, replacement.Replaces, certID)
	}
	e.issue(t, replacement, names, "")
	poll(t, "alreadyReplaced", func() (bool, error) {
		o, err := e.client.NewOrder(ctx, names, "", certID)
		if err != nil {
			return false, err
		}
		if o.ReplacesDropped && o.Replaces != "" {
			return false, fmt.Errorf("ReplacesDropped but the order replaces %q", o.Replaces)
		}
		return o.ReplacesDropped, nil
	})
}

// TestPebbleResume runs an order across three clients, as three processes
// would: each knows only the account key, the account URL and the URLs
// the previous one stored.
func TestPebbleResume(t *testing.T) {
	e := start(t)
	ctx := t.Context()
	key := newKey(t)
	first := e.newClient(t, key, "")
	accountURL, err := first.Register(ctx, "", nil)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	order, err := first.NewOrder(ctx, []string{"resume.example.test"}, harness.PebbleDefaultProfile, "")
	if err != nil {
		t.Fatalf("NewOrder: %v", err)
	}

	second := e.newClient(t, key, accountURL)
	if again, err := second.Register(ctx, "", nil); err != nil || again != accountURL {
		t.Fatalf("Register with a known account URL = %q, %v; want %q", again, err, accountURL)
	}
	e.client = second
	stored, err := second.GetOrder(ctx, order.URL)
	if err != nil {
		t.Fatalf("GetOrder: %v", err)
	}
	e.authorize(t, stored)

	third := e.newClient(t, key, accountURL)
	e.client = third
	chainPEM, chain, _ := e.issue(t, stored, []string{"resume.example.test"}, "")
	if len(chainPEM) == 0 || chain[0].NotAfter.Sub(chain[0].NotBefore) != 90*24*time.Hour-time.Second {
		t.Errorf("default-profile certificate lifetime %s", chain[0].NotAfter.Sub(chain[0].NotBefore))
	}
}

// TestPebbleProfile orders with the shortlived profile, checks the order
// and the certificate carry it, and that an unknown profile is refused.
func TestPebbleProfile(t *testing.T) {
	e := start(t)
	ctx := t.Context()
	if _, err := e.client.Register(ctx, "", nil); err != nil {
		t.Fatalf("Register: %v", err)
	}
	profiles := e.client.Profiles()
	if _, ok := profiles[harness.PebbleShortLivedProfile]; !ok {
		t.Fatalf("Profiles = %v, want %q", profiles, harness.PebbleShortLivedProfile)
	}
	names := []string{"short.example.test"}
	order, err := e.client.NewOrder(ctx, names, harness.PebbleShortLivedProfile, "")
	if err != nil {
		t.Fatalf("NewOrder: %v", err)
	}
	if order.Profile != harness.PebbleShortLivedProfile {
		t.Errorf("order profile %q, want %q", order.Profile, harness.PebbleShortLivedProfile)
	}
	_, chain, _ := e.issue(t, order, names, "")
	if got, want := chain[0].NotAfter.Sub(chain[0].NotBefore), 6*24*time.Hour-time.Second; got != want {
		t.Errorf("shortlived certificate lifetime %s, want %s", got, want)
	}

	_, err = e.client.NewOrder(ctx, names, "no-such-profile", "")
	refused, _, problem := acme.Classify(err)
	if !refused || problem == nil || problem.Type != acme.ProblemInvalidProfile {
		t.Errorf("unknown profile: Classify(%v) = %v, %+v; want refused invalidProfile", err, refused, problem)
	}
}

// TestPebbleRefused checks that what Pebble refuses is classified refused,
// with the problem the CA sent.
func TestPebbleRefused(t *testing.T) {
	e := start(t)
	ctx := t.Context()
	if _, err := e.client.Register(ctx, "", nil); err != nil {
		t.Fatalf("Register: %v", err)
	}
	for _, name := range []string{"bad!name.example.test", "trailing.example.test.", "*.*.example.test"} {
		_, err := e.client.NewOrder(ctx, []string{name}, "", "")
		if err == nil {
			t.Errorf("NewOrder(%q) succeeded", name)
			continue
		}
		refused, retryAfter, problem := acme.Classify(err)
		if !refused || retryAfter != 0 || problem == nil || problem.Type != acme.ProblemMalformed || problem.Status != http.StatusBadRequest {
			t.Errorf("NewOrder(%q): Classify(%v) = %v, %s, %+v; want refused malformed 400", name, err, refused, retryAfter, problem)
		}
		var ae *acme.Error
		if !errors.As(err, &ae) || ae.Op != "new order" || ae.Status != http.StatusBadRequest {
			t.Errorf("NewOrder(%q) error %#v is not an *acme.Error for new order with status 400", name, err)
		}
	}

	// A client whose account does not exist is refused too.
	stranger := e.newClient(t, newKey(t), e.client.AccountURL()+"-gone")
	_, err := stranger.NewOrder(ctx, []string{"x.example.test"}, "", "")
	if refused, _, problem := acme.Classify(err); !refused || problem == nil {
		t.Errorf("unknown account: Classify(%v) = %v, %+v; want refused", err, refused, problem)
	} else {
		t.Logf("unknown account: %v", err)
	}

	// A CSR that does not match the order is badCSR or unauthorized:
	// refused. (Finalize before the order is ready is orderNotReady,
	// which is not.)
	order, err := e.client.NewOrder(ctx, []string{"csr.example.test"}, "", "")
	if err != nil {
		t.Fatalf("NewOrder: %v", err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"csr.example.test"}}, newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.Finalize(ctx, order.FinalizeURL, csr)
	if refused, _, problem := acme.Classify(err); refused || problem == nil || problem.Type != acme.ProblemOrderNotReady {
		t.Errorf("Finalize of a pending order: Classify(%v) = %v, %+v; want not refused, orderNotReady", err, refused, problem)
	}
	e.authorize(t, order)
	poll(t, "order ready", func() (bool, error) {
		got, err := e.client.GetOrder(ctx, order.URL)
		return got.Status == "ready", err
	})
	wrong, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"other.example.test"}}, newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.Finalize(ctx, order.FinalizeURL, wrong)
	if refused, _, problem := acme.Classify(err); !refused || problem == nil {
		t.Errorf("Finalize with a CSR for other names: Classify(%v) = %v, %+v; want refused", err, refused, problem)
	}
}

// TestPebblePreferredChain picks the alternate chain by its top issuer's
// common name, as cert-manager's preferredChain does.
func TestPebblePreferredChain(t *testing.T) {
	e := start(t)
	ctx := t.Context()
	if _, err := e.client.Register(ctx, "", nil); err != nil {
		t.Fatalf("Register: %v", err)
	}
	rootCN := func(i int) string {
		resp, err := e.pebble.HTTPClient().Get(fmt.Sprintf("%s/roots/%d", e.pebble.ManagementURL(), i))
		if err != nil {
			t.Fatalf("root %d: %v", i, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		certs, err := pki.DecodeCertificates(body)
		if err != nil {
			t.Fatalf("root %d: %v", i, err)
		}
		return certs[0].Subject.CommonName
	}
	defaultRoot, alternateRoot := rootCN(0), rootCN(1)
	if defaultRoot == alternateRoot {
		t.Fatalf("both roots are %q", defaultRoot)
	}
	names := []string{"chain.example.test"}
	order, err := e.client.NewOrder(ctx, names, "", "")
	if err != nil {
		t.Fatalf("NewOrder: %v", err)
	}
	_, chain, _ := e.issue(t, order, names, "")
	if top := chain[len(chain)-1].Issuer.CommonName; top != defaultRoot {
		t.Errorf("default chain tops at %q, want %q", top, defaultRoot)
	}
	got, err := e.client.GetOrder(ctx, order.URL)
	if err != nil {
		t.Fatalf("GetOrder: %v", err)
	}
	for preferred, want := range map[string]string{
		alternateRoot:   alternateRoot,
		defaultRoot:     defaultRoot,
		"no such chain": defaultRoot,
		"":              defaultRoot,
	} {
		chainPEM, err := e.client.Certificate(ctx, got.CertificateURL, preferred)
		if err != nil {
			t.Fatalf("Certificate(%q): %v", preferred, err)
		}
		certs, err := pki.DecodeCertificates(chainPEM)
		if err != nil {
			t.Fatalf("Certificate(%q): %v", preferred, err)
		}
		if top := certs[len(certs)-1].Issuer.CommonName; top != want {
			t.Errorf("Certificate(%q) tops at %q, want %q", preferred, top, want)
		}
		if !certs[0].Equal(chain[0]) {
			t.Errorf("Certificate(%q) leaf differs from the default chain's", preferred)
		}
	}
}
