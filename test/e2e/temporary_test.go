package e2e

// cert-manager.io/issue-temporary-certificate: "true" against the real API
// server. The Secret gets a temporary certificate for the issuance's own
// key before the request goes out, so a workload mounting it can start;
// the real certificate, for the same key, replaces it when issued. The
// temporary one is never taken for valid, and the pair always matches.

import (
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance/pki"
	"github.com/certsweep/certsweep/renew"
	"github.com/certsweep/certsweep/test/harness"
)

// withTemporaryCertificate annotates a Certificate fixture for a temporary
// certificate.
func withTemporaryCertificate(c *cmapi.Certificate) *cmapi.Certificate {
	c.Annotations = map[string]string{cmapi.IssueTemporaryCertificateAnnotation: "true"}
	return c
}

// stepIssuer is an external issuer: its own controller (the test) signs.
var stepIssuer = cmmeta.IssuerReference{Name: "step", Kind: "StepIssuer", Group: "certmanager.step.sm"}

// requireTemporary asserts that the Secret holds a matching pair whose
// certificate is a temporary one, written as cert-manager writes it: no
// ca.crt, no issuer annotations, and the Certificate not Ready for it.
func (e *env) requireTemporary(certName string) parsedSecret {
	e.t.Helper()
	crt := e.certificate(certName)
	sec := e.secret(crt.Spec.SecretName)
	p := parseSecret(e.t, sec) // the pair matches
	leaf := p.chain[0]
	if len(p.chain) != 1 || leaf.Issuer.String() != "CN="+pki.TemporaryIssuerCommonName || leaf.Subject.SerialNumber != pki.TemporarySubjectSerialNumber {
		e.t.Fatalf("%s: not a temporary certificate: issuer %q, subject %q, %d certificates", certName, leaf.Issuer, leaf.Subject, len(p.chain))
	}
	if !slices.Equal(leaf.DNSNames, crt.Spec.DNSNames) {
		e.t.Fatalf("%s: temporary certificate for %v, want %v", certName, leaf.DNSNames, crt.Spec.DNSNames)
	}
	if _, ok := sec.Data[cmmeta.TLSCAKey]; ok {
		e.t.Fatalf("%s: a temporary certificate with a ca.crt", certName)
	}
	if sec.Annotations[cmapi.CertificateNameKey] != certName {
		e.t.Fatalf("%s: certificate-name annotation %q", certName, sec.Annotations[cmapi.CertificateNameKey])
	}
	for _, k := range []string{cmapi.IssuerNameAnnotationKey, cmapi.IssuerKindAnnotationKey, cmapi.IssuerGroupAnnotationKey} {
		if v, ok := sec.Annotations[k]; ok {
			e.t.Fatalf("%s: a temporary certificate's Secret with %s=%q", certName, k, v)
		}
	}
	ready := condition(crt, cmapi.CertificateConditionReady)
	if ready == nil || ready.Status != cmmeta.ConditionFalse || ready.Reason != renew.ReasonTemporaryCertificate {
		e.t.Fatalf("%s: Ready = %+v, want False for the temporary certificate", certName, ready)
	}
	if crt.Status.NotAfter != nil || crt.Status.RenewalTime != nil {
		e.t.Fatalf("%s: the temporary certificate's times are in the status: notAfter %v renewalTime %v", certName, crt.Status.NotAfter, crt.Status.RenewalTime)
	}
	return p
}

// eventLines lists the events of one object, as "Type Reason: Message".
func (e *env) eventLines(name string) []string {
	e.t.Helper()
	list, err := e.kube.CoreV1().Events(e.ns).List(e.ctx(), metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range list.Items {
		if ev.InvolvedObject.Name == name {
			out = append(out, fmt.Sprintf("%s %s: %s", ev.Type, ev.Reason, ev.Message))
		}
	}
	return out
}

// countOf counts the lines that begin with prefix: an issuance's message
// may go on to say the CA cut its validity short.
func countOf(list []string, prefix string) int {
	n := 0
	for _, x := range list {
		if strings.HasPrefix(x, prefix) {
			n++
		}
	}
	return n
}

const (
	temporaryEvent = "Normal Issuing: Issued temporary certificate"
	issuedEvent    = "Normal Issuing: The certificate has been successfully issued"
)

// TestTemporaryCertificateUntilTheIssuerSigns: for an external issuer that
// does not sign in the first run, the Secret holds a temporary certificate
// for the request's own key from that run on; waiting writes nothing; a
// Secret deleted meanwhile gets it back, same key; and when the issuer
// signs, the real certificate takes its place with that key.
func TestTemporaryCertificateUntilTheIssuerSigns(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.run()
	e.create(withTemporaryCertificate(certificate("ext", stepIssuer, ecdsaKey)))

	if rep := e.run(); rep.Waiting != 1 || rep.Failed != 0 {
		t.Fatalf("the first run should leave the request waiting: %s %+v", rep.Summary(), rep.Outcomes)
	}
	temp := e.requireTemporary("ext")
	crs := e.requests("ext")
	if len(crs) != 1 {
		t.Fatalf("want one request, got %d", len(crs))
	}
	csr, err := pki.DecodeCSR(crs[0].Spec.Request)
	if err != nil {
		t.Fatal(err)
	}
	if !publicKeysEqual(csr.PublicKey, temp.chain[0].PublicKey) {
		t.Fatal("the temporary certificate is not for the request's key")
	}
	c := e.certificate("ext")
	if c.Status.NextPrivateKeySecretName == nil {
		t.Fatal("nextPrivateKeySecretName unset while issuing")
	}
	if next := e.secret(*c.Status.NextPrivateKeySecretName); !sameKey(mustKey(t, next), temp) {
		t.Fatal("the temporary certificate's key is not the stored next key")
	}
	if evs := e.eventLines("ext"); countOf(evs, temporaryEvent) != 1 {
		t.Fatalf("want one temporary-certificate event, got %v", evs)
	}

	// Waiting on the issuer writes nothing, the temporary certificate
	// included.
	cfg, counter := harness.WrapCounting(e.cp.Config)
	if rep, err := e.sweeper(cfg).Run(e.ctx()); err != nil || rep.Waiting != 1 || counter.Writes() != 0 {
		t.Fatalf("a run that waits wrote %v (%v, %v)", counter.Snapshot().Writes(), rep, err)
	}

	// The Secret is deleted while the issuer works: it comes back, for
	// the same key, and the request is left alone.
	if err := e.kube.CoreV1().Secrets(e.ns).Delete(e.ctx(), "ext-tls", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if rep := e.run(); rep.Waiting != 1 || rep.Failed != 0 {
		t.Fatalf("want the request still waiting: %s %+v", rep.Summary(), rep.Outcomes)
	}
	if again := e.requireTemporary("ext"); !sameKey(again.key, temp) {
		t.Fatal("the temporary certificate put back is for another key")
	}
	if got := e.requests("ext"); len(got) != 1 || got[0].UID != crs[0].UID {
		t.Fatal("the pending request was replaced")
	}

	e.signAsExternalIssuer(&crs[0])
	if rep := e.run(); rep.Issued != 1 {
		t.Fatalf("want the real certificate stored: %s %+v", rep.Summary(), rep.Outcomes)
	}
	e.requireReady("ext", 1)
	sec := e.secret("ext-tls")
	stored := parseSecret(t, sec)
	verifyChain(t, stored)
	if pki.SignedByTemporaryCA(stored.chain[0]) || !sameKey(stored.key, temp) {
		t.Fatal("the real certificate did not replace the temporary one for the same key")
	}
	if sec.Annotations[cmapi.IssuerNameAnnotationKey] != "step" || sec.Annotations[cmapi.IssuerGroupAnnotationKey] != stepIssuer.Group {
		t.Fatalf("issuer annotations %v", sec.Annotations)
	}
	if evs := e.eventLines("ext"); countOf(evs, temporaryEvent) != 2 || countOf(evs, issuedEvent) != 1 {
		t.Fatalf("events %v: want two temporary certificates and one issuance", evs)
	}
	e.requireSecondRunWritesNothing()
}

// TestTemporaryCertificateWithAnInProcessIssuer: through a CA issuer the
// temporary certificate goes in first and the real one replaces it in the
// same run, with cert-manager's events; the Secret never holds a pair that
// does not match, and it ends with the output formats of the real pair.
// A Certificate without the annotation gets no temporary certificate.
func TestTemporaryCertificateWithAnInProcessIssuer(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.run()
	e.create(withTemporaryCertificate(certificate("site", issuerRef("ca"), ecdsaKey, func(s *cmapi.CertificateSpec) {
		s.AdditionalOutputFormats = []cmapi.CertificateAdditionalOutputFormat{combinedOutput}
	})))
	e.create(certificate("plain", issuerRef("ca"), ecdsaKey))
	if rep := e.run(); rep.Issued != 2 || rep.Failed != 0 {
		t.Fatalf("want both issued: %s %+v", rep.Summary(), rep.Outcomes)
	}
	e.requireReady("site", 1)
	sec := e.secret("site-tls")
	p := parseSecret(t, sec)
	verifyChain(t, p)
	if pki.SignedByTemporaryCA(p.chain[0]) {
		t.Fatal("the temporary certificate was left in place")
	}
	if got := sec.Data["tls-combined.pem"]; string(got) != string(sec.Data[corev1.TLSPrivateKeyKey])+"\n"+string(sec.Data[corev1.TLSCertKey]) {
		t.Fatal("tls-combined.pem is not the real pair's")
	}
	if evs := e.eventLines("site"); countOf(evs, temporaryEvent) != 1 || countOf(evs, issuedEvent) != 1 {
		t.Fatalf("events %v: want a temporary certificate, then the issuance", evs)
	}
	if evs := e.eventLines("plain"); countOf(evs, temporaryEvent) != 0 || countOf(evs, issuedEvent) != 1 {
		t.Fatalf("events %v: want the issuance alone", evs)
	}
	e.requireSecondRunWritesNothing()
}

func mustKey(t *testing.T, s *corev1.Secret) any {
	t.Helper()
	k, err := pki.DecodePrivateKey(s.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		t.Fatalf("Secret %s: tls.key does not decode", s.Name)
	}
	return k
}

// signPending signs, as the external issuer's controller, each named
// Certificate's requests that hold no certificate yet.
func (e *env) signPending(names ...string) {
	e.t.Helper()
	for _, n := range names {
		for _, cr := range e.requests(n) {
			if len(cr.Status.Certificate) == 0 {
				e.signAsExternalIssuer(&cr)
			}
		}
	}
}

// leafOf returns the leaf of a Secret's tls.crt.
func leafOf(t *testing.T, s *corev1.Secret) *x509.Certificate {
	t.Helper()
	certs := parseCerts(t, s.Data[corev1.TLSCertKey])
	if len(certs) == 0 {
		t.Fatalf("Secret %s has no certificate", s.Name)
	}
	return certs[0]
}

// TestFaultsOwnerRefAndTemporaryCertificate: with the owner reference
// setting on, one Secret apply in two (and one write in ten of everything
// else) reaches the API server but the connection is reset before the
// answer: temporary certificates, Secrets issued for real and owner
// references added in place are all written under those faults. After
// the faults every pending request has a temporary certificate in its
// Secret; once signed, a few clean runs converge to every Certificate
// issued exactly once, every Secret controlled by its Certificate and
// holding its real pair, and a run after that writes nothing.
func TestFaultsOwnerRefAndTemporaryCertificate(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	var before []string
	for i := range scaled(4, 20) {
		name := fmt.Sprintf("before-%03d", i)
		before = append(before, name)
		e.create(certificate(name, issuerRef("ca"), ecdsaKey))
	}
	e.run() // issued with the setting off: no owner references
	var leaves, external []string
	for i := range scaled(8, 40) {
		name := fmt.Sprintf("leaf-%03d", i)
		leaves = append(leaves, name)
		e.create(withTemporaryCertificate(certificate(name, issuerRef("ca"), ecdsaKey)))
	}
	for i := range scaled(6, 30) {
		name := fmt.Sprintf("ext-%03d", i)
		external = append(external, name)
		e.create(withTemporaryCertificate(certificate(name, stepIssuer, ecdsaKey)))
	}
	// Keystores and output formats ride on the same Secret writes: a lost
	// write must leave them complete, never half made.
	e.passwordSecret("jks-password", "changeit-jks")
	var stores []string
	for i := range scaled(4, 20) {
		name := fmt.Sprintf("store-%03d", i)
		stores = append(stores, name)
		e.create(certificate(name, issuerRef("ca"), ecdsaKey, func(s *cmapi.CertificateSpec) {
			s.Keystores = &cmapi.CertificateKeystores{
				PKCS12: &cmapi.PKCS12Keystore{Create: true, Password: ptrTo("changeit-p12"), Profile: cmapi.Modern2023PKCS12Profile},
				JKS:    &cmapi.JKSKeystore{Create: true, PasswordSecretRef: passwordRefTo("jks-password")},
			}
			s.AdditionalOutputFormats = []cmapi.CertificateAdditionalOutputFormat{{Type: cmapi.CertificateOutputFormatDER}, {Type: cmapi.CertificateOutputFormatCombinedPEM}}
		}))
	}

	f := newFaultRun(t, e)
	f.settings = append(f.settings, ownerRefOn)
	f.proxy = harness.StartFaultProxy(t, e.cp)
	rules := []harness.FaultRule{
		{Kind: harness.FaultResetAfterForward, Verbs: []string{harness.VerbPatch}, Resources: []string{"secrets"}, Rate: 0.5},
		{Kind: harness.FaultResetAfterForward, Verbs: writeVerbs, Rate: 0.1,
			Resources: []string{"secrets", "certificates", "certificates/status", "certificaterequests", "certificaterequests/status"}},
	}
	for range scaled(3, 10) {
		f.faultyRound(rules)
	}

	// A clean run makes every request the faults held back; each external
	// Certificate then waits with a temporary certificate in its Secret.
	f.proxy.Disable()
	rep, err := e.sweeper(f.capture(e.cp.Config), f.options).Run(e.ctx())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("clean sweep before signing: %s", rep.Summary())
	for _, n := range external {
		e.requireTemporary(n)
		e.requireSecretControlledBy(n+"-tls", n)
	}
	e.signPending(external...)

	all := slices.Concat(before, leaves, external, stores, []string{"root"})
	f.finish(all)
	for _, n := range all {
		sec := e.secret(e.certificate(n).Spec.SecretName)
		if pki.SignedByTemporaryCA(leafOf(t, sec)) {
			t.Errorf("%s: a temporary certificate left after converging", n)
		}
		e.requireSecretControlledBy(sec.Name, n)
	}
	// Converged with zero writes after (f.finish), and renew compares every
	// keystore with the Secret's key and chain, so present means right.
	for _, n := range stores {
		sec := e.secret(n + "-tls")
		for _, k := range []string{"keystore.p12", "truststore.p12", "keystore.jks", "truststore.jks", "key.der", "tls-combined.pem"} {
			if len(sec.Data[k]) == 0 {
				t.Errorf("%s: %s missing after converging", n, k)
			}
		}
	}
}
