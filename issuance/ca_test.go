package issuance

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/certsweep/certsweep/issuance/pki"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fakeSecrets is an in-memory SecretGetter that counts reads.
type fakeSecrets struct {
	mu      sync.Mutex
	secrets map[string]*corev1.Secret
	err     error
	reads   int
}

func (f *fakeSecrets) get(_ context.Context, namespace, name string) (*corev1.Secret, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.err != nil {
		return nil, f.err
	}
	s, ok := f.secrets[namespace+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
	}
	return s, nil
}

func caSecret(t *testing.T, key crypto.Signer, tlsCerts []*x509.Certificate, caCerts []*x509.Certificate) *corev1.Secret {
	t.Helper()
	keyPEM, err := pki.EncodePrivateKey(key, cmapi.PKCS1)
	if err != nil {
		t.Fatal(err)
	}
	data := map[string][]byte{
		corev1.TLSPrivateKeyKey: keyPEM,
		corev1.TLSCertKey:       pki.EncodeCertificates(tlsCerts...),
	}
	if len(caCerts) > 0 {
		data["ca.crt"] = pki.EncodeCertificates(caCerts...)
	}
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "cert-manager", Name: "ca"}, Data: data}
}

func signWithCA(t *testing.T, ca *CA) (Result, *cmapi.CertificateRequest, crypto.Signer) {
	t.Helper()
	cr, key := requestFor(t, testCertificate())
	res, err := ca.Sign(context.Background(), Request{CertificateRequest: cr})
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return res, cr, key
}

func TestCASign(t *testing.T) {
	root, rootKey := makeCA(t, "root", nil, nil)
	inter, interKey := makeCA(t, "intermediate", root, rootKey)

	tests := []struct {
		name      string
		secret    *corev1.Secret
		wantTLS   []string
		wantCA    []string
		verifyFor *x509.Certificate // root to verify against
	}{
		{
			name:    "root CA",
			secret:  caSecret(t, rootKey, []*x509.Certificate{root}, nil),
			wantTLS: []string{"web.example.com"},
			wantCA:  []string{"root"},
		},
		{
			name:    "intermediate with the root in ca.crt",
			secret:  caSecret(t, interKey, []*x509.Certificate{inter}, []*x509.Certificate{root}),
			wantTLS: []string{"web.example.com", "intermediate"},
			wantCA:  []string{"root"},
		},
		{
			name:    "intermediate and root in tls.crt",
			secret:  caSecret(t, interKey, []*x509.Certificate{inter, root}, nil),
			wantTLS: []string{"web.example.com", "intermediate"},
			wantCA:  []string{"root"},
		},
		{
			name:    "intermediate and root in tls.crt and root again in ca.crt",
			secret:  caSecret(t, interKey, []*x509.Certificate{inter, root}, []*x509.Certificate{root}),
			wantTLS: []string{"web.example.com", "intermediate"},
			wantCA:  []string{"root"},
		},
		{
			name:    "intermediate without its root",
			secret:  caSecret(t, interKey, []*x509.Certificate{inter}, nil),
			wantTLS: []string{"web.example.com", "intermediate"},
			wantCA:  []string{"intermediate"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			secrets := &fakeSecrets{secrets: map[string]*corev1.Secret{"cert-manager/ca": tc.secret}}
			ca := NewCA(secrets.get, "cert-manager", cmapi.CAIssuer{
				SecretName:             "ca",
				CRLDistributionPoints:  []string{"http://crl.example.com/ca.crl"},
				OCSPServers:            []string{"http://ocsp.example.com"},
				IssuingCertificateURLs: []string{"http://ca.example.com/ca.crt"},
			})
			ca.Clock = fixedClock

			res, cr, key := signWithCA(t, ca)
			if res.State != StateIssued {
				t.Fatalf("state = %s (%s: %s)", res.State, res.Reason, res.Message)
			}
			chain := mustDecodeCerts(t, res.Certificate)
			if got := subjects(chain); !slices.Equal(got, tc.wantTLS) {
				t.Errorf("tls.crt = %v, want %v", got, tc.wantTLS)
			}
			if got := subjects(mustDecodeCerts(t, res.CA)); !slices.Equal(got, tc.wantCA) {
				t.Errorf("ca.crt = %v, want %v", got, tc.wantCA)
			}
			for _, c := range chain {
				if c.Subject.CommonName == "root" {
					t.Errorf("the root is in tls.crt")
				}
			}

			leaf := chain[0]
			if !pki.KeyMatches(key, leaf.PublicKey) {
				t.Errorf("leaf key is not the request's")
			}
			if !slices.Equal(leaf.CRLDistributionPoints, []string{"http://crl.example.com/ca.crl"}) ||
				!slices.Equal(leaf.OCSPServer, []string{"http://ocsp.example.com"}) ||
				!slices.Equal(leaf.IssuingCertificateURL, []string{"http://ca.example.com/ca.crt"}) {
				t.Errorf("issuer extensions = %v %v %v", leaf.CRLDistributionPoints, leaf.OCSPServer, leaf.IssuingCertificateURL)
			}

			// A client that trusts ca.crt and gets tls.crt verifies the leaf.
			roots := x509.NewCertPool()
			roots.AppendCertsFromPEM(res.CA)
			inters := x509.NewCertPool()
			for _, c := range chain[1:] {
				inters.AddCert(c)
			}
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: testNow.Add(1), DNSName: "web.example.com"}); err != nil {
				t.Errorf("Verify: %v", err)
			}
			if _, reason, msg := VerifyIssued(res.Certificate, cr.Spec.Request, testNow); reason != "" {
				t.Errorf("VerifyIssued: %s %s", reason, msg)
			}
			if !KeyMatchesCertificate(key, res.Certificate) {
				t.Errorf("KeyMatchesCertificate = false")
			}
		})
	}
}

func TestCASignFailures(t *testing.T) {
	root, rootKey := makeCA(t, "root", nil, nil)
	good := caSecret(t, rootKey, []*x509.Certificate{root}, nil)

	notReady := func(reason, msg string) func(t *testing.T, res Result, err error) {
		return func(t *testing.T, res Result, err error) {
			t.Helper()
			var nre *NotReadyError
			if !errors.As(err, &nre) {
				t.Fatalf("error = %v (result %+v), want a NotReadyError", err, res)
			}
			if nre.Reason != reason || !strings.Contains(nre.Message, msg) {
				t.Errorf("NotReadyError = %s: %s; want %s containing %q", nre.Reason, nre.Message, reason, msg)
			}
		}
	}
	failedWith := func(reason, msg string) func(t *testing.T, res Result, err error) {
		return func(t *testing.T, res Result, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if res.State != StateFailed || res.Reason != reason || !strings.Contains(res.Message, msg) {
				t.Errorf("result = %+v; want Failed %s containing %q", res, reason, msg)
			}
		}
	}
	withData := func(k string, v []byte) *corev1.Secret {
		s := good.DeepCopy()
		if v == nil {
			delete(s.Data, k)
		} else {
			s.Data[k] = v
		}
		return s
	}
	leafOnly, _ := makeLeaf(t, "not-a-ca", root, rootKey)

	tests := []struct {
		name    string
		secrets *fakeSecrets
		mutate  func(cr *cmapi.CertificateRequest)
		check   func(t *testing.T, res Result, err error)
	}{
		{
			name:    "secret missing",
			secrets: &fakeSecrets{},
			check:   notReady("SecretMissing", "Referenced secret cert-manager/ca not found"),
		},
		{
			name:    "no tls.key",
			secrets: &fakeSecrets{secrets: map[string]*corev1.Secret{"cert-manager/ca": withData("tls.key", nil)}},
			check:   notReady("SecretInvalidData", "Failed to parse signing CA keypair from secret cert-manager/ca"),
		},
		{
			name:    "garbage tls.key",
			secrets: &fakeSecrets{secrets: map[string]*corev1.Secret{"cert-manager/ca": withData("tls.key", []byte("junk"))}},
			check:   notReady("SecretInvalidData", "tls.key: error decoding private key PEM block: no PEM data was found in given input"),
		},
		{
			name:    "garbage tls.crt",
			secrets: &fakeSecrets{secrets: map[string]*corev1.Secret{"cert-manager/ca": withData("tls.crt", []byte("junk"))}},
			check:   notReady("SecretInvalidData", "tls.crt: error decoding certificate PEM block: no valid certificates found"),
		},
		{
			name:    "garbage ca.crt",
			secrets: &fakeSecrets{secrets: map[string]*corev1.Secret{"cert-manager/ca": withData("ca.crt", []byte("junk"))}},
			check:   notReady("SecretInvalidData", "ca.crt"),
		},
		{
			name:    "API error is temporary but not a NotReadyError",
			secrets: &fakeSecrets{err: errors.New("connection refused")},
			check: func(t *testing.T, res Result, err error) {
				var nre *NotReadyError
				if err == nil || errors.As(err, &nre) || !strings.Contains(err.Error(), "connection refused") {
					t.Errorf("error = %v", err)
				}
			},
		},
		{
			name: "key does not match the CA certificate",
			secrets: &fakeSecrets{secrets: map[string]*corev1.Secret{
				"cert-manager/ca": caSecret(t, ecKey(t), []*x509.Certificate{root}, nil),
			}},
			check: failedWith("SigningError", "Error signing certificate: creating certificate: x509: provided PrivateKey doesn't match parent's PublicKey"),
		},
		{
			name:    "unusable CSR",
			secrets: &fakeSecrets{secrets: map[string]*corev1.Secret{"cert-manager/ca": good}},
			mutate:  func(cr *cmapi.CertificateRequest) { cr.Spec.Request = []byte("junk") },
			check:   failedWith("SigningError", "Error generating certificate template: error decoding certificate request PEM block: no PEM data was found in given input"),
		},
		{
			name: "chain cannot be built",
			secrets: &fakeSecrets{secrets: map[string]*corev1.Secret{
				// The signing certificate is followed by an unrelated one.
				"cert-manager/ca": caSecret(t, rootKey, []*x509.Certificate{root, leafOnly}, nil),
			}},
			check: failedWith("SigningError", "certificate chain is forked"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ca := NewCA(tc.secrets.get, "cert-manager", cmapi.CAIssuer{SecretName: "ca"})
			cr, _ := requestFor(t, testCertificate())
			if tc.mutate != nil {
				tc.mutate(cr)
			}
			res, err := ca.Sign(context.Background(), Request{CertificateRequest: cr})
			tc.check(t, res, err)
			if res.State == StateIssued || len(res.Certificate) != 0 {
				t.Errorf("a certificate came with a failure")
			}
		})
	}
}

func TestCAParsesTheSecretOnce(t *testing.T) {
	root, rootKey := makeCA(t, "root", nil, nil)
	secrets := &fakeSecrets{}
	ca := NewCA(secrets.get, "cert-manager", cmapi.CAIssuer{SecretName: "ca"})

	// Not there yet: nothing is kept, the next call reads again.
	cr, _ := requestFor(t, testCertificate())
	if _, err := ca.Sign(context.Background(), Request{CertificateRequest: cr}); err == nil {
		t.Fatalf("expected an error while the secret is missing")
	}
	secrets.secrets = map[string]*corev1.Secret{"cert-manager/ca": caSecret(t, rootKey, []*x509.Certificate{root}, nil)}

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			cr, _ := requestFor(t, testCertificate())
			res, err := ca.Sign(context.Background(), Request{CertificateRequest: cr})
			if err != nil || res.State != StateIssued {
				t.Errorf("Sign = %+v, %v", res, err)
			}
		})
	}
	wg.Wait()
	if secrets.reads != 2 {
		t.Errorf("secret read %d times, want 2 (one failed read, one successful)", secrets.reads)
	}
}

func TestCheckCA(t *testing.T) {
	root, rootKey := makeCA(t, "root", nil, nil)
	leaf, leafKey := makeLeaf(t, "leaf", root, rootKey)
	good := caSecret(t, rootKey, []*x509.Certificate{root}, nil)
	with := func(k string, v []byte) *corev1.Secret {
		s := good.DeepCopy()
		s.Data[k] = v
		return s
	}

	tests := []struct {
		name        string
		secret      *corev1.Secret
		wantReady   bool
		wantReason  string
		wantMessage string
	}{
		{"valid", good, true, "KeyPairVerified", "Signing CA verified"},
		{"nil secret", nil, false, "ErrGetKeyPair", "Error getting keypair for CA issuer: secret not found"},
		{"no certificate", with("tls.crt", nil), false, "ErrGetKeyPair", `Error getting keypair for CA issuer: no data for "tls.crt" in secret cert-manager/ca`},
		{"bad certificate", with("tls.crt", []byte("junk")), false, "ErrGetKeyPair", "Error getting keypair for CA issuer: tls.crt in secret cert-manager/ca: error decoding certificate PEM block: no valid certificates found"},
		{"no key", with("tls.key", nil), false, "ErrGetKeyPair", `Error getting keypair for CA issuer: no data for "tls.key" in secret cert-manager/ca`},
		{"bad key", with("tls.key", []byte("junk")), false, "ErrGetKeyPair", "Error getting keypair for CA issuer: tls.key in secret cert-manager/ca: error decoding private key PEM block: no PEM data was found in given input"},
		{"key of another certificate", caSecret(t, ecKey(t), []*x509.Certificate{root}, nil), false, "ErrInvalidKeyPair", "Error getting keypair for CA issuer: the private key does not match the certificate"},
		{"not a CA", caSecret(t, leafKey, []*x509.Certificate{leaf}, nil), false, "ErrInvalidKeyPair", "Error getting keypair for CA issuer: certificate is not a CA"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ready, reason, message := checkCA(tc.secret, testNow)
			if ready != tc.wantReady || reason != tc.wantReason || message != tc.wantMessage {
				t.Errorf("checkCA = %v %q %q; want %v %q %q", ready, reason, message, tc.wantReady, tc.wantReason, tc.wantMessage)
			}
		})
	}
}

func TestCAReady(t *testing.T) {
	root, rootKey := makeCA(t, "root", nil, nil)
	secrets := &fakeSecrets{}
	ca := NewCA(secrets.get, "cert-manager", cmapi.CAIssuer{SecretName: "ca"})

	ready, reason, message, err := ca.Ready(context.Background())
	if err != nil || ready || reason != "ErrGetKeyPair" || message != "Error getting keypair for CA issuer: secret cert-manager/ca not found" {
		t.Errorf("Ready (missing) = %v %q %q %v", ready, reason, message, err)
	}
	secrets.secrets = map[string]*corev1.Secret{"cert-manager/ca": caSecret(t, rootKey, []*x509.Certificate{root}, nil)}
	ready, reason, _, err = ca.Ready(context.Background())
	if err != nil || !ready || reason != "KeyPairVerified" {
		t.Errorf("Ready = %v %q %v", ready, reason, err)
	}
	secrets.err = errors.New("timeout")
	if _, _, _, err := ca.Ready(context.Background()); err == nil {
		t.Errorf("API error not returned")
	}
}
