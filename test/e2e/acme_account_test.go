package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"testing"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/test/harness"
)

// The ACME account, as the Issuer's fields describe it: made once and kept
// in privateKeySecretRef, registered once, its email kept current, bound to
// a CA's external account when asked, and never made when the Issuer
// forbids it. Everything is against Pebble on loopback.

func (a *acmeSetup) issuer() *cmapi.Issuer {
	a.t.Helper()
	iss, err := a.cm.CertmanagerV1().Issuers(a.ns).Get(a.ctx(), "acme", metav1.GetOptions{})
	if err != nil {
		a.t.Fatal(err)
	}
	return iss
}

func (a *acmeSetup) updateIssuer(edit func(*cmacme.ACMEIssuer)) {
	a.t.Helper()
	iss := a.issuer()
	edit(iss.Spec.ACME)
	if _, err := a.cm.CertmanagerV1().Issuers(a.ns).Update(a.ctx(), iss, metav1.UpdateOptions{}); err != nil {
		a.t.Fatal(err)
	}
}

func issuerReady(iss *cmapi.Issuer) *cmapi.IssuerCondition {
	for i := range iss.Status.Conditions {
		if iss.Status.Conditions[i].Type == cmapi.IssuerConditionReady {
			return &iss.Status.Conditions[i]
		}
	}
	return nil
}

// TestACMEEmailChangeUpdatesTheAccount: a changed spec.acme.email updates
// the contact of the same account at the CA (no second account) the next
// time the Issuer is used, and status.acme.lastRegisteredEmail says so.
func TestACMEEmailChangeUpdatesTheAccount(t *testing.T) {
	a := newACME(t)
	a.create(certificate("web", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"web.example.test"} }))
	if rep := a.run(a.acmeOptions); rep.Issued != 1 {
		t.Fatalf("first issuance: %s %+v", rep.Summary(), rep.Outcomes)
	}
	before := a.issuer().Status.ACME
	a.updateIssuer(func(s *cmacme.ACMEIssuer) { s.Email = "platform@example.test" })
	a.create(certificate("api", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"api.example.test"} }))
	if rep := a.run(a.acmeOptions); rep.Issued != 1 {
		t.Fatalf("issuance after the email change: %s %+v", rep.Summary(), rep.Outcomes)
	}
	after := a.issuer()
	if after.Status.ACME == nil || after.Status.ACME.URI != before.URI || after.Status.ACME.LastRegisteredEmail != "platform@example.test" {
		t.Fatalf("account status %+v after the change, before %+v: want the same URI with the new email", after.Status.ACME, before)
	}
	if c := issuerReady(after); c == nil || c.Status != cmmeta.ConditionTrue {
		t.Fatalf("Issuer Ready %+v", c)
	}
}

// TestACMEExternalAccountBinding: against a CA that requires external
// account binding, an Issuer with externalAccountBinding (key ID, and the
// HMAC key from keySecretRef) registers and issues; one with the wrong
// HMAC key is not Ready, with the CA's refusal in its condition, and its
// Certificate carries the failure instead of issuing.
func TestACMEExternalAccountBinding(t *testing.T) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	hmac := base64.RawURLEncoding.EncodeToString(raw)
	dns := harness.StartDNS(t, "example.test.")
	pebble := harness.StartPebble(t, harness.PebbleOptions{DNSServer: dns.Addr(), EABKeys: map[string]string{"kid-1": hmac}})
	e := newEnv(t)
	a := &acmeSetup{env: e, dns: dns, pebble: pebble}
	e.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tsig"}, Data: map[string][]byte{"secret": []byte(dns.TSIGSecret())}})
	e.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "eab"}, Data: map[string][]byte{"hmac": []byte(hmac)}})
	wrong := make([]byte, 32)
	if _, err := rand.Read(wrong); err != nil {
		t.Fatal(err)
	}
	e.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "eab-wrong"}, Data: map[string][]byte{"hmac": []byte(base64.RawURLEncoding.EncodeToString(wrong))}})
	issuer := func(name, eabSecret string) *cmapi.Issuer {
		return &cmapi.Issuer{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{ACME: &cmacme.ACMEIssuer{
			Server: pebble.DirectoryURL(), CABundle: pebble.CABundle(), Email: "ops@example.test",
			PrivateKey: cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: name + "-account"}},
			ExternalAccountBinding: &cmacme.ACMEExternalAccountBinding{
				KeyID: "kid-1", Key: cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: eabSecret}, Key: "hmac"},
			},
			Solvers: []cmacme.ACMEChallengeSolver{{DNS01: &cmacme.ACMEChallengeSolverDNS01{RFC2136: &cmacme.ACMEIssuerDNS01ProviderRFC2136{
				Nameserver: dns.Addr(), TSIGKeyName: dns.TSIGKeyName(), TSIGAlgorithm: dns.TSIGAlgorithm(),
				TSIGSecret: cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "tsig"}, Key: "secret"},
			}}}},
		}}}}
	}
	e.create(issuer("bound", "eab"))
	e.create(issuer("unbound", "eab-wrong"))
	e.create(certificate("web", issuerRef("bound"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"web.example.test"} }))
	e.create(certificate("bad", issuerRef("unbound"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"bad.example.test"} }))
	rep := e.run(a.acmeOptions)
	if rep.Issued != 1 || rep.Failed != 1 {
		t.Fatalf("want one issued through the bound account and one failure: %s %+v", rep.Summary(), rep.Outcomes)
	}
	e.requireReady("web", 1)
	bound, _ := e.cm.CertmanagerV1().Issuers(e.ns).Get(e.ctx(), "bound", metav1.GetOptions{})
	if c := issuerReady(bound); c == nil || c.Status != cmmeta.ConditionTrue || bound.Status.ACME == nil || bound.Status.ACME.URI == "" {
		t.Fatalf("bound Issuer: %+v %+v", c, bound.Status.ACME)
	}
	unbound, _ := e.cm.CertmanagerV1().Issuers(e.ns).Get(e.ctx(), "unbound", metav1.GetOptions{})
	if c := issuerReady(unbound); c == nil || c.Status != cmmeta.ConditionFalse || c.Reason != "ErrRegisterACMEAccount" {
		t.Fatalf("unbound Issuer Ready %+v, want False/ErrRegisterACMEAccount", c)
	}
	if c := condition(e.certificate("bad"), cmapi.CertificateConditionIssuing); c == nil || c.Status != cmmeta.ConditionFalse {
		t.Fatalf("the Certificate of the unbound Issuer: Issuing %+v", c)
	}
}

// TestACMEDisableAccountKeyGeneration: an Issuer that forbids generating
// the account key, without its Secret, is not Ready and makes no Secret;
// once a person creates the Secret, the next run after the window issues
// with that key.
func TestACMEDisableAccountKeyGeneration(t *testing.T) {
	a := newACME(t, func(s *cmacme.ACMEIssuer) { s.DisableAccountKeyGeneration = true })
	a.create(certificate("web", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"web.example.test"} }))
	if rep := a.run(a.acmeOptions); rep.Issued != 0 || rep.Failed != 1 {
		t.Fatalf("want a failure without the account key: %s %+v", rep.Summary(), rep.Outcomes)
	}
	if _, err := a.kube.CoreV1().Secrets(a.ns).Get(a.ctx(), "acme-account", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the account key Secret was made although generation is disabled: %v", err)
	}
	if c := issuerReady(a.issuer()); c == nil || c.Status != cmmeta.ConditionFalse {
		t.Fatalf("Issuer Ready %+v, want False", c)
	}
	a.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "acme-account"}, Data: map[string][]byte{corev1.TLSPrivateKeyKey: accountKeyPEM(t)}})
	a.advance(10 * time.Minute)
	if rep := a.run(a.acmeOptions); rep.Issued != 1 {
		t.Fatalf("want issuance with the key a person made: %s %+v", rep.Summary(), rep.Outcomes)
	}
}

// TestACMEAccountWritesConvergeAfterFaults: the account key Secret's
// create and the Issuer's status write may reach the API server and fail
// at the client (a kill after the write). The runs that follow still use
// one key and one account, and issue.
func TestACMEAccountWritesConvergeAfterFaults(t *testing.T) {
	a := newACME(t)
	a.create(certificate("web", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"web.example.test"} }))
	proxy := harness.StartFaultProxy(t, a.cp, harness.FaultRule{
		Kind: harness.FaultResetAfterForward, Verbs: []string{"CREATE", "UPDATE"},
		Resources: []string{"secrets", "issuers/status"}, Rate: 1, Max: 3,
	})
	var keyPEM []byte
	uri := ""
	issued := false
	for runs := 0; runs < 10 && !issued; runs++ {
		rep, err := a.sweeper(proxy.RESTConfig(), a.acmeOptions).Run(a.ctx())
		if err != nil {
			t.Fatalf("run %d: %v", runs, err)
		}
		issued = rep.Issued == 1
		if sec, err := a.kube.CoreV1().Secrets(a.ns).Get(a.ctx(), "acme-account", metav1.GetOptions{}); err == nil {
			if keyPEM != nil && string(sec.Data[corev1.TLSPrivateKeyKey]) != string(keyPEM) {
				t.Fatalf("run %d: the account key changed", runs)
			}
			keyPEM = sec.Data[corev1.TLSPrivateKeyKey]
		}
		if st := a.issuer().Status.ACME; st != nil && st.URI != "" {
			if uri != "" && st.URI != uri {
				t.Fatalf("run %d: a second account %s after %s", runs, st.URI, uri)
			}
			uri = st.URI
		}
		a.advance(10 * time.Minute)
	}
	if !issued {
		t.Fatal("not issued after 10 runs")
	}
	if proxy.Stats().Total() == 0 {
		t.Fatal("no fault was injected; the test proves nothing")
	}
	a.requireReady("web", 1)
}

// accountKeyPEM is an ACME account key as a person would make one
// (openssl genrsa): PKCS#1 RSA 2048.
func accountKeyPEM(t *testing.T) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}
