package e2e

import (
	"encoding/pem"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/renew"
	"github.com/certsweep/certsweep/test/harness"
)

// TestSecretWithExtraPEMBlockConverges: a Secret whose tls.crt holds a valid
// certificate followed by another PEM block (a CRL here), with none of
// cert-manager's annotations, is repaired once and then left alone. Before
// renew/ and issuance/ shared one chain decoder, renew/ judged the Secret
// fine and asked for its metadata to be rewritten, and the rewrite refused
// the same tls.crt on every run with no retry window.
func TestSecretWithExtraPEMBlockConverges(t *testing.T) {
	e := newEnv(t)
	e.create(selfSignedIssuer("ss"))
	keyPEM, certPEM := selfSignedPEM(t, "crl.example.test")
	crl := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: []byte{0x30, 0x00}})
	tlsCrt := append(append([]byte{}, certPEM...), crl...)
	e.create(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "crl-tls", Labels: map[string]string{cmapi.PartOfCertManagerControllerLabelKey: "true"}},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSPrivateKeyKey: keyPEM, corev1.TLSCertKey: tlsCrt},
	})
	e.create(certificate("crl", issuerRef("ss"), func(s *cmapi.CertificateSpec) {
		s.CommonName = "crl.example.test"
		s.DNSNames = []string{"crl.example.test"}
		s.PrivateKey = &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm}
	}))

	first := e.run()
	if first.Failed != 0 || first.Rewritten+first.Issued != 1 {
		t.Fatalf("first run should repair the Secret once: %s %+v", first.Summary(), first.Outcomes)
	}
	cfg, counter := harness.WrapCounting(e.cp.Config)
	second, err := e.sweeper(cfg).Run(e.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if second.Failed != 0 || counter.Writes() != 0 {
		t.Fatalf("second run should write nothing: %s, writes %v", second.Summary(), counter.Snapshot().Writes())
	}
	if c := condition(e.certificate("crl"), cmapi.CertificateConditionReady); c == nil || c.Status != "True" {
		t.Fatalf("Ready = %+v", c)
	}
	sec := e.secret("crl-tls")
	if sec.Annotations[cmapi.CertificateNameKey] != "crl" {
		t.Fatalf("Secret not repaired: annotations %v", sec.Annotations)
	}
}

// TestRefusedSecretWriteBacksOff: a target Secret too large to take the TLS
// keys makes the API server refuse every write of it. That is one failed
// attempt with a condition, a Warning event and a retry window; the next
// run inside the window writes nothing, and the request already signed is
// never signed again. Before, the same error was logged on every run.
func TestRefusedSecretWriteBacksOff(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.run()
	e.create(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "big-tls", Labels: map[string]string{cmapi.PartOfCertManagerControllerLabelKey: "true"}},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"filler": make([]byte, 1024*1024-512)},
	})
	e.create(certificate("big", issuerRef("ca"), ecdsaKey))

	first := e.run()
	if first.Failed != 1 {
		t.Fatalf("want the one failure recorded: %s %+v", first.Summary(), first.Outcomes)
	}
	crt := e.certificate("big")
	if crt.Annotations[renew.AnnotationFailedAttempts] != "1" || crt.Annotations[renew.AnnotationNextAttempt] == "" {
		t.Fatalf("no retry window recorded: %v", crt.Annotations)
	}
	if c := condition(crt, cmapi.CertificateConditionIssuing); c == nil || c.Status != "False" || c.Reason != renew.ReasonWriteRefused {
		t.Fatalf("Issuing = %+v, want False/%s", c, renew.ReasonWriteRefused)
	}
	cfg, counter := harness.WrapCounting(e.cp.Config)
	if _, err := e.sweeper(cfg).Run(e.ctx()); err != nil || counter.Writes() != 0 {
		t.Fatalf("a run inside the window wrote: %v %v", err, counter.Snapshot().Writes())
	}
	e.advance(2 * time.Hour)
	e.run()
	crt = e.certificate("big")
	if crt.Annotations[renew.AnnotationFailedAttempts] != "2" {
		t.Fatalf("the attempt after the window was not counted: %v", crt.Annotations)
	}
	crs := e.requests("big")
	if len(crs) != 1 || len(crs[0].Status.Certificate) == 0 {
		t.Fatalf("want one signed request, got %d", len(crs))
	}
}
