package renew

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
)

// temporaryPEM is a temporary certificate for key as cert-manager makes
// one: the spec's names, its subject's serial number 1234567890 (unless
// edit drops it, as cert-manager's literalSubject ones lack it), signed
// by a throw-away CA named cert-manager.local.
func temporaryPEM(t testing.TB, key crypto.Signer, edit func(*x509.Certificate)) []byte {
	t.Helper()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cert-manager.local"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caKey := ecP384()
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	if ca, err = x509.ParseCertificate(caDER); err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "example.com", SerialNumber: "1234567890"},
		DNSNames:     []string{"example.com"},
		NotBefore:    now.Add(-time.Minute), NotAfter: now.Add(90 * 24 * time.Hour),
	}
	if edit != nil {
		edit(leaf)
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// temporarySecret is the Secret holding a temporary certificate for key,
// with the metadata it is written with: no issuer annotations.
func temporarySecret(t testing.TB, f *fixture, key crypto.Signer, edit func(*x509.Certificate)) *corev1.Secret {
	t.Helper()
	cert := temporaryPEM(t, key, edit)
	s := baseSecret(t, f.crt, key, cert)
	s.Labels, s.Annotations = TemporarySecretMetadata(f.crt, parseCert(t, cert))
	return s
}

func annotateTemporary(crt *cmapi.Certificate) {
	crt.Annotations = map[string]string{cmapi.IssueTemporaryCertificateAnnotation: "true"}
}

// TestDecideTemporaryCertificate (§4.8): a temporary certificate, whoever
// wrote it, is never a valid one (it triggers an issuance, Ready is False
// and the status has none of its times), and a Certificate annotated for
// one gets one first whenever its Secret holds no usable pair, once, and
// never when the real certificate is at hand.
func TestDecideTemporaryCertificate(t *testing.T) {
	const temporaryMsg = "Issuing certificate as Secret holds a temporary certificate"
	firstIssuance := func(f *fixture) { f.crt.Status.Revision, f.current = nil, nil }
	external := func(t *testing.T, f *fixture) {
		f.signElsewhere()
		f.next = baseRequest(f.crt, csrPEM(t, rsa2048(), nil))
		f.next.Name = "web-1"
		f.keys = []*corev1.Secret{nextKeySecret(t, f.crt, rsa2048())}
		setIssuing(f.crt, ReasonDoesNotExist, now.Add(-time.Minute))
	}
	tests := []struct {
		name       string
		edit       func(t *testing.T, f *fixture)
		wantAction Action
		wantReason string
		wantMsg    string
		// wantTemporary: a temporary certificate goes in first.
		wantTemporary bool
		// wantInvalid: Ready=False for the temporary certificate, with no
		// status times.
		wantInvalid bool
	}{
		{
			name: "cert-manager's temporary certificate: issue, not Ready",
			edit: func(t *testing.T, f *fixture) {
				firstIssuance(f)
				f.secret = temporarySecret(t, f, rsa2048(), nil)
			},
			wantAction: ActionIssue, wantReason: ReasonTemporaryCertificate, wantMsg: temporaryMsg, wantInvalid: true,
		},
		{
			name: "annotated, temporary certificate already in place: not written again",
			edit: func(t *testing.T, f *fixture) {
				firstIssuance(f)
				annotateTemporary(f.crt)
				f.secret = temporarySecret(t, f, rsa2048(), nil)
			},
			wantAction: ActionIssue, wantReason: ReasonTemporaryCertificate, wantMsg: temporaryMsg, wantInvalid: true,
		},
		{
			name: "a literalSubject one, unmarked, in a Secret without issuer annotations",
			edit: func(t *testing.T, f *fixture) {
				firstIssuance(f)
				f.secret = temporarySecret(t, f, rsa2048(), func(c *x509.Certificate) { c.Subject.SerialNumber = "" })
			},
			wantAction: ActionIssue, wantReason: ReasonTemporaryCertificate, wantMsg: temporaryMsg, wantInvalid: true,
		},
		{
			name: "a temporary certificate for an issuerRef of another kind: ours, not IncorrectIssuer",
			edit: func(t *testing.T, f *fixture) {
				firstIssuance(f)
				f.crt.Spec.IssuerRef.Kind = cmapi.ClusterIssuerKind
				f.secret = temporarySecret(t, f, rsa2048(), nil)
			},
			wantAction: ActionIssue, wantReason: ReasonTemporaryCertificate, wantMsg: temporaryMsg, wantInvalid: true,
		},
		{
			name: "issued in earnest by a CA that happens to be called cert-manager.local: valid",
			edit: func(t *testing.T, f *fixture) {
				cert := temporaryPEM(t, rsa2048(), func(c *x509.Certificate) { c.Subject.SerialNumber = "" })
				f.secret = baseSecret(t, f.crt, rsa2048(), cert)
				f.current = nil
			},
			wantAction: ActionNone,
		},
		{
			name: "self-signed as cert-manager.local: not a temporary certificate",
			edit: func(t *testing.T, f *fixture) {
				f.current = nil
				f.crt.Spec.CommonName = "cert-manager.local"
				f.crt.Spec.DNSNames = nil
				f.secret = baseSecret(t, f.crt, rsa2048(), certPEM(t, rsa2048(), func(c *x509.Certificate) {
					c.Subject = pkix.Name{CommonName: "cert-manager.local", SerialNumber: "1234567890"}
					c.DNSNames = nil
				}))
			},
			wantAction: ActionNone,
		},
		{
			name:       "annotated, no Secret: temporary certificate first",
			edit:       func(_ *testing.T, f *fixture) { firstIssuance(f); annotateTemporary(f.crt); f.secret = nil },
			wantAction: ActionIssue, wantReason: ReasonDoesNotExist, wantMsg: "Issuing certificate as Secret does not exist",
			wantTemporary: true,
		},
		{
			name: "annotated, key and certificate do not match: temporary certificate first",
			edit: func(t *testing.T, f *fixture) {
				annotateTemporary(f.crt)
				f.secret.Data[corev1.TLSPrivateKeyKey] = keyPEM(t, otherRSA())
			},
			wantAction: ActionIssue, wantReason: ReasonInvalidKeyPair,
			wantMsg:       "Issuing certificate as Secret contains a private key that does not match the certificate",
			wantTemporary: true,
		},
		{
			name: "annotated, no certificate: temporary certificate first",
			edit: func(_ *testing.T, f *fixture) {
				annotateTemporary(f.crt)
				delete(f.secret.Data, corev1.TLSCertKey)
			},
			wantAction: ActionIssue, wantReason: ReasonMissingData, wantMsg: "Issuing certificate as Secret does not contain a certificate",
			wantTemporary: true,
		},
		{
			name:       "annotated, a valid certificate due for renewal: it stays until replaced",
			edit:       func(_ *testing.T, f *fixture) { annotateTemporary(f.crt); f.now = leafRenewal },
			wantAction: ActionIssue, wantReason: ReasonRenewing,
			wantMsg: "Renewing certificate as renewal was scheduled at 2026-03-06 12:00:00 +0000 UTC",
		},
		{
			name:       "not annotated, no Secret: no temporary certificate",
			edit:       func(_ *testing.T, f *fixture) { firstIssuance(f); f.secret = nil },
			wantAction: ActionIssue, wantReason: ReasonDoesNotExist, wantMsg: "Issuing certificate as Secret does not exist",
		},
		{
			name: "annotated \"false\": no temporary certificate",
			edit: func(_ *testing.T, f *fixture) {
				firstIssuance(f)
				f.crt.Annotations = map[string]string{cmapi.IssueTemporaryCertificateAnnotation: "false"}
				f.secret = nil
			},
			wantAction: ActionIssue, wantReason: ReasonDoesNotExist, wantMsg: "Issuing certificate as Secret does not exist",
		},
		{
			name: "annotated, the request already holds the certificate: stored at once",
			edit: func(t *testing.T, f *fixture) {
				firstIssuance(f)
				annotateTemporary(f.crt)
				f.secret = nil
				external(t, f)
				f.next.Status.Certificate = certPEM(t, rsa2048(), nil)
				setCRCondition(f.next, cmapi.CertificateRequestConditionReady, cmmeta.ConditionTrue, cmapi.CertificateRequestReasonIssued, now)
			},
			wantAction: ActionIssue, wantReason: ReasonDoesNotExist, wantMsg: "issuing for test",
		},
		{
			name: "annotated, the request failed: recorded, no temporary certificate",
			edit: func(t *testing.T, f *fixture) {
				firstIssuance(f)
				annotateTemporary(f.crt)
				f.secret = nil
				external(t, f)
				setCRCondition(f.next, cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonFailed, now)
			},
			wantAction: ActionIssue, wantReason: cmapi.CertificateRequestReasonFailed,
			wantMsg: "The certificate request has failed to complete and will be retried: Failed for test",
		},
		{
			name: "annotated, waiting on an external issuer, the Secret gone: put it back",
			edit: func(t *testing.T, f *fixture) {
				firstIssuance(f)
				annotateTemporary(f.crt)
				f.secret = nil
				external(t, f)
			},
			wantAction: ActionIssue, wantReason: ReasonPending, wantMsg: `Waiting for CertificateRequest "web-1" to be signed by its issuer`,
			wantTemporary: true,
		},
		{
			name: "annotated, waiting on an external issuer with the temporary certificate in place: wait",
			edit: func(t *testing.T, f *fixture) {
				firstIssuance(f)
				annotateTemporary(f.crt)
				external(t, f)
				f.secret = temporarySecret(t, f, rsa2048(), nil)
			},
			wantAction: ActionWait, wantReason: ReasonPending, wantMsg: `Waiting for CertificateRequest "web-1" to be signed by its issuer`,
			wantInvalid: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.edit(t, f)
			d := Decide(f.input(), Options{ARI: true})
			if d.Action != tt.wantAction || d.Reason != tt.wantReason || d.Message != tt.wantMsg {
				t.Errorf("Decide() = %s %q %q, want %s %q %q", d.Action, d.Reason, d.Message, tt.wantAction, tt.wantReason, tt.wantMsg)
			}
			if d.TemporaryCertificate != tt.wantTemporary {
				t.Errorf("TemporaryCertificate = %v, want %v", d.TemporaryCertificate, tt.wantTemporary)
			}
			if tt.wantTemporary && d.Key.Source == "" {
				t.Errorf("a temporary certificate without a key plan: %v", d.Key)
			}
			invalid := d.Ready.Status == cmmeta.ConditionFalse && d.Ready.Reason == ReasonTemporaryCertificate && d.Ready.Message == temporaryMsg
			if invalid != tt.wantInvalid {
				t.Errorf("Ready = %s %q %q; want it False for the temporary certificate: %v", d.Ready.Status, d.Ready.Reason, d.Ready.Message, tt.wantInvalid)
			}
			if tt.wantInvalid && (d.NotBefore != nil || d.NotAfter != nil || d.RenewalTime != nil || d.Replaces != "") {
				t.Errorf("the temporary certificate's times or ID made it into the decision: %v %v %v %q", d.NotBefore, d.NotAfter, d.RenewalTime, d.Replaces)
			}
		})
	}
}

// TestTemporaryCertificateStored: the status job/ writes with a temporary
// certificate it has just stored is the one the next decision, reading
// that Secret, asks for, so nothing is written twice.
func TestTemporaryCertificateStored(t *testing.T) {
	f := newFixture(t)
	f.crt.Status.Revision, f.current = nil, nil
	annotateTemporary(f.crt)
	f.secret = nil
	d := Decide(f.input(), Options{})
	if !d.TemporaryCertificate {
		t.Fatal("want a temporary certificate")
	}
	d.TemporaryCertificateStored()
	f.secret = temporarySecret(t, f, rsa2048(), nil)
	next := Decide(f.input(), Options{})
	if d.Ready != next.Ready || d.NotBefore != nil || d.NotAfter != nil || d.RenewalTime != nil || next.NotAfter != nil {
		t.Errorf("status after storing %+v (times %v %v %v), next decision %+v", d.Ready, d.NotBefore, d.NotAfter, d.RenewalTime, next.Ready)
	}
}
