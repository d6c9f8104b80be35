package e2e

import (
	"crypto/x509"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance/pki"
	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/renew"
	"github.com/certsweep/certsweep/test/harness"
)

// acmeSetup is a namespace with an ACME Issuer "acme" over Pebble, solving
// DNS-01 through RFC 2136 updates to a real authoritative DNS server that
// Pebble resolves through.
type acmeSetup struct {
	*env
	dns    *harness.DNS
	pebble *harness.Pebble
}

func newACME(t *testing.T, mutate ...func(*cmacme.ACMEIssuer)) *acmeSetup {
	t.Helper()
	dns := harness.StartDNS(t, "example.test.")
	pebble := harness.StartPebble(t, harness.PebbleOptions{DNSServer: dns.Addr()})
	e := newEnv(t)
	e.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tsig"}, Data: map[string][]byte{"secret": []byte(dns.TSIGSecret())}})
	spec := &cmacme.ACMEIssuer{
		Server:     pebble.DirectoryURL(),
		CABundle:   pebble.CABundle(),
		Email:      "ops@example.test",
		PrivateKey: cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "acme-account"}},
		Profile:    "shortlived",
		Solvers: []cmacme.ACMEChallengeSolver{{DNS01: &cmacme.ACMEChallengeSolverDNS01{RFC2136: &cmacme.ACMEIssuerDNS01ProviderRFC2136{
			Nameserver:    dns.Addr(),
			TSIGKeyName:   dns.TSIGKeyName(),
			TSIGAlgorithm: dns.TSIGAlgorithm(),
			TSIGSecret:    cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "tsig"}, Key: "secret"},
		}}}},
	}
	for _, m := range mutate {
		m(spec)
	}
	e.create(&cmapi.Issuer{ObjectMeta: metav1.ObjectMeta{Name: "acme"}, Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{ACME: spec}}})
	return &acmeSetup{env: e, dns: dns, pebble: pebble}
}

// acmeOptions point DNS-01 checks at the test's DNS server, as
// CERTSWEEP_DNS01_RECURSIVE_NAMESERVERS(_ONLY) would.
func (a *acmeSetup) acmeOptions(o *job.Options) {
	o.DNS01Nameservers = []string{a.dns.Addr()}
	o.DNS01RecursiveOnly = true
	o.ACMEWait = 45 * time.Second
}

// TestACMEDNS01IssuesInOneRun: a Certificate whose Issuer is ACME goes from
// nothing to a Ready Certificate with a Secret Pebble issued, in one run,
// through a DNS-01 challenge answered with an RFC 2136 update. The account
// is registered once and recorded on the Issuer; there is one Order, owned
// by the request, recorded as valid; the Challenge and the TXT record are
// gone; and the next run writes nothing.
func TestACMEDNS01IssuesInOneRun(t *testing.T) {
	a := newACME(t)
	a.create(certificate("web", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"web.example.test"} }))
	rep := a.run(a.acmeOptions)
	if rep.Issued != 1 {
		t.Fatalf("want the certificate issued in one run: %s %+v", rep.Summary(), rep.Outcomes)
	}
	a.requireReady("web", 1)
	p := parseSecret(t, a.secret("web-tls"))
	leaf := p.chain[0]
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "web.example.test" {
		t.Fatalf("leaf names %v", leaf.DNSNames)
	}
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	if life > 7*24*time.Hour {
		t.Errorf("the shortlived profile was not used: a %s certificate", life)
	}
	// Renewal follows the certificate's real lifetime (two thirds of it,
	// cert-manager's default), not the spec's 90-day duration.
	if rt := a.certificate("web").Status.RenewalTime; rt == nil || !rt.Time.Equal(leaf.NotBefore.Add(life*2/3).Truncate(time.Second)) {
		t.Errorf("renewal time %v, want two thirds into the %s lifetime from %s", rt, life, leaf.NotBefore)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(a.pebble.RootCAs()) {
		t.Fatal("no Pebble roots")
	}
	inter := x509.NewCertPool()
	for _, c := range p.chain[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: "web.example.test"}); err != nil {
		t.Fatalf("the issued chain does not verify against Pebble's root: %v", err)
	}

	orders, err := a.cm.AcmeV1().Orders(a.ns).List(a.ctx(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	crs := a.requests("web")
	if len(orders.Items) != 1 || len(crs) != 1 {
		t.Fatalf("want one Order for one request, got %d orders and %d requests", len(orders.Items), len(crs))
	}
	o := orders.Items[0]
	if ref := metav1.GetControllerOf(&o); ref == nil || ref.UID != crs[0].UID || o.Status.State != cmacme.Valid || o.Status.URL == "" {
		t.Fatalf("Order %s: owner %v state %q url %q", o.Name, metav1.GetControllerOf(&o), o.Status.State, o.Status.URL)
	}
	if o.Spec.Profile != "shortlived" {
		t.Errorf("Order profile %q", o.Spec.Profile)
	}
	chs, err := a.cm.AcmeV1().Challenges(a.ns).List(a.ctx(), metav1.ListOptions{})
	if err != nil || len(chs.Items) != 0 {
		t.Fatalf("Challenges left: %v %d", err, len(chs.Items))
	}
	if txt := a.dns.LookupTXT(t, "_acme-challenge.web.example.test."); len(txt) != 0 {
		t.Fatalf("TXT record left: %v", txt)
	}
	iss, err := a.cm.CertmanagerV1().Issuers(a.ns).Get(a.ctx(), "acme", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if iss.Status.ACME == nil || iss.Status.ACME.URI == "" || iss.Status.ACME.LastRegisteredEmail != "ops@example.test" {
		t.Fatalf("issuer ACME status %+v", iss.Status.ACME)
	}
	account := a.secret("acme-account")

	cfg, counter := harness.WrapCounting(a.cp.Config)
	if _, err := a.sweeper(cfg, a.acmeOptions).Run(a.ctx()); err != nil {
		t.Fatal(err)
	}
	if counter.Writes() != 0 {
		t.Fatalf("the run after Ready wrote: %v", counter.Snapshot().Writes())
	}

	// A second Certificate reuses the account: the same key, the same URI.
	a.create(certificate("api", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"api.example.test"} }))
	if rep := a.run(a.acmeOptions); rep.Issued != 1 {
		t.Fatalf("second certificate: %s %+v", rep.Summary(), rep.Outcomes)
	}
	if again := a.secret("acme-account"); string(again.Data[corev1.TLSPrivateKeyKey]) != string(account.Data[corev1.TLSPrivateKeyKey]) {
		t.Fatal("the account key changed")
	}
	iss2, _ := a.cm.CertmanagerV1().Issuers(a.ns).Get(a.ctx(), "acme", metav1.GetOptions{})
	if iss2.Status.ACME.URI != iss.Status.ACME.URI {
		t.Fatalf("a second account was registered: %s then %s", iss.Status.ACME.URI, iss2.Status.ACME.URI)
	}
}

// TestACMERefusedNameBacksOff: a name the CA refuses fails the request in
// the issuance class (a 1h window) and no new order is placed on
// immediate reruns.
func TestACMERefusedNameBacksOff(t *testing.T) {
	a := newACME(t)
	// Pebble refuses a name with a character DNS names may not have.
	a.create(certificate("bad", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"bad_name.example.test"} }))
	rep := a.run(a.acmeOptions)
	if rep.Failed != 1 {
		t.Fatalf("want the refusal recorded: %s %+v", rep.Summary(), rep.Outcomes)
	}
	crt := a.certificate("bad")
	if crt.Annotations["certsweep.io/failure-class"] != "issuance" {
		t.Fatalf("failure class %v; Issuing %+v", crt.Annotations, condition(crt, cmapi.CertificateConditionIssuing))
	}
	for range 2 {
		a.run(a.acmeOptions)
	}
	orders, err := a.cm.AcmeV1().Orders(a.ns).List(a.ctx(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(orders.Items) > 1 {
		t.Fatalf("%d orders after reruns inside the window", len(orders.Items))
	}
}

// TestACMEOrderContinuesAcrossRuns: runs are cut short at the steps of an
// order (every write of an Order's or a Challenge's progress may be made by
// the API server and yet fail at the client, as a kill after the write
// would leave it). The runs that follow continue the same Order, with the
// same order at the CA, and issue with one request; the run after writes
// nothing.
func TestACMEOrderContinuesAcrossRuns(t *testing.T) {
	a := newACME(t)
	a.create(certificate("web", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"web.example.test"} }))
	proxy := harness.StartFaultProxy(t, a.cp, harness.FaultRule{
		Kind: harness.FaultResetAfterForward, Verbs: []string{"CREATE", "UPDATE"},
		Resources: []string{"orders", "orders/status", "challenges", "challenges/status"}, Rate: 0.6, Max: 8,
	})
	var orderURL string
	runs := 0
	for ; runs < 30; runs++ {
		rep, err := a.sweeper(proxy.RESTConfig(), a.acmeOptions).Run(a.ctx())
		if err != nil {
			t.Fatalf("run %d: %v", runs, err)
		}
		orders, err := a.cm.AcmeV1().Orders(a.ns).List(a.ctx(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(orders.Items) > 1 {
			t.Fatalf("run %d: %d Orders for one request", runs, len(orders.Items))
		}
		if len(orders.Items) == 1 && orders.Items[0].Status.URL != "" {
			if orderURL != "" && orders.Items[0].Status.URL != orderURL {
				t.Fatalf("run %d placed a second order at the CA: %s then %s", runs, orderURL, orders.Items[0].Status.URL)
			}
			orderURL = orders.Items[0].Status.URL
		}
		if rep.Issued == 1 {
			break
		}
		if runs < 30 {
			chs, _ := a.cm.AcmeV1().Challenges(a.ns).List(a.ctx(), metav1.ListOptions{})
			state := "none"
			if len(orders.Items) == 1 {
				state = string(orders.Items[0].Status.State) + " url=" + orders.Items[0].Status.URL
			}
			t.Logf("run %d: order %s, %d challenges, %+v", runs, state, len(chs.Items), rep.Outcomes)
		}
		// The next run comes after the short window of the failure.
		a.advance(10 * time.Minute)
	}
	if runs == 30 {
		t.Fatal("not issued after 30 runs")
	}
	t.Logf("issued after %d runs, %d faults injected, one order at the CA", runs+1, proxy.Stats().Total())
	if proxy.Stats().Total() == 0 {
		t.Fatal("no fault was injected; the test proves nothing")
	}
	a.requireReady("web", 1)
	if len(a.requests("web")) != 1 {
		t.Fatal("more than one request")
	}
	cfg, counter := harness.WrapCounting(a.cp.Config)
	if _, err := a.sweeper(cfg, a.acmeOptions).Run(a.ctx()); err != nil || counter.Writes() != 0 {
		t.Fatalf("the run after Ready wrote: %v %v", err, counter.Snapshot().Writes())
	}
}

// TestACMERenewsOnARIWindow: with ARI on, an ACME issuance marks the
// Certificate so that the next run fetches the CA's suggested window into
// status.acme.ari (asking again after Pebble's Retry-After of 6 hours) and
// sets the renewal time inside it. When the CA moves the window into the
// past, the run that fetches it renews; the new certificate's window is
// fetched in the run after, and the run after that writes nothing.
func TestACMERenewsOnARIWindow(t *testing.T) {
	a := newACME(t)
	opts := func(o *job.Options) {
		a.acmeOptions(o)
		o.ACMEARI = true
	}
	a.create(certificate("web", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"web.example.test"} }))
	if rep := a.run(opts); rep.Issued != 1 {
		t.Fatalf("want the certificate issued in one run: %s %+v", rep.Summary(), rep.Outcomes)
	}
	crt := a.requireReady("web", 1)
	if crt.Status.ACME == nil || crt.Status.ACME.ARI == nil || crt.Status.ACME.ARI.NextCheck == nil || crt.Status.ACME.ARI.SuggestedWindow != nil {
		t.Fatalf("after issuance want an empty status.acme.ari due now, got %+v", crt.Status.ACME)
	}

	// The next run fetches the window, and records it with the renewal
	// time it gives in one status write.
	cfg, counter := harness.WrapCounting(a.cp.Config)
	if _, err := a.sweeper(cfg, opts).Run(a.ctx()); err != nil {
		t.Fatal(err)
	}
	if w := counter.Snapshot().ByResource; counter.Writes() != 1 || w["UPDATE certificates.cert-manager.io/status"] != 1 {
		t.Fatalf("the ARI refresh wrote %v; want one status update", w)
	}
	crt = a.certificate("web")
	ari := crt.Status.ACME.ARI
	if ari == nil || ari.SuggestedWindow == nil || ari.LastChecked == nil || ari.NextCheck == nil || ari.LastError != "" {
		t.Fatalf("status.acme.ari after the fetch: %+v", ari)
	}
	checked := a.clock()
	if !ari.LastChecked.Time.Equal(checked.Truncate(time.Second)) {
		t.Errorf("lastChecked %s, want the run's time %s", ari.LastChecked, checked)
	}
	if next := ari.NextCheck.Sub(checked); next < 5*time.Hour || next > 7*time.Hour {
		t.Errorf("nextCheck %s after the fetch, want about 6h (Pebble's Retry-After)", next)
	}
	w := ari.SuggestedWindow
	if rt := crt.Status.RenewalTime; rt == nil || rt.Before(w.Start) || !rt.Time.Before(w.End.Time) {
		t.Fatalf("renewal time %v not in the suggested window [%s, %s)", rt, w.Start, w.End)
	}
	if rep := a.run(opts); rep.Issued != 0 {
		t.Fatalf("renewed inside nextCheck with a window days away: %s", rep.Summary())
	}

	// The CA moves the window into the past; nextCheck is moved back so
	// the next run asks again.
	a.advance(4 * time.Hour)
	now := a.clock()
	tlsCrt := a.secret("web-tls").Data[corev1.TLSCertKey]
	a.pebble.SetRenewalInfo(t, tlsCrt, now.Add(-2*time.Hour), now.Add(-time.Hour))
	crt = a.certificate("web")
	crt.Status.ACME.ARI.NextCheck = &metav1.Time{Time: now.Add(-time.Minute)}
	if _, err := a.cm.CertmanagerV1().Certificates(a.ns).UpdateStatus(a.ctx(), crt, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	renewed := false
	for i := 0; i < 2 && !renewed; i++ {
		renewed = a.run(opts).Issued == 1
	}
	if !renewed {
		t.Fatalf("not renewed on the moved window: %+v", a.certificate("web").Status)
	}
	crt = a.requireReady("web", 2)
	if string(a.secret("web-tls").Data[corev1.TLSCertKey]) == string(tlsCrt) {
		t.Fatal("the Secret still holds the old certificate")
	}
	// The renewal order names the certificate it replaces (RFC 9773 §5),
	// as cert-manager fills spec.replaces; the first order replaced none.
	oldLeaf, err := pki.DecodeCertificates(tlsCrt)
	if err != nil {
		t.Fatal(err)
	}
	oldID, err := pki.ARICertID(oldLeaf[0])
	if err != nil {
		t.Fatal(err)
	}
	orders, err := a.cm.AcmeV1().Orders(a.ns).List(a.ctx(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var replaces []string
	for _, o := range orders.Items {
		replaces = append(replaces, o.Spec.Replaces)
	}
	if len(orders.Items) != 2 || !slices.Contains(replaces, oldID) || !slices.Contains(replaces, "") {
		t.Fatalf("orders' spec.replaces %q; want one empty (the first issuance) and one %q", replaces, oldID)
	}
	if ari := crt.Status.ACME.ARI; ari == nil || ari.SuggestedWindow != nil || ari.NextCheck == nil {
		t.Fatalf("after the renewal want an empty status.acme.ari due now, got %+v", ari)
	}

	// The new certificate's window is fetched; then nothing is written.
	a.run(opts)
	crt = a.certificate("web")
	leaf := parseSecret(t, a.secret("web-tls")).chain[0]
	if ari := crt.Status.ACME.ARI; ari.SuggestedWindow == nil || !ari.SuggestedWindow.Start.Time.After(leaf.NotBefore) {
		t.Fatalf("the new certificate's window was not fetched: %+v", ari)
	}
	cfg, counter = harness.WrapCounting(a.cp.Config)
	if _, err := a.sweeper(cfg, opts).Run(a.ctx()); err != nil || counter.Writes() != 0 {
		t.Fatalf("the run after wrote: %v %v", err, counter.Snapshot().Writes())
	}
	if n := len(a.requests("web")); n > 2 {
		t.Fatalf("%d requests", n)
	}
}

// TestACMERateLimitHonoursRetryAfter: a CA that answers newOrder with
// rateLimited and a Retry-After of two hours gets no request for an order
// until those two hours have passed, however many runs come in between,
// although the temporary backoff alone would retry within minutes. The
// failure is on the Certificate as a condition, one Warning event and the
// announced next attempt; once the limit lifts, the next run after the
// window issues with one order.
func TestACMERateLimitHonoursRetryAfter(t *testing.T) {
	a := newACME(t)
	proxy := harness.StartACMEProxy(t, a.pebble, harness.ACMEFault{
		Method: "POST", PathSuffix: "/order-plz", Status: 429, ProblemType: "rateLimited",
		Detail: "too many new orders recently", RetryAfter: 7200,
	})
	iss, err := a.cm.CertmanagerV1().Issuers(a.ns).Get(a.ctx(), "acme", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	iss.Spec.ACME.Server, iss.Spec.ACME.CABundle = proxy.DirectoryURL(), proxy.CABundle()
	if _, err := a.cm.CertmanagerV1().Issuers(a.ns).Update(a.ctx(), iss, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	a.create(certificate("web", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"web.example.test"} }))

	failedAt := a.clock()
	if rep := a.run(a.acmeOptions); rep.Failed != 1 {
		t.Fatalf("want the rate limit recorded as a failure: %s %+v", rep.Summary(), rep.Outcomes)
	}
	if n := newOrdersAsked(proxy); n != 1 {
		t.Fatalf("%d newOrder requests, want 1", n)
	}
	crt := a.certificate("web")
	next, err := time.Parse(time.RFC3339, crt.Annotations["certsweep.io/next-attempt"])
	if err != nil || next.Before(failedAt.Add(2*time.Hour)) || crt.Annotations["certsweep.io/failure-class"] != "temporary" ||
		crt.Annotations[renew.AnnotationRetryAfter] != crt.Annotations[renew.AnnotationNextAttempt] {
		t.Fatalf("retry annotations %v: want a temporary failure retried no sooner than the CA's 2h", crt.Annotations)
	}
	if c := condition(crt, cmapi.CertificateConditionIssuing); c == nil || c.Status != cmmeta.ConditionFalse || !strings.Contains(c.Message, "rateLimited") {
		t.Fatalf("Issuing condition %+v, want False naming the rate limit", c)
	}

	// Runs every 15 minutes inside the two hours: no request for an order,
	// and the failure is announced once.
	for range 7 {
		a.advance(15 * time.Minute)
		a.run(a.acmeOptions)
	}
	if n := newOrdersAsked(proxy); n != 1 {
		t.Fatalf("%d newOrder requests inside the CA's Retry-After, want 1", n)
	}
	if n := a.warnings(renew.ReasonIssuerUnavailable); n != 1 {
		t.Fatalf("%d Warning events for the rate limit, want 1", n)
	}

	// The limit lifts; the first run after the window issues.
	proxy.SetFaults()
	a.advance(16 * time.Minute) // the window ends two hours after the failure, rounded up to a second
	if rep := a.run(a.acmeOptions); rep.Issued != 1 {
		t.Fatalf("want issuance after the window: %s %+v", rep.Summary(), rep.Outcomes)
	}
	a.requireReady("web", 1)
	if n := newOrdersAsked(proxy); n != 2 {
		t.Fatalf("%d newOrder requests in all, want 2 (the refused one and the one that issued)", n)
	}
}

// TestACMEOverlappingRunsShareOneOrder: two sweeps run at the same time
// (a CronJob tick and an event, say) on one ACME Certificate. Between them
// they make one request, one Order and one order at the CA; whatever one
// of them leaves, the next run finishes, and the run after writes nothing.
func TestACMEOverlappingRunsShareOneOrder(t *testing.T) {
	a := newACME(t)
	proxy := harness.StartACMEProxy(t, a.pebble)
	iss, err := a.cm.CertmanagerV1().Issuers(a.ns).Get(a.ctx(), "acme", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	iss.Spec.ACME.Server, iss.Spec.ACME.CABundle = proxy.DirectoryURL(), proxy.CABundle()
	if _, err := a.cm.CertmanagerV1().Issuers(a.ns).Update(a.ctx(), iss, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	a.create(certificate("web", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"web.example.test"} }))

	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Errors are expected: the two conflict on their writes.
			_, _ = a.sweeper(a.cp.Config, a.acmeOptions).Run(a.ctx())
		}()
	}
	wg.Wait()
	ready := func() bool {
		c := condition(a.certificate("web"), cmapi.CertificateConditionReady)
		return c != nil && c.Status == cmmeta.ConditionTrue
	}
	for runs := 0; runs < 5 && !ready(); runs++ {
		a.advance(10 * time.Minute)
		a.run(a.acmeOptions)
	}
	a.requireReady("web", 1)
	if n := len(a.requests("web")); n != 1 {
		t.Fatalf("%d requests for one revision", n)
	}
	orders, err := a.cm.AcmeV1().Orders(a.ns).List(a.ctx(), metav1.ListOptions{})
	if err != nil || len(orders.Items) != 1 {
		t.Fatalf("%d Orders (%v), want 1", len(orders.Items), err)
	}
	if n := ordersPlaced(proxy); n != 1 {
		t.Fatalf("%d orders placed at the CA, want 1", n)
	}
	cfg, counter := harness.WrapCounting(a.cp.Config)
	if _, err := a.sweeper(cfg, a.acmeOptions).Run(a.ctx()); err != nil || counter.Writes() != 0 {
		t.Fatalf("the run after Ready wrote: %v %v", err, counter.Snapshot().Writes())
	}
}

// TestACMEARIWriteConvergesAfterFaults: the status write that records the
// CA's renewal window may reach the API server and fail at the client. The
// next run records it (or finds it recorded), renews nothing, and the run
// after writes nothing.
func TestACMEARIWriteConvergesAfterFaults(t *testing.T) {
	a := newACME(t)
	opts := func(o *job.Options) { a.acmeOptions(o); o.ACMEARI = true }
	a.create(certificate("web", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"web.example.test"} }))
	if rep := a.run(opts); rep.Issued != 1 {
		t.Fatalf("first issuance: %s %+v", rep.Summary(), rep.Outcomes)
	}
	proxy := harness.StartFaultProxy(t, a.cp, harness.FaultRule{
		Kind: harness.FaultResetAfterForward, Verbs: []string{"UPDATE"}, Resources: []string{"certificates/status"}, Rate: 1, Max: 1,
	})
	if _, err := a.sweeper(proxy.RESTConfig(), opts).Run(a.ctx()); err != nil {
		t.Fatal(err)
	}
	if proxy.Stats().Total() != 1 {
		t.Fatalf("%d faults injected, want the ARI write's", proxy.Stats().Total())
	}
	a.advance(10 * time.Minute)
	if rep := a.run(opts); rep.Issued != 0 {
		t.Fatalf("renewed after a lost ARI write: %s", rep.Summary())
	}
	if ari := a.certificate("web").Status.ACME.ARI; ari == nil || ari.SuggestedWindow == nil {
		t.Fatalf("the window was not recorded: %+v", ari)
	}
	cfg, counter := harness.WrapCounting(a.cp.Config)
	if _, err := a.sweeper(cfg, opts).Run(a.ctx()); err != nil || counter.Writes() != 0 {
		t.Fatalf("the run after wrote: %v %v", err, counter.Snapshot().Writes())
	}
	if n := len(a.requests("web")); n != 1 {
		t.Fatalf("%d requests", n)
	}
}

// TestACMEUnsupportedSolverPlacesNoOrder: an Issuer whose only solver is
// one certsweep cannot run (here Cloudflare DNS-01) fails the request in
// the issuance class, saying why, without placing an order at the CA.
func TestACMEUnsupportedSolverPlacesNoOrder(t *testing.T) {
	a := newACME(t, func(s *cmacme.ACMEIssuer) {
		s.Solvers = []cmacme.ACMEChallengeSolver{{DNS01: &cmacme.ACMEChallengeSolverDNS01{Cloudflare: &cmacme.ACMEIssuerDNS01ProviderCloudflare{
			APIToken: &cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "cloudflare"}, Key: "token"},
		}}}}
	})
	proxy := harness.StartACMEProxy(t, a.pebble)
	a.updateIssuer(func(s *cmacme.ACMEIssuer) { s.Server, s.CABundle = proxy.DirectoryURL(), proxy.CABundle() })
	a.create(certificate("web", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"web.example.test"} }))
	if rep := a.run(a.acmeOptions); rep.Failed != 1 {
		t.Fatalf("want the request failed: %s %+v", rep.Summary(), rep.Outcomes)
	}
	crt := a.certificate("web")
	if c := condition(crt, cmapi.CertificateConditionIssuing); c == nil || !strings.Contains(c.Message, "not supported by certsweep") || crt.Annotations[renew.AnnotationFailureClass] != "issuance" {
		t.Fatalf("Issuing %+v, annotations %v", c, crt.Annotations)
	}
	if n := newOrdersAsked(proxy); n != 0 {
		t.Fatalf("%d orders placed at the CA for an issuer that cannot solve them", n)
	}
}

// ordersPlaced is how many orders the CA made behind proxy (newOrder
// answered 201).
func ordersPlaced(proxy *harness.ACMEProxy) int {
	n := 0
	for r, c := range proxy.Responses() {
		if r.Method == "POST" && r.Endpoint == "/order-plz" && r.Status == 201 {
			n += c
		}
	}
	return n
}

// newOrdersAsked is how many times a sweep asked for an order, not
// counting the same request resent with a fresh nonce after Pebble's
// deliberate badNonce answers (RFC 8555 §6.5).
func newOrdersAsked(proxy *harness.ACMEProxy) int {
	n := 0
	for r, c := range proxy.Responses() {
		if r.Method == "POST" && r.Endpoint == "/order-plz" && r.Problem != "badNonce" {
			n += c
		}
	}
	return n
}
