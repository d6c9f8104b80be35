package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/renew"
	"github.com/certsweep/certsweep/test/harness"
)

// issued sets up a CA and one issued Certificate named "site".
func issued(t *testing.T, mutate ...func(*cmapi.CertificateSpec)) *env {
	e := newEnv(t)
	e.withCA()
	e.create(certificate("site", issuerRef("ca"), mutate...))
	e.run()
	e.requireReady("site", 1)
	return e
}

// reissuesOnce runs twice after a change: the first run reissues once with
// the expected reason, the second does nothing.
func (e *env) reissuesOnce(wantReason string) {
	e.t.Helper()
	plan, err := e.sweeper(e.cp.Config).Plan(e.ctx())
	if err != nil {
		e.t.Fatal(err)
	}
	rep := e.run()
	if rep.Issued != 1 {
		e.t.Fatalf("want one reissue, got %s %+v", rep.Summary(), rep.Outcomes)
	}
	for _, o := range rep.Outcomes {
		if o.Name == "site" && o.Reason != wantReason {
			e.t.Fatalf("reissued for %q, want %q", o.Reason, wantReason)
		}
	}
	for _, row := range plan {
		if row.Name == "site" && (row.Action != renew.ActionIssue || row.Reason != wantReason) {
			e.t.Fatalf("plan said %s/%s before the run issued for %s", row.Action, row.Reason, wantReason)
		}
	}
	e.requireReady("site", 2)
	parseSecret(e.t, e.secret("site-tls"))
	if n := len(e.requests("site")); n != 1 {
		e.t.Fatalf("revisionHistoryLimit 1 should leave one request, found %d", n)
	}
	if rep := e.run(); rep.Issued != 0 {
		e.t.Fatalf("a second run reissued again: %s", rep.Summary())
	}
}

func otherKeyPEM(t *testing.T) []byte {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestSecretMutationsReissueOnce(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(e *env, s *corev1.Secret) (deleted bool)
		reason string
	}{
		{"deleted", func(e *env, s *corev1.Secret) bool { return true }, "DoesNotExist"},
		{"corrupt tls.crt", func(e *env, s *corev1.Secret) bool {
			s.Data[corev1.TLSCertKey] = []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
			return false
		}, "InvalidCertificate"},
		{"another key", func(e *env, s *corev1.Secret) bool {
			s.Data[corev1.TLSPrivateKeyKey] = otherKeyPEM(e.t)
			return false
		}, "InvalidKeyPair"},
		{"issuer annotation", func(e *env, s *corev1.Secret) bool {
			s.Annotations[cmapi.IssuerNameAnnotationKey] = "someone-else"
			return false
		}, "IncorrectIssuer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := issued(t)
			s := e.secret("site-tls")
			if c.mutate(e, s) {
				if err := e.kube.CoreV1().Secrets(e.ns).Delete(e.ctx(), s.Name, metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
			} else if _, err := e.kube.CoreV1().Secrets(e.ns).Update(e.ctx(), s, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			e.reissuesOnce(c.reason)
		})
	}
}

func TestSpecChangesReissueOnce(t *testing.T) {
	cases := []struct {
		name   string
		change func(*cmapi.CertificateSpec)
		reason string
	}{
		{"dnsNames", func(s *cmapi.CertificateSpec) { s.DNSNames = append(s.DNSNames, "more.example.test") }, "RequestChanged"},
		{"algorithm", func(s *cmapi.CertificateSpec) {
			s.PrivateKey = &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm}
		}, "SecretMismatch"},
		{"issuerRef", func(s *cmapi.CertificateSpec) { s.IssuerRef = issuerRef("ca2") }, "IncorrectIssuer"},
		{"usages", func(s *cmapi.CertificateSpec) {
			s.Usages = []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageClientAuth}
		}, "RequestChanged"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := issued(t)
			e.create(caIssuer("ca2", "root-ca"))
			crt := e.certificate("site")
			c.change(&crt.Spec)
			if _, err := e.cm.CertmanagerV1().Certificates(e.ns).Update(e.ctx(), crt, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			e.reissuesOnce(c.reason)
		})
	}
}

// TestSecretTemplateDriftIsRewrittenInPlace: template labels added,
// changed and removed are fixed on the Secret without a new key, request
// or revision.
func TestSecretTemplateDriftIsRewrittenInPlace(t *testing.T) {
	e := issued(t, func(s *cmapi.CertificateSpec) {
		s.SecretTemplate = &cmapi.CertificateSecretTemplate{Labels: map[string]string{"team": "web", "tier": "front"}}
	})
	before := e.secret("site-tls")
	crt := e.certificate("site")
	crt.Spec.SecretTemplate = &cmapi.CertificateSecretTemplate{
		Labels:      map[string]string{"team": "payments"},
		Annotations: map[string]string{"example.com/owner": "payments"},
	}
	if _, err := e.cm.CertmanagerV1().Certificates(e.ns).Update(e.ctx(), crt, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	rep := e.run()
	if rep.Rewritten != 1 || rep.Issued != 0 {
		t.Fatalf("want one in-place rewrite: %s", rep.Summary())
	}
	after := e.secret("site-tls")
	if after.Labels["team"] != "payments" || after.Annotations["example.com/owner"] != "payments" {
		t.Fatalf("template not applied: %v %v", after.Labels, after.Annotations)
	}
	if _, ok := after.Labels["tier"]; ok {
		t.Fatalf("removed template label still present")
	}
	if string(after.Data[corev1.TLSPrivateKeyKey]) != string(before.Data[corev1.TLSPrivateKeyKey]) || string(after.Data[corev1.TLSCertKey]) != string(before.Data[corev1.TLSCertKey]) {
		t.Fatalf("rewrite changed the key or certificate")
	}
	e.requireReady("site", 1)
	if rep := e.run(); rep.Rewritten != 0 || rep.Issued != 0 {
		t.Fatalf("second run should do nothing: %s", rep.Summary())
	}
}

// failingIssuerEnv has a Certificate whose CA issuer points at a Secret
// that is not a CA, so every attempt fails until fixed.
func failingIssuerEnv(t *testing.T) *env {
	e := newEnv(t)
	e.create(caIssuer("broken", "missing-ca"))
	e.create(certificate("site", issuerRef("broken")))
	rep := e.run()
	if rep.Failed != 1 {
		t.Fatalf("want the first attempt to fail: %s", rep.Summary())
	}
	return e
}

func TestFailingIssuerBacksOffAcrossRuns(t *testing.T) {
	e := failingIssuerEnv(t)
	c := e.certificate("site")
	if c.Annotations[renew.AnnotationFailedAttempts] != "1" || c.Annotations[renew.AnnotationNextAttempt] == "" {
		t.Fatalf("retry annotations: %v", c.Annotations)
	}
	// An immediate second run does not retry, and writes nothing.
	cfg, counter := harness.WrapCounting(e.cp.Config)
	rep, err := e.sweeper(cfg).Run(e.ctx())
	if err != nil || rep.Waiting != 1 || counter.Writes() != 0 {
		t.Fatalf("second run inside the window: %v %v writes=%d", rep, err, counter.Writes())
	}
	// Move last-failure-time back instead of sleeping: the next run retries.
	c.Annotations[renew.AnnotationLastFailureTime] = e.clock().Add(-time.Hour).UTC().Format(time.RFC3339)
	if _, err := e.cm.CertmanagerV1().Certificates(e.ns).Update(e.ctx(), c, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if rep := e.run(); rep.Failed != 1 {
		t.Fatalf("retry after the window should run (and fail again): %s", rep.Summary())
	}
	if got := e.certificate("site").Annotations[renew.AnnotationFailedAttempts]; got != "2" {
		t.Fatalf("failed-attempts = %q, want 2", got)
	}
	// Garbage in an annotation neither crashes nor blocks forever.
	c = e.certificate("site")
	c.Annotations[renew.AnnotationFailedAttempts] = "many"
	if _, err := e.cm.CertmanagerV1().Certificates(e.ns).Update(e.ctx(), c, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Hour)
	if rep := e.run(); rep.Failed != 1 {
		t.Fatalf("a garbage annotation should not stop retries: %s", rep.Summary())
	}
	if got := e.certificate("site").Annotations[renew.AnnotationFailedAttempts]; got == "many" {
		t.Fatalf("garbage annotation was not rewritten")
	}
}

// TestManualRenewBypassesBackoff: both `certsweep renew` and a cmctl-style
// Issuing condition reissue inside a backoff window.
func TestManualRenewBypassesBackoff(t *testing.T) {
	for _, how := range []string{"certsweep renew", "cmctl renew"} {
		t.Run(how, func(t *testing.T) {
			e := failingIssuerEnv(t)
			// Fix the issuer without touching the Certificate: its CA Secret
			// now exists, but the Certificate is still inside its window.
			e.withCA()
			e.run()
			root := e.secret("root-ca")
			e.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "missing-ca"}, Type: corev1.SecretTypeTLS, Data: root.Data})
			if rep := e.run(); rep.Waiting != 1 || rep.Issued != 0 {
				t.Fatalf("the certificate should still be backing off: %s", rep.Summary())
			}
			switch how {
			case "certsweep renew":
				if err := e.sweeper(e.cp.Config).MarkForRenewal(e.ctx(), job.ObjectRef{Namespace: e.ns, Name: "site"}); err != nil {
					t.Fatal(err)
				}
			case "cmctl renew":
				// What cmctl's renew does: a status update setting Issuing=True.
				c := e.certificate("site")
				now := metav1.NewTime(time.Now())
				conds := []cmapi.CertificateCondition{{Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionTrue,
					Reason: "ManuallyTriggered", Message: "Certificate re-issuance manually triggered", LastTransitionTime: &now}}
				for _, cond := range c.Status.Conditions {
					if cond.Type != cmapi.CertificateConditionIssuing {
						conds = append(conds, cond)
					}
				}
				c.Status.Conditions = conds
				if _, err := e.cm.CertmanagerV1().Certificates(e.ns).UpdateStatus(e.ctx(), c, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			rep := e.run()
			if rep.Issued != 1 {
				t.Fatalf("manual renew should issue inside the window: %s %+v", rep.Summary(), rep.Outcomes)
			}
			e.requireReady("site", 1)
			if c := e.certificate("site"); c.Annotations[renew.AnnotationFailedAttempts] != "" || condition(c, cmapi.CertificateConditionIssuing) != nil {
				t.Fatalf("success should clear the retry state and the Issuing condition: %v", c.Annotations)
			}
		})
	}
}

// TestSpecFixBypassesBackoff: a failure that made no request (missing
// issuer) is retried at once when the spec changes, not after the window.
func TestSpecFixBypassesBackoff(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.create(certificate("site", issuerRef("typo")))
	e.run()
	if c := e.certificate("site"); c.Annotations[renew.AnnotationFailedAttempts] != "1" {
		t.Fatalf("want a recorded failure: %v", c.Annotations)
	}
	c := e.certificate("site")
	c.Spec.IssuerRef = issuerRef("ca")
	if _, err := e.cm.CertmanagerV1().Certificates(e.ns).Update(e.ctx(), c, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if rep := e.run(); rep.Issued != 1 {
		t.Fatalf("the fixed spec should issue at once: %s", rep.Summary())
	}
	e.requireReady("site", 1)
}

// TestPlanIsReadOnlyAndMatchesRun: plan writes nothing and names the same
// action and reason that the run then takes.
func TestPlanIsReadOnlyAndMatchesRun(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.run()
	e.create(certificate("new", issuerRef("ca")))
	cfg, counter := harness.WrapCounting(e.cp.Config)
	rows, err := e.sweeper(cfg).Plan(e.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if counter.Writes() != 0 {
		t.Fatalf("plan wrote: %v", counter.Snapshot().Writes())
	}
	rep := e.run()
	byName := map[string]job.Outcome{}
	for _, o := range rep.Outcomes {
		byName[o.Name] = o
	}
	for _, row := range rows {
		o := byName[row.Name]
		if row.Action != o.Action || row.Reason != o.Reason {
			t.Errorf("%s: plan %s/%s, run %s/%s", row.Name, row.Action, row.Reason, o.Action, o.Reason)
		}
	}
	if byName["new"].Result != job.ResultIssued {
		t.Fatalf("the new certificate should have been issued: %+v", byName["new"])
	}
}

// TestLiteralSubjectAndOtherNamesAreStable: what issuance/ encodes into the
// CSR must be what renew/ compares against, or every run would reissue.
func TestLiteralSubjectAndOtherNamesAreStable(t *testing.T) {
	e := issued(t, func(s *cmapi.CertificateSpec) {
		s.LiteralSubject = "CN=lit.example.test,OU=platform,O=certsweep,C=DE,1.2.840.113549.1.9.1=ops@example.test"
		s.OtherNames = []cmapi.OtherName{{OID: "1.3.6.1.4.1.311.20.2.3", UTF8Value: "upn@example.test"}}
		s.EmailAddresses = []string{"ops@example.test"}
		s.URIs = []string{"spiffe://example.test/site"}
	})
	for i := 0; i < 2; i++ {
		if rep := e.run(); rep.Issued != 0 || rep.Rewritten != 0 {
			t.Fatalf("run %d reissued a certificate that did not change: %+v", i, rep.Outcomes)
		}
	}
	leaf := parseSecret(t, e.secret("site-tls")).chain[0]
	if leaf.Subject.CommonName != "lit.example.test" || len(leaf.Subject.OrganizationalUnit) != 1 {
		t.Fatalf("subject = %s", leaf.Subject)
	}
}
