package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/certsweep/certsweep/issuance"
	"github.com/certsweep/certsweep/issuance/pki"
	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/test/harness"
)

// crashingTransport lets the first `allow` write requests through and then
// fails every request, as if the process had died at that point.
type crashingTransport struct {
	next   http.RoundTripper
	allow  int64
	writes atomic.Int64
	dead   atomic.Bool
}

var errCrashed = errors.New("simulated crash")

func (c *crashingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if c.dead.Load() {
		return nil, errCrashed
	}
	if req.Method != http.MethodGet {
		if c.writes.Add(1) > c.allow {
			c.dead.Store(true)
			return nil, errCrashed
		}
	}
	return c.next.RoundTrip(req)
}

func crashingConfig(cfg *rest.Config, allow int64) (*rest.Config, *crashingTransport) {
	out := rest.CopyConfig(cfg)
	ct := &crashingTransport{allow: allow}
	out.Wrap(func(rt http.RoundTripper) http.RoundTripper { ct.next = rt; return ct })
	return out, ct
}

// TestCrashAtEveryStepRecovers stops a first issuance after each of its
// write requests in turn, then runs again: every time the second run
// finishes the job with exactly one CertificateRequest for the revision and
// a Secret whose key matches its certificate.
func TestCrashAtEveryStepRecovers(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.run()

	// Count the writes of one clean issuance to know every crash point (the
	// first leaf also writes the CA issuer's Ready condition, so measure the
	// second).
	e.create(certificate("clean", issuerRef("ca")))
	e.run()
	e.create(certificate("clean2", issuerRef("ca")))
	cfg, counter := harness.WrapCounting(e.cp.Config)
	if _, err := e.sweeper(cfg).Run(e.ctx()); err != nil {
		t.Fatal(err)
	}
	total := counter.Writes()
	t.Logf("a clean issuance makes %d writes: %v", total, counter.Snapshot().Writes())
	if total < 5 {
		t.Fatalf("implausibly few writes for an issuance: %d", total)
	}
	// The write budget of an issuance: key, request, its signature, Secret,
	// status, one event, and removing the key.
	if total > 7 {
		t.Fatalf("a clean issuance should make at most 7 writes, made %d: %v", total, counter.Snapshot().Writes())
	}
	requireNoOwnGets(t, counter)

	for allow := 0; allow < total; allow++ {
		name := fmt.Sprintf("crash-%d", allow)
		e.create(certificate(name, issuerRef("ca")))
		cfg, crash := crashingConfig(e.cp.Config, int64(allow))
		_, _ = e.sweeper(cfg).Run(e.ctx()) // dies part-way by design
		if !crash.dead.Load() {
			t.Fatalf("%s: the run was expected to crash after %d writes", name, allow)
		}
		// A later run, after any backoff the crash left behind.
		e.advance(10 * time.Minute)
		e.run()
		e.requireReady(name, 1)
		crs := e.requests(name)
		if len(crs) != 1 || crs[0].Name != name+"-1" {
			t.Fatalf("%s: want exactly one CertificateRequest %s-1, got %d", name, name, len(crs))
		}
		parseSecret(t, e.secret(name+"-tls")) // key matches the leaf
		if c := e.certificate(name); c.Annotations["certsweep.io/failed-attempts"] != "" {
			t.Fatalf("%s: retry state not cleared after success: %v", name, c.Annotations)
		}
	}
	keys, _ := e.kube.CoreV1().Secrets(e.ns).List(e.ctx(), metav1.ListOptions{LabelSelector: cmapi.IsNextPrivateKeySecretLabelKey + "=true"})
	if len(keys.Items) != 0 {
		t.Fatalf("next-private-key Secrets left behind: %d", len(keys.Items))
	}
}

// TestExternalIssuerFinishesOnALaterRun: a request for an issuer of another
// group is created and approved, left Pending across runs without any
// write, and completed once the test (playing that issuer's controller)
// writes the signature.
func TestExternalIssuerFinishesOnALaterRun(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.run()
	ext := cmmeta.IssuerReference{Name: "step", Kind: "StepIssuer", Group: "certmanager.step.sm"}
	e.create(certificate("ext", ext))

	rep := e.run()
	if rep.Waiting != 1 {
		t.Fatalf("first run should leave the external request waiting: %s", rep.Summary())
	}
	crs := e.requests("ext")
	if len(crs) != 1 || !pki.IsApproved(&crs[0]) {
		t.Fatalf("want one approved request, got %d", len(crs))
	}
	c := e.certificate("ext")
	if issuing := condition(c, cmapi.CertificateConditionIssuing); issuing == nil || issuing.Status != cmmeta.ConditionTrue {
		t.Fatalf("Issuing should be True while waiting: %+v", c.Status.Conditions)
	}
	if c.Status.NextPrivateKeySecretName == nil {
		t.Fatalf("nextPrivateKeySecretName should be set while issuing")
	}

	cfg, counter := harness.WrapCounting(e.cp.Config)
	if rep, err := e.sweeper(cfg).Run(e.ctx()); err != nil || rep.Waiting != 1 {
		t.Fatalf("second run: %v %v", rep, err)
	}
	if counter.Writes() != 0 {
		t.Fatalf("a run that only waits must not write: %v", counter.Snapshot().Writes())
	}

	e.signAsExternalIssuer(&crs[0])
	rep = e.run()
	if rep.Issued != 1 {
		t.Fatalf("third run should finish the issuance: %s", rep.Summary())
	}
	e.requireReady("ext", 1)
	sec := e.secret("ext-tls")
	parseSecret(t, sec)
	if sec.Annotations[cmapi.IssuerGroupAnnotationKey] != "certmanager.step.sm" || sec.Annotations[cmapi.IssuerKindAnnotationKey] != "StepIssuer" {
		t.Fatalf("issuer annotations: %v", sec.Annotations)
	}
	if n := len(e.requests("ext")); n != 1 {
		t.Fatalf("want exactly one request, got %d", n)
	}
}

// signAsExternalIssuer signs cr with the namespace's test CA and marks it
// Issued, as an external issuer's controller would.
func (e *env) signAsExternalIssuer(cr *cmapi.CertificateRequest) {
	e.t.Helper()
	ca := issuance.NewCA(func(ctx context.Context, ns, name string) (*corev1.Secret, error) {
		return e.kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	}, e.ns, cmapi.CAIssuer{SecretName: "root-ca"})
	res, err := ca.Sign(e.ctx(), issuance.Request{CertificateRequest: cr})
	if err != nil || res.State != issuance.StateIssued {
		e.t.Fatalf("test signer: %v %+v", err, res.State)
	}
	fresh, err := e.cm.CertmanagerV1().CertificateRequests(e.ns).Get(e.ctx(), cr.Name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	fresh.Status.Certificate, fresh.Status.CA = res.Certificate, res.CA
	pki.SetRequestCondition(fresh, cmapi.CertificateRequestConditionReady, cmmeta.ConditionTrue, cmapi.CertificateRequestReasonIssued, "signed by the test", time.Now())
	if _, err := e.cm.CertmanagerV1().CertificateRequests(e.ns).UpdateStatus(e.ctx(), fresh, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// TestExternalIssuerFailureIsRecorded: a request the external issuer failed
// is recorded once as an issuance failure and backs off.
func TestExternalIssuerFailureIsRecorded(t *testing.T) {
	e := newEnv(t)
	e.create(certificate("ext", cmmeta.IssuerReference{Name: "pca", Kind: "AWSPCAIssuer", Group: "awspca.cert-manager.io"}))
	e.run()
	crs := e.requests("ext")
	if len(crs) != 1 {
		t.Fatalf("want one request, got %d", len(crs))
	}
	cr := crs[0]
	pki.SetRequestCondition(&cr, cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonFailed, "the CA refused", time.Now())
	ft := metav1.NewTime(time.Now())
	cr.Status.FailureTime = &ft
	if _, err := e.cm.CertmanagerV1().CertificateRequests(e.ns).UpdateStatus(e.ctx(), &cr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Second)
	rep := e.run()
	if rep.Failed != 1 {
		t.Fatalf("the failure should be recorded: %s %+v", rep.Summary(), rep.Outcomes)
	}
	c := e.certificate("ext")
	if c.Annotations["certsweep.io/failure-class"] != "issuance" || c.Annotations["certsweep.io/failed-attempts"] != "1" {
		t.Fatalf("retry annotations: %v", c.Annotations)
	}
	issuing := condition(c, cmapi.CertificateConditionIssuing)
	if issuing == nil || issuing.Status != cmmeta.ConditionFalse || issuing.Reason != cmapi.CertificateRequestReasonFailed {
		t.Fatalf("Issuing = %+v", issuing)
	}
	// Inside the window nothing happens and nothing is written.
	cfg, counter := harness.WrapCounting(e.cp.Config)
	if _, err := e.sweeper(cfg).Run(e.ctx()); err != nil {
		t.Fatal(err)
	}
	if counter.Writes() != 0 || len(e.requests("ext")) != 1 {
		t.Fatalf("a run inside the backoff window wrote %d times", counter.Writes())
	}
	// After the window a fresh request replaces the failed one, same revision.
	e.advance(2 * time.Hour)
	e.run()
	crs = e.requests("ext")
	if len(crs) != 1 || crs[0].UID == cr.UID || crs[0].Name != "ext-1" {
		t.Fatalf("want one fresh ext-1 request after the window")
	}
}

// TestApprovalLeftToAnApprover: with CERTSWEEP_APPROVE=false the request is
// created unapproved and the Certificate waits until someone approves it.
func TestApprovalLeftToAnApprover(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	noApprove := func(o *job.Options) { o.Approve = false }
	e.run()
	e.create(certificate("manual", issuerRef("ca")))
	rep := e.run(noApprove)
	if rep.Waiting != 1 {
		t.Fatalf("want the certificate waiting for approval: %s", rep.Summary())
	}
	crs := e.requests("manual")
	if len(crs) != 1 || pki.IsApproved(&crs[0]) {
		t.Fatalf("want one unapproved request")
	}
	cr := crs[0]
	issuance.Approve(&cr, time.Now())
	if _, err := e.cm.CertmanagerV1().CertificateRequests(e.ns).UpdateStatus(e.ctx(), &cr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if rep := e.run(noApprove); rep.Issued != 1 {
		t.Fatalf("approved request should be signed: %s", rep.Summary())
	}
	e.requireReady("manual", 1)
}

// TestSharedSecretNameHasOneOwner: two Certificates naming one Secret: the
// older owns it; the other is Ready=False with a reason naming the
// conflict and no request is ever made for it, so nothing ping-pongs.
func TestSharedSecretNameHasOneOwner(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.create(certificate("first", issuerRef("ca"), func(s *cmapi.CertificateSpec) { s.SecretName = "shared" }))
	time.Sleep(1100 * time.Millisecond) // creationTimestamp has second precision
	e.create(certificate("second", issuerRef("ca"), func(s *cmapi.CertificateSpec) { s.SecretName = "shared" }))
	for i := 0; i < 3; i++ {
		e.run()
	}
	e.requireReady("first", 1)
	if n := len(e.requests("second")); n != 0 {
		t.Fatalf("the non-owner got %d requests", n)
	}
	ready := condition(e.certificate("second"), cmapi.CertificateConditionReady)
	if ready == nil || ready.Status != cmmeta.ConditionFalse || ready.Reason != "DuplicateSecretName" {
		t.Fatalf("second: Ready = %+v", ready)
	}
	if got := e.secret("shared").Annotations[cmapi.CertificateNameKey]; got != "first" {
		t.Fatalf("shared Secret is annotated for %q", got)
	}
}

// TestRenamedCertificateTakesOverItsSecret: when the Certificate named in
// the Secret is gone, the one that now points at the Secret reissues it.
func TestRenamedCertificateTakesOverItsSecret(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.create(certificate("old-name", issuerRef("ca"), func(s *cmapi.CertificateSpec) { s.SecretName = "site" }))
	e.run()
	if err := e.cm.CertmanagerV1().Certificates(e.ns).Delete(e.ctx(), "old-name", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.create(certificate("new-name", issuerRef("ca"), func(s *cmapi.CertificateSpec) { s.SecretName = "site" }))
	rep := e.run()
	if rep.Issued != 1 {
		t.Fatalf("renamed certificate should reissue: %s", rep.Summary())
	}
	e.requireReady("new-name", 1)
	if got := e.secret("site").Annotations[cmapi.CertificateNameKey]; got != "new-name" {
		t.Fatalf("Secret annotated for %q", got)
	}
}

// TestNextKeyListedAfterItsCertificate: Secrets stream in name order, so a
// Certificate "zz" whose Secret is "aa-tls" is decided before its next
// private key "zz-next-key" arrives. An interrupted reissue must still adopt
// that key (one request for the revision, the stored key in the Secret),
// and a stray key of an up-to-date Certificate must still be removed.
func TestNextKeyListedAfterItsCertificate(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.create(certificate("zz", issuerRef("ca"), func(s *cmapi.CertificateSpec) { s.SecretName = "aa-tls" }))
	e.run()
	e.requireReady("zz", 1)

	// A spec change, and a run that dies right after storing the next key.
	c := e.certificate("zz")
	c.Spec.DNSNames = append(c.Spec.DNSNames, "more.example.test")
	if _, err := e.cm.CertmanagerV1().Certificates(e.ns).Update(e.ctx(), c, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg, crash := crashingConfig(e.cp.Config, 1)
	_, _ = e.sweeper(cfg).Run(e.ctx())
	if !crash.dead.Load() {
		t.Fatal("the run was expected to crash after storing the next key")
	}
	stored, err := pki.DecodePrivateKey(e.secret("zz-next-key").Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		t.Fatal(err)
	}

	// The key is adopted as listed, not found by a re-read after a
	// conflicting create, so the run makes no GET.
	counted, counter := harness.WrapCounting(e.cp.Config)
	if _, err := e.sweeper(counted).Run(e.ctx()); err != nil {
		t.Fatal(err)
	}
	requireNoOwnGets(t, counter)
	e.requireReady("zz", 2)
	got := parseSecret(t, e.secret("aa-tls"))
	if !publicKeysEqual(got.chain[0].PublicKey, stored.Public()) {
		t.Fatal("the reissue made a new key instead of adopting the stored next key")
	}
	if crs := e.requests("zz"); len(crs) != 1 || crs[0].Name != "zz-2" {
		t.Fatalf("want only CertificateRequest zz-2 after pruning, got %d", len(crs))
	}

	// A stray next key of an up-to-date Certificate is tidied away.
	owner := e.certificate("zz")
	strayKey, _ := selfSignedPEM(t, "stray")
	e.create(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: "zz-next-key",
			Labels: map[string]string{
				cmapi.IsNextPrivateKeySecretLabelKey:      "true",
				cmapi.PartOfCertManagerControllerLabelKey: "true",
			},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(owner, cmapi.SchemeGroupVersion.WithKind(cmapi.CertificateKind))},
		},
		Data: map[string][]byte{corev1.TLSPrivateKeyKey: strayKey},
	})
	e.run()
	if _, err := e.kube.CoreV1().Secrets(e.ns).Get(e.ctx(), "zz-next-key", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the stray next key is still there: %v", err)
	}
}

// requireNoOwnGets fails if a run read any object one by one other than the
// CA issuer and its Secret, which every run reads once: a Certificate's own
// objects all come from the LISTs.
func requireNoOwnGets(t *testing.T, counter *harness.RequestCounter) {
	t.Helper()
	for _, r := range counter.Snapshot().Requests {
		if r.Verb == harness.VerbGet && !strings.HasSuffix(r.Path, "/issuers/ca") && !strings.HasSuffix(r.Path, "/secrets/root-ca") {
			t.Fatalf("a GET of the Certificate's own objects: %v", r)
		}
	}
}
