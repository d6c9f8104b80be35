package renew

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"sync"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Keys are generated once per test binary: RSA generation is slow, and no
// key material is ever written to the repository.
var (
	rsa2048 = sync.OnceValue(func() crypto.Signer { return mustRSA(2048) })
	ecP256  = sync.OnceValue(func() crypto.Signer { return mustEC(elliptic.P256()) })
	ecP384  = sync.OnceValue(func() crypto.Signer { return mustEC(elliptic.P384()) })
	ed      = sync.OnceValue(func() crypto.Signer {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
	// otherRSA is a second 2048-bit key, for "does not match" cases.
	otherRSA = sync.OnceValue(func() crypto.Signer { return mustRSA(2048) })
)

func mustRSA(bits int) crypto.Signer {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func mustEC(c elliptic.Curve) crypto.Signer {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// now is the instant most tests decide at.
var now = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

// keyPEM encodes a key the way the Secret would hold it: PKCS#1 for RSA,
// SEC 1 for ECDSA, PKCS#8 for Ed25519 (cert-manager's default encodings).
func keyPEM(t testing.TB, k crypto.Signer) []byte {
	t.Helper()
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	default:
		return pkcs8PEM(t, k)
	}
}

func pkcs8PEM(t testing.TB, k crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// certPEM self-signs a certificate for key, valid for 90 days from 10 days
// before now, for example.com, after edit has changed the template.
func certPEM(t testing.TB, key crypto.Signer, edit func(*x509.Certificate)) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{CommonName: "example.com"},
		DNSNames:     []string{"example.com"},
		NotBefore:    now.Add(-10 * 24 * time.Hour),
		NotAfter:     now.Add(80 * 24 * time.Hour),
	}
	if edit != nil {
		edit(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func parseCert(t testing.TB, p []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(p)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// csrPEM makes a CSR for key matching baseCertificate's spec, after edit.
func csrPEM(t testing.TB, key crypto.Signer, edit func(*x509.CertificateRequest)) []byte {
	t.Helper()
	tmpl := &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "example.com"},
		DNSNames: []string{"example.com"},
	}
	if edit != nil {
		edit(tmpl)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func baseCertificate() *cmapi.Certificate {
	return &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: cmapi.CertificateSpec{
			SecretName: "web-tls",
			CommonName: "example.com",
			DNSNames:   []string{"example.com"},
			IssuerRef:  cmmeta.IssuerReference{Name: "ca", Kind: "Issuer"},
		},
	}
}

// baseSecret is the Secret certsweep would have written for crt: key, leaf,
// and the metadata of DesiredSecretMetadata, owned by FieldManager.
func baseSecret(t testing.TB, crt *cmapi.Certificate, key crypto.Signer, cert []byte) *corev1.Secret {
	t.Helper()
	labels, annotations := DesiredSecretMetadata(crt, parseCert(t, cert), crt.Spec.IssuerRef)
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: crt.Spec.SecretName, Namespace: crt.Namespace, Labels: labels, Annotations: annotations},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSPrivateKeyKey: keyPEM(t, key), corev1.TLSCertKey: cert},
	}
}

func baseRequest(crt *cmapi.Certificate, csr []byte) *cmapi.CertificateRequest {
	return &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Name: crt.Name + "-1", Namespace: crt.Namespace},
		Spec: cmapi.CertificateRequestSpec{
			Request:   csr,
			IssuerRef: crt.Spec.IssuerRef,
		},
	}
}

// fixture is an up-to-date Certificate: Secret, current request and all.
type fixture struct {
	crt     *cmapi.Certificate
	secret  *corev1.Secret
	current *cmapi.CertificateRequest
	next    *cmapi.CertificateRequest
	peers   []Peer
	keys    []*corev1.Secret
	now     time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	crt := baseCertificate()
	rev := 1
	crt.Status.Revision = &rev
	return &fixture{
		crt:     crt,
		secret:  baseSecret(t, crt, rsa2048(), certPEM(t, rsa2048(), nil)),
		current: baseRequest(crt, csrPEM(t, rsa2048(), nil)),
		now:     now,
	}
}

func (f *fixture) input() Input {
	return Input{
		Certificate:    f.crt,
		Secret:         f.secret,
		CurrentRequest: f.current,
		NextRequest:    f.next,
		Peers:          f.peers,
		NextKeys:       f.keys,
		Now:            f.now,
	}
}

// nextKeySecret is the next-private-key Secret an earlier run stored key in.
func nextKeySecret(t testing.TB, crt *cmapi.Certificate, key crypto.Signer) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: crt.Name + "-next-key", Namespace: crt.Namespace, UID: types.UID(crt.Name + "-next-key")},
		Data:       map[string][]byte{corev1.TLSPrivateKeyKey: pkcs8PEM(t, key)},
	}
}

// signElsewhere points the fixture's Certificate at an external issuer,
// whose own controller signs its requests.
func (f *fixture) signElsewhere() { f.crt.Spec.IssuerRef.Group = "example.io" }

func ptr[T any](v T) *T { return &v }

func mtime(t time.Time) *metav1.Time { m := metav1.NewTime(t); return &m }

func setIssuing(crt *cmapi.Certificate, reason string, since time.Time) {
	crt.Status.Conditions = append(crt.Status.Conditions, cmapi.CertificateCondition{
		Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionTrue,
		Reason: reason, Message: "issuing for test", LastTransitionTime: mtime(since),
	})
}

func setCRCondition(cr *cmapi.CertificateRequest, typ cmapi.CertificateRequestConditionType, status cmmeta.ConditionStatus, reason string, at time.Time) {
	cr.Status.Conditions = append(cr.Status.Conditions, cmapi.CertificateRequestCondition{
		Type: typ, Status: status, Reason: reason, Message: reason + " for test", LastTransitionTime: mtime(at),
	})
}
