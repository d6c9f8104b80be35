package e2e

import (
	"encoding/json"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/renew"
	"github.com/certsweep/certsweep/test/harness"
)

// outcome is what one malformed input must come to after a sweep: the
// condition that says so, whether a retry window is recorded, how many
// CertificateRequests exist, and that exactly one Warning event with the
// reason was recorded even after a second sweep (none for a success).
type outcome struct {
	condition cmapi.CertificateConditionType
	status    cmmeta.ConditionStatus
	reason    string
	window    bool
	requests  int
	warnings  int
}

var (
	refused = func(reason string) outcome {
		return outcome{condition: cmapi.CertificateConditionReady, status: cmmeta.ConditionFalse, reason: reason, warnings: 1}
	}
	failedWithWindow = func(reason string) outcome {
		return outcome{condition: cmapi.CertificateConditionIssuing, status: cmmeta.ConditionFalse, reason: reason, window: true, warnings: 1}
	}
	issuesFine = outcome{condition: cmapi.CertificateConditionReady, status: cmmeta.ConditionTrue, reason: renew.ReasonReady, requests: 1}
)

// TestMalformedInputCorpus feeds a sweep the malformed objects users'
// clusters hold, one namespace each, and checks the promise for each: a
// problem gets a condition, one Warning event and (when retrying could help)
// a retry window; nothing is requested for a spec cert-manager's webhook
// would refuse; the run after writes nothing; and no key is left behind.
func TestMalformedInputCorpus(t *testing.T) {
	withLeafIssuer := func(e *env) { e.create(selfSignedIssuer("ss")) }
	cert := func(mutate ...func(*cmapi.CertificateSpec)) func(e *env) {
		return func(e *env) {
			e.create(certificate("c", issuerRef("ss"), append([]func(*cmapi.CertificateSpec){ecdsaKey}, mutate...)...))
		}
	}
	annotated := func(ann map[string]string) func(e *env) {
		return func(e *env) {
			c := certificate("c", issuerRef("ss"), ecdsaKey)
			c.Annotations = ann
			e.create(c)
		}
	}
	withCASecret := func(keyPEM, certPEM []byte) func(e *env) {
		return func(e *env) {
			e.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ca-key-pair"}, Type: corev1.SecretTypeTLS,
				Data: map[string][]byte{corev1.TLSPrivateKeyKey: keyPEM, corev1.TLSCertKey: certPEM}})
			e.create(caIssuer("ss", "ca-key-pair"))
		}
	}
	now := time.Now()
	goodKey, goodCA := selfSignedPair(t, "corpus CA", now.Add(-time.Hour), now.Add(24*time.Hour), true)
	otherKey, _ := selfSignedPair(t, "corpus CA", now.Add(-time.Hour), now.Add(24*time.Hour), true)
	expiredKey, expiredCA := selfSignedPair(t, "corpus CA", now.Add(-48*time.Hour), now.Add(-24*time.Hour), true)
	leafKey, leafOnly := selfSignedPair(t, "corpus CA", now.Add(-time.Hour), now.Add(24*time.Hour), false)

	tests := []struct {
		name  string
		setup []func(e *env)
		want  outcome
	}{
		{"no subject and no SANs", []func(*env){withLeafIssuer, cert(func(s *cmapi.CertificateSpec) { s.DNSNames = nil })}, refused(renew.ReasonInvalidCertificateSpec)},
		{"invalid IP address", []func(*env){withLeafIssuer, cert(func(s *cmapi.CertificateSpec) { s.IPAddresses = []string{"not-an-ip"} })}, refused(renew.ReasonInvalidCertificateSpec)},
		{"10 second duration", []func(*env){withLeafIssuer, cert(func(s *cmapi.CertificateSpec) { s.Duration = &metav1.Duration{Duration: 10 * time.Second} })}, refused(renew.ReasonInvalidCertificateSpec)},
		{"30 minute duration", []func(*env){withLeafIssuer, cert(func(s *cmapi.CertificateSpec) { s.Duration = &metav1.Duration{Duration: 30 * time.Minute} })}, refused(renew.ReasonInvalidCertificateSpec)},
		{"renewBefore not below duration", []func(*env){withLeafIssuer, cert(func(s *cmapi.CertificateSpec) {
			s.Duration = &metav1.Duration{Duration: 2 * time.Hour}
			s.RenewBefore = &metav1.Duration{Duration: 2 * time.Hour}
		})}, refused(renew.ReasonInvalidCertificateSpec)},
		{"RSA 1024", []func(*env){withLeafIssuer, cert(func(s *cmapi.CertificateSpec) { s.PrivateKey = &cmapi.CertificatePrivateKey{Size: 1024} })}, refused(renew.ReasonInvalidCertificateSpec)},
		{"RSA 10000", []func(*env){withLeafIssuer, cert(func(s *cmapi.CertificateSpec) { s.PrivateKey = &cmapi.CertificatePrivateKey{Size: 10000} })}, refused(renew.ReasonInvalidCertificateSpec)},
		{"ECDSA 512", []func(*env){withLeafIssuer, cert(func(s *cmapi.CertificateSpec) {
			s.PrivateKey = &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 512}
		})}, refused(renew.ReasonInvalidCertificateSpec)},
		{"unknown issuer kind", []func(*env){withLeafIssuer, cert(func(s *cmapi.CertificateSpec) { s.IssuerRef.Kind = "Foo" })}, refused(renew.ReasonInvalidCertificateSpec)},
		{"non-ASCII email", []func(*env){withLeafIssuer, cert(func(s *cmapi.CertificateSpec) { s.EmailAddresses = []string{"jörg@example.test"} })}, failedWithWindow(renew.ReasonInvalidCertificateSpec)},
		{"unterminated IPv6 URI", []func(*env){withLeafIssuer, cert(func(s *cmapi.CertificateSpec) { s.URIs = []string{"http://[::1"} })}, failedWithWindow(renew.ReasonInvalidCertificateSpec)},
		{"issuer with both ca and selfSigned", []func(*env){func(e *env) {
			iss := caIssuer("ss", "ca-key-pair")
			iss.Spec.SelfSigned = &cmapi.SelfSignedIssuer{}
			e.create(iss)
		}, cert()}, failedWithWindow(renew.ReasonIssuerMisconfigured)},
		{"CA Secret whose key does not match", []func(*env){withCASecret(otherKey, goodCA), cert()}, failedWithWindow("IssuerNotReady")},
		{"CA Secret that is not a CA", []func(*env){withCASecret(leafKey, leafOnly), cert()}, failedWithWindow("IssuerNotReady")},
		{"expired CA", []func(*env){withCASecret(expiredKey, expiredCA), cert()}, failedWithWindow("IssuerNotReady")},
		{"good CA, for contrast", []func(*env){withCASecret(goodKey, goodCA), cert()}, issuesFine},
		{"Opaque target Secret", []func(*env){withLeafIssuer, func(e *env) {
			e.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "c-tls", Labels: map[string]string{cmapi.PartOfCertManagerControllerLabelKey: "true"}},
				Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"other": []byte("kept")}})
		}, cert()}, issuesFine},
		{"garbage retry annotations", []func(*env){withLeafIssuer, annotated(map[string]string{
			renew.AnnotationFailedAttempts: "many", renew.AnnotationLastFailureTime: "yesterday",
			renew.AnnotationFailureClass: "bad", renew.AnnotationNextAttempt: "soon",
		})}, issuesFine},
		{"overflowing retry annotations", []func(*env){withLeafIssuer, annotated(map[string]string{
			renew.AnnotationFailedAttempts: "999999999999999999999999", renew.AnnotationLastFailureTime: "2020-01-01T00:00:00Z",
		})}, issuesFine},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			for _, setup := range tt.setup {
				setup(e)
			}
			e.run()
			cfg, counter := harness.WrapCounting(e.cp.Config)
			if _, err := e.sweeper(cfg).Run(e.ctx()); err != nil {
				t.Fatal(err)
			}
			if w := counter.Writes(); w != 0 {
				t.Errorf("the second run wrote %d times: %v", w, counter.Snapshot().Writes())
			}
			crt := e.certificate("c")
			c := condition(crt, tt.want.condition)
			if c == nil || c.Status != tt.want.status || c.Reason != tt.want.reason {
				t.Fatalf("%s = %+v, want %s/%s", tt.want.condition, c, tt.want.status, tt.want.reason)
			}
			_, hasWindow := crt.Annotations[renew.AnnotationNextAttempt]
			if hasWindow != tt.want.window {
				t.Errorf("retry window recorded = %v, want %v (%v)", hasWindow, tt.want.window, crt.Annotations)
			}
			if got := len(e.requests("c")); got != tt.want.requests {
				t.Errorf("%d CertificateRequests, want %d", got, tt.want.requests)
			}
			if got := e.warnings(tt.want.reason); got != tt.want.warnings {
				t.Errorf("%d Warning events with reason %s, want %d", got, tt.want.reason, tt.want.warnings)
			}
			if tt.want.status != cmmeta.ConditionTrue {
				if _, err := e.kube.CoreV1().Secrets(e.ns).Get(e.ctx(), "c-next-key", metav1.GetOptions{}); err == nil {
					t.Error("a next private key was left behind")
				}
			}
		})
	}
}

// TestFutureRetryAnnotationIsClampedOnce: a last-failure-time in the future
// (clock skew, a hand edit, a year past 9999) is counted from now, written
// back once, and the window then holds still: plan announces the same next
// attempt on every run, and plan -o json still renders.
func TestFutureRetryAnnotationIsClampedOnce(t *testing.T) {
	e := newEnv(t)
	e.create(selfSignedIssuer("ss"))
	c := certificate("c", issuerRef("ss"), ecdsaKey)
	c.Annotations = map[string]string{
		renew.AnnotationFailedAttempts: "3", renew.AnnotationFailureClass: "issuance",
		renew.AnnotationLastFailureTime: "9999-12-31T23:59:59Z",
	}
	e.create(c)
	e.run()
	first := e.certificate("c").Annotations[renew.AnnotationNextAttempt]
	if first == "" || first[:4] == "9999" || first[:2] == "10" {
		t.Fatalf("next attempt not clamped: %q", first)
	}
	e.advance(time.Hour)
	rows, err := e.sweeper(e.cp.Config).Plan(e.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := json.Marshal(rows); err != nil {
		t.Fatalf("plan -o json: %v", err)
	}
	e.run()
	if again := e.certificate("c").Annotations[renew.AnnotationNextAttempt]; again != first {
		t.Fatalf("the window slid: %q then %q", first, again)
	}
	if len(e.requests("c")) != 0 {
		t.Fatal("an attempt was made inside the announced window")
	}
}

// warnings counts the Warning events with reason in the test's namespace.
func (e *env) warnings(reason string) int {
	e.t.Helper()
	list, err := e.kube.CoreV1().Events(e.ns).List(e.ctx(), metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, ev := range list.Items {
		if ev.Type == corev1.EventTypeWarning && ev.Reason == reason {
			n++
		}
	}
	return n
}
