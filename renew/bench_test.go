package renew

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Benchmarks for the per-Certificate work of a sweep. Fixtures are built once
// per benchmark with the helpers of helpers_test.go; keys come from the
// shared per-binary generators and are never printed.

// benchNames are the DNS names of the benchmark Certificate, its CSR and its
// leaf, so that the spec comparisons all pass.
var benchNames = []string{"example.com", "www.example.com"}

// benchCA is a self-signed P-384 CA certificate, as a CA issuer's Secret
// would hold it, in PEM and parsed.
func benchCA(b *testing.B) ([]byte, *x509.Certificate) {
	b.Helper()
	caPEM := certPEM(b, ecP384(), func(c *x509.Certificate) {
		c.SerialNumber = big.NewInt(1)
		c.Subject = pkix.Name{CommonName: "example-ca", Organization: []string{"Example Org"}}
		c.DNSNames = nil
		c.NotAfter = now.Add(5 * 365 * 24 * time.Hour)
		c.BasicConstraintsValid = true
		c.IsCA = true
		c.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	})
	return caPEM, parseCert(b, caPEM)
}

// benchLeafPEM is a 90-day leaf for pub, signed by the CA, with the same
// validity window as certPEM (renewal due 50 days after now).
func benchLeafPEM(b *testing.B, pub crypto.PublicKey, ca *x509.Certificate, caKey crypto.Signer) []byte {
	b.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(4242),
		Subject:               pkix.Name{CommonName: "example.com"},
		DNSNames:              benchNames,
		NotBefore:             now.Add(-10 * 24 * time.Hour),
		NotAfter:              now.Add(80 * 24 * time.Hour),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
	if err != nil {
		b.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// ownedFields is the FieldsV1 JSON a server-side apply by FieldManager of
// these labels, annotations and data keys records.
func ownedFields(b *testing.B, labels, annotations map[string]string, data map[string][]byte) *metav1.FieldsV1 {
	b.Helper()
	set := func(keys []string) map[string]any {
		m := map[string]any{".": map[string]any{}}
		for _, k := range keys {
			m["f:"+k] = map[string]any{}
		}
		return m
	}
	var lk, ak, dk []string
	for k := range labels {
		lk = append(lk, k)
	}
	for k := range annotations {
		ak = append(ak, k)
	}
	for k := range data {
		dk = append(dk, k)
	}
	raw, err := json.Marshal(map[string]any{
		"f:metadata": map[string]any{"f:labels": set(lk), "f:annotations": set(ak)},
		"f:data":     set(dk),
		"f:type":     map[string]any{},
	})
	if err != nil {
		b.Fatal(err)
	}
	return metav1.NewFieldsV1(string(raw))
}

// benchFixture is an up-to-date, Ready Certificate issued by a CA issuer: an
// ECDSA P-256 leaf, a Secret with tls.key, tls.crt and ca.crt, the labels and
// annotations certsweep writes plus a secretTemplate's, and a managedFields
// entry for FieldManager so that every secret-drift check runs.
func benchFixture(b *testing.B, leafKey crypto.Signer) *fixture {
	b.Helper()
	crt := baseCertificate()
	crt.Labels = map[string]string{"app.kubernetes.io/name": "web", "app.kubernetes.io/part-of": "shop"}
	crt.Annotations = map[string]string{"owner": "payments@example.com"}
	crt.Generation = 3
	crt.Spec.DNSNames = benchNames
	crt.Spec.Usages = []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment, cmapi.UsageServerAuth}
	switch leafKey.Public().(type) {
	case *ecdsa.PublicKey:
		crt.Spec.PrivateKey = &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256, RotationPolicy: cmapi.RotationPolicyAlways}
	default:
		crt.Spec.PrivateKey = &cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm, Size: 2048, RotationPolicy: cmapi.RotationPolicyAlways}
	}
	crt.Spec.SecretTemplate = &cmapi.CertificateSecretTemplate{
		Labels:      map[string]string{"app.kubernetes.io/name": "web", "team": "payments"},
		Annotations: map[string]string{"reflector.v1.k8s.emberstack.com/reflection-allowed": "true"},
	}

	caPEM, ca := benchCA(b)
	leaf := benchLeafPEM(b, leafKey.Public(), ca, ecP384())
	secret := baseSecret(b, crt, leafKey, leaf)
	secret.Data[cmmeta.TLSCAKey] = caPEM
	secret.ResourceVersion = "123456"
	secret.ManagedFields = []metav1.ManagedFieldsEntry{
		{
			Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply, APIVersion: "v1",
			FieldsType: "FieldsV1", FieldsV1: ownedFields(b, secret.Labels, secret.Annotations, secret.Data),
		},
		{
			// Someone else's field: skipped by the ownership checks.
			Manager: "kubectl-label", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
			FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{"f:labels":{"f:backup":{}}}}`),
		},
	}
	secret.Labels["backup"] = "daily"

	current := baseRequest(crt, csrPEM(b, leafKey, func(r *x509.CertificateRequest) { r.DNSNames = benchNames }))
	current.Spec.Usages = crt.Spec.Usages

	rev := 1
	crt.Status = cmapi.CertificateStatus{
		Revision:    &rev,
		NotBefore:   mtime(now.Add(-10 * 24 * time.Hour)),
		NotAfter:    mtime(now.Add(80 * 24 * time.Hour)),
		RenewalTime: mtime(now.Add(50 * 24 * time.Hour)),
		Conditions: []cmapi.CertificateCondition{{
			Type: cmapi.CertificateConditionReady, Status: cmmeta.ConditionTrue, Reason: ReasonReady,
			Message: "Certificate is up to date and has not expired", LastTransitionTime: mtime(now.Add(-10 * 24 * time.Hour)),
			ObservedGeneration: crt.Generation,
		}},
	}
	return &fixture{crt: crt, secret: secret, current: current, now: now}
}

// BenchmarkDecide measures Decide for one Certificate: the up-to-date case is
// the per-Certificate CPU cost of a no-op sweep, which dominates every run of
// a large cluster; "due" and "new" are the two common ways to start issuing.
func BenchmarkDecide(b *testing.B) {
	cases := []struct {
		name       string
		edit       func(f *fixture)
		wantAction Action
		wantReason string
	}{
		{name: "up-to-date", edit: func(*fixture) {}, wantAction: ActionNone},
		{
			name:       "due",
			edit:       func(f *fixture) { f.now = now.Add(51 * 24 * time.Hour) },
			wantAction: ActionIssue, wantReason: ReasonRenewing,
		},
		{
			name: "new",
			edit: func(f *fixture) {
				f.secret, f.current = nil, nil
				f.crt.Status = cmapi.CertificateStatus{}
			},
			wantAction: ActionIssue, wantReason: ReasonDoesNotExist,
		},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			f := benchFixture(b, ecP256())
			c.edit(f)
			in := f.input()
			// The fixture must decide as intended, or the numbers mean nothing.
			d := Decide(in, Options{})
			if d.Action != c.wantAction || d.Reason != c.wantReason || len(d.Warnings) > 0 {
				b.Fatalf("Decide() = %s %q %q, warnings %q; want %s %q", d.Action, d.Reason, d.Message, d.Warnings, c.wantAction, c.wantReason)
			}
			if c.wantAction == ActionNone && d.Ready.Status != cmmeta.ConditionTrue {
				b.Fatalf("Ready = %+v, want True", d.Ready)
			}
			b.ReportAllocs()
			for b.Loop() {
				Decide(in, Options{})
			}
		})
	}
}

// BenchmarkDecodeSecret measures decodeSecret (PEM and x509 parsing of tls.key
// and tls.crt), the largest single part of every decision that has a Secret.
func BenchmarkDecodeSecret(b *testing.B) {
	for _, c := range []struct {
		name string
		key  func() crypto.Signer
	}{
		{"ECDSA-P256", ecP256},
		{"RSA-2048", rsa2048},
	} {
		b.Run(c.name, func(b *testing.B) {
			secret := benchFixture(b, c.key()).secret
			if _, err := decodeSecret(secret); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeSecret(secret); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
