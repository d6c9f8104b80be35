package issuance

import (
	"context"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/certsweep/certsweep/issuance/pki"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Benchmarks for the work done once per issued certificate. Keys are made
// while the benchmarks run and are never printed.

// benchKeySpecs are the spec.privateKey settings cert-manager users pick
// from, by sub-benchmark name.
var benchKeySpecs = []struct {
	name string
	spec *cmapi.CertificatePrivateKey
}{
	{"RSA-2048", &cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm, Size: 2048}},
	{"RSA-4096", &cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm, Size: 4096}},
	{"ECDSA-P256", &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256}},
	{"ECDSA-P384", &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 384}},
	{"Ed25519", &cmapi.CertificatePrivateKey{Algorithm: cmapi.Ed25519KeyAlgorithm}},
}

// BenchmarkGeneratePrivateKey measures pki.GeneratePrivateKey per algorithm,
// the cost every issuance with rotationPolicy Always pays before its CSR
// (RSA generation is by far the slowest step of an in-process issuance).
func BenchmarkGeneratePrivateKey(b *testing.B) {
	for _, c := range benchKeySpecs {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pki.GeneratePrivateKey(c.spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodePrivateKey measures pki.DecodePrivateKey for each key type in
// each encoding it may be stored in, paid whenever a stored key (a kept
// next-key Secret or a CA's tls.key) is read back.
func BenchmarkDecodePrivateKey(b *testing.B) {
	for _, c := range benchKeySpecs {
		if c.name == "RSA-4096" {
			continue // left out to keep setup short: generating it takes seconds
		}
		key, err := pki.GeneratePrivateKey(c.spec)
		if err != nil {
			b.Fatal(err)
		}
		encodings := []struct {
			name string
			enc  cmapi.PrivateKeyEncoding
		}{{"PKCS1", cmapi.PKCS1}, {"PKCS8", cmapi.PKCS8}}
		for _, e := range encodings {
			if c.name == "Ed25519" && e.enc == cmapi.PKCS1 {
				continue // Ed25519 has no PKCS#1/SEC 1 form: it is PKCS#8 either way
			}
			name := c.name + "/" + e.name
			if e.enc == cmapi.PKCS1 && c.spec.Algorithm == cmapi.ECDSAKeyAlgorithm {
				name = c.name + "/SEC1"
			}
			pemBytes, err := pki.EncodePrivateKey(key, e.enc)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := pki.DecodePrivateKey(pemBytes); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDecodeCertificates measures pki.DecodeCertificates on a leaf plus
// intermediate PEM chain, the shape of tls.crt that every issued certificate
// and every CA Secret is read from.
func BenchmarkDecodeCertificates(b *testing.B) {
	root, rootKey := makeCA(b, "bench root", nil, nil)
	inter, interKey := makeCA(b, "bench intermediate", root, rootKey)
	leaf, _ := makeLeaf(b, "web.example.com", inter, interKey)
	chain := pki.EncodeCertificates(leaf, inter)
	if n := len(mustDecodeCerts(b, chain)); n != 2 {
		b.Fatalf("decoded %d certificates, want 2", n)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pki.DecodeCertificates(chain); err != nil {
			b.Fatal(err)
		}
	}
}

// benchCA is a CA issuer over an intermediate (tls.crt) and root (ca.crt),
// both ECDSA P-256, with its key pair already loaded as it is after the
// first signature of a sweep.
func benchCA(b *testing.B) *CA {
	b.Helper()
	root, rootKey := makeCA(b, "bench root", nil, nil)
	inter, interKey := makeCA(b, "bench intermediate", root, rootKey)
	keyPEM, err := pki.EncodePrivateKey(interKey, cmapi.PKCS1)
	if err != nil {
		b.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "cert-manager", Name: "ca"},
		Type:       corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSPrivateKeyKey: keyPEM,
			corev1.TLSCertKey:       pki.EncodeCertificates(inter),
			cmmeta.TLSCAKey:         pki.EncodeCertificates(root),
		},
	}
	secrets := &fakeSecrets{secrets: map[string]*corev1.Secret{"cert-manager/ca": secret}}
	ca := NewCA(secrets.get, "cert-manager", cmapi.CAIssuer{SecretName: "ca"})
	ca.Clock = fixedClock
	if _, err := ca.keyPair(context.Background()); err != nil {
		b.Fatal(err)
	}
	return ca
}

// benchSpecCertificate is testCertificate with the usages and SANs of a
// typical web server Certificate.
func benchSpecCertificate() *cmapi.Certificate {
	crt := testCertificate()
	crt.Labels = map[string]string{"app.kubernetes.io/name": "web"}
	crt.Spec.DNSNames = []string{"web.example.com", "www.example.com"}
	crt.Spec.Usages = []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment, cmapi.UsageServerAuth}
	return crt
}

// BenchmarkBuildCSR measures BuildCSR with an ECDSA P-256 key, the part of
// each issuance that turns the spec into a signed request.
func BenchmarkBuildCSR(b *testing.B) {
	crt := benchSpecCertificate()
	key := ecKey(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildCSR(crt, key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCASign measures the in-process CA issuance of one certificate,
// CSR, CertificateRequest and CA signature with the chain built, i.e. the
// per-certificate CPU cost of a sweep that reissues through a CA issuer
// (key generation excluded: see BenchmarkGeneratePrivateKey).
func BenchmarkCASign(b *testing.B) {
	ca := benchCA(b)
	crt := benchSpecCertificate()
	key := ecKey(b)
	ctx := context.Background()
	issue := func() Result {
		csr, err := BuildCSR(crt, key)
		if err != nil {
			b.Fatal(err)
		}
		cr := BuildCertificateRequest(crt, 2, nextKeySecretName(crt.Name), csr)
		res, err := ca.Sign(ctx, Request{CertificateRequest: cr})
		if err != nil {
			b.Fatal(err)
		}
		return res
	}
	if res := issue(); res.State != StateIssued {
		b.Fatalf("Sign() = %s %q %q, want %s", res.State, res.Reason, res.Message, StateIssued)
	}
	b.ReportAllocs()
	for b.Loop() {
		issue()
	}
}
