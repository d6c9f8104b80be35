package e2e

// CertificateRequests no Certificate owns (issue 15): requests made the way
// `cmctl create certificaterequest --from-certificate-file` makes them
// (cmctl's pkg/create/certificaterequest: no owner, the Certificate's
// annotations and labels, its CSR, duration, issuerRef, isCA and usages),
// approved and signed by a sweep against the real API server.

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"slices"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance"
	"github.com/certsweep/certsweep/issuance/pki"
	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/test/harness"
)

// cmctlRequest builds the CertificateRequest cmctl builds from crt and a key
// it generated: the CSR from the Certificate, the spec fields copied, the
// Certificate's annotations and labels, no owner reference.
func cmctlRequest(t *testing.T, name string, crt *cmapi.Certificate, key crypto.Signer) *cmapi.CertificateRequest {
	t.Helper()
	csr, err := issuance.BuildCSR(crt, key)
	if err != nil {
		t.Fatalf("building CSR: %v", err)
	}
	return &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: crt.Annotations, Labels: crt.Labels},
		Spec: cmapi.CertificateRequestSpec{
			Request: csr, Duration: crt.Spec.Duration, IssuerRef: crt.Spec.IssuerRef,
			IsCA: crt.Spec.IsCA, Usages: crt.Spec.Usages,
		},
	}
}

func newKey(t *testing.T) crypto.Signer {
	t.Helper()
	key, err := pki.GeneratePrivateKey(&cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm})
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// keySecret is a Secret holding key as tls.key, as a SelfSigned request's
// private-key-secret-name annotation names it.
func keySecret(t *testing.T, name string, key crypto.Signer) *corev1.Secret {
	t.Helper()
	keyPEM, err := pki.EncodePrivateKey(key, cmapi.PKCS8)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string][]byte{corev1.TLSPrivateKeyKey: keyPEM}}
}

func (e *env) createRequest(cr *cmapi.CertificateRequest) {
	e.t.Helper()
	cr.Namespace = e.ns
	if _, err := e.cm.CertmanagerV1().CertificateRequests(e.ns).Create(e.ctx(), cr, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating request %s: %v", cr.Name, err)
	}
}

func (e *env) request(name string) *cmapi.CertificateRequest {
	e.t.Helper()
	cr, err := e.cm.CertmanagerV1().CertificateRequests(e.ns).Get(e.ctx(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("reading request %s: %v", name, err)
	}
	return cr
}

// setRequestCondition plays another approver (cmctl approve/deny,
// approver-policy): it sets one condition on the request's status.
func (e *env) setRequestCondition(name string, typ cmapi.CertificateRequestConditionType, reason, message string) {
	e.t.Helper()
	cr := e.request(name)
	pki.SetRequestCondition(cr, typ, cmmeta.ConditionTrue, reason, message, e.clock())
	if _, err := e.cm.CertmanagerV1().CertificateRequests(e.ns).UpdateStatus(e.ctx(), cr, metav1.UpdateOptions{}); err != nil {
		e.t.Fatalf("setting %s on request %s: %v", typ, name, err)
	}
}

// requireCondition asserts the request's condition of type typ.
func requireCondition(t *testing.T, cr *cmapi.CertificateRequest, typ cmapi.CertificateRequestConditionType, status cmmeta.ConditionStatus, reason, message string) {
	t.Helper()
	c := pki.RequestCondition(cr, typ)
	if c == nil || c.Status != status || c.Reason != reason || (message != "" && c.Message != message) {
		t.Fatalf("request %s condition %s = %+v, want %s %s %q", cr.Name, typ, c, status, reason, message)
	}
}

// requireFetchable is cmctl's --fetch-certificate test: Ready=True and a
// certificate. It returns the leaf.
func requireFetchable(t *testing.T, cr *cmapi.CertificateRequest) *x509.Certificate {
	t.Helper()
	requireCondition(t, cr, cmapi.CertificateRequestConditionReady, cmmeta.ConditionTrue, "Issued", "Certificate fetched from issuer successfully")
	chain, err := pki.DecodeCertificates(cr.Status.Certificate)
	if err != nil || len(chain) == 0 {
		t.Fatalf("request %s status.certificate: %v", cr.Name, err)
	}
	return chain[0]
}

// approvedByCertManager asserts cert-manager's own approval.
func approvedByCertManager(t *testing.T, cr *cmapi.CertificateRequest) {
	t.Helper()
	requireCondition(t, cr, cmapi.CertificateRequestConditionApproved, cmmeta.ConditionTrue, "cert-manager.io", "Certificate request has been approved by cert-manager.io")
}

// TestUnownedRequestSignedByCA: cmctl's requests, one for a leaf with a
// duration and usages, one for a CA, are approved and signed in the run
// that also issues the CA they name; the next run writes nothing and signs
// nothing again.
func TestUnownedRequestSignedByCA(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	leafKey, subCAKey := newKey(t), newKey(t)
	leaf := certificate("tool", issuerRef("ca"), func(s *cmapi.CertificateSpec) {
		s.Duration = &metav1.Duration{Duration: 2 * time.Hour}
		s.Usages = []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageServerAuth, cmapi.UsageClientAuth}
	})
	leaf.Annotations = map[string]string{"team": "payments"}
	e.createRequest(cmctlRequest(t, "tool", leaf, leafKey))
	subCA := certificate("sub-ca", issuerRef("ca"), func(s *cmapi.CertificateSpec) {
		s.IsCA = true
		s.CommonName = "sub CA"
		s.DNSNames = nil
		s.Duration = &metav1.Duration{Duration: 24 * time.Hour}
		s.Usages = []cmapi.KeyUsage{cmapi.UsageCertSign, cmapi.UsageCRLSign}
	})
	e.createRequest(cmctlRequest(t, "sub-ca", subCA, subCAKey))

	rep := e.run()
	if rep.Requests.Signed != 2 {
		t.Fatalf("report: %s, want 2 requests signed", rep.Summary())
	}
	root := e.secret("root-ca")
	rootCert, err := pki.DecodeCertificates(root.Data[corev1.TLSCertKey])
	if err != nil {
		t.Fatal(err)
	}

	cr := e.request("tool")
	approvedByCertManager(t, cr)
	got := requireFetchable(t, cr)
	if err := got.CheckSignatureFrom(rootCert[0]); err != nil {
		t.Fatalf("leaf not signed by the CA: %v", err)
	}
	if !issuance.KeyMatchesCertificate(leafKey, cr.Status.Certificate) {
		t.Fatal("leaf does not carry the request's public key")
	}
	if d := got.NotAfter.Sub(got.NotBefore); d != 2*time.Hour {
		t.Fatalf("leaf lifetime %s, want the request's 2h", d)
	}
	if got.IsCA || got.KeyUsage != x509.KeyUsageDigitalSignature ||
		!slices.Equal(got.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) {
		t.Fatalf("leaf isCA=%v keyUsage=%v extKeyUsage=%v, want the request's usages", got.IsCA, got.KeyUsage, got.ExtKeyUsage)
	}
	if !bytes.Equal(bytes.TrimSpace(cr.Status.CA), bytes.TrimSpace(root.Data[corev1.TLSCertKey])) {
		t.Fatalf("status.ca is not the CA's certificate:\n%s", cr.Status.CA)
	}
	if len(e.eventsOn("CertificateRequest", "tool", "cert-manager.io")) != 1 || len(e.eventsOn("CertificateRequest", "tool", "CertificateIssued")) != 1 {
		t.Fatal("want one approval and one CertificateIssued event on the request")
	}

	sub := requireFetchable(t, e.request("sub-ca"))
	if !sub.IsCA || sub.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign || sub.NotAfter.Sub(sub.NotBefore) != 24*time.Hour {
		t.Fatalf("sub CA isCA=%v keyUsage=%v lifetime=%s, want a 24h CA", sub.IsCA, sub.KeyUsage, sub.NotAfter.Sub(sub.NotBefore))
	}

	e.advance(time.Hour)
	e.requireQuietRun()
	if again := e.request("tool"); !bytes.Equal(again.Status.Certificate, cr.Status.Certificate) {
		t.Fatal("a signed request was signed again")
	}
}

// TestUnownedRequestSignedBySelfSigned: the key comes from the Secret the
// private-key-secret-name annotation names (cmctl copies the annotation
// from the Certificate file), in the request's namespace.
func TestUnownedRequestSignedBySelfSigned(t *testing.T) {
	e := newEnv(t)
	e.create(selfSignedIssuer("selfsigned"))
	key := newKey(t)
	e.create(keySecret(t, "tool-key", key))
	crt := certificate("tool", issuerRef("selfsigned"), func(s *cmapi.CertificateSpec) { s.CommonName = "tool" })
	crt.Annotations = map[string]string{cmapi.CertificateRequestPrivateKeyAnnotationKey: "tool-key"}
	e.createRequest(cmctlRequest(t, "tool", crt, key))

	e.run()
	cr := e.request("tool")
	approvedByCertManager(t, cr)
	got := requireFetchable(t, cr)
	if err := got.CheckSignature(got.SignatureAlgorithm, got.RawTBSCertificate, got.Signature); err != nil {
		t.Fatalf("not self-signed: %v", err)
	}
	if !issuance.KeyMatchesCertificate(key, cr.Status.Certificate) || !bytes.Equal(cr.Status.CA, cr.Status.Certificate) {
		t.Fatal("want the request's key, and status.ca equal to the certificate")
	}
	e.requireQuietRun()
}

// TestUnownedRequestMismatchedKey: a SelfSigned request whose key Secret
// holds another key fails for good (ErrorKeyMatch), once.
func TestUnownedRequestMismatchedKey(t *testing.T) {
	e := newEnv(t)
	e.create(selfSignedIssuer("selfsigned"))
	e.create(keySecret(t, "other-key", newKey(t)))
	crt := certificate("tool", issuerRef("selfsigned"), func(s *cmapi.CertificateSpec) { s.CommonName = "tool" })
	crt.Annotations = map[string]string{cmapi.CertificateRequestPrivateKeyAnnotationKey: "other-key"}
	e.createRequest(cmctlRequest(t, "tool", crt, newKey(t)))

	rep := e.run()
	if rep.Requests.Failed != 1 {
		t.Fatalf("report: %s, want 1 request failed", rep.Summary())
	}
	cr := e.request("tool")
	requireCondition(t, cr, cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, "Failed",
		"Error generating certificate template: CSR not signed by referenced private key")
	if cr.Status.FailureTime == nil || len(cr.Status.Certificate) != 0 {
		t.Fatalf("want a failure time and no certificate, got %+v", cr.Status)
	}
	if len(e.eventsOn("CertificateRequest", "tool", "ErrorKeyMatch")) != 1 {
		t.Fatal("want one ErrorKeyMatch Warning event")
	}
	e.advance(2 * time.Hour)
	e.requireQuietRun()
}

// TestUnownedRequestApprovalLeftToAnotherApprover: with
// CERTSWEEP_APPROVE=false a new request is not touched; once another
// approver approves it, it is signed and that approval is kept as it is.
func TestUnownedRequestApprovalLeftToAnotherApprover(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.run()
	e.createRequest(cmctlRequest(t, "tool", certificate("tool", issuerRef("ca")), newKey(t)))
	noApprove := func(o *job.Options) { o.Approve = false }

	e.requireQuietRun(noApprove)
	if cr := e.request("tool"); len(cr.Status.Conditions) != 0 {
		t.Fatalf("unapproved request changed: %+v", cr.Status.Conditions)
	}

	e.setRequestCondition("tool", cmapi.CertificateRequestConditionApproved, "policy.cert-manager.io", "Approved by CertificateRequestPolicy: \"tools\"")
	e.run(noApprove)
	cr := e.request("tool")
	requireCondition(t, cr, cmapi.CertificateRequestConditionApproved, cmmeta.ConditionTrue, "policy.cert-manager.io", "Approved by CertificateRequestPolicy: \"tools\"")
	requireFetchable(t, cr)
	e.requireQuietRun(noApprove)
}

// TestUnownedRequestDenied: a request another approver denied gets
// Ready=False reason Denied and a failure time, once, and no certificate.
func TestUnownedRequestDenied(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.createRequest(cmctlRequest(t, "tool", certificate("tool", issuerRef("ca")), newKey(t)))
	e.setRequestCondition("tool", cmapi.CertificateRequestConditionDenied, "policy.cert-manager.io", "violates policy")

	e.run()
	cr := e.request("tool")
	requireCondition(t, cr, cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, "Denied", "The CertificateRequest was denied by an approval controller")
	requireCondition(t, cr, cmapi.CertificateRequestConditionDenied, cmmeta.ConditionTrue, "policy.cert-manager.io", "violates policy")
	if pki.RequestCondition(cr, cmapi.CertificateRequestConditionApproved) != nil || cr.Status.FailureTime == nil || len(cr.Status.Certificate) != 0 {
		t.Fatalf("denied request: %+v", cr.Status)
	}
	e.requireQuietRun()
}

// TestUnownedRequestWaitsForMissingIssuer: a request for an issuer that
// does not exist is approved and Pending (one Warning event, no write on
// the next run), and is signed once the issuer exists.
func TestUnownedRequestWaitsForMissingIssuer(t *testing.T) {
	e := newEnv(t)
	e.createRequest(cmctlRequest(t, "tool", certificate("tool", issuerRef("ca")), newKey(t)))

	rep := e.run()
	if rep.Requests.Pending != 1 {
		t.Fatalf("report: %s, want 1 request pending", rep.Summary())
	}
	cr := e.request("tool")
	approvedByCertManager(t, cr)
	requireCondition(t, cr, cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, "Pending", "")
	if len(e.eventsOn("CertificateRequest", "tool", "IssuerNotFound")) != 1 {
		t.Fatal("want one IssuerNotFound event")
	}
	e.advance(time.Hour)
	e.requireQuietRun()

	e.withCA()
	e.run()
	requireFetchable(t, e.request("tool"))
	if len(e.eventsOn("CertificateRequest", "tool", "IssuerNotFound")) != 1 {
		t.Fatal("want still one IssuerNotFound event")
	}
	e.requireQuietRun()
}

// TestUnownedRequestOtherGroupUntouched: a request for an external
// issuer's group is left to that issuer's approver and controller.
func TestUnownedRequestOtherGroupUntouched(t *testing.T) {
	e := newEnv(t)
	ref := cmmeta.IssuerReference{Name: "pca", Kind: "AWSPCAIssuer", Group: "awspca.cert-manager.io"}
	e.createRequest(cmctlRequest(t, "tool", certificate("tool", ref), newKey(t)))
	e.requireQuietRun()
	if cr := e.request("tool"); len(cr.Status.Conditions) != 0 {
		t.Fatalf("another group's request changed: %+v", cr.Status.Conditions)
	}
}

// TestUnownedRequestFaults: the request's status write (the approval with
// a Pending issuer, then the signature) meets faults; a failed write is made
// on the next run, and a write that reached the server but failed at the
// client is found there and never made again.
func TestUnownedRequestFaults(t *testing.T) {
	e := newEnv(t)
	proxy := harness.StartFaultProxy(t, e.cp)
	faulty := func(kind harness.FaultKind) *job.Report {
		t.Helper()
		proxy.SetRules(harness.FaultRule{Kind: kind, Verbs: []string{harness.VerbUpdate}, Resources: []string{"certificaterequests/status"}, Rate: 1, Max: 1})
		rep, err := e.sweeper(proxy.RESTConfig()).Run(e.ctx())
		if err != nil {
			t.Fatalf("a failed request write failed the run: %v", err)
		}
		if proxy.Stats().Total() == 0 {
			t.Fatal("no fault injected")
		}
		proxy.ResetStats()
		return rep
	}
	e.createRequest(cmctlRequest(t, "tool", certificate("tool", issuerRef("ca")), newKey(t)))

	// The approval, written with Pending for the missing issuer, is lost.
	faulty(harness.FaultInternalError)
	if cr := e.request("tool"); len(cr.Status.Conditions) != 0 {
		t.Fatalf("failed write left conditions: %+v", cr.Status.Conditions)
	}
	e.run()
	approvedByCertManager(t, e.request("tool"))

	// The signature reaches the server, but the client sees the
	// connection reset: the next run finds it and does not sign again.
	// (The CA comes ready-made, so the fault meets the request's write.)
	caKey, caCert := selfSignedCAPEM(t, "faults CA")
	e.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "root-ca"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSPrivateKeyKey: caKey, corev1.TLSCertKey: caCert}})
	e.create(caIssuer("ca", "root-ca"))
	faulty(harness.FaultResetAfterForward)
	signed := e.request("tool")
	requireFetchable(t, signed)
	e.requireQuietRun()
	if !bytes.Equal(e.request("tool").Status.Certificate, signed.Status.Certificate) {
		t.Fatal("request signed twice")
	}

	// A signature write refused outright is made by the next run.
	e.createRequest(cmctlRequest(t, "tool-2", certificate("tool-2", issuerRef("ca")), newKey(t)))
	faulty(harness.FaultServiceUnavailable)
	if cr := e.request("tool-2"); len(cr.Status.Certificate) != 0 {
		t.Fatal("refused write stored a certificate")
	}
	e.run()
	requireFetchable(t, e.request("tool-2"))
	e.requireQuietRun()
}

// TestUnownedRequestSignedOnItsEvent: `certsweep serve` handles the
// ApiServerSource event about a request no Certificate owns by signing that
// request, and the event of its own status write changes nothing more.
func TestUnownedRequestSignedOnItsEvent(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.run()
	url := e.serve()
	e.createRequest(cmctlRequest(t, "tool", certificate("tool", issuerRef("ca")), newKey(t)))
	if code := send(t, url, "binary", refEvent("add", "cert-manager.io/v1", "CertificateRequest", e.ns, "tool")); code/100 != 2 {
		t.Fatalf("event answered %d", code)
	}
	signed := e.request("tool")
	approvedByCertManager(t, signed)
	requireFetchable(t, signed)

	// The update event of that write: the request is final.
	if code := send(t, url, "binary", refEvent("update", "cert-manager.io/v1", "CertificateRequest", e.ns, "tool")); code/100 != 2 {
		t.Fatalf("event answered %d", code)
	}
	if again := e.request("tool"); again.ResourceVersion != signed.ResourceVersion {
		t.Fatal("the request's own update event wrote it again")
	}
}

// TestUnownedRequestSignedByACME: job/acme.go's order flow works from the
// request alone, so a cmctl request for an ACME Issuer gets its Order
// (controlled by the request), its DNS-01 challenge and Pebble's chain.
func TestUnownedRequestSignedByACME(t *testing.T) {
	a := newACME(t)
	crt := certificate("tool", issuerRef("acme"), func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"tool.example.test"} })
	a.createRequest(cmctlRequest(t, "tool", crt, newKey(t)))

	rep := a.run(a.acmeOptions)
	if rep.Requests.Signed != 1 {
		t.Fatalf("report: %s, want the request signed in one run", rep.Summary())
	}
	cr := a.request("tool")
	approvedByCertManager(t, cr)
	leaf := requireFetchable(t, cr)
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "tool.example.test" {
		t.Fatalf("leaf names %v", leaf.DNSNames)
	}
	orders, err := a.cm.AcmeV1().Orders(a.ns).List(a.ctx(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(orders.Items) != 1 {
		t.Fatalf("want one Order, got %d", len(orders.Items))
	}
	if ref := metav1.GetControllerOf(&orders.Items[0]); ref == nil || ref.UID != cr.UID {
		t.Fatalf("Order controlled by %v, want the request", ref)
	}
	a.requireQuietRun(a.acmeOptions)
}
