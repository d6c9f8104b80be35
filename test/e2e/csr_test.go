package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmexp "github.com/cert-manager/cert-manager/pkg/apis/experimental/v1alpha1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/test/harness"
	"github.com/certsweep/certsweep/triggers"
)

// Kubernetes CertificateSigningRequests addressed to cert-manager's issuers
// (job/csr.go). No kube-controller-manager runs here, so a test approves
// or denies a request through the approval subresource as an admin would.
// CSRs are cluster-scoped: each test names its own after its namespace and
// deletes them when it ends.

// withCSRs turns CSR signing on (it is off in job.Options by default, on
// in the binary).
func withCSRs(o *job.Options) { o.CSR = true }

// csrKey is a requester's key and the PEM CSR it signed.
type csrKey struct {
	key    *ecdsa.PrivateKey
	keyPEM []byte
	csrPEM []byte
}

func newCSRKey(t *testing.T, commonName string, extra func(*x509.CertificateRequest)) csrKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: commonName}, DNSNames: []string{commonName + ".example.test"}}
	if extra != nil {
		extra(tmpl)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return csrKey{
		key:    key,
		keyPEM: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		csrPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
	}
}

// csrName is a cluster-wide name for this test's request called name.
func (e *env) csrName(name string) string { return e.ns + "-" + name }

// createCSR creates the request called name as the identity of cfg (the
// API server records that identity as the requester), and deletes it when
// the test ends.
func (e *env) createCSR(cfg *rest.Config, name, signerName string, k csrKey, mutate ...func(*certificatesv1.CertificateSigningRequest)) {
	e.t.Helper()
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: e.csrName(name)},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			SignerName: signerName,
			Request:    k.csrPEM,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment},
		},
	}
	for _, m := range mutate {
		m(csr)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := kube.CertificatesV1().CertificateSigningRequests().Create(e.ctx(), csr, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating CertificateSigningRequest %s: %v", csr.Name, err)
	}
	e.t.Cleanup(func() {
		_ = e.kube.CertificatesV1().CertificateSigningRequests().Delete(context.Background(), csr.Name, metav1.DeleteOptions{})
	})
}

// decideCSR approves or denies a request through the approval
// subresource, as kubectl certificate approve|deny does.
func (e *env) decideCSR(name string, approve bool) {
	e.t.Helper()
	csr := e.csr(name)
	cond := certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "TestApproved", Message: "approved by the test",
	}
	if !approve {
		cond.Type, cond.Reason, cond.Message = certificatesv1.CertificateDenied, "TestDenied", "denied by the test"
	}
	csr.Status.Conditions = append(csr.Status.Conditions, cond)
	if _, err := e.kube.CertificatesV1().CertificateSigningRequests().UpdateApproval(e.ctx(), csr.Name, csr, metav1.UpdateOptions{}); err != nil {
		e.t.Fatalf("approval of %s: %v", csr.Name, err)
	}
}

func (e *env) csr(name string) *certificatesv1.CertificateSigningRequest {
	e.t.Helper()
	csr, err := e.kube.CertificatesV1().CertificateSigningRequests().Get(e.ctx(), e.csrName(name), metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("reading CertificateSigningRequest %s: %v", name, err)
	}
	return csr
}

// csrEvents lists the events on the request called name with reason; a
// cluster-scoped object's events are in "default".
func (e *env) csrEvents(name, reason string) []corev1.Event {
	e.t.Helper()
	list, err := e.kube.CoreV1().Events(metav1.NamespaceDefault).List(e.ctx(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + e.csrName(name)})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []corev1.Event
	for _, ev := range list.Items {
		if ev.InvolvedObject.Kind == "CertificateSigningRequest" && (reason == "" || ev.Reason == reason) {
			out = append(out, ev)
		}
	}
	return out
}

// csrChain parses status.certificate with crypto/x509 and checks the leaf
// is for k's key.
func (e *env) csrChain(name string, k csrKey) []*x509.Certificate {
	e.t.Helper()
	csr := e.csr(name)
	chain := parseCerts(e.t, csr.Status.Certificate)
	if len(chain) == 0 {
		e.t.Fatalf("CertificateSigningRequest %s has no certificate; conditions %+v", name, csr.Status.Conditions)
	}
	if !publicKeysEqual(&k.key.PublicKey, chain[0].PublicKey) {
		e.t.Fatalf("CertificateSigningRequest %s: the certificate is not for the request's key", name)
	}
	return chain
}

// requireCSRFailed checks the Failed condition and that exactly one Warning
// event says the same.
func (e *env) requireCSRFailed(name, reason, message string) {
	e.t.Helper()
	var failed *certificatesv1.CertificateSigningRequestCondition
	csr := e.csr(name)
	for i, c := range csr.Status.Conditions {
		if c.Type == certificatesv1.CertificateFailed {
			failed = &csr.Status.Conditions[i]
		}
	}
	if failed == nil || failed.Status != corev1.ConditionTrue || failed.Reason != reason || (message != "" && failed.Message != message) {
		e.t.Fatalf("CertificateSigningRequest %s: Failed condition %+v, want %s %q", name, failed, reason, message)
	}
	if len(csr.Status.Certificate) != 0 {
		e.t.Fatalf("CertificateSigningRequest %s failed and holds a certificate", name)
	}
	evs := e.csrEvents(name, reason)
	if len(evs) != 1 || evs[0].Type != corev1.EventTypeWarning || evs[0].Message != failed.Message {
		e.t.Fatalf("CertificateSigningRequest %s: events %+v, want one Warning %s", name, evs, reason)
	}
}

// requireCSRUntouched checks that the sweep wrote nothing on the request:
// no certificate, none of our conditions, no events.
func (e *env) requireCSRUntouched(name string) {
	e.t.Helper()
	csr := e.csr(name)
	for _, c := range csr.Status.Conditions {
		if c.Type != certificatesv1.CertificateApproved && c.Type != certificatesv1.CertificateDenied {
			e.t.Fatalf("CertificateSigningRequest %s has condition %+v", name, c)
		}
	}
	if len(csr.Status.Certificate) != 0 {
		e.t.Fatalf("CertificateSigningRequest %s was signed", name)
	}
	if evs := e.csrEvents(name, ""); len(evs) != 0 {
		e.t.Fatalf("CertificateSigningRequest %s has events %+v", name, evs)
	}
}

func expirationSeconds(s int32) func(*certificatesv1.CertificateSigningRequest) {
	return func(c *certificatesv1.CertificateSigningRequest) { c.Spec.ExpirationSeconds = &s }
}

func csrAnnotation(k, v string) func(*certificatesv1.CertificateSigningRequest) {
	return func(c *certificatesv1.CertificateSigningRequest) {
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations[k] = v
	}
}

func csrUsages(u ...certificatesv1.KeyUsage) func(*certificatesv1.CertificateSigningRequest) {
	return func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Usages = u }
}

// validity is how long a certificate is valid for.
func validity(c *x509.Certificate) time.Duration { return c.NotAfter.Sub(c.NotBefore) }

// TestCSRSignedThroughEachIssuer: approved requests to a namespaced CA
// Issuer, a CA ClusterIssuer and a SelfSigned Issuer are each signed once,
// with the duration, usages and CA flag they asked for; a pending, a
// denied and a foreign request are left alone; a too short duration fails.
// The run after writes nothing, and a request approved later is signed by
// the next run.
func TestCSRSignedThroughEachIssuer(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	clusterCA := e.ns + "-ca"
	e.create(&cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: clusterCA}, Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{CA: &cmapi.CAIssuer{SecretName: "root-ca"}}}})
	e.run(withCSRs) // issues the root CA the CA issuers sign with

	issuerCA := "issuers.cert-manager.io/" + e.ns + ".ca"
	admin := e.cp.Config

	viaIssuer := newCSRKey(t, "via-issuer", nil)
	e.createCSR(admin, "via-issuer", issuerCA, viaIssuer, expirationSeconds(3600),
		csrUsages(certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth))
	viaCluster := newCSRKey(t, "via-cluster", nil)
	e.createCSR(admin, "via-cluster", "clusterissuers.cert-manager.io/"+clusterCA, viaCluster, expirationSeconds(86400),
		csrAnnotation(cmexp.CertificateSigningRequestDurationAnnotationKey, "2h"))
	selfKey := newCSRKey(t, "self", nil)
	e.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "self-key"}, Data: map[string][]byte{corev1.TLSPrivateKeyKey: selfKey.keyPEM}})
	e.createCSR(admin, "self", "issuers.cert-manager.io/"+e.ns+".selfsigned", selfKey,
		csrAnnotation(cmexp.CertificateSigningRequestPrivateKeyAnnotationKey, "self-key"),
		csrAnnotation(cmexp.CertificateSigningRequestIsCAAnnotationKey, "true"),
		csrUsages(certificatesv1.UsageDigitalSignature, certificatesv1.UsageCertSign))
	tooShort := newCSRKey(t, "too-short", nil)
	e.createCSR(admin, "too-short", issuerCA, tooShort, csrAnnotation(cmexp.CertificateSigningRequestDurationAnnotationKey, "5m"))
	noKey := newCSRKey(t, "no-key", nil)
	e.createCSR(admin, "no-key", "issuers.cert-manager.io/"+e.ns+".selfsigned", noKey)
	pendingKey := newCSRKey(t, "pending", nil)
	e.createCSR(admin, "pending", issuerCA, pendingKey)
	e.createCSR(admin, "denied", issuerCA, newCSRKey(t, "denied", nil))
	e.createCSR(admin, "foreign", "example.com/"+e.ns, newCSRKey(t, "foreign", nil))
	for _, name := range []string{"via-issuer", "via-cluster", "self", "too-short", "no-key", "foreign"} {
		e.decideCSR(name, true)
	}
	e.decideCSR("denied", false)

	e.run(withCSRs)

	root := parseSecret(t, e.secret("root-ca")).chain[0]
	roots := x509.NewCertPool()
	roots.AddCert(root)
	for _, tc := range []struct {
		name     string
		k        csrKey
		validity time.Duration
		eku      []x509.ExtKeyUsage
	}{
		{"via-issuer", viaIssuer, time.Hour, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
		{"via-cluster", viaCluster, 2 * time.Hour, nil},
	} {
		chain := e.csrChain(tc.name, tc.k)
		leaf := chain[0]
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Errorf("%s: does not verify against the root: %v", tc.name, err)
		}
		if got := validity(leaf); got != tc.validity {
			t.Errorf("%s: valid for %s, want %s", tc.name, got, tc.validity)
		}
		if !slices.Equal(leaf.ExtKeyUsage, tc.eku) || leaf.IsCA {
			t.Errorf("%s: extended key usages %v, CA %v; want %v, not a CA", tc.name, leaf.ExtKeyUsage, leaf.IsCA, tc.eku)
		}
		if evs := e.csrEvents(tc.name, "CertificateIssued"); len(evs) != 1 || evs[0].Type != corev1.EventTypeNormal {
			t.Errorf("%s: events %+v, want one CertificateIssued", tc.name, evs)
		}
	}
	self := e.csrChain("self", selfKey)[0]
	if err := self.CheckSignatureFrom(self); err != nil || !self.IsCA || self.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("self: self-signed %v, CA %v, key usage %b; want a self-signed CA", err, self.IsCA, self.KeyUsage)
	}
	if got := validity(self); got != cmapi.DefaultCertificateDuration {
		t.Errorf("self: valid for %s, want cert-manager's default %s", got, cmapi.DefaultCertificateDuration)
	}
	e.requireCSRFailed("too-short", "InvalidDuration", "CertificateSigningRequest minimum allowed duration is 10m0s, requested 5m0s")
	e.requireCSRFailed("no-key", "MissingAnnotation", `Missing private key reference annotation: "experimental.cert-manager.io/private-key-secret-name"`)
	for _, name := range []string{"pending", "denied", "foreign"} {
		e.requireCSRUntouched(name)
	}

	// Nothing due: the next run writes nothing at all, and a run with
	// CSRs off does not even list them.
	cfg, counter := harness.WrapCounting(e.cp.Config)
	if _, err := e.sweeper(cfg, withCSRs).Run(e.ctx()); err != nil {
		t.Fatal(err)
	}
	if n := counter.Writes(); n != 0 {
		t.Fatalf("a run with nothing due wrote %d times: %v", n, counter.Snapshot().Writes())
	}
	counter.Reset()
	if _, err := e.sweeper(cfg).Run(e.ctx()); err != nil {
		t.Fatal(err)
	}
	if n := counter.Snapshot().ByResource[harness.VerbList+" certificatesigningrequests.certificates.k8s.io"]; n != 0 {
		t.Fatalf("a run with CSRs off listed them %d times", n)
	}

	// Approved at last: the next run signs it.
	e.decideCSR("pending", true)
	e.run(withCSRs)
	e.csrChain("pending", pendingKey)
}

// TestCSRReferenceCheckedWithSubjectAccessReview: the harness API server
// authorizes with RBAC, so a requester without `reference` on the signer
// is refused for real. A ServiceAccount that may only create CSRs fails
// for a namespaced Issuer (DeniedReference, one Warning event) and is
// signed for a ClusterIssuer, which cert-manager does not check; one
// granted `reference` on that Issuer by name is signed.
func TestCSRReferenceCheckedWithSubjectAccessReview(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	clusterCA := e.ns + "-ca"
	e.create(&cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: clusterCA}, Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{CA: &cmapi.CAIssuer{SecretName: "root-ca"}}}})
	e.run(withCSRs)

	ctx := e.ctx()
	// Both ServiceAccounts may create CSRs (a cluster-wide permission);
	// only "trusted" may reference the Issuer "ca".
	creator := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "csr-creator-" + e.ns},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"certificatesigningrequests"}, Verbs: []string{"create"}}},
	}
	if _, err := e.kube.RbacV1().ClusterRoles().Create(ctx, creator, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: creator.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: creator.Name},
		Subjects: []rbacv1.Subject{
			{Kind: rbacv1.ServiceAccountKind, Name: "untrusted", Namespace: e.ns},
			{Kind: rbacv1.ServiceAccountKind, Name: "trusted", Namespace: e.ns},
		},
	}
	if _, err := e.kube.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = e.kube.RbacV1().ClusterRoleBindings().Delete(context.Background(), creator.Name, metav1.DeleteOptions{})
		_ = e.kube.RbacV1().ClusterRoles().Delete(context.Background(), creator.Name, metav1.DeleteOptions{})
	})
	ref := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "reference-ca", Namespace: e.ns},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"cert-manager.io"}, Resources: []string{"signers"}, ResourceNames: []string{"ca"}, Verbs: []string{"reference"}}},
	}
	if _, err := e.kube.RbacV1().Roles(e.ns).Create(ctx, ref, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.kube.RbacV1().RoleBindings(e.ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "reference-ca", Namespace: e.ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: ref.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "trusted", Namespace: e.ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitAllowed(e.ns, "untrusted", "create", "certificates.k8s.io", "certificatesigningrequests")
	e.waitAllowed(e.ns, "trusted", "create", "certificates.k8s.io", "certificatesigningrequests")
	e.waitAllowedNamed(e.ns, "trusted", "reference", "cert-manager.io", "signers", "ca")

	issuerCA := "issuers.cert-manager.io/" + e.ns + ".ca"
	untrusted, trusted := e.cp.ServiceAccountConfig(e.ns, "untrusted"), e.cp.ServiceAccountConfig(e.ns, "trusted")
	refused, viaCluster, allowed := newCSRKey(t, "refused", nil), newCSRKey(t, "via-cluster", nil), newCSRKey(t, "allowed", nil)
	e.createCSR(untrusted, "refused", issuerCA, refused)
	e.createCSR(untrusted, "via-cluster", "clusterissuers.cert-manager.io/"+clusterCA, viaCluster)
	e.createCSR(trusted, "allowed", issuerCA, allowed)
	for _, name := range []string{"refused", "via-cluster", "allowed"} {
		e.decideCSR(name, true)
	}
	if u := e.csr("refused").Spec.Username; u != "system:serviceaccount:"+e.ns+":untrusted" {
		t.Fatalf("the API server recorded requester %q", u)
	}

	e.run(withCSRs)
	e.requireCSRFailed("refused", "DeniedReference", "Requester may not reference Namespaced Issuer "+e.ns+"/ca")
	e.csrChain("via-cluster", viaCluster)
	e.csrChain("allowed", allowed)

	// Failed is final: later runs neither sign it nor say it again.
	cfg, counter := harness.WrapCounting(e.cp.Config)
	if _, err := e.sweeper(cfg, withCSRs).Run(e.ctx()); err != nil {
		t.Fatal(err)
	}
	if n := counter.Writes(); n != 0 {
		t.Fatalf("a run with nothing due wrote %d times: %v", n, counter.Snapshot().Writes())
	}
	e.requireCSRFailed("refused", "DeniedReference", "")
}

// TestCSRWaitsForItsIssuerOnce: a request to an Issuer that does not exist
// yet gets the Waiting condition and one Warning event, and later runs
// write nothing more until the Issuer appears; then it is signed and the
// condition goes.
func TestCSRWaitsForItsIssuerOnce(t *testing.T) {
	e := newEnv(t)
	k := newCSRKey(t, "early", nil)
	e.createCSR(e.cp.Config, "early", "issuers.cert-manager.io/"+e.ns+".later", k)
	e.decideCSR("early", true)

	e.run(withCSRs)
	waiting := func() *certificatesv1.CertificateSigningRequestCondition {
		for _, c := range e.csr("early").Status.Conditions {
			if c.Type == "certsweep.io/Waiting" {
				return &c
			}
		}
		return nil
	}
	if c := waiting(); c == nil || c.Reason != "IssuerNotFound" {
		t.Fatalf("Waiting condition %+v, want IssuerNotFound", c)
	}
	if evs := e.csrEvents("early", "IssuerNotFound"); len(evs) != 1 || evs[0].Type != corev1.EventTypeWarning {
		t.Fatalf("events %+v, want one Warning IssuerNotFound", evs)
	}
	cfg, counter := harness.WrapCounting(e.cp.Config)
	for range 2 {
		if _, err := e.sweeper(cfg, withCSRs).Run(e.ctx()); err != nil {
			t.Fatal(err)
		}
	}
	if n := counter.Writes(); n != 0 {
		t.Fatalf("runs waiting on the same problem wrote %d times: %v", n, counter.Snapshot().Writes())
	}

	e.create(selfSignedIssuer("later"))
	e.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "early-key"}, Data: map[string][]byte{corev1.TLSPrivateKeyKey: k.keyPEM}})
	csr := e.csr("early")
	csr.Annotations = map[string]string{cmexp.CertificateSigningRequestPrivateKeyAnnotationKey: "early-key"}
	if _, err := e.kube.CertificatesV1().CertificateSigningRequests().Update(e.ctx(), csr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.run(withCSRs)
	e.csrChain("early", k)
	if c := waiting(); c != nil {
		t.Fatalf("signed, yet still %+v", c)
	}
}

// TestCSRStatusWriteFaults: the status write that stores the certificate
// fails, once before reaching the API server and once after (the write
// happened, the client saw an error). Either way the next clean run
// converges: the request is signed, holds one certificate, has one
// CertificateIssued event, and the run after writes nothing.
func TestCSRStatusWriteFaults(t *testing.T) {
	for _, kind := range []harness.FaultKind{harness.FaultInternalError, harness.FaultResetAfterForward} {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t)
			e.withCA()
			e.run(withCSRs)
			k := newCSRKey(t, "leaf", nil)
			e.createCSR(e.cp.Config, "leaf", "issuers.cert-manager.io/"+e.ns+".ca", k)
			e.decideCSR("leaf", true)

			proxy := harness.StartFaultProxy(t, e.cp, harness.FaultRule{
				Kind: kind, Verbs: []string{harness.VerbUpdate}, Resources: []string{"certificatesigningrequests/status"}, Rate: 1, Max: 1,
			})
			if _, err := e.sweeper(proxy.RESTConfig(), withCSRs).Run(e.ctx()); err != nil {
				t.Fatalf("the faulty run failed as a whole: %v", err)
			}
			if proxy.Stats().Total() != 1 {
				t.Fatalf("faults injected: %s", proxy.Stats())
			}
			wrote := len(e.csr("leaf").Status.Certificate) > 0
			if wrote != (kind == harness.FaultResetAfterForward) {
				t.Fatalf("after %s the request holds a certificate: %v", kind, wrote)
			}

			e.run(withCSRs)
			chain := e.csrChain("leaf", k)
			if len(chain) != 1 {
				t.Fatalf("status.certificate holds %d certificates, want the leaf (the CA is the root)", len(chain))
			}
			if evs := e.csrEvents("leaf", "CertificateIssued"); len(evs) > 1 {
				t.Fatalf("events %+v, want at most one CertificateIssued", evs)
			}
			cfg, counter := harness.WrapCounting(e.cp.Config)
			if _, err := e.sweeper(cfg, withCSRs).Run(e.ctx()); err != nil {
				t.Fatal(err)
			}
			if n := counter.Writes(); n != 0 {
				t.Fatalf("the run after converging wrote %d times: %v", n, counter.Snapshot().Writes())
			}
		})
	}
}

// TestCSREventSignsTheRequest: in event mode, an event about a
// CertificateSigningRequest (its approval, say) signs that request alone.
func TestCSREventSignsTheRequest(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.run(withCSRs)
	k := newCSRKey(t, "by-event", nil)
	e.createCSR(e.cp.Config, "by-event", "issuers.cert-manager.io/"+e.ns+".ca", k)
	e.decideCSR("by-event", true)

	sweeper := e.sweeper(e.cp.Config, withCSRs)
	req, err := triggers.Decode(refEvent("update", "certificates.k8s.io/v1", "CertificateSigningRequest", "", e.csrName("by-event")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := triggers.Handle(e.ctx(), sweeper, req); err != nil {
		t.Fatal(err)
	}
	e.csrChain("by-event", k)
}

// TestCSRSignedThroughVault: the Vault issuer signs a CSR through the same
// issuance.Issuer as a Certificate, for the duration asked.
func TestCSRSignedThroughVault(t *testing.T) {
	s := newVault(t)
	s.withTokenIssuer()
	k := newCSRKey(t, "client.example.test", nil)
	s.createCSR(s.cp.Config, "vault", "issuers.cert-manager.io/"+s.ns+".vault", k, expirationSeconds(7200))
	s.decideCSR("vault", true)

	s.run(withCSRs)
	leaf := s.csrChain("vault", k)[0]
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(s.root) {
		t.Fatal("the Vault root does not parse")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("does not verify against the Vault root: %v", err)
	}
	// Vault backdates notBefore by its own margin (30s by default); the
	// end is what the request asked for.
	if got := validity(leaf); got < 2*time.Hour || got > 2*time.Hour+time.Minute {
		t.Fatalf("valid for %s, want the 2h asked (plus Vault's backdating)", got)
	}
}

// acmeCSRs points the ACME Issuer of a at proxy (to count the orders
// Pebble makes) and returns the options of a CSR-signing sweep with a's
// DNS-01 settings.
func (a *acmeSetup) acmeCSRs(proxy *harness.ACMEProxy) func(*job.Options) {
	a.t.Helper()
	iss, err := a.cm.CertmanagerV1().Issuers(a.ns).Get(a.ctx(), "acme", metav1.GetOptions{})
	if err != nil {
		a.t.Fatal(err)
	}
	iss.Spec.ACME.Server, iss.Spec.ACME.CABundle = proxy.DirectoryURL(), proxy.CABundle()
	if _, err := a.cm.CertmanagerV1().Issuers(a.ns).Update(a.ctx(), iss, metav1.UpdateOptions{}); err != nil {
		a.t.Fatal(err)
	}
	return func(o *job.Options) { a.acmeOptions(o); o.CSR = true }
}

// csrOrders lists the Orders of the test's namespace (an Issuer's CSR
// Orders live there).
func (a *acmeSetup) csrOrders() []cmacme.Order {
	a.t.Helper()
	list, err := a.cm.AcmeV1().Orders(a.ns).List(a.ctx(), metav1.ListOptions{})
	if err != nil {
		a.t.Fatal(err)
	}
	return list.Items
}

// csrWrites are the writes of a counted run to CertificateSigningRequests.
func csrWrites(counter *harness.RequestCounter) []harness.Request {
	var out []harness.Request
	for _, r := range counter.Snapshot().Writes() {
		if strings.HasPrefix(r.Resource, "certificatesigningrequests") {
			out = append(out, r)
		}
	}
	return out
}

// verifyPebbleChain checks chain (leaf first) against Pebble's roots for name.
func verifyPebbleChain(t *testing.T, a *acmeSetup, chain []*x509.Certificate, name string) {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(a.pebble.RootCAs()) {
		t.Fatal("no Pebble roots")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("status.certificate does not verify against Pebble's root for %s: %v", name, err)
	}
	if !slices.Equal(chain[0].DNSNames, []string{name}) {
		t.Fatalf("leaf DNS names %v, want [%s]", chain[0].DNSNames, name)
	}
}

// TestCSRSignedThroughACME: an approved CSR naming an ACME Issuer gets one
// Order, controlled by the CSR and made in the Issuer's namespace, however
// many runs it takes; a run that leaves the Order in flight writes nothing
// on the CSR; an event about the Order (or its Challenge) drives that CSR;
// once the Order is valid its chain (verified against Pebble's root) is in
// status.certificate, with one order placed at the CA; the run after
// writes nothing. A CSR whose common name is not among its DNS names and
// one for a name Pebble refuses are each failed once, with one Warning event,
// and never ordered again.
func TestCSRSignedThroughACME(t *testing.T) {
	a := newACME(t)
	proxy := harness.StartACMEProxy(t, a.pebble)
	withACME := a.acmeCSRs(proxy)
	signer := "issuers.cert-manager.io/" + a.ns + ".acme"
	name := "client.example.test"
	k := newCSRKey(t, "client", func(r *x509.CertificateRequest) { r.Subject.CommonName = name })
	a.createCSR(a.cp.Config, "acme", signer, k, csrAnnotation("kubectl.kubernetes.io/last-applied-configuration", "{}"))

	// Not approved yet: nothing happens.
	a.run(withACME)
	a.requireCSRUntouched("acme")
	if n := len(a.csrOrders()); n != 0 {
		t.Fatalf("%d Orders for a CSR not approved", n)
	}
	a.decideCSR("acme", true)

	// A run that cannot see the DNS-01 answer yet (its checks go to a
	// nameserver that does not answer) and has no time to wait: the Order
	// is made and placed and its Challenge presented; the CSR is not
	// written.
	empty := blindDNS(t)
	notVisible := func(o *job.Options) { o.ACMEWait, o.DNS01Nameservers = time.Millisecond, []string{empty} }
	cfg, counter := harness.WrapCounting(a.cp.Config)
	if _, err := a.sweeper(cfg, withACME, notVisible).Run(a.ctx()); err != nil {
		t.Fatal(err)
	}
	if w := csrWrites(counter); len(w) != 0 {
		t.Fatalf("a run with the Order in flight wrote on the CSR: %v; status %+v", w, a.csr("acme").Status)
	}
	a.requireCSRUntouched("acme")
	orders := a.csrOrders()
	if len(orders) != 1 {
		t.Fatalf("%d Orders after the first run, want 1", len(orders))
	}
	o := orders[0]
	csr := a.csr("acme")
	ref := metav1.GetControllerOf(&o)
	if ref == nil || ref.UID != csr.UID || ref.Kind != "CertificateSigningRequest" || ref.APIVersion != "certificates.k8s.io/v1" || ref.Name != csr.Name {
		t.Fatalf("Order %s controlled by %+v, want the CSR %s", o.Name, ref, csr.Name)
	}
	if !strings.HasPrefix(o.Name, csr.Name+"-") || !slices.Equal(o.Spec.DNSNames, []string{name}) || o.Spec.CommonName != name ||
		o.Spec.IssuerRef.Name != "acme" || o.Spec.IssuerRef.Kind != cmapi.IssuerKind || o.Spec.Duration != nil || o.Spec.Profile != "" {
		t.Fatalf("Order %s spec %+v", o.Name, o.Spec)
	}
	if o.Status.URL == "" || o.Status.State != cmacme.Pending {
		t.Fatalf("Order %s: url %q state %q, want placed and pending", o.Name, o.Status.URL, o.Status.State)
	}
	if _, copied := o.Annotations["kubectl.kubernetes.io/last-applied-configuration"]; copied {
		t.Fatalf("Order annotations %v: kubectl's must not be copied", o.Annotations)
	}

	// Another such run: still no write on the CSR, no second order.
	cfg, counter = harness.WrapCounting(a.cp.Config)
	if _, err := a.sweeper(cfg, withACME, notVisible).Run(a.ctx()); err != nil {
		t.Fatal(err)
	}
	if w := csrWrites(counter); len(w) != 0 {
		t.Fatalf("a second run with the Order in flight wrote on the CSR: %v", w)
	}

	// An event about the Order drives its CSR (triggers/dispatch.go), then
	// sweeps finish whatever is left.
	sweeper := a.sweeper(a.cp.Config, withACME)
	req, err := triggers.Decode(refEvent("update", "acme.cert-manager.io/v1", "Order", a.ns, o.Name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := triggers.Handle(a.ctx(), sweeper, req); err != nil {
		t.Fatal(err)
	}
	for run := 0; len(a.csr("acme").Status.Certificate) == 0; run++ {
		if run == 4 {
			t.Fatalf("not signed after %d runs; Orders %+v", run, a.csrOrders())
		}
		a.run(withACME)
	}
	chain := a.csrChain("acme", k)
	verifyPebbleChain(t, a, chain, name)
	if evs := a.csrEvents("acme", "CertificateIssued"); len(evs) != 1 {
		t.Fatalf("events %+v, want one CertificateIssued", evs)
	}
	if n := len(a.csrOrders()); n != 1 {
		t.Fatalf("%d Orders for the CSR, want 1", n)
	}
	if n := ordersPlaced(proxy); n != 1 {
		t.Fatalf("%d orders placed at Pebble, want 1", n)
	}
	chs, err := a.cm.AcmeV1().Challenges(a.ns).List(a.ctx(), metav1.ListOptions{})
	if err != nil || len(chs.Items) != 0 {
		t.Fatalf("Challenges left: %v %d", err, len(chs.Items))
	}
	cfg, counter = harness.WrapCounting(a.cp.Config)
	if _, err := a.sweeper(cfg, withACME).Run(a.ctx()); err != nil {
		t.Fatal(err)
	}
	if counter.Writes() != 0 {
		t.Fatalf("the run after signing wrote: %v", counter.Snapshot().Writes())
	}

	// A common name that is none of the DNS names: failed before any Order.
	mismatch := newCSRKey(t, "mismatch", nil)
	a.createCSR(a.cp.Config, "mismatch", signer, mismatch)
	a.decideCSR("mismatch", true)
	// A name Pebble refuses: the Order is made, the CA refuses it.
	refused := newCSRKey(t, "refused", func(r *x509.CertificateRequest) {
		r.Subject.CommonName = ""
		r.DNSNames = []string{"bad_name.example.test"}
	})
	a.createCSR(a.cp.Config, "refused", signer, refused)
	a.decideCSR("refused", true)
	placed := newOrdersAsked(proxy)
	for range 3 {
		a.run(withACME)
	}
	a.requireCSRFailed("mismatch", "InvalidOrder", "")
	a.requireCSRFailed("refused", "OrderFailed", "")
	if msg := failedMessage(a.csr("refused")); !strings.Contains(msg, "Failed to wait for order resource "+a.ns+"/") {
		t.Fatalf("refused: message %q", msg)
	}
	if n := newOrdersAsked(proxy) - placed; n != 1 {
		t.Fatalf("%d newOrder requests for the refused CSR over 3 runs, want 1", n)
	}
	if n := len(a.csrOrders()); n != 2 {
		t.Fatalf("%d Orders, want 2 (the signed CSR's and the refused one's; none for the common name mismatch)", n)
	}
}

// failedMessage is the message of csr's Failed condition, or "".
func failedMessage(csr *certificatesv1.CertificateSigningRequest) string {
	for _, c := range csr.Status.Conditions {
		if c.Type == certificatesv1.CertificateFailed {
			return c.Message
		}
	}
	return ""
}

// TestCSRACMEOrderCreateFaults: the create of a CSR's Order fails, once
// before reaching the API server and once after (the Order exists, the
// client saw an error). Either way the CSR is not written by the faulty
// run, and clean runs converge on one Order, one order at the CA and a
// signed CSR; the run after writes nothing.
func TestCSRACMEOrderCreateFaults(t *testing.T) {
	for _, kind := range []harness.FaultKind{harness.FaultInternalError, harness.FaultResetAfterForward} {
		t.Run(string(kind), func(t *testing.T) {
			a := newACME(t)
			acmeProxy := harness.StartACMEProxy(t, a.pebble)
			withACME := a.acmeCSRs(acmeProxy)
			name := "faulty.example.test"
			k := newCSRKey(t, "faulty", func(r *x509.CertificateRequest) { r.Subject.CommonName = name })
			a.createCSR(a.cp.Config, "faulty", "issuers.cert-manager.io/"+a.ns+".acme", k)
			a.decideCSR("faulty", true)

			proxy := harness.StartFaultProxy(t, a.cp, harness.FaultRule{
				Kind: kind, Verbs: []string{harness.VerbCreate}, Resources: []string{"orders"}, Rate: 1, Max: 1,
			})
			if _, err := a.sweeper(proxy.RESTConfig(), withACME).Run(a.ctx()); err != nil {
				t.Fatalf("the faulty run failed as a whole: %v", err)
			}
			if proxy.Stats().Total() != 1 {
				t.Fatalf("faults injected: %s", proxy.Stats())
			}
			a.requireCSRUntouched("faulty")
			if n, want := len(a.csrOrders()), map[harness.FaultKind]int{harness.FaultInternalError: 0, harness.FaultResetAfterForward: 1}[kind]; n != want {
				t.Fatalf("%d Orders after %s, want %d", n, kind, want)
			}

			for run := 0; len(a.csr("faulty").Status.Certificate) == 0; run++ {
				if run == 4 {
					t.Fatalf("not signed after %d clean runs; Orders %+v", run, a.csrOrders())
				}
				a.run(withACME)
			}
			verifyPebbleChain(t, a, a.csrChain("faulty", k), name)
			if n := len(a.csrOrders()); n != 1 {
				t.Fatalf("%d Orders, want 1", n)
			}
			if n := ordersPlaced(acmeProxy); n != 1 {
				t.Fatalf("%d orders placed at Pebble, want 1", n)
			}
			cfg, counter := harness.WrapCounting(a.cp.Config)
			if _, err := a.sweeper(cfg, withACME).Run(a.ctx()); err != nil {
				t.Fatal(err)
			}
			if counter.Writes() != 0 {
				t.Fatalf("the run after converging wrote: %v", counter.Snapshot().Writes())
			}
		})
	}
}

// TestCSRACMERetryAfterHonoured: the CA answers a CSR's new order with
// rateLimited and a two-hour Retry-After. The wait is recorded on the
// CSR's Order and said once on the CSR (Waiting, one Warning event); runs
// inside the two hours ask the CA nothing and write nothing; the first run
// after them places the order and signs the CSR.
func TestCSRACMERetryAfterHonoured(t *testing.T) {
	a := newACME(t)
	proxy := harness.StartACMEProxy(t, a.pebble, harness.ACMEFault{
		Method: "POST", PathSuffix: "/order-plz", Status: 429, ProblemType: "rateLimited",
		Detail: "too many new orders recently", RetryAfter: 7200,
	})
	withACME := a.acmeCSRs(proxy)
	name := "limited.example.test"
	k := newCSRKey(t, "limited", func(r *x509.CertificateRequest) { r.Subject.CommonName = name })
	a.createCSR(a.cp.Config, "limited", "issuers.cert-manager.io/"+a.ns+".acme", k)
	a.decideCSR("limited", true)

	a.run(withACME)
	if n := newOrdersAsked(proxy); n != 1 {
		t.Fatalf("%d newOrder requests, want 1", n)
	}
	orders := a.csrOrders()
	if len(orders) != 1 || orders[0].Annotations["certsweep.io/retry-after"] == "" {
		t.Fatalf("want one Order carrying the CA's Retry-After: %+v", orders)
	}
	warnings := func() []corev1.Event { return a.csrEvents("limited", "IssuerUnavailable") }
	if evs := warnings(); len(evs) != 1 || evs[0].Type != corev1.EventTypeWarning || !strings.Contains(evs[0].Message, "rateLimited") {
		t.Fatalf("events %+v, want one Warning naming the rate limit", evs)
	}

	for range 7 {
		a.advance(15 * time.Minute)
		cfg, counter := harness.WrapCounting(a.cp.Config)
		if _, err := a.sweeper(cfg, withACME).Run(a.ctx()); err != nil {
			t.Fatal(err)
		}
		// The reference check (a SubjectAccessReview) is a question, not a
		// write: nothing is stored.
		for _, w := range counter.Snapshot().Writes() {
			if !strings.HasPrefix(w.Resource, "subjectaccessreviews") {
				t.Fatalf("a run inside the CA's Retry-After wrote: %v", counter.Snapshot().Writes())
			}
		}
	}
	if n := newOrdersAsked(proxy); n != 1 {
		t.Fatalf("%d newOrder requests inside the CA's Retry-After, want 1", n)
	}

	proxy.SetFaults()
	a.advance(16 * time.Minute)
	for run := 0; len(a.csr("limited").Status.Certificate) == 0; run++ {
		if run == 3 {
			t.Fatalf("not signed after the window; conditions %+v", a.csr("limited").Status.Conditions)
		}
		a.run(withACME)
	}
	verifyPebbleChain(t, a, a.csrChain("limited", k), name)
	for _, c := range a.csr("limited").Status.Conditions {
		if c.Type == "certsweep.io/Waiting" {
			t.Fatalf("the Waiting condition stayed after signing: %+v", c)
		}
	}
	if n := newOrdersAsked(proxy); n != 2 {
		t.Fatalf("%d newOrder requests in all, want 2", n)
	}
	if evs := warnings(); len(evs) != 1 {
		t.Fatalf("%d Warning events, want 1", len(evs))
	}
}
