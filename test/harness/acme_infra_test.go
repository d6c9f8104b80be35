package harness

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/cert-manager/cert-manager/third_party/forked/acme"
)

const testZone = "example.test."

// TestDNSDynamicUpdate checks that named serves the zone, takes TSIG-signed
// RFC 2136 updates, and refuses unsigned ones.
func TestDNSDynamicUpdate(t *testing.T) {
	d := StartDNS(t, "Example.Test") // normalised to "example.test."
	if d.Zone() != testZone {
		t.Fatalf("Zone() = %q, want %q", d.Zone(), testZone)
	}
	if got := d.LookupTXT(t, "_acme-challenge.www.example.test"); len(got) != 0 {
		t.Fatalf("TXT before any update = %q, want none", got)
	}

	d.AddTXT(t, "_acme-challenge.www.example.test", "token-value-1")
	d.AddTXT(t, "_acme-challenge.www.example.test.", "token-value-2")
	got := d.LookupTXT(t, "_acme-challenge.www.example.test")
	slices.Sort(got)
	if want := []string{"token-value-1", "token-value-2"}; !slices.Equal(got, want) {
		t.Fatalf("TXT over UDP = %q, want %q", got, want)
	}
	// Pebble's validation authority asks over TCP.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tcp, err := d.resolver("tcp").LookupTXT(ctx, "_acme-challenge.www.example.test.")
	if err != nil {
		t.Fatalf("TXT over TCP: %v", err)
	}
	slices.Sort(tcp)
	if !slices.Equal(tcp, got) {
		t.Fatalf("TXT over TCP = %q, over UDP %q", tcp, got)
	}

	d.AddA(t, "www.example.test", "127.0.0.1")
	addrs, err := d.resolver("udp").LookupNetIP(ctx, "ip4", "www.example.test.")
	if err != nil {
		t.Fatalf("A www.example.test: %v", err)
	}
	if want := []netip.Addr{netip.MustParseAddr("127.0.0.1")}; !slices.Equal(addrs, want) {
		t.Fatalf("A www.example.test = %v, want %v", addrs, want)
	}

	d.Update(t, "update delete _acme-challenge.www.example.test. TXT \"token-value-1\"")
	if got := d.LookupTXT(t, "_acme-challenge.www.example.test"); !slices.Equal(got, []string{"token-value-2"}) {
		t.Fatalf("TXT after deleting one value = %q, want [token-value-2]", got)
	}

	err = d.update(ctx, false, "update add unsigned.example.test. 60 IN TXT \"nope\"")
	if err == nil {
		t.Fatalf("unsigned update was accepted")
	}
	t.Logf("unsigned update refused as expected: %v", err)
	if got := d.LookupTXT(t, "unsigned.example.test"); len(got) != 0 {
		t.Fatalf("unsigned update took effect: TXT = %q", got)
	}

	// A name outside the zone is refused, not answered from elsewhere.
	_, err = d.resolver("udp").LookupTXT(ctx, "elsewhere.invalid.")
	if err == nil {
		t.Fatalf("named answered for a name outside its zone")
	}
}

// TestPebbleDirectory checks that Pebble starts pointed at the DNS server and
// serves its directory over HTTPS trusted through CABundle alone.
func TestPebbleDirectory(t *testing.T) {
	d := StartDNS(t, testZone)
	p := StartPebble(t, PebbleOptions{DNSServer: d.Addr()})

	// Only CABundle, not the system roots and not the harness's client.
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(p.CABundle()) {
		t.Fatalf("CABundle is not PEM: %q", p.CABundle())
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(p.DirectoryURL())
	if err != nil {
		t.Fatalf("GET directory: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET directory: %s %v: %s", resp.Status, err, body)
	}
	var dir struct {
		NewNonce    string `json:"newNonce"`
		NewAccount  string `json:"newAccount"`
		NewOrder    string `json:"newOrder"`
		RenewalInfo string `json:"renewalInfo"`
		Meta        struct {
			Profiles map[string]string `json:"profiles"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(body, &dir); err != nil {
		t.Fatalf("decode directory: %v\n%s", err, body)
	}
	for name, url := range map[string]string{"newNonce": dir.NewNonce, "newAccount": dir.NewAccount, "newOrder": dir.NewOrder, "renewalInfo": dir.RenewalInfo} {
		if url == "" {
			t.Errorf("directory has no %s:\n%s", name, body)
		}
	}
	for _, profile := range []string{PebbleDefaultProfile, PebbleShortLivedProfile} {
		if _, ok := dir.Meta.Profiles[profile]; !ok {
			t.Errorf("directory meta.profiles lacks %q: %v", profile, dir.Meta.Profiles)
		}
	}

	block, _ := pem.Decode(p.RootCAs())
	if block == nil {
		t.Fatalf("RootCAs is not PEM: %q", p.RootCAs())
	}
	root, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !root.IsCA {
		t.Fatalf("RootCAs is not a CA certificate (err %v)", err)
	}
	if p.HTTPPort() == 0 || p.TLSPort() == 0 {
		t.Errorf("HTTPPort %d, TLSPort %d: want both set", p.HTTPPort(), p.TLSPort())
	}
}

// TestPebbleIssuesWithDNS01 runs a whole ACME order against Pebble with the
// DNS-01 record written to named by a signed update, so Pebble's validation
// really resolves through the DNS server; then moves the certificate's ARI
// window through Pebble's management API.
func TestPebbleIssuesWithDNS01(t *testing.T) {
	d := StartDNS(t, testZone)
	p := StartPebble(t, PebbleOptions{DNSServer: d.Addr()})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := acmeClient(ctx, t, p)

	const name = "dns01.example.test"
	order, err := client.AuthorizeOrder(ctx, []acme.AuthzID{{Type: "dns", Value: name}}, acme.WithOrderProfile(PebbleShortLivedProfile))
	if err != nil {
		t.Fatalf("new order: %v", err)
	}
	for _, u := range order.AuthzURLs {
		authz, err := client.GetAuthorization(ctx, u)
		if err != nil {
			t.Fatalf("get authorization: %v", err)
		}
		if authz.Status == acme.StatusValid {
			continue
		}
		chal := challenge(t, authz, "dns-01")
		record, err := client.DNS01ChallengeRecord(chal.Token)
		if err != nil {
			t.Fatalf("DNS-01 record: %v", err)
		}
		d.AddTXT(t, "_acme-challenge."+name, record)
		if _, err := client.Accept(ctx, chal); err != nil {
			t.Fatalf("accept challenge: %v", err)
		}
		if _, err := client.WaitAuthorization(ctx, authz.URI); err != nil {
			t.Fatalf("authorization did not become valid: %v", err)
		}
	}
	leaf, chain := finalize(ctx, t, client, order.URI, name)

	// The validation really reads named: a record with the wrong value
	// fails the challenge.
	const wrongName = "wrong.example.test"
	order2, err := client.AuthorizeOrder(ctx, []acme.AuthzID{{Type: "dns", Value: wrongName}})
	if err != nil {
		t.Fatalf("new order: %v", err)
	}
	authz, err := client.GetAuthorization(ctx, order2.AuthzURLs[0])
	if err != nil {
		t.Fatalf("get authorization: %v", err)
	}
	d.AddTXT(t, "_acme-challenge."+wrongName, "not-the-key-authorization")
	if _, err := client.Accept(ctx, challenge(t, authz, "dns-01")); err != nil {
		t.Fatalf("accept challenge: %v", err)
	}
	if _, err := client.WaitAuthorization(ctx, authz.URI); err == nil {
		t.Errorf("DNS-01 with a wrong TXT value was validated")
	} else {
		t.Logf("DNS-01 with a wrong TXT value failed as expected: %v", err)
	}

	if got, want := leaf.NotAfter.Sub(leaf.NotBefore), 6*24*time.Hour-time.Second; got != want {
		t.Errorf("shortlived certificate lifetime %s, want %s", got, want)
	}
	verifyChain(t, p, leaf, chain)

	// Pebble's own window lies within the certificate's lifetime.
	ri, err := client.GetRenewalInfo(ctx, leaf)
	if err != nil {
		t.Fatalf("renewalInfo: %v", err)
	}
	if w := ri.SuggestedWindow; w.Start.Before(leaf.NotBefore) || w.End.After(leaf.NotAfter) || !w.Start.Before(w.End) {
		t.Errorf("default ARI window %s..%s outside certificate lifetime %s..%s", w.Start, w.End, leaf.NotBefore, leaf.NotAfter)
	}

	// Move it (to the past: "renew now").
	start := leaf.NotBefore.Add(-2 * time.Hour).UTC().Truncate(time.Second)
	end := start.Add(time.Hour)
	p.SetRenewalInfo(t, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), start, end)
	ri, err = client.GetRenewalInfo(ctx, leaf)
	if err != nil {
		t.Fatalf("renewalInfo after SetRenewalInfo: %v", err)
	}
	if w := ri.SuggestedWindow; !w.Start.Equal(start) || !w.End.Equal(end) {
		t.Errorf("ARI window after SetRenewalInfo = %s..%s, want %s..%s", w.Start, w.End, start, end)
	}
}

// TestPebbleIssuesWithHTTP01 runs a whole ACME order validated over HTTP-01:
// the name resolves through named to 127.0.0.1 and pebble-challtestsrv
// serves the key authorization on Pebble's HTTP-01 port.
func TestPebbleIssuesWithHTTP01(t *testing.T) {
	d := StartDNS(t, testZone)
	cts := StartChallTestSrv(t, 0)
	p := StartPebble(t, PebbleOptions{DNSServer: d.Addr(), HTTPPort: cts.HTTPPort()})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := acmeClient(ctx, t, p)

	const name = "http01.example.test"
	d.AddA(t, name, "127.0.0.1")
	// Named explicitly: Pebble picks a random profile for an order without
	// one.
	order, err := client.AuthorizeOrder(ctx, []acme.AuthzID{{Type: "dns", Value: name}}, acme.WithOrderProfile(PebbleDefaultProfile))
	if err != nil {
		t.Fatalf("new order: %v", err)
	}
	for _, u := range order.AuthzURLs {
		authz, err := client.GetAuthorization(ctx, u)
		if err != nil {
			t.Fatalf("get authorization: %v", err)
		}
		if authz.Status == acme.StatusValid {
			continue
		}
		chal := challenge(t, authz, "http-01")
		keyAuth, err := client.HTTP01ChallengeResponse(chal.Token)
		if err != nil {
			t.Fatalf("HTTP-01 response: %v", err)
		}
		cts.AddHTTP01(t, chal.Token, keyAuth)
		if _, err := client.Accept(ctx, chal); err != nil {
			t.Fatalf("accept challenge: %v", err)
		}
		if _, err := client.WaitAuthorization(ctx, authz.URI); err != nil {
			t.Fatalf("authorization did not become valid: %v", err)
		}
	}
	leaf, chain := finalize(ctx, t, client, order.URI, name)
	if got, want := leaf.NotAfter.Sub(leaf.NotBefore), 90*24*time.Hour-time.Second; got != want {
		t.Errorf("default-profile certificate lifetime %s, want %s", got, want)
	}
	verifyChain(t, p, leaf, chain)
}

func acmeClient(ctx context.Context, t *testing.T, p *Pebble) *acme.Client {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	client := &acme.Client{Key: key, DirectoryURL: p.DirectoryURL(), HTTPClient: p.HTTPClient(), UserAgent: "certsweep-harness-test"}
	if _, err := client.Register(ctx, &acme.Account{}, acme.AcceptTOS); err != nil {
		t.Fatalf("register ACME account: %v", err)
	}
	return client
}

func challenge(t *testing.T, authz *acme.Authorization, typ string) *acme.Challenge {
	t.Helper()
	for _, c := range authz.Challenges {
		if c.Type == typ {
			return c
		}
	}
	t.Fatalf("authorization for %s offers no %s challenge", authz.Identifier.Value, typ)
	return nil
}

// finalize waits for the order to be ready, finalizes it with a fresh key
// for name, and returns the leaf and the rest of the chain.
func finalize(ctx context.Context, t *testing.T, client *acme.Client, orderURL, name string) (*x509.Certificate, [][]byte) {
	t.Helper()
	order, err := client.WaitOrder(ctx, orderURL)
	if err != nil {
		t.Fatalf("order did not become ready: %v", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}}, key)
	if err != nil {
		t.Fatal(err)
	}
	der, _, err := client.CreateOrderCert(ctx, order.FinalizeURL, csr, true)
	if err != nil {
		// Pebble (since v2.8, letsencrypt/pebble#508) answers finalize with
		// status "processing" and no Location header, and the ACME client
		// then polls the order at URL "" and fails. The finalize itself was
		// accepted: poll the order at its known URL, as cert-manager's order
		// controller does on its next sync, and fetch the certificate.
		t.Logf("CreateOrderCert: %v; polling the order instead", err)
		order, err = client.WaitOrder(ctx, orderURL)
		if err != nil {
			t.Fatalf("order did not become valid after finalize: %v", err)
		}
		if order.Status != acme.StatusValid || order.CertURL == "" {
			t.Fatalf("order after finalize: status %q, certificate URL %q", order.Status, order.CertURL)
		}
		der, err = client.FetchCert(ctx, order.CertURL, true)
		if err != nil {
			t.Fatalf("fetch certificate: %v", err)
		}
	}
	leaf, err := x509.ParseCertificate(der[0])
	if err != nil {
		t.Fatalf("parse issued certificate: %v", err)
	}
	if !slices.Equal(leaf.DNSNames, []string{name}) {
		t.Errorf("issued certificate names %v, want [%s]", leaf.DNSNames, name)
	}
	return leaf, der[1:]
}

// verifyChain checks the leaf chains to Pebble's issuance root (RootCAs).
func verifyChain(t *testing.T, p *Pebble, leaf *x509.Certificate, chain [][]byte) {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(p.RootCAs()) {
		t.Fatalf("RootCAs is not PEM")
	}
	inter := x509.NewCertPool()
	for _, der := range chain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("parse chain certificate: %v", err)
		}
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: leaf.NotBefore.Add(time.Minute)}); err != nil {
		t.Errorf("issued certificate does not chain to RootCAs: %v", err)
	}
}
