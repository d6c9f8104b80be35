package job

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestSummarizeSecretSpellsOutTheIssuerDefaults: cert-manager records the
// issuerRef as the Certificate wrote it, so a Secret's issuer-group (or
// issuer-kind) annotation may be empty; status shows the default, as plan
// does, not "ClusterIssuer./demo-ca".
func TestSummarizeSecretSpellsOutTheIssuerDefaults(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "api"}, NotBefore: time.Unix(0, 0), NotAfter: time.Unix(3600, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	crt := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	for _, tc := range []struct{ kind, group, want string }{
		{"ClusterIssuer", "", "ClusterIssuer.cert-manager.io/demo-ca"},
		{"", "", "Issuer.cert-manager.io/demo-ca"},
		{"AWSPCAClusterIssuer", "awspca.cert-manager.io", "AWSPCAClusterIssuer.awspca.cert-manager.io/demo-ca"},
	} {
		sec := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "api-tls", Annotations: map[string]string{
				cmapi.IssuerNameAnnotationKey:  "demo-ca",
				cmapi.IssuerKindAnnotationKey:  tc.kind,
				cmapi.IssuerGroupAnnotationKey: tc.group,
			}},
			Data: map[string][]byte{corev1.TLSCertKey: crt},
		}
		sum, problem := summarizeSecret(sec)
		if problem != "" || sum == nil {
			t.Fatalf("kind %q group %q: %q", tc.kind, tc.group, problem)
		}
		if sum.IssuerName != tc.want {
			t.Errorf("kind %q group %q: issuer %q, want %q", tc.kind, tc.group, sum.IssuerName, tc.want)
		}
	}
}
