package renew

import (
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/certsweep/certsweep/issuance"
	"github.com/certsweep/certsweep/issuance/pki"
)

// This file replays cert-manager v1.21.2's own policy tests through
// Decide, every case of every table (181 in all), so that "certsweep
// applies cert-manager's reissue rules" is checked against cert-manager's
// own examples rather than against our reading of them:
//
//   - internal/controller/certificates/policies/checks_test.go: the
//     trigger chain (Test_NewTriggerPolicyChain, and the certificate-name
//     check of Test_SecretCertificateNameAnnotationsMismatch) and each check
//     of the post-issuance chain (managed labels and annotations,
//     secretTemplate, additional output formats, owner references);
//   - pkg/controller/certificates/readiness: TestNewReadinessPolicyChain;
//   - pkg/controller/certificates/issuing: Test_ensureSecretData (the
//     post-issuance chain as the issuing controller runs it, keystores
//     included) and TestIssuingController (storing a request's
//     certificate, temporary certificates, failed and denied requests).
//
// Each row keeps cert-manager's table and case name, so the original can be
// found, and cert-manager's verdict. The inputs are the case's, in our own
// helpers, with these adjustments:
//
//   - A Certificate must be one cert-manager's webhook admits, or Decide
//     refuses it before any check runs. cert-manager's cases often leave out
//     secretName, issuerRef.name and every name; a row fills in
//     secretName "something", issuerRef.name "testissuer" and a commonName
//     where the case has none (the leaf's, or "example.com"). A Secret
//     without issuer annotations matches any issuerRef, so none of this
//     changes a verdict.
//   - checks_test.go tests each post-issuance check alone, on a Secret
//     that holds nothing else. Decide runs them all, after the trigger
//     chain, so such a row starts from a Secret exactly as cert-manager
//     writes it (key, leaf, metadata, and the managedFields its apply
//     records) and changes only what the case is about.
//   - cert-manager's field manager under test ("cert-manager-unit-test",
//     "cert-manager-test") is ours, FieldManager; its cases leave the
//     managedFields entries' operation out, and ours are Apply, which is
//     what cert-manager's issuing controller writes.
//   - cert-manager's clocks are its fake clock's zero time (trigger and
//     readiness chains, whose messages print it) or the time of the test
//     run (the issuing controller); ours are the zero time and the
//     package's fixed now.
//
// A verdict is honoured when (see agrees): a violated trigger chain ->
// ActionIssue with the same reason and message; a passing one -> anything
// but ActionIssue; a violated post-issuance chain -> ActionRewriteSecret
// with the same reason and message (renew promises cert-manager's words);
// a passing one -> ActionNone; the readiness chain -> the same Ready
// condition; ensureSecretData -> a rewrite exactly when it rewrites; the
// issuing controller -> the same outcome, and for a failure the same
// reason, message and attempt count. A row that differs must name, in
// deliberate, the README entry that documents the difference; the test
// fails on any other difference, and on a deliberate mark that no longer
// differs.

// replayChain is the cert-manager policy chain a row exercises.
type replayChain string

const (
	// chainTrigger is NewTriggerPolicyChain: should the Certificate be
	// (re)issued?
	chainTrigger replayChain = "trigger"
	// chainPostIssuance is NewSecretPostIssuancePolicyChain: is the issued
	// Secret's metadata, output formats and owner reference as the spec
	// asks? A violation rewrites the Secret in place, never reissues.
	chainPostIssuance replayChain = "post-issuance"
	// chainReadiness is NewReadinessPolicyChain: is the Certificate Ready?
	// Its verdict is Decision.Ready.
	chainReadiness replayChain = "readiness"
	// chainSecretData is the issuing controller's ensureSecretData, which
	// runs the post-issuance chain on a Secret that holds a key and a
	// certificate. Its test only says whether the Secret is rewritten, so
	// only the action is compared.
	chainSecretData replayChain = "secret-data"
	// chainIssuing is the issuing controller (TestIssuingController): once
	// an issuance is under way, does it store the request's certificate,
	// write a temporary certificate, record a failed attempt, or none of
	// these (another cert-manager controller acts, or nothing happens)?
	// Storing is Decide's Request Issued and then the check job/ makes
	// before the Secret is written (issuance.VerifyIssued), as the issuing
	// controller checks before it writes.
	chainIssuing replayChain = "issuing"
)

// issuingOutcome is what the issuing controller does.
type issuingOutcome string

const (
	issuingNothing   issuingOutcome = "nothing"
	issuingStores    issuingOutcome = "stores the certificate"
	issuingTemporary issuingOutcome = "writes a temporary certificate"
	issuingFails     issuingOutcome = "records a failed attempt"
)

// replayRow is one case of cert-manager's tables.
type replayRow struct {
	table string // cert-manager's test function
	name  string // cert-manager's case name, verbatim
	chain replayChain
	// input builds the case's Certificate, Secret, request and time.
	input func(t *testing.T) (Input, Options)
	// cert-manager's verdict.
	violated        bool
	reason, message string
	// outcome and attempts are chainIssuing's verdict: what the issuing
	// controller does, and for a failure the attempts it counts (reason
	// and message are the Issuing condition's).
	outcome  issuingOutcome
	attempts int
	// deliberate names the README entry documenting why certsweep decides
	// otherwise; empty when certsweep must agree.
	deliberate string
}

// replayClock is cert-manager's fake clock in Test_NewTriggerPolicyChain:
// its zero value, the zero time.
var replayClock = time.Time{}

// replayKey is staticFixedPrivateKey and every MustCreatePEMPrivateKey:
// RSA 2048, PKCS#8.
func replayKey() crypto.Signer { return rsa2048() }

// replayLeaf is testcrypto.MustCreateCert: a self-signed certificate for key
// with the spec's common name and no SANs, valid as given.
func replayLeaf(t *testing.T, key crypto.Signer, commonName string, notBefore, notAfter time.Time) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// replayLeaf90d is MustCreateCert's validity, 90 days, from the package's
// fixed now instead of the time of the test run. Against the trigger
// table's zero clock that is far future, as cert-manager's is.
func replayLeaf90d(t *testing.T, key crypto.Signer, commonName string) []byte {
	return replayLeaf(t, key, commonName, now, now.Add(90*24*time.Hour))
}

// replayCSR is testcrypto.MustGenerateCSRImpl for a spec with only a
// common name.
func replayCSR(t *testing.T, key crypto.Signer, commonName string) []byte {
	return csrPEM(t, key, func(r *x509.CertificateRequest) {
		r.Subject = pkix.Name{CommonName: commonName}
		r.DNSNames = nil
	})
}

// triggerCertificate is a trigger case's Certificate, made admissible.
func triggerCertificate(spec cmapi.CertificateSpec) *cmapi.Certificate {
	if spec.SecretName == "" {
		spec.SecretName = "something"
	}
	if spec.IssuerRef.Name == "" {
		spec.IssuerRef.Name = "testissuer"
	}
	if spec.CommonName == "" {
		spec.CommonName = "example.com"
	}
	return &cmapi.Certificate{Spec: spec}
}

// triggerSecret is a trigger case's Secret "something".
func triggerSecret(annotations map[string]string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "something", Annotations: annotations}, Data: data}
}

// testIssuerAnnotations are the issuer annotations most trigger cases put
// on their Secret.
func testIssuerAnnotations() map[string]string {
	return map[string]string{
		cmapi.IssuerNameAnnotationKey:  "testissuer",
		cmapi.IssuerKindAnnotationKey:  "IssuerKind",
		cmapi.IssuerGroupAnnotationKey: "group.example.com",
	}
}

var testIssuerRef = cmmeta.IssuerReference{Name: "testissuer", Kind: "IssuerKind", Group: "group.example.com"}

// triggerInput runs a trigger case at cert-manager's zero clock.
func triggerInput(crt *cmapi.Certificate, secret *corev1.Secret, current *cmapi.CertificateRequest) (Input, Options) {
	return Input{Certificate: crt, Secret: secret, CurrentRequest: current, Now: replayClock}, Options{}
}

// triggerRows are Test_NewTriggerPolicyChain, in cert-manager's order, then
// Test_SecretCertificateNameAnnotationsMismatch, whose check is also part of
// the trigger (and readiness) chain.
func triggerRows() []replayRow {
	const table = "Test_NewTriggerPolicyChain"
	keyPair := func(t *testing.T) map[string][]byte {
		return map[string][]byte{
			corev1.TLSPrivateKeyKey: pkcs8PEM(t, replayKey()),
			corev1.TLSCertKey:       replayLeaf90d(t, replayKey(), "example.com"),
		}
	}
	// renewalCase is the five renewal cases: a Secret issued by testissuer
	// whose leaf runs from notBefore to notAfter (offsets from the clock).
	renewalCase := func(renewBefore time.Duration, status *metav1.Time, notBefore, notAfter time.Duration, disabled bool) func(t *testing.T) (Input, Options) {
		return func(t *testing.T) (Input, Options) {
			spec := cmapi.CertificateSpec{CommonName: "example.com", IssuerRef: testIssuerRef}
			if disabled {
				spec.Renewal = &cmapi.CertificateRenewal{Policy: cmapi.CertificateRenewalPolicyDisabled}
			} else {
				spec.RenewBefore = &metav1.Duration{Duration: renewBefore}
			}
			crt := triggerCertificate(spec)
			crt.Status.RenewalTime = status
			leaf := replayLeaf(t, replayKey(), "example.com", replayClock.Add(notBefore), replayClock.Add(notAfter))
			return triggerInput(crt, triggerSecret(testIssuerAnnotations(), map[string][]byte{
				corev1.TLSPrivateKeyKey: pkcs8PEM(t, replayKey()),
				corev1.TLSCertKey:       leaf,
			}), nil)
		}
	}
	return []replayRow{
		{
			table: table, name: "trigger issuance if Secret is missing", chain: chainTrigger,
			input: func(t *testing.T) (Input, Options) {
				return triggerInput(triggerCertificate(cmapi.CertificateSpec{SecretName: "something"}), nil, nil)
			},
			violated: true, reason: "DoesNotExist", message: "Issuing certificate as Secret does not exist",
		},
		{
			table: table, name: "trigger issuance as Secret does not contain any data", chain: chainTrigger,
			input: func(t *testing.T) (Input, Options) {
				return triggerInput(triggerCertificate(cmapi.CertificateSpec{SecretName: "something"}), triggerSecret(nil, nil), nil)
			},
			violated: true, reason: "MissingData", message: "Issuing certificate as Secret does not contain any data",
		},
		{
			table: table, name: "trigger issuance as Secret is missing private key", chain: chainTrigger,
			input: func(t *testing.T) (Input, Options) {
				return triggerInput(triggerCertificate(cmapi.CertificateSpec{SecretName: "something"}),
					triggerSecret(nil, map[string][]byte{corev1.TLSCertKey: []byte("test")}), nil)
			},
			violated: true, reason: "MissingData", message: "Issuing certificate as Secret does not contain a private key",
		},
		{
			table: table, name: "trigger issuance as Secret is missing certificate", chain: chainTrigger,
			input: func(t *testing.T) (Input, Options) {
				return triggerInput(triggerCertificate(cmapi.CertificateSpec{SecretName: "something"}),
					triggerSecret(nil, map[string][]byte{corev1.TLSPrivateKeyKey: []byte("test")}), nil)
			},
			violated: true, reason: "MissingData", message: "Issuing certificate as Secret does not contain a certificate",
		},
		{
			table: table, name: "trigger issuance as Secret contains corrupt private key and certificate data", chain: chainTrigger,
			input: func(t *testing.T) (Input, Options) {
				return triggerInput(triggerCertificate(cmapi.CertificateSpec{SecretName: "something"}),
					triggerSecret(nil, map[string][]byte{corev1.TLSPrivateKeyKey: []byte("test"), corev1.TLSCertKey: []byte("test")}), nil)
			},
			violated: true, reason: "InvalidKeyPair",
			message: "Issuing certificate as Secret contains invalid private key data: error decoding private key PEM block: no PEM data was found in given input",
		},
		{
			table: table, name: "trigger issuance as Secret contains corrupt certificate data", chain: chainTrigger,
			input: func(t *testing.T) (Input, Options) {
				return triggerInput(triggerCertificate(cmapi.CertificateSpec{SecretName: "something"}),
					triggerSecret(nil, map[string][]byte{corev1.TLSPrivateKeyKey: pkcs8PEM(t, otherRSA()), corev1.TLSCertKey: []byte("test")}), nil)
			},
			violated: true, reason: "InvalidCertificate",
			message: "Issuing certificate as Secret contains an invalid certificate: error decoding certificate PEM block: no valid certificates found",
		},
		{
			table: table, name: "trigger issuance as Secret contains corrupt private key data", chain: chainTrigger,
			input: func(t *testing.T) (Input, Options) {
				return triggerInput(triggerCertificate(cmapi.CertificateSpec{SecretName: "something"}),
					triggerSecret(nil, map[string][]byte{corev1.TLSPrivateKeyKey: []byte("invalid"), corev1.TLSCertKey: replayLeaf90d(t, otherRSA(), "example.com")}), nil)
			},
			violated: true, reason: "InvalidKeyPair",
			message: "Issuing certificate as Secret contains invalid private key data: error decoding private key PEM block: no PEM data was found in given input",
		},
		{
			table: table, name: "trigger issuance as Secret contains a non-matching key-pair", chain: chainTrigger,
			input: func(t *testing.T) (Input, Options) {
				return triggerInput(triggerCertificate(cmapi.CertificateSpec{SecretName: "something"}),
					triggerSecret(nil, map[string][]byte{corev1.TLSPrivateKeyKey: pkcs8PEM(t, replayKey()), corev1.TLSCertKey: replayLeaf90d(t, otherRSA(), "example.com")}), nil)
			},
			violated: true, reason: "InvalidKeyPair", message: "Issuing certificate as Secret contains a private key that does not match the certificate",
		},
		{
			table: table, name: "trigger issuance as Secret has old or incorrect 'issuer name' annotation", chain: chainTrigger,
			input: func(t *testing.T) (Input, Options) {
				return triggerInput(triggerCertificate(cmapi.CertificateSpec{SecretName: "something", IssuerRef: cmmeta.IssuerReference{Name: "testissuer"}}),
					triggerSecret(map[string]string{cmapi.IssuerNameAnnotationKey: "oldissuer"}, keyPair(t)), nil)
			},
			violated: true, reason: "IncorrectIssuer", message: `Issuing certificate as Secret was previously issued by "Issuer.cert-manager.io/oldissuer"`,
		},
		{
			table: table, name: "trigger issuance as Secret has old or incorrect 'issuer kind' annotation", chain: chainTrigger,
			input: func(t *testing.T) (Input, Options) {
				// The webhook admits kind NewIssuerKind only outside group
				// cert-manager.io, so the row's issuerRef is an external
				// issuer's. The Secret's annotations are the case's, and
				// their kind alone already differs.
				return triggerInput(triggerCertificate(cmapi.CertificateSpec{SecretName: "something", IssuerRef: cmmeta.IssuerReference{Name: "testissuer", Kind: "NewIssuerKind", Group: "example.io"}}),
					triggerSecret(map[string]string{cmapi.IssuerNameAnnotationKey: "testissuer", cmapi.IssuerKindAnnotationKey: "OldIssuerKind"}, keyPair(t)), nil)
			},
			violated: true, reason: "IncorrectIssuer", message: `Issuing certificate as Secret was previously issued by "OldIssuerKind.cert-manager.io/testissuer"`,
		},
		{
			table: table, name: "trigger issuance as Secret has old or incorrect 'issuer group' annotation", chain: chainTrigger,
			input: func(t *testing.T) (Input, Options) {
				return triggerInput(triggerCertificate(cmapi.CertificateSpec{SecretName: "something", IssuerRef: cmmeta.IssuerReference{Name: "testissuer", Kind: "IssuerKind", Group: "old.example.com"}}),
					triggerSecret(map[string]string{cmapi.IssuerNameAnnotationKey: "testissuer", cmapi.IssuerKindAnnotationKey: "IssuerKind", cmapi.IssuerGroupAnnotationKey: "new.example.com"}, keyPair(t)), nil)
			},
			violated: true, reason: "IncorrectIssuer", message: `Issuing certificate as Secret was previously issued by "IssuerKind.new.example.com/testissuer"`,
		},
		{
			table: table, name: "trigger issuance as private key properties do not meet the requested properties", chain: chainTrigger,
			input: func(t *testing.T) (Input, Options) {
				// A P-521 key where the spec asks for the default, RSA.
				ec521 := mustEC(elliptic.P521())
				return triggerInput(triggerCertificate(cmapi.CertificateSpec{SecretName: "something"}),
					triggerSecret(nil, map[string][]byte{corev1.TLSPrivateKeyKey: pkcs8PEM(t, ec521), corev1.TLSCertKey: replayLeaf90d(t, ec521, "example.com")}), nil)
			},
			violated: true, reason: "SecretMismatch", message: "Existing private key is not up to date for spec: [spec.privateKey.algorithm]",
		},
		{
			table: table, name: "trigger if the Secret contains a different private key than was used to sign the CSR", chain: chainTrigger,
			input: func(t *testing.T) (Input, Options) {
				return triggerInput(triggerCertificate(cmapi.CertificateSpec{SecretName: "something"}),
					triggerSecret(nil, keyPair(t)),
					&cmapi.CertificateRequest{Spec: cmapi.CertificateRequestSpec{IssuerRef: testIssuerRef, Request: replayCSR(t, otherRSA(), "example.com")}})
			},
			violated: true, reason: "SecretMismatch", message: "Secret contains a private key that does not match the current CertificateRequest",
		},
		{
			table: table, name: "trigger issuance when CertificateRequest does not match certificate spec", chain: chainTrigger,
			input: func(t *testing.T) (Input, Options) {
				return triggerInput(triggerCertificate(cmapi.CertificateSpec{CommonName: "new.example.com", IssuerRef: testIssuerRef}),
					triggerSecret(testIssuerAnnotations(), map[string][]byte{
						corev1.TLSPrivateKeyKey: pkcs8PEM(t, replayKey()),
						corev1.TLSCertKey:       replayLeaf90d(t, replayKey(), "does-not-matter.example.com"),
					}),
					&cmapi.CertificateRequest{Spec: cmapi.CertificateRequestSpec{IssuerRef: testIssuerRef, Request: replayCSR(t, replayKey(), "old.example.com")}})
			},
			violated: true, reason: "RequestChanged", message: "Fields on existing CertificateRequest resource not up to date: [spec.commonName]",
		},
		{
			table: table, name: "do nothing if CertificateRequest matches spec", chain: chainTrigger,
			input: func(t *testing.T) (Input, Options) {
				return triggerInput(triggerCertificate(cmapi.CertificateSpec{CommonName: "example.com", IssuerRef: testIssuerRef}),
					triggerSecret(testIssuerAnnotations(), map[string][]byte{
						corev1.TLSPrivateKeyKey: pkcs8PEM(t, replayKey()),
						corev1.TLSCertKey:       replayLeaf90d(t, replayKey(), "does-not-matter.example.com"),
					}),
					&cmapi.CertificateRequest{Spec: cmapi.CertificateRequestSpec{IssuerRef: testIssuerRef, Request: replayCSR(t, replayKey(), "example.com")}})
			},
		},
		{
			table: table, name: "compare signed x509 certificate in Secret with spec if CertificateRequest does not exist", chain: chainTrigger,
			input: func(t *testing.T) (Input, Options) {
				return triggerInput(triggerCertificate(cmapi.CertificateSpec{CommonName: "new.example.com", IssuerRef: testIssuerRef}),
					triggerSecret(testIssuerAnnotations(), map[string][]byte{
						corev1.TLSPrivateKeyKey: pkcs8PEM(t, replayKey()),
						corev1.TLSCertKey:       replayLeaf90d(t, replayKey(), "old.example.com"),
					}), nil)
			},
			violated: true, reason: "SecretMismatch", message: "Issuing certificate as Existing issued Secret is not up to date for spec: [spec.commonName]",
		},
		{
			table: table, name: "do nothing if signed x509 certificate in Secret matches spec (when request does not exist)", chain: chainTrigger,
			input: func(t *testing.T) (Input, Options) {
				return triggerInput(triggerCertificate(cmapi.CertificateSpec{CommonName: "example.com", IssuerRef: testIssuerRef}),
					triggerSecret(testIssuerAnnotations(), keyPair(t)), nil)
			},
		},
		{
			table: table, name: "trigger renewal if renewalTime is right now", chain: chainTrigger,
			input:    renewalCase(5*time.Minute, &metav1.Time{Time: replayClock}, -30*time.Minute, time.Minute, false),
			violated: true, reason: "Renewing", message: "Renewing certificate as renewal was scheduled at 0001-01-01 00:00:00 +0000 UTC",
		},
		{
			table: table, name: "trigger renewal if renewalTime is in the past", chain: chainTrigger,
			input:    renewalCase(5*time.Minute, &metav1.Time{Time: replayClock.Add(-time.Minute)}, -30*time.Minute, time.Minute, false),
			violated: true, reason: "Renewing", message: "Renewing certificate as renewal was scheduled at 0000-12-31 23:59:00 +0000 UTC",
		},
		{
			table: table, name: "does not trigger renewal if the x509 cert has been re-issued, but Certificate's renewal time has not been updated yet", chain: chainTrigger,
			input: renewalCase(time.Minute, &metav1.Time{Time: replayClock}, 0, 30*time.Minute, false),
		},
		{
			table: table, name: "does not trigger renewal if renewal time is in 1 minute", chain: chainTrigger,
			input: renewalCase(time.Minute, &metav1.Time{Time: replayClock.Add(time.Minute)}, -30*time.Minute, 5*time.Minute, false),
		},
		{
			table: table, name: "does not trigger renewal if renewal policy is disabled", chain: chainTrigger,
			input: renewalCase(0, nil, -30*time.Minute, 5*time.Minute, true),
		},

		// Test_SecretCertificateNameAnnotationsMismatch: check 5 of the
		// trigger chain, on an otherwise up-to-date Secret.
		certificateNameRow("without a CertificateName annotation, should return false", nil, false, ""),
		certificateNameRow("with a matching CertificateName annotation, should return false", ptr("test-certificate"), false, ""),
		certificateNameRow("with a non-matching CertificateName annotation, should return true", ptr("foo"), true,
			`Secret was issued for "foo". If this message is not transient, you might have two conflicting Certificates pointing to the same secret.`),
	}
}

func certificateNameRow(name string, annotation *string, violated bool, message string) replayRow {
	row := replayRow{
		table: "Test_SecretCertificateNameAnnotationsMismatch", name: name, chain: chainTrigger,
		input: func(t *testing.T) (Input, Options) {
			w := newWrittenSecret(t, nil)
			delete(w.secret.Annotations, cmapi.CertificateNameKey)
			if annotation != nil {
				w.secret.Annotations[cmapi.CertificateNameKey] = *annotation
			}
			return w.input(Options{})
		},
		violated: violated, message: message,
	}
	if violated {
		row.reason = "IncorrectCertificate"
	}
	return row
}

// writtenSecret is a post-issuance case's starting point: the Certificate
// "test-certificate" and its Secret as cert-manager's issuing controller
// writes it, with the managedFields its apply records, split by what they
// cover so that a row can replace one part.
type writtenSecret struct {
	t      *testing.T
	crt    *cmapi.Certificate
	secret *corev1.Secret
	// owned is the managedFields, one slot per concern; input joins them.
	owned struct {
		managed  []metav1.ManagedFieldsEntry // cert-manager's own labels and annotations
		template []metav1.ManagedFieldsEntry // secretTemplate's labels and annotations
		data     []metav1.ManagedFieldsEntry // data keys
		owner    []metav1.ManagedFieldsEntry // the owner reference
	}
}

// newWrittenSecret writes crt's Secret as cert-manager would, after spec
// has set the Certificate's spec (secretTemplate, additionalOutputFormats)
// and with the owner reference when ownerRef.
func newWrittenSecret(t *testing.T, spec func(*cmapi.CertificateSpec), ownerRef ...bool) *writtenSecret {
	t.Helper()
	crt := &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Name: "test-certificate", Namespace: "default", UID: types.UID("uid-123")},
		Spec: cmapi.CertificateSpec{
			SecretName: "something",
			CommonName: "example.com",
			IssuerRef:  cmmeta.IssuerReference{Name: "testissuer"},
		},
	}
	if spec != nil {
		spec(&crt.Spec)
	}
	keyPEM := pkcs8PEM(t, replayKey())
	leafPEM := replayLeaf(t, replayKey(), "example.com", now.Add(-10*24*time.Hour), now.Add(80*24*time.Hour))
	labels, annotations := DesiredSecretMetadata(crt, parseCert(t, leafPEM), crt.Spec.IssuerRef)
	data := map[string][]byte{corev1.TLSPrivateKeyKey: keyPEM, corev1.TLSCertKey: leafPEM}
	for k, v := range pki.AdditionalOutputs(crt.Spec.AdditionalOutputFormats, keyPEM, leafPEM) {
		data[k] = v
	}
	w := &writtenSecret{t: t, crt: crt, secret: &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "something", Namespace: "default", Labels: labels, Annotations: annotations},
		Type:       corev1.SecretTypeTLS,
		Data:       data,
	}}

	var cmLabels, cmAnnotations, tmplLabels, tmplAnnotations []string
	for k := range labels {
		if hasCertManagerPrefix(k) {
			cmLabels = append(cmLabels, k)
		} else {
			tmplLabels = append(tmplLabels, k)
		}
	}
	for k := range annotations {
		if hasCertManagerPrefix(k) {
			cmAnnotations = append(cmAnnotations, k)
		} else {
			tmplAnnotations = append(tmplAnnotations, k)
		}
	}
	w.owned.managed = []metav1.ManagedFieldsEntry{ownedMetadata(FieldManager, cmLabels, cmAnnotations)}
	if len(tmplLabels)+len(tmplAnnotations) > 0 {
		w.owned.template = []metav1.ManagedFieldsEntry{ownedMetadata(FieldManager, tmplLabels, tmplAnnotations)}
	}
	var dataKeys []string
	for k := range data {
		dataKeys = append(dataKeys, k)
	}
	w.owned.data = []metav1.ManagedFieldsEntry{ownedData(FieldManager, dataKeys...)}
	if len(ownerRef) > 0 && ownerRef[0] {
		ref := secretOwnerReference(crt, true)
		w.secret.OwnerReferences = []metav1.OwnerReference{*ref}
		w.owned.owner = []metav1.ManagedFieldsEntry{ownedOwnerRefs(FieldManager, string(crt.UID))}
	}
	return w
}

func (w *writtenSecret) input(opts Options) (Input, Options) {
	var mf []metav1.ManagedFieldsEntry
	for _, part := range [][]metav1.ManagedFieldsEntry{w.owned.managed, w.owned.template, w.owned.data, w.owned.owner} {
		mf = append(mf, part...)
	}
	w.secret.ManagedFields = mf
	return Input{Certificate: w.crt, Secret: w.secret, Now: now}, opts
}

// appliedEntry is a managedFields entry for an apply by manager, with
// FieldsV1 as written (cert-manager's cases spell theirs out as JSON).
func appliedEntry(manager, fieldsV1 string) metav1.ManagedFieldsEntry {
	return metav1.ManagedFieldsEntry{
		Manager: manager, Operation: metav1.ManagedFieldsOperationApply, APIVersion: "v1", FieldsType: "FieldsV1",
		FieldsV1: metav1.NewFieldsV1(fieldsV1),
	}
}

// fieldsJSON is {"f:k1":{},"f:k2":{}} for keys, in order.
func fieldsJSON(keys []string) string {
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%q:{}", "f:"+k)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func ownedMetadata(manager string, labels, annotations []string) metav1.ManagedFieldsEntry {
	return appliedEntry(manager, fmt.Sprintf(`{"f:metadata":{"f:labels":%s,"f:annotations":%s}}`, fieldsJSON(labels), fieldsJSON(annotations)))
}

func ownedData(manager string, keys ...string) metav1.ManagedFieldsEntry {
	return appliedEntry(manager, fmt.Sprintf(`{"f:data":%s}`, fieldsJSON(keys)))
}

func ownedOwnerRefs(manager string, uids ...string) metav1.ManagedFieldsEntry {
	parts := make([]string, len(uids))
	for i, uid := range uids {
		parts[i] = fmt.Sprintf(`"k:{\"uid\":\"%s\"}":{}`, uid)
	}
	return appliedEntry(manager, fmt.Sprintf(`{"f:metadata":{"f:ownerReferences":{%s}}}`, strings.Join(parts, ",")))
}

// postRow is a post-issuance row whose verdict is a violation with reason
// and message, or none when reason is empty.
func postRow(table, name, reason, message string, input func(t *testing.T) (Input, Options)) replayRow {
	return replayRow{table: table, name: name, chain: chainPostIssuance, input: input, violated: reason != "", reason: reason, message: message}
}

// managedMetadataRows are Test_SecretManagedLabelsAndAnnotationsManagedFieldsMismatch.
// Its cases own foo1 and foo2 annotations, which the template check (not
// under test) passes only when spec.secretTemplate asks for them, so the
// rows' Certificate does.
func managedMetadataRows() []replayRow {
	const table = "Test_SecretManagedLabelsAndAnnotationsManagedFieldsMismatch"
	withFoo := func(s *cmapi.CertificateSpec) {
		s.SecretTemplate = &cmapi.CertificateSecretTemplate{Annotations: map[string]string{"foo1": "bar1", "foo2": "bar2"}}
	}
	issuerAndName := []string{cmapi.CertificateNameKey, cmapi.IssuerNameAnnotationKey, cmapi.IssuerKindAnnotationKey, cmapi.IssuerGroupAnnotationKey}
	return []replayRow{
		// "certificate data is nil": cert-manager's post-issuance chain
		// never sees such a Secret, since its trigger chain issues first;
		// the row keeps the case's Secret (no tls.crt) and so cert-manager's
		// verdict on it is the trigger chain's.
		{
			table: table, name: "if there are no cert-manager annotations and the certificate data is nil, should return false", chain: chainTrigger,
			input: func(t *testing.T) (Input, Options) {
				w := newWrittenSecret(t, nil)
				w.owned.managed = []metav1.ManagedFieldsEntry{ownedMetadata(FieldManager, []string{cmapi.PartOfCertManagerControllerLabelKey}, nil)}
				delete(w.secret.Data, corev1.TLSCertKey)
				return w.input(Options{})
			},
			violated: true, reason: "MissingData", message: "Issuing certificate as Secret does not contain a certificate",
		},
		{
			table: table, name: "if optional cert-manager annotations are present with no certificate data, should return false", chain: chainTrigger,
			input: func(t *testing.T) (Input, Options) {
				w := newWrittenSecret(t, withFoo)
				w.owned.managed = []metav1.ManagedFieldsEntry{ownedMetadata(FieldManager, []string{cmapi.PartOfCertManagerControllerLabelKey}, append([]string{"foo1", "foo2"}, issuerAndName...))}
				delete(w.secret.Data, corev1.TLSCertKey)
				return w.input(Options{})
			},
			violated: true, reason: "MissingData", message: "Issuing certificate as Secret does not contain a certificate",
		},
		postRow(table, "if cert-manager annotations are present with certificate data, should return false", "", "", func(t *testing.T) (Input, Options) {
			w := newWrittenSecret(t, withFoo)
			w.owned.template = nil
			w.owned.managed = []metav1.ManagedFieldsEntry{ownedMetadata(FieldManager, []string{cmapi.PartOfCertManagerControllerLabelKey},
				append([]string{"foo1", "foo2", cmapi.CommonNameAnnotationKey, cmapi.AltNamesAnnotationKey, cmapi.IPSANAnnotationKey, cmapi.URISANAnnotationKey}, issuerAndName...))}
			return w.input(Options{})
		}),
		{
			table: table, name: "if required and optional cert-manager annotations are present with certificate data but certificate data is nil, should return true", chain: chainTrigger,
			input: func(t *testing.T) (Input, Options) {
				w := newWrittenSecret(t, withFoo)
				w.owned.template = nil
				w.owned.managed = []metav1.ManagedFieldsEntry{ownedMetadata(FieldManager, []string{cmapi.PartOfCertManagerControllerLabelKey},
					append([]string{"foo1", "foo2", cmapi.URISANAnnotationKey, cmapi.IPSANAnnotationKey}, issuerAndName...))}
				delete(w.secret.Data, corev1.TLSCertKey)
				return w.input(Options{})
			},
			violated: true, reason: "MissingData", message: "Issuing certificate as Secret does not contain a certificate",
		},
	}
}

// templateRows are Test_SecretSecretTemplateMismatch: the Secret's labels
// and annotations other than cert-manager's are the case's, and
// cert-manager's field manager owns the template's keys (so the ownership
// check, not under test, passes).
func templateRows() []replayRow {
	const table = "Test_SecretSecretTemplateMismatch"
	row := func(name string, tmpl *cmapi.CertificateSecretTemplate, labels, annotations map[string]string, reason, message, deliberate string) replayRow {
		r := postRow(table, name, reason, message, func(t *testing.T) (Input, Options) {
			w := newWrittenSecret(t, func(s *cmapi.CertificateSpec) { s.SecretTemplate = tmpl })
			for k := range w.secret.Labels {
				if !hasCertManagerPrefix(k) {
					delete(w.secret.Labels, k)
				}
			}
			for k := range w.secret.Annotations {
				if !hasCertManagerPrefix(k) {
					delete(w.secret.Annotations, k)
				}
			}
			for k, v := range labels {
				w.secret.Labels[k] = v
			}
			for k, v := range annotations {
				w.secret.Annotations[k] = v
			}
			return w.input(Options{})
		})
		r.deliberate = deliberate
		return r
	}
	tmpl := func() *cmapi.CertificateSecretTemplate {
		return &cmapi.CertificateSecretTemplate{
			Annotations: map[string]string{"foo1": "bar1", "foo2": "bar2"},
			Labels:      map[string]string{"abc": "123", "def": "456"},
		}
	}
	const presence = "A label or annotation certsweep writes that is missing from the Secret is restored"
	return []replayRow{
		row("if SecretTemplate is nil, Secret Annotations and Labels are nil, return false", nil, nil, nil, "", "", ""),
		row("if SecretTemplate is nil, Secret Annotations are nil, Labels are non-nil, return false", nil, map[string]string{"foo": "bar"}, nil, "", "", ""),
		row("if SecretTemplate is nil, Secret Annotations are non-nil, Labels are nil, return false", nil, nil, map[string]string{"foo": "bar"}, "", "", ""),
		row("if SecretTemplate is nil, Secret Annotations and Labels are non-nil, return false", nil, map[string]string{"bar": "foo"}, map[string]string{"foo": "bar"}, "", "", ""),
		row("if SecretTemplate is non-nil, Secret Annotations match and there are no common Labels, return false", tmpl(),
			nil, map[string]string{"foo1": "bar1", "foo2": "bar2"}, "", "", presence),
		row("if SecretTemplate is non-nil, Secret Labels match and there are no common Annotations, return false", tmpl(),
			map[string]string{"abc": "123", "def": "456"}, nil, "", "", presence),
		row("if SecretTemplate is non-nil, Secret Labels match but Annotations don't match values, return true", tmpl(),
			map[string]string{"abc": "123", "def": "456"}, map[string]string{"foo1": "bar2", "foo2": "bar1"},
			"SecretTemplateMismatch", "Certificate's SecretTemplate Annotations missing or incorrect value on Secret", ""),
		row("if SecretTemplate is non-nil, Secret Annotations match but Labels don't match values, return true", tmpl(),
			map[string]string{"abc": "456", "def": "123"}, map[string]string{"foo1": "bar1", "foo2": "bar2"},
			"SecretTemplateMismatch", "Certificate's SecretTemplate Labels missing or incorrect value on Secret", ""),
		row("if SecretTemplate is non-nil, Secret Annotations and Labels match, return false", tmpl(),
			map[string]string{"abc": "123", "def": "456"}, map[string]string{"foo1": "bar1", "foo2": "bar2"}, "", "", ""),
	}
}

// templateOwnershipRows are Test_SecretSecretTemplateManagedFieldsMismatch:
// the Secret holds the template's values, and the case's entries take the
// place of the template's managedFields.
func templateOwnershipRows() []replayRow {
	const table = "Test_SecretSecretTemplateManagedFieldsMismatch"
	type tm = map[string]string
	row := func(name string, tmpl *cmapi.CertificateSecretTemplate, entries []metav1.ManagedFieldsEntry, reason, message string) replayRow {
		return postRow(table, name, reason, message, func(t *testing.T) (Input, Options) {
			w := newWrittenSecret(t, func(s *cmapi.CertificateSpec) { s.SecretTemplate = tmpl })
			w.owned.template = entries
			return w.input(Options{})
		})
	}
	meta := func(manager string, annotations, labels []string) []metav1.ManagedFieldsEntry {
		return []metav1.ManagedFieldsEntry{ownedMetadata(manager, labels, annotations)}
	}
	s := func(v ...string) []string { return v }
	return []replayRow{
		row("if template is nil and no managed fields, should return false", nil, nil, "", ""),
		row("if template is nil, managed fields is not nil but not managed by cert-manager, should return false", nil,
			meta("not-cert-manager", s("bar"), s("123")), "", ""),
		row("if template is nil, managed fields is not nil but fields are nil, should return false", nil,
			[]metav1.ManagedFieldsEntry{{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply}}, "", ""),
		row("if template is not-nil but managed fields is nil, should return true",
			&cmapi.CertificateSecretTemplate{Annotations: tm{"foo": "bar"}, Labels: tm{"abc": "123"}}, nil,
			"SecretTemplateMismatch", "Secret is missing these Template Labels: [abc]"),
		row("if template is nil but managed fields is not nil, should return true", nil,
			meta(FieldManager, s("foo"), s("abc")), "SecretTemplateMismatch", "Secret has these extra Labels: [abc]"),
		row("if template annotations do not match managed fields, should return true",
			&cmapi.CertificateSecretTemplate{Annotations: tm{"foo1": "bar1", "foo2": "bar2", "foo4": "bar4"}, Labels: tm{"abc": "123", "def": "456"}},
			meta(FieldManager, s("foo1", "foo3"), s("abc", "def")),
			"SecretTemplateMismatch", "Secret is missing these Template Annotations: [foo2 foo4]"),
		row("if template labels do not match managed fields, should return true",
			&cmapi.CertificateSecretTemplate{Annotations: tm{"foo1": "bar1", "foo2": "bar2"}, Labels: tm{"abc": "123", "def": "456", "ghi": "789"}},
			meta(FieldManager, s("foo1", "foo2"), s("abc", "erg")),
			"SecretTemplateMismatch", "Secret is missing these Template Labels: [def ghi]"),
		row("if template annotations and labels match managed fields, should return false",
			&cmapi.CertificateSecretTemplate{Annotations: tm{"foo1": "bar1", "foo2": "bar2"}, Labels: tm{"abc": "123", "def": "456"}},
			meta(FieldManager, s("foo1", "foo2"), s("abc", "def")), "", ""),
		row("if template annotations is a subset of managed fields, return true",
			&cmapi.CertificateSecretTemplate{Annotations: tm{"foo1": "bar1", "foo2": "bar2"}, Labels: tm{"abc": "123", "def": "456"}},
			meta(FieldManager, s("foo1", "foo2", "foo3", "foo4"), s("abc", "def")),
			"SecretTemplateMismatch", "Secret has these extra Annotations: [foo3 foo4]"),
		row("if template labels is a subset of managed fields, return true",
			&cmapi.CertificateSecretTemplate{Annotations: tm{"foo1": "bar1", "foo2": "bar2"}, Labels: tm{"abc": "123", "def": "456"}},
			meta(FieldManager, s("foo1", "foo2"), s("abc", "def", "ghi", "jkl")),
			"SecretTemplateMismatch", "Secret has these extra Labels: [ghi jkl]"),
		row("if managed fields annotations is a subset of template, return true",
			&cmapi.CertificateSecretTemplate{Annotations: tm{"foo1": "bar1", "foo2": "bar2", "foo3": "bar3"}, Labels: tm{"abc": "123", "def": "456"}},
			meta(FieldManager, s("foo1", "foo2"), s("abc", "def")),
			"SecretTemplateMismatch", "Secret is missing these Template Annotations: [foo3]"),
		row("if managed fields labels is a subset of template, return true",
			&cmapi.CertificateSecretTemplate{Annotations: tm{"foo1": "bar1", "foo2": "bar2"}, Labels: tm{"abc": "123", "def": "456", "ghi": "789"}},
			meta(FieldManager, s("foo1", "foo2"), s("abc", "def")),
			"SecretTemplateMismatch", "Secret is missing these Template Labels: [ghi]"),
		row("if managed fields matches template but is split across multiple managed fields, should return false",
			&cmapi.CertificateSecretTemplate{Annotations: tm{"foo1": "bar1", "foo2": "bar2", "foo3": "bar3"}, Labels: tm{"abc": "123", "def": "456", "ghi": "789"}},
			[]metav1.ManagedFieldsEntry{
				appliedEntry(FieldManager, `{"f:metadata":{"f:labels":{"f:ghi":{}}}}`),
				ownedMetadata(FieldManager, s("abc", "def"), s("foo1", "foo3")),
				ownedMetadata(FieldManager, s("abc", "def"), s("foo1", "foo2")),
			}, "", ""),
		// The case's field manager also owns cert-manager.io/foo1 and
		// cert-manager.io/foo2, which its template check ignores. They are
		// no annotations cert-manager writes, so on the whole Secret
		// cert-manager's chain stops earlier, at
		// SecretManagedLabelsAndAnnotationsManagedFieldsMismatch, with the
		// verdict below.
		row("if managed fields matches template and cert-manager annotations are present, should return false",
			&cmapi.CertificateSecretTemplate{Annotations: tm{"foo1": "bar1", "foo2": "bar2"}},
			meta(FieldManager, s("foo1", "foo2", "cert-manager.io/foo1", "cert-manager.io/foo2"), nil),
			"SecretManagedMetadataMismatch", "Secret has these extra Annotations: [cert-manager.io/foo1 cert-manager.io/foo2]"),
	}
}

// outputFormatRows are Test_SecretAdditionalOutputFormatsMismatch: the
// Secret's output format keys are the case's, owned as the spec asks.
// cert-manager's cases put "a" in tls.crt; ours is a real leaf, since the
// trigger chain runs first.
func outputFormatRows() []replayRow {
	const table = "Test_SecretAdditionalOutputFormatsMismatch"
	const mismatch = "Certificate's AdditionalOutputFormats doesn't match Secret Data"
	combined, der := cmapi.CertificateAdditionalOutputFormat{Type: "CombinedPEM"}, cmapi.CertificateAdditionalOutputFormat{Type: "DER"}
	// value says what the case puts under a key: the right value, a wrong
	// one, or nothing.
	type value int
	const (
		absent value = iota
		right
		wrong
	)
	// misnamedCombined puts the right combined PEM under
	// "combined-tls.pem", a key cert-manager does not write, as one case
	// does.
	row := func(name string, formats []cmapi.CertificateAdditionalOutputFormat, combinedPEM, keyDER value, reason string, misnamedCombined bool) replayRow {
		message := ""
		if reason != "" {
			message = mismatch
		}
		return postRow(table, name, reason, message, func(t *testing.T) (Input, Options) {
			w := newWrittenSecret(t, func(s *cmapi.CertificateSpec) { s.AdditionalOutputFormats = formats })
			d := w.secret.Data
			rightValues := pki.AdditionalOutputs([]cmapi.CertificateAdditionalOutputFormat{combined, der}, d[corev1.TLSPrivateKeyKey], d[corev1.TLSCertKey])
			set := func(key string, v value) {
				switch v {
				case absent:
					delete(d, key)
				case right:
					d[key] = rightValues[key]
				case wrong:
					d[key] = []byte("wrong")
				}
			}
			set(cmapi.CertificateOutputFormatCombinedPEMKey, combinedPEM)
			set(cmapi.CertificateOutputFormatDERKey, keyDER)
			if misnamedCombined {
				d["combined-tls.pem"] = rightValues[cmapi.CertificateOutputFormatCombinedPEMKey]
			}
			return w.input(Options{})
		})
	}
	const miss = "AdditionalOutputFormatsMismatch"
	return []replayRow{
		row("if additional output formats is empty and secret has no keys, should return false", nil, absent, absent, "", false),
		row("if additional output formats is empty and secret has output format keys, should return false", nil, absent, right, "", true),
		row("if additional output has combined pem and Secret has wrong combined, should return true", []cmapi.CertificateAdditionalOutputFormat{combined}, wrong, absent, miss, false),
		row("if additional output has combined pem and Secret has no combined pem, should return true", []cmapi.CertificateAdditionalOutputFormat{combined}, absent, absent, miss, false),
		row("if additional output has combined pem and Secret has correct combined, should return false", []cmapi.CertificateAdditionalOutputFormat{combined}, right, absent, "", false),
		row("if additional output has der and Secret has no key, should return true", []cmapi.CertificateAdditionalOutputFormat{der}, absent, absent, miss, false),
		row("if additional output has der and Secret has wrong der key, should return true", []cmapi.CertificateAdditionalOutputFormat{der}, absent, wrong, miss, false),
		row("if additional output has der and Secret has correct der key, should return false", []cmapi.CertificateAdditionalOutputFormat{der}, absent, right, "", false),
		row("if additional output has combined and der and Secret has correct combined and der, should return false", []cmapi.CertificateAdditionalOutputFormat{combined, der}, right, right, "", false),
		row("if additional output has combined and der and Secret has correct combined and wrong der value, should return true", []cmapi.CertificateAdditionalOutputFormat{combined, der}, right, wrong, miss, false),
		row("if additional output has combined and der and Secret has wrong combined value and correct der value, should return true", []cmapi.CertificateAdditionalOutputFormat{combined, der}, wrong, right, miss, false),
		row("if additional output has combined and der and Secret has correct combined value and missing der key, should return true", []cmapi.CertificateAdditionalOutputFormat{combined, der}, right, absent, miss, false),
		row("if additional output has combined and der and Secret has missing combined key and correct der value, should return true", []cmapi.CertificateAdditionalOutputFormat{combined, der}, absent, right, miss, false),
	}
}

// outputFormatOwnershipRows are
// Test_SecretAdditionalOutputFormatsManagedFieldsMismatch: the Secret holds
// the right values for the spec, and the case's entries take the place of
// the output format keys' ownership (tls.crt and tls.key stay owned).
func outputFormatOwnershipRows() []replayRow {
	const table = "Test_SecretAdditionalOutputFormatsManagedFieldsMismatch"
	const miss, message = "AdditionalOutputFormatsMismatch", "Certificate's AdditionalOutputFormats doesn't match Secret ManagedFields"
	combined, der := cmapi.CertificateAdditionalOutputFormat{Type: "CombinedPEM"}, cmapi.CertificateAdditionalOutputFormat{Type: "DER"}
	const other = "not-cert-manager"
	type owns struct {
		manager string
		keys    []string
	}
	row := func(name string, formats []cmapi.CertificateAdditionalOutputFormat, entries []owns, reason string) replayRow {
		msg := ""
		if reason != "" {
			msg = message
		}
		return postRow(table, name, reason, msg, func(t *testing.T) (Input, Options) {
			w := newWrittenSecret(t, func(s *cmapi.CertificateSpec) { s.AdditionalOutputFormats = formats })
			w.owned.data = []metav1.ManagedFieldsEntry{ownedData(FieldManager, corev1.TLSPrivateKeyKey, corev1.TLSCertKey)}
			for _, e := range entries {
				w.owned.data = append(w.owned.data, ownedData(e.manager, e.keys...))
			}
			return w.input(Options{})
		})
	}
	fs := func(f ...cmapi.CertificateAdditionalOutputFormat) []cmapi.CertificateAdditionalOutputFormat { return f }
	pemKey, derKey := cmapi.CertificateOutputFormatCombinedPEMKey, cmapi.CertificateOutputFormatDERKey
	return []replayRow{
		row("if additional output formats is empty and secret has no managed fields, should return false", nil, nil, ""),
		row("if additional output formats has combined pem and secret has no managed fields, should return true", fs(combined), nil, miss),
		row("if additional output formats has der and secret has no managed fields, should return true", fs(der), nil, miss),
		row("if additional output formats has combined pem and der, and secret has no managed fields, should return true", fs(combined, der), nil, miss),
		row("if additional output formats is empty, and secret has managed fields for combined pem for another managed, should return false", nil, []owns{{other, []string{pemKey}}}, ""),
		row("if additional output formats is empty, and secret has managed fields for der for another managed, should return false", nil, []owns{{other, []string{derKey}}}, ""),
		row("if additional output formats is empty, and secret has managed fields for combined pem and der for another managed, should return false", nil, []owns{{other, []string{pemKey, derKey}}}, ""),
		row("if additional output formats is empty, and secret has managed fields for combined pem, should return true", nil, []owns{{FieldManager, []string{pemKey}}}, miss),
		row("if additional output formats is empty, and secret has managed fields for der, should return true", nil, []owns{{FieldManager, []string{derKey}}}, miss),
		row("if additional output formats is empty, and secret has managed fields for combined pem and der, should return true", nil, []owns{{FieldManager, []string{pemKey, derKey}}}, miss),
		row("if additional output formats has combined pem, and secret has managed fields for combined pem for wrong manager, should return true", fs(combined), []owns{{other, []string{pemKey}}}, miss),
		row("if additional output formats has der, and secret has managed fields for der for wrong manager, should return true", fs(der), []owns{{other, []string{derKey}}}, miss),
		row("if additional output formats has combined pem and der, and secret has managed fields for combined pem and der for wrong manager, should return true", fs(combined, der), []owns{{other, []string{pemKey, derKey}}}, miss),
		row("if additional output formats has combined pem, and secret has managed fields for combined pem, should return false", fs(combined), []owns{{FieldManager, []string{pemKey}}}, ""),
		row("if additional output formats has der, and secret has managed fields for der, should return false", fs(der), []owns{{FieldManager, []string{derKey}}}, ""),
		row("if additional output formats has combined pem and der, and secret has managed fields for combined pem and der, should return false", fs(der, combined), []owns{{FieldManager, []string{derKey, pemKey}}}, ""),
		row("if additional output formats has combined pem and der, and secret has managed fields for combined pem and der in different slice elements, should return false", fs(der, combined),
			[]owns{{FieldManager, []string{derKey}}, {FieldManager, []string{pemKey}}}, ""),
		row("if additional output formats has combined pem and der, and secret has managed fields for combined pem and der, and is also managed by another manager, should return false", fs(der, combined),
			[]owns{{FieldManager, []string{pemKey, derKey}}, {other, []string{derKey, pemKey}}}, ""),
	}
}

// ownerRefRows are Test_SecretOwnerReferenceManagedFieldMismatch and
// Test_SecretOwnerReferenceMismatch, with the Certificate
// "test-certificate", UID uid-123, and --enable-certificate-owner-ref as
// Options.OwnerRef.
func ownerRefRows() []replayRow {
	const certUID, otherUID = "uid-123", "4c71e68f-5271-4b8d-9df5-5eb71d130d7d"
	const managedMsg, valueMsg = "unexpected managed Secret Owner Reference field on Secret --enable-certificate-owner-ref=%t", "unexpected Secret Owner Reference value on Secret --enable-certificate-owner-ref=%t"
	const mismatch = "SecretOwnerRefMismatch"

	// Test_SecretOwnerReferenceManagedFieldMismatch: the Secret carries
	// the owner references its managedFields name (the Certificate's as a
	// write with the option on makes it), and the case's entries take the
	// place of the owner reference's ownership.
	const managedTable = "Test_SecretOwnerReferenceManagedFieldMismatch"
	managed := func(name string, enabled bool, manager, uid string, violated bool) replayRow {
		reason, message := "", ""
		if violated {
			reason, message = mismatch, fmt.Sprintf(managedMsg, enabled)
		}
		return postRow(managedTable, name, reason, message, func(t *testing.T) (Input, Options) {
			w := newWrittenSecret(t, nil, enabled)
			w.owned.owner = nil
			if manager != "" {
				w.owned.owner = []metav1.ManagedFieldsEntry{ownedOwnerRefs(manager, uid)}
				if uid == certUID {
					w.secret.OwnerReferences = []metav1.OwnerReference{*secretOwnerReference(w.crt, true)}
				} else {
					w.secret.OwnerReferences = append(w.secret.OwnerReferences, metav1.OwnerReference{APIVersion: "foo.bar/v1", Kind: "Foo", Name: "foo", UID: types.UID(uid)})
				}
			}
			return w.input(Options{OwnerRef: enabled})
		})
	}

	// Test_SecretOwnerReferenceMismatch: the Secret's owner references are
	// the case's, and cert-manager's field manager owns the Certificate's
	// exactly when the option is on (so the ownership check passes).
	const valueTable = "Test_SecretOwnerReferenceMismatch"
	foo := metav1.OwnerReference{APIVersion: "foo.bar/v1", Kind: "Foo", Name: "foo", UID: "abc", Controller: ptr(false), BlockOwnerDeletion: ptr(false)}
	bar := metav1.OwnerReference{APIVersion: "bar.foo/v1", Kind: "Bar", Name: "bar", UID: "def", Controller: ptr(true), BlockOwnerDeletion: ptr(true)}
	certRef := func(edit func(*metav1.OwnerReference)) metav1.OwnerReference {
		r := metav1.OwnerReference{APIVersion: "cert-manager.io/v1", Kind: "Certificate", Name: "test-certificate", UID: certUID, Controller: ptr(true), BlockOwnerDeletion: ptr(true)}
		if edit != nil {
			edit(&r)
		}
		return r
	}
	value := func(name string, enabled bool, refs []metav1.OwnerReference, violated bool) replayRow {
		reason, message := "", ""
		if violated {
			reason, message = mismatch, fmt.Sprintf(valueMsg, enabled)
		}
		return postRow(valueTable, name, reason, message, func(t *testing.T) (Input, Options) {
			w := newWrittenSecret(t, nil, enabled)
			w.secret.OwnerReferences = refs
			return w.input(Options{OwnerRef: enabled})
		})
	}
	refs := func(r ...metav1.OwnerReference) []metav1.OwnerReference { return r }
	return []replayRow{
		managed("ownerReferenceEnabled=false no secret managed field owner reference should return false", false, "", "", false),
		managed("ownerReferenceEnabled=false secret managed field owner reference for different UID should return false", false, FieldManager, otherUID, false),
		managed("ownerReferenceEnabled=false secret managed field owner reference for same UID should return true", false, FieldManager, certUID, true),
		managed("ownerReferenceEnabled=false secret managed field different owner reference for same UID should return false", false, "not-cert-manager-test", certUID, false),
		managed("ownerReferenceEnabled=true no secret managed field owner reference should return true", true, "", "", true),
		managed("ownerReferenceEnabled=true secret managed field owner reference for different UID should return true", true, FieldManager, otherUID, true),
		managed("ownerReferenceEnabled=true secret managed field owner reference for same UID should return false", true, FieldManager, certUID, false),
		managed("ownerReferenceEnabled=true secret managed field different owner reference for same UID should return true", true, "not-cert-manager-test", certUID, true),

		value("ownerReferenceEnabled=false no secret owner reference should return false", false, nil, false),
		value("ownerReferenceEnabled=false secret has random owner reference should return false", false, refs(foo), false),
		value("ownerReferenceEnabled=false secret has multiple random owner reference should return false", false, refs(foo, bar), false),
		value("ownerReferenceEnabled=false secret has owner reference for certificate with correct value should return false", false, refs(foo, bar, certRef(nil)), false),
		value("ownerReferenceEnabled=false secret has owner reference for certificate with in-correct value should return false", false,
			refs(foo, bar, certRef(func(r *metav1.OwnerReference) { r.Name = "foo" })), false),
		// cert-manager's name says false; the case runs with the option on.
		value("ownerReferenceEnabled=false no secret owner reference should return true", true, nil, true),
		value("ownerReferenceEnabled=true secret has random owner reference should return true", true, refs(foo), true),
		value("ownerReferenceEnabled=true secret has multiple random owner reference should return true", true, refs(foo, bar), true),
		value("ownerReferenceEnabled=true secret has owner reference for certificate with correct value should return false", true, refs(foo, bar, certRef(nil)), false),
		value("ownerReferenceEnabled=true secret has owner reference for certificate with wrong Name value should return true", true,
			refs(foo, bar, certRef(func(r *metav1.OwnerReference) { r.Name = "foo" })), true),
		value("ownerReferenceEnabled=true secret has owner reference for certificate with wrong APIVersion value should return true", true,
			refs(foo, bar, certRef(func(r *metav1.OwnerReference) { r.APIVersion = "acme.cert-manager.io/v1" })), true),
		value("ownerReferenceEnabled=true secret has owner reference for certificate with wrong Kind value should return true", true,
			refs(foo, bar, certRef(func(r *metav1.OwnerReference) { r.Kind = "Issuer" })), true),
		value("ownerReferenceEnabled=true secret has owner reference for certificate with wrong Controller value should return true", true,
			refs(foo, bar, certRef(func(r *metav1.OwnerReference) { r.Controller = ptr(false) })), true),
		value("ownerReferenceEnabled=true secret has owner reference for certificate with wrong BlockDeletion value should return true", true,
			refs(foo, bar, certRef(func(r *metav1.OwnerReference) { r.BlockOwnerDeletion = ptr(false) })), true),
	}
}

// readinessRows are TestNewReadinessPolicyChain
// (pkg/controller/certificates/readiness/readiness_controller_test.go), at
// cert-manager's zero clock.
func readinessRows() []replayRow {
	const table = "TestNewReadinessPolicyChain"
	row := func(name string, reason, message string, input func(t *testing.T) (Input, Options)) replayRow {
		return replayRow{table: table, name: name, chain: chainReadiness, input: input, violated: reason != "", reason: reason, message: message}
	}
	plain := func(secret func(t *testing.T) *corev1.Secret) func(t *testing.T) (Input, Options) {
		return func(t *testing.T) (Input, Options) {
			var s *corev1.Secret
			if secret != nil {
				s = secret(t)
			}
			return triggerInput(triggerCertificate(cmapi.CertificateSpec{SecretName: "something"}), s, nil)
		}
	}
	// issued is the last three cases: a Certificate for new.example.com
	// from testissuer, its Secret with leaf from notBefore to notAfter
	// and with common name leafCN, and the request for requestCN.
	issued := func(leafCN, requestCN string, notBefore, notAfter time.Duration) func(t *testing.T) (Input, Options) {
		return func(t *testing.T) (Input, Options) {
			crt := triggerCertificate(cmapi.CertificateSpec{CommonName: "new.example.com", IssuerRef: testIssuerRef})
			crt.Name = "something"
			leaf := replayLeaf(t, replayKey(), leafCN, replayClock.Add(notBefore), replayClock.Add(notAfter))
			if notBefore == 0 && notAfter == 0 {
				leaf = replayLeaf90d(t, replayKey(), leafCN)
			}
			return triggerInput(crt,
				triggerSecret(testIssuerAnnotations(), map[string][]byte{corev1.TLSPrivateKeyKey: pkcs8PEM(t, replayKey()), corev1.TLSCertKey: leaf}),
				&cmapi.CertificateRequest{Spec: cmapi.CertificateRequestSpec{IssuerRef: testIssuerRef, Request: replayCSR(t, replayKey(), requestCN)}})
		}
	}
	data := func(d func(t *testing.T) map[string][]byte) func(t *testing.T) *corev1.Secret {
		return func(t *testing.T) *corev1.Secret { return triggerSecret(nil, d(t)) }
	}
	return []replayRow{
		row("Certificate not Ready if Secret is missing", "DoesNotExist", "Issuing certificate as Secret does not exist", plain(nil)),
		row("Certificate not Ready as Secret does not contain any data", "MissingData", "Issuing certificate as Secret does not contain any data",
			plain(func(*testing.T) *corev1.Secret { return triggerSecret(nil, nil) })),
		row("Certificate not Ready as Secret is missing private key", "MissingData", "Issuing certificate as Secret does not contain a private key",
			plain(data(func(*testing.T) map[string][]byte { return map[string][]byte{corev1.TLSCertKey: []byte("test")} }))),
		row("Certificate not Ready as Secret is missing certificate", "MissingData", "Issuing certificate as Secret does not contain a certificate",
			plain(data(func(*testing.T) map[string][]byte { return map[string][]byte{corev1.TLSPrivateKeyKey: []byte("test")} }))),
		row("Certificate not Ready as Secret contains corrupt private key and certificate data", "InvalidKeyPair",
			"Issuing certificate as Secret contains invalid private key data: error decoding private key PEM block: no PEM data was found in given input",
			plain(data(func(*testing.T) map[string][]byte {
				return map[string][]byte{corev1.TLSPrivateKeyKey: []byte("test"), corev1.TLSCertKey: []byte("test")}
			}))),
		row("Certificate not Ready as Secret contains corrupt certificate data", "InvalidCertificate",
			"Issuing certificate as Secret contains an invalid certificate: error decoding certificate PEM block: no valid certificates found",
			plain(data(func(t *testing.T) map[string][]byte {
				return map[string][]byte{corev1.TLSPrivateKeyKey: pkcs8PEM(t, replayKey()), corev1.TLSCertKey: []byte("test")}
			}))),
		row("Certificate not Ready as Secret contains a non-matching key-pair", "InvalidKeyPair",
			"Issuing certificate as Secret contains a private key that does not match the certificate",
			plain(data(func(t *testing.T) map[string][]byte {
				return map[string][]byte{corev1.TLSPrivateKeyKey: pkcs8PEM(t, replayKey()), corev1.TLSCertKey: replayLeaf90d(t, otherRSA(), "example.com")}
			}))),
		row("Certificate not Ready when CertificateRequest does not match certificate spec", "RequestChanged",
			"Fields on existing CertificateRequest resource not up to date: [spec.commonName]",
			issued("old.example.com", "old.example.com", 0, 0)),
		row("Certificate is not Ready when it has expired", "Expired", "Certificate expired on Sun, 31 Dec 0000 23:00:00 UTC",
			issued("new.example.com", "new.example.com", -3*time.Hour, -time.Hour)),
		row("Certificate is Ready, no policy violations found", "", "",
			issued("new.example.com", "new.example.com", 0, 3*time.Hour)),
	}
}

// secretDataRows are Test_ensureSecretData
// (pkg/controller/certificates/issuing/secret_manager_test.go): does the
// issuing controller rewrite the Secret? Its Certificates have no
// issuerRef and no names; a row adds issuerRef.name "testissuer" and the
// leaf's common name, "test" (or example.com, as the case's keystore
// Certificates have), and a keystore's passwordSecretRef, which the webhook
// requires. The Certificate's namespace and name are "test-namespace" and
// "test-name", its Secret "test-secret" or "something", as in the case.
func secretDataRows() []replayRow {
	const table = "Test_ensureSecretData"
	// managedBlob is the managedFields most of the cases give the Secret:
	// the base label, the four details annotations a leaf without SANs
	// has, and an owner reference to uid-123.
	const managedBlob = `{"f:metadata":{"f:labels":{"f:controller.cert-manager.io/fao":{}},` +
		`"f:annotations":{"f:cert-manager.io/common-name":{},"f:cert-manager.io/alt-names":{},"f:cert-manager.io/ip-sans":{},"f:cert-manager.io/uri-sans":{}},` +
		`"f:ownerReferences":{"k:{\"uid\":\"uid-123\"}":{}}}}`
	type secretCase struct {
		name        string
		noCert      bool // the case has no Certificate (its "key" cases)
		uid         string
		commonName  string // of the Certificate and the leaf
		issuing     *cmmeta.ConditionStatus
		spec        func(*cmapi.CertificateSpec)
		noSecret    bool
		secretName  string
		labels      map[string]string
		annotations map[string]string
		ownerUID    string // an owner reference to the Certificate with this UID
		managed     []metav1.ManagedFieldsEntry
		data        func(pk, cert, pkDER, combined []byte) map[string][]byte
		ownerRef    bool
		rewrite     bool
		deliberate  string
	}
	template := func(s *cmapi.CertificateSpec) {
		s.SecretTemplate = &cmapi.CertificateSecretTemplate{Annotations: map[string]string{"foo": "bar"}, Labels: map[string]string{"abc": "123"}}
	}
	formats := func(f ...cmapi.CertificateOutputFormatType) func(*cmapi.CertificateSpec) {
		return func(s *cmapi.CertificateSpec) {
			s.AdditionalOutputFormats = []cmapi.CertificateAdditionalOutputFormat{}
			for _, t := range f {
				s.AdditionalOutputFormats = append(s.AdditionalOutputFormats, cmapi.CertificateAdditionalOutputFormat{Type: t})
			}
		}
	}
	passwordRef := cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "keystore-password"}, Key: "password"}
	jks := func(create bool) func(*cmapi.CertificateSpec) {
		return func(s *cmapi.CertificateSpec) {
			s.Keystores = &cmapi.CertificateKeystores{JKS: &cmapi.JKSKeystore{Create: create, PasswordSecretRef: passwordRef}}
		}
	}
	pkcs12 := func(create bool) func(*cmapi.CertificateSpec) {
		return func(s *cmapi.CertificateSpec) {
			s.Keystores = &cmapi.CertificateKeystores{PKCS12: &cmapi.PKCS12Keystore{Create: create, PasswordSecretRef: passwordRef}}
		}
	}
	noStores := func(s *cmapi.CertificateSpec) { s.Keystores = &cmapi.CertificateKeystores{} }
	status := func(s cmmeta.ConditionStatus) *cmmeta.ConditionStatus { return &s }
	pair := func(pk, cert, _, _ []byte) map[string][]byte {
		return map[string][]byte{corev1.TLSCertKey: cert, corev1.TLSPrivateKeyKey: pk}
	}
	with := func(key string, value []byte) func(pk, cert, pkDER, combined []byte) map[string][]byte {
		return func(pk, cert, pkDER, combined []byte) map[string][]byte {
			d := pair(pk, cert, pkDER, combined)
			d[key] = value
			return d
		}
	}
	fao := map[string]string{cmapi.PartOfCertManagerControllerLabelKey: "true"}
	blob := []metav1.ManagedFieldsEntry{appliedEntry(FieldManager, managedBlob)}
	// keystoreCase is the keystore cases' shared shape: a Certificate
	// for example.com from testissuer with owner references on, and its
	// Secret with issuer annotations, the base label, an owner reference
	// to uid-123, managedBlob, and the key pair plus extra.
	keystoreCase := func(name, uid string, spec func(*cmapi.CertificateSpec), extraKey string, rewrite bool, deliberate string) secretCase {
		c := secretCase{
			name: name, uid: uid, commonName: "example.com", spec: spec, secretName: "something",
			labels: fao, annotations: testIssuerAnnotations(), ownerUID: uid, managed: blob, data: pair,
			ownerRef: true, rewrite: rewrite, deliberate: deliberate,
		}
		if uid == "uid-234" {
			c.secretName = "test-secret"
		}
		if extraKey != "" {
			c.data = with(extraKey, []byte("SomeData"))
		}
		return c
	}
	const presence = "A label or annotation certsweep writes that is missing from the Secret is restored"
	cases := []secretCase{
		{name: "if 'key' is empty, should do nothing and not error", noCert: true},
		{name: "if 'key' is an invalid value, should do nothing and not error", noCert: true},
		{name: "if 'key' references a Certificate that doesn't exist, should do nothing and not error", noCert: true},
		{name: "if Certificate and Secret exists, but the Secret contains no certificate or private key data, do nothing", spec: template,
			data: func(_, _, _, _ []byte) map[string][]byte { return map[string][]byte{} }},
		{name: "if Certificate and Secret exists, but the Secret contains no certificate data, do nothing", spec: template,
			data: func(pk, _, _, _ []byte) map[string][]byte { return map[string][]byte{corev1.TLSPrivateKeyKey: pk} }},
		{name: "if Certificate and Secret exists, but the Secret contains no private key data, do nothing", spec: template,
			data: func(_, cert, _, _ []byte) map[string][]byte { return map[string][]byte{"tls.cert": cert} }},
		{name: "if Certificate and Secret exists, but the Certificate has a True Issuing condition, do nothing", spec: template,
			issuing: status(cmmeta.ConditionTrue), data: pair},
		{name: "if Certificate exists without a Issuing condition, but Secret does not exist, do nothing", spec: template, noSecret: true},
		{name: "if Certificate exists in a false Issuing condition, Secret exists and matches the SecretTemplate but no managed fields, should reconcile Secret",
			spec: template, issuing: status(cmmeta.ConditionFalse), labels: map[string]string{"abc": "123"}, annotations: map[string]string{"foo": "bar"},
			data: pair, rewrite: true},
		{name: "if Certificate exists in a false Issuing condition, Secret exists and matches the SecretTemplate but the managed fields contains more than what is in the SecretTemplate, should reconcile Secret",
			spec: template, issuing: status(cmmeta.ConditionFalse), labels: map[string]string{"abc": "123"}, annotations: map[string]string{"foo": "bar"},
			managed: []metav1.ManagedFieldsEntry{appliedEntry(FieldManager, `{"f:metadata":{"f:annotations":{"f:cert-manager.io/common-name":{},"f:cert-manager.io/alt-names":{},`+
				`"f:cert-manager.io/ip-sans":{},"f:cert-manager.io/uri-sans":{},"f:foo":{},"f:another-annotation":{}},"f:labels":{"f:controller.cert-manager.io/fao":{},"f:abc":{},"f:another-label":{}}}}`)},
			data: pair, rewrite: true},
		{name: "if Certificate exists in a false Issuing condition, Secret exists and matches the SecretTemplate but the managed fields are managed by another manager, should reconcile Secret",
			spec: template, issuing: status(cmmeta.ConditionFalse), labels: map[string]string{"abc": "123"}, annotations: map[string]string{"foo": "bar"},
			managed: []metav1.ManagedFieldsEntry{appliedEntry("not-cert-manager", `{"f:metadata":{"f:annotations":{"f:cert-manager.io/common-name":{},"f:cert-manager.io/alt-names":{},`+
				`"f:cert-manager.io/ip-sans":{},"f:cert-manager.io/uri-sans":{},"f:foo":{}},"f:labels":{"f:controller.cert-manager.io/fao":{},"f:abc":{}}}}`)},
			data: pair, rewrite: true},
		{name: "if Certificate exists in a false Issuing condition, Secret exists and matches the SecretTemplate with the correct managed fields and base labels, should do nothing",
			spec: template, issuing: status(cmmeta.ConditionFalse),
			labels: map[string]string{"abc": "123", cmapi.PartOfCertManagerControllerLabelKey: "true"}, annotations: map[string]string{"foo": "bar"},
			managed: []metav1.ManagedFieldsEntry{appliedEntry(FieldManager, `{"f:metadata":{"f:annotations":{"f:cert-manager.io/common-name":{},"f:cert-manager.io/alt-names":{},`+
				`"f:cert-manager.io/ip-sans":{},"f:cert-manager.io/uri-sans":{},"f:foo":{}},"f:labels":{"f:controller.cert-manager.io/fao":{},"f:abc":{}}}}`)},
			data: pair, deliberate: presence},
		{name: "if Certificate exists in a false Issuing condition, Secret exists but does not match SecretTemplate, should apply the Labels and Annotations",
			spec: template, issuing: status(cmmeta.ConditionFalse), labels: fao, data: pair, rewrite: true},
		{name: "if Certificate exists in a false Issuing condition, Secret exists but is missing the required label, apply the label",
			spec: template, issuing: status(cmmeta.ConditionFalse), labels: map[string]string{"foo": "bar"}, data: pair, rewrite: true},
		{name: "if Certificate exists in a false Issuing condition, Secret exists with some labels, but is missing the required label, apply the label",
			spec: template, issuing: status(cmmeta.ConditionFalse), data: pair, rewrite: true},
		{name: "if Certificate with combined pem and Secret exists, but the Secret doesn't have combined pem, should apply the combined pem",
			spec: formats(cmapi.CertificateOutputFormatCombinedPEM), labels: fao, data: pair, rewrite: true},
		{name: "if Certificate with der and Secret exists, but the Secret doesn't have der, should apply the der",
			spec: formats(cmapi.CertificateOutputFormatDER), labels: fao, data: pair, rewrite: true},
		{name: "if Certificate with combined pem and der, and Secret exists, but the Secret doesn't have combined pem or der, should apply the combined pem and der",
			spec: formats(cmapi.CertificateOutputFormatCombinedPEM, cmapi.CertificateOutputFormatDER), labels: fao, data: pair, rewrite: true},
		{name: "if Certificate with combined pem and der, and Secret exists with combined pem and der with managed fields, should do nothing",
			spec: formats(cmapi.CertificateOutputFormatCombinedPEM, cmapi.CertificateOutputFormatDER), labels: fao,
			managed: []metav1.ManagedFieldsEntry{appliedEntry(FieldManager, managedBlob), ownedData(FieldManager, "tls-combined.pem", "key.der")},
			data: func(pk, cert, pkDER, combined []byte) map[string][]byte {
				return map[string][]byte{corev1.TLSCertKey: cert, corev1.TLSPrivateKeyKey: pk, "tls-combined.pem": combined, "key.der": pkDER}
			}, deliberate: presence},
		{name: "if Certificate with no combined pem or der, and Secret exists with combined pem and der managed by field manager, should apply to remove them",
			spec: formats(), labels: fao,
			managed: []metav1.ManagedFieldsEntry{appliedEntry(FieldManager, managedBlob), ownedData(FieldManager, "tls-combined.pem", "key.der")},
			data: func(pk, cert, pkDER, combined []byte) map[string][]byte {
				return map[string][]byte{corev1.TLSCertKey: cert, corev1.TLSPrivateKeyKey: pk, "tls-combined.pem": combined, "key.der": pkDER}
			}, rewrite: true},
		{name: "enabledOwnerRef=false if Secret has owner reference to Certificate owned by field manager, expect action",
			uid: "uid-123", labels: fao, managed: blob, data: with("key.der", nil), rewrite: true},
		{name: "enabledOwnerRef=true if Secret has owner reference to Certificate owned by field manager, expect no action",
			uid: "uid-123", labels: fao, ownerUID: "uid-123", managed: blob, data: with("key.der", nil), ownerRef: true, deliberate: presence},
		keystoreCase("refresh secrets when keystore is not defined and the secret has keystore/truststore fields", "uid-234", nil, cmapi.PKCS12TruststoreKey, true, ""),
		keystoreCase("refresh secrets when JKS keystore is defined and the secret does not have keystore/truststore fields", "uid-123", jks(true), "", true, ""),
		keystoreCase("refresh secrets when JKS keystore is defined, create is disabled and the secret has keystore/truststore fields", "uid-123", jks(false), cmapi.JKSTruststoreKey, true, ""),
		keystoreCase("refresh secrets when JKS keystore is null and the secret has keystore/truststore fields", "uid-123", noStores, cmapi.JKSTruststoreKey, true, ""),
		keystoreCase("do nothing when JKS keystore is defined and create field is set to false", "uid-123", jks(false), "", false, presence),
		keystoreCase("refresh secret when PKCS12 keystore is defined and the secret does not have keystore/truststore fields", "uid-123", pkcs12(true), "", true, ""),
		keystoreCase("refresh secret when PKCS12 keystore is defined, create is disabled and the secret has keystore/truststore fields", "uid-123", pkcs12(false), cmapi.PKCS12TruststoreKey, true, ""),
		keystoreCase("refresh secret when PKCS12 keystore is null and the secret has keystore/truststore fields", "uid-123", noStores, cmapi.PKCS12TruststoreKey, true, ""),
		keystoreCase("do nothing when PKCS12 keystore is defined and the create is set to false", "uid-123", pkcs12(false), "", false, presence),
	}

	rows := make([]replayRow, 0, len(cases))
	for _, c := range cases {
		rows = append(rows, replayRow{
			table: table, name: c.name, chain: chainSecretData, violated: c.rewrite, deliberate: c.deliberate,
			input: func(t *testing.T) (Input, Options) {
				opts := Options{OwnerRef: c.ownerRef}
				if c.noCert {
					return Input{Now: now}, opts
				}
				commonName := c.commonName
				if commonName == "" {
					commonName = "test"
				}
				issuerRef := cmmeta.IssuerReference{Name: "testissuer"}
				if commonName == "example.com" {
					issuerRef = testIssuerRef
				}
				secretName := c.secretName
				if secretName == "" {
					secretName = "test-secret"
				}
				crt := &cmapi.Certificate{
					ObjectMeta: metav1.ObjectMeta{Namespace: "test-namespace", Name: "test-name", UID: types.UID(c.uid)},
					Spec:       cmapi.CertificateSpec{SecretName: secretName, CommonName: commonName, IssuerRef: issuerRef},
				}
				if c.spec != nil {
					c.spec(&crt.Spec)
				}
				if c.issuing != nil {
					crt.Status.Conditions = []cmapi.CertificateCondition{{Type: cmapi.CertificateConditionIssuing, Status: *c.issuing}}
				}
				in := Input{Certificate: crt, Now: now}
				if c.noSecret {
					return in, opts
				}
				pk := pkcs8PEM(t, replayKey())
				cert := replayLeaf90d(t, replayKey(), commonName)
				block, _ := pem.Decode(pk)
				combined := append(append(append([]byte{}, pk...), '\n'), cert...)
				secret := &corev1.Secret{
					ObjectMeta: metav1.ObjectMeta{Namespace: "test-namespace", Name: secretName, Labels: c.labels, Annotations: c.annotations, ManagedFields: c.managed},
				}
				if c.data != nil {
					secret.Data = c.data(pk, cert, block.Bytes, combined)
					if v, ok := secret.Data["key.der"]; ok && v == nil {
						secret.Data["key.der"] = block.Bytes
					}
				}
				if c.ownerUID != "" {
					secret.OwnerReferences = []metav1.OwnerReference{{APIVersion: "cert-manager.io/v1", Kind: "Certificate", Name: "test-name",
						UID: types.UID(c.ownerUID), Controller: ptr(true), BlockOwnerDeletion: ptr(true)}}
				}
				in.Secret = secret
				return in, opts
			},
		})
	}
	return rows
}

// issuingRows are TestIssuingController
// (pkg/controller/certificates/issuing/issuing_controller_test.go): the
// Certificate "test" in the middle of an issuance of revision 2 through
// Issuer foo.io/ca-issuer (an external issuer: its own controller signs),
// its next CertificateRequest, its next private key, and its Secret
// "output", at the fixed clock (ours is the package's now).
func issuingRows() []replayRow {
	const table = "TestIssuingController"
	const reasons = "The certificate request failed because of reasons"
	const failedPrefix = "The certificate request has failed to complete and will be retried: "
	issuerRef := cmmeta.IssuerReference{Name: "ca-issuer", Kind: "Issuer", Group: "foo.io"}
	base := func() *cmapi.Certificate {
		return &cmapi.Certificate{
			ObjectMeta: metav1.ObjectMeta{Name: "test", Namespace: "default", Generation: 3, UID: "test-uid"},
			Spec: cmapi.CertificateSpec{
				IssuerRef: issuerRef, SecretName: "output", DNSNames: []string{"example.com"},
				RenewBefore: &metav1.Duration{Duration: 36 * time.Hour},
			},
			Status: cmapi.CertificateStatus{Revision: ptr(1), NextPrivateKeySecretName: ptr("next-private-key")},
		}
	}
	// issuing is the Certificate with Issuing True since the clock's start.
	issuing := func(edit func(*cmapi.Certificate)) func() *cmapi.Certificate {
		return func() *cmapi.Certificate {
			crt := base()
			crt.Status.Conditions = []cmapi.CertificateCondition{{Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionTrue, ObservedGeneration: 3, LastTransitionTime: mtime(now)}}
			if edit != nil {
				edit(crt)
			}
			return crt
		}
	}
	temp := func(crt *cmapi.Certificate) {
		crt.Annotations = map[string]string{cmapi.IssueTemporaryCertificateAnnotation: "true"}
	}
	// The bundle: the next key, a CSR for the spec made with it, and a
	// certificate for it; and the alternative bundle's key and certificate.
	bundleKey, altKey := replayKey, otherRSA
	bundleCert := func(t *testing.T, key crypto.Signer, notBefore, notAfter time.Time) []byte {
		return certPEM(t, key, func(c *x509.Certificate) {
			c.Subject = pkix.Name{}
			c.NotBefore, c.NotAfter = notBefore, notAfter
		})
	}
	request := func(t *testing.T, dnsName string, conditions ...cmapi.CertificateRequestCondition) *cmapi.CertificateRequest {
		csr := csrPEM(t, bundleKey(), func(r *x509.CertificateRequest) { r.Subject = pkix.Name{}; r.DNSNames = []string{dnsName} })
		return &cmapi.CertificateRequest{
			ObjectMeta: metav1.ObjectMeta{Name: "test-2", Namespace: "default", Annotations: map[string]string{
				cmapi.CertificateRequestRevisionAnnotationKey:   "2",
				cmapi.CertificateRequestPrivateKeyAnnotationKey: "output",
				cmapi.CertificateNameKey:                        "test",
			}},
			Spec:   cmapi.CertificateRequestSpec{Request: csr, IssuerRef: issuerRef},
			Status: cmapi.CertificateRequestStatus{Conditions: conditions},
		}
	}
	ready := cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionTrue, Reason: cmapi.CertificateRequestReasonIssued}
	pending := cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionFalse, Reason: cmapi.CertificateRequestReasonPending}
	failed := cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionFalse, Reason: cmapi.CertificateRequestReasonFailed, Message: reasons}
	denied := cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionDenied, Status: cmmeta.ConditionTrue, Reason: "DeniedReason", Message: "The certificate request has been denied"}
	invalid := cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionInvalidRequest, Status: cmmeta.ConditionTrue, Reason: "InvalidRequest", Message: "The certificate request is invalid"}
	readyRequest := func(t *testing.T) *cmapi.CertificateRequest {
		cr := request(t, "example.com", ready)
		cr.Status.Certificate = bundleCert(t, bundleKey(), now, now.Add(90*24*time.Hour))
		return cr
	}
	// key is the next-private-key Secret holding k's key, or garbage.
	key := func(t *testing.T, k crypto.Signer, garbage bool) []*corev1.Secret {
		data := []byte("bad key")
		if !garbage {
			data = keyPEM(t, k)
		}
		return []*corev1.Secret{{ObjectMeta: metav1.ObjectMeta{Name: "next-private-key", Namespace: "default"}, Data: map[string][]byte{corev1.TLSPrivateKeyKey: data}}}
	}
	withKey := func(t *testing.T) []*corev1.Secret { return key(t, bundleKey(), false) }
	output := func(data map[string][]byte) *corev1.Secret {
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "output", Namespace: "default", Annotations: map[string]string{"my-custom": "annotation"}, Labels: map[string]string{}},
			Type:       corev1.SecretTypeTLS, Data: data,
		}
	}
	type issuingCase struct {
		name       string
		crt        func() *cmapi.Certificate
		next       func(t *testing.T) *cmapi.CertificateRequest
		keys       func(t *testing.T) []*corev1.Secret
		secret     func(t *testing.T) *corev1.Secret
		outcome    issuingOutcome
		reason     string
		message    string
		attempts   int
		deliberate string
	}
	req := func(conditions ...cmapi.CertificateRequestCondition) func(t *testing.T) *cmapi.CertificateRequest {
		return func(t *testing.T) *cmapi.CertificateRequest { return request(t, "example.com", conditions...) }
	}
	fails := func(c issuingCase, reason, detail string, attempts int) issuingCase {
		c.outcome, c.reason, c.message, c.attempts = issuingFails, reason, failedPrefix+detail, attempts
		return c
	}
	cases := []issuingCase{
		{name: "if certificate is not in Issuing state, then do nothing", crt: base},
		{name: "if certificate is an Issuing state but is set to False, then do nothing", crt: func() *cmapi.Certificate {
			crt := base()
			crt.Status.Conditions = []cmapi.CertificateCondition{{Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionFalse}}
			return crt
		}},
		{name: "if certificate is in Issuing state, but no NextPrivateKeySecretName, do nothing", crt: issuing(func(c *cmapi.Certificate) { c.Status.NextPrivateKeySecretName = nil })},
		{name: "if certificate is in Issuing state, but no CertificateRequests, do nothing", crt: issuing(nil)},
		{name: "if certificate is in Issuing state, but two CertificateRequests, do nothing", crt: issuing(nil), next: readyRequest},
		{name: "if certificate is in Issuing state, one CertificateRequest, but not in final state, do nothing", crt: issuing(nil), next: req(pending)},
		{name: "if certificate is in Issuing state, one CertificateRequest, but has failed and does not match the certificate spec, do nothing", crt: issuing(nil),
			next: func(t *testing.T) *cmapi.CertificateRequest { return request(t, "foo.com", failed) }, keys: withKey},
		{name: "if certificate is in Issuing state, one CertificateRequest that has failed during previous issuance, do nothing", crt: issuing(nil),
			next: func(t *testing.T) *cmapi.CertificateRequest {
				cr := request(t, "example.com", failed)
				cr.Status.FailureTime = mtime(now.Add(-time.Hour))
				return cr
			}, keys: withKey},
		fails(issuingCase{name: "if certificate is in Issuing state, one CertificateRequest, and has failed for the first time during this series of attempts, set failed state with one issuance attempt and log event",
			crt: issuing(nil), next: req(failed), keys: withKey}, "Failed", reasons, 1),
		fails(issuingCase{name: "if certificate is in Issuing state, one CertificateRequest, and has failed for the fifth time during this series of attempts, set failed state with five issuance attempts and log event",
			crt: issuing(func(c *cmapi.Certificate) { c.Status.FailedIssuanceAttempts = ptr(4) }), next: req(failed), keys: withKey,
			deliberate: "`status.failedIssuanceAttempts` without `status.lastFailureTime` is ignored"}, "Failed", reasons, 5),
		{name: "if certificate is in Issuing state, one CertificateRequest, but has failed, but the private key does not exist, do nothing", crt: issuing(nil), next: req(failed),
			deliberate: "A failed request is recorded as a failed attempt even when its next private key is gone"},
		{name: "if certificate is in Issuing state, one CertificateRequest, and is ready, but the Secret storing the private key does not exist, do nothing", crt: issuing(nil), next: readyRequest},
		{name: "if certificate is in Issuing state, one CertificateRequest, and is ready, but the private key stored in the Secret cannot be parsed, do nothing", crt: issuing(nil), next: readyRequest,
			keys: func(t *testing.T) []*corev1.Secret { return key(t, nil, true) }},
		{name: "if certificate is in Issuing state, one CertificateRequest, and is ready, but the private key stored in the Secret does not match that creating the CSR, do nothing", crt: issuing(nil), next: readyRequest,
			keys: func(t *testing.T) []*corev1.Secret { return key(t, altKey(), false) }},
		{name: "if certificate is in Issuing state, one CertificateRequest with a failure time but no Ready condition, do nothing", crt: issuing(nil),
			next: func(t *testing.T) *cmapi.CertificateRequest {
				cr := request(t, "example.com")
				cr.Status.FailureTime = mtime(now.Add(-time.Hour))
				return cr
			}, keys: withKey},
		{name: "if certificate is in Issuing state, one CertificateRequest, and is ready, but the CertificateRequest contains a violation, do nothing", crt: issuing(nil),
			next: func(t *testing.T) *cmapi.CertificateRequest {
				cr := readyRequest(t)
				cr.Spec.Usages = []cmapi.KeyUsage{cmapi.UsageCRLSign}
				return cr
			}, keys: withKey, outcome: issuingNothing,
			deliberate: "A CertificateRequest that already holds its certificate is stored even if the spec changed since it was made"},
		{name: "if certificate is in Issuing state, one CertificateRequests, and is ready, store the signed certificate, ca, and private key to a new secret, and log an event",
			crt: issuing(nil), next: readyRequest, keys: withKey, outcome: issuingStores},
		{name: "if certificate is in Issuing state, one CertificateRequests, and is ready, store the signed certificate, ca, and private key to an existing secret, and log an event",
			crt: issuing(nil), next: readyRequest, keys: withKey, secret: func(*testing.T) *corev1.Secret { return output(nil) }, outcome: issuingStores},
		{name: "if certificate is in Issuing state, one ready CertificateRequest and has last failure time set from previous issuance, set the Issuing condition to true, remove last failure time and store the signed certificate, ca, and private key to an existing secret, and log an event",
			crt: issuing(func(c *cmapi.Certificate) { c.Status.LastFailureTime = mtime(now) }), next: readyRequest, keys: withKey,
			secret: func(*testing.T) *corev1.Secret { return output(nil) }, outcome: issuingStores},
		{name: "if certificate is in Issuing state, one ready CertificateRequest and has last failure time and issuance attempts set from a previous issuance, set the Issuing condition to true, remove last failure time and issuance attempts and store the signed certificate, ca, and private key to an existing secret, and log an event",
			crt: issuing(func(c *cmapi.Certificate) {
				c.Status.LastFailureTime = mtime(now)
				c.Status.FailedIssuanceAttempts = ptr(4)
			}), next: readyRequest, keys: withKey,
			secret: func(*testing.T) *corev1.Secret { return output(nil) }, outcome: issuingStores},
		{name: "if certificate is in Issuing state with temp annotation, one CertificateRequest Pending, no target Secret, create target secret with temporary certificate",
			crt: issuing(temp), next: req(pending), keys: withKey, outcome: issuingTemporary},
		{name: "if certificate is in Issuing state with temp annotation, one CertificateRequest Pending, a target Secret but with no data, issue temporary certificate to that Secret",
			crt: issuing(temp), next: req(pending), keys: withKey, secret: func(*testing.T) *corev1.Secret { return output(nil) }, outcome: issuingTemporary},
		{name: "if certificate is in Issuing state with temp annotation, one CertificateRequest Pending, a target Secret but with a cert/key that is not the NextPrivateKey, do nothing",
			crt: issuing(temp), next: req(pending), keys: withKey, secret: func(t *testing.T) *corev1.Secret {
				return output(map[string][]byte{corev1.TLSCertKey: bundleCert(t, altKey(), now, now.Add(90*24*time.Hour)), corev1.TLSPrivateKeyKey: keyPEM(t, altKey())})
			}},
		{name: "if certificate is in Issuing state with temp annotation, one CertificateRequest Pending, a target Secret with a cert/key that are garbage, issue temporary certificate",
			crt: issuing(temp), next: req(pending), keys: withKey, secret: func(*testing.T) *corev1.Secret {
				return output(map[string][]byte{corev1.TLSPrivateKeyKey: []byte("abc")})
			}, outcome: issuingTemporary},
		{name: "if certificate is in Issuing state with temp annotation, one CertificateRequest Pending, a target Secret with a cert/key with a matching key, do not issue temporary certificate",
			crt: issuing(temp), next: req(pending), keys: withKey, secret: func(t *testing.T) *corev1.Secret {
				crt := issuing(temp)()
				tempCert, err := issuance.TemporaryCertificate(crt, bundleKey(), now)
				if err != nil {
					t.Fatal(err)
				}
				return output(map[string][]byte{corev1.TLSCertKey: tempCert, corev1.TLSPrivateKeyKey: keyPEM(t, bundleKey())})
			}},
		{name: "if certificate is in Issuing state with temp annotation, one CertificateRequest Ready, a target Secret does not exist, issue Certificate from CertificateRequest",
			crt: issuing(temp), next: readyRequest, keys: withKey, outcome: issuingStores},
		fails(issuingCase{name: "if certificate is in Issuing state with temp annotation, one CertificateRequest Failed, a target Secret does not exist, mark the Certificate as failed",
			crt: issuing(temp), next: req(failed), keys: withKey}, "Failed", reasons, 1),
		fails(issuingCase{name: "if certificate is in Issuing state, one CertificateRequest without Ready condition, but with Denied condition, report denial and set last failed time and issuance attempts",
			crt: issuing(nil), next: req(denied), keys: withKey}, "DeniedReason", "The certificate request has been denied", 1),
		fails(issuingCase{name: "if certificate is in Issuing state, one CertificateRequest with a pending Ready condition and a Denied condition, report denial and set last failed time and issuance attempts",
			crt: issuing(nil), next: req(denied, cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionFalse, Reason: "Pending", Message: "The certificate request is pending"}),
			keys: withKey}, "DeniedReason", "The certificate request has been denied", 1),
		fails(issuingCase{name: "if certificate is in Issuing state, one CertificateRequest that has been issued, but also has a Denied condition, report denial and set last failed time and issuance attempts",
			crt: issuing(nil), next: req(denied, cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionTrue, Reason: "Issued", Message: "The certificate request has been issued"}),
			keys: withKey}, "DeniedReason", "The certificate request has been denied", 1),
		fails(issuingCase{name: "if certificate is in Issuing state, one CertificateRequest that has no ready condition and has been marked as invalid, report error and set last failed time and issuance attempts",
			crt: issuing(nil), next: req(invalid), keys: withKey}, "InvalidRequest", "The certificate request is invalid", 1),
		fails(issuingCase{name: "if certificate is in Issuing state, one CertificateRequest that has a pending ready condition and has been marked as invalid, report error and set last failed time and issuance attempts",
			crt: issuing(nil), next: req(invalid, cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionFalse, Reason: "Pending", Message: "The certificate request is being issued"}),
			keys: withKey}, "InvalidRequest", "The certificate request is invalid", 1),
		fails(issuingCase{name: "if certificate is in Issuing state, one CertificateRequest that has been issued, but has also been marked as invalid, report error and set last failed time and issuance attempts",
			crt: issuing(nil), next: req(invalid, cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionTrue, Reason: "Issued", Message: "The certificate request has been issued"}),
			keys: withKey}, "InvalidRequest", "The certificate request is invalid", 1),
		fails(issuingCase{name: "if certificate is in Issuing state, CertificateRequest is ready but returns certificate with mismatched public key, fail issuance with backoff",
			crt: issuing(nil), next: func(t *testing.T) *cmapi.CertificateRequest {
				cr := readyRequest(t)
				cr.Status.Certificate = bundleCert(t, altKey(), now, now.Add(90*24*time.Hour))
				return cr
			}, keys: withKey}, "InvalidCertificate", "Issuer returned a certificate with a public key that does not match the CSR. This usually indicates a misconfigured issuer.", 1),
		fails(issuingCase{name: "if certificate is in Issuing state, CertificateRequest is ready but returns already expired certificate, fail issuance with backoff",
			crt: issuing(nil), next: func(t *testing.T) *cmapi.CertificateRequest {
				cr := readyRequest(t)
				cr.Status.Certificate = bundleCert(t, bundleKey(), now.Add(-2*time.Hour), now.Add(-time.Hour))
				return cr
			}, keys: withKey}, "InvalidCertificate",
			"Issuer returned an already expired certificate (notAfter: "+now.Add(-time.Hour).UTC().Format(time.RFC3339)+"). This usually indicates an expired CA certificate in the issuer.", 1),
	}
	rows := make([]replayRow, 0, len(cases))
	for _, c := range cases {
		outcome := c.outcome
		if outcome == "" {
			outcome = issuingNothing
		}
		rows = append(rows, replayRow{
			table: table, name: c.name, chain: chainIssuing, violated: outcome != issuingNothing,
			outcome: outcome, reason: c.reason, message: c.message, attempts: c.attempts, deliberate: c.deliberate,
			input: func(t *testing.T) (Input, Options) {
				in := Input{Certificate: c.crt(), Now: now}
				if c.next != nil {
					in.NextRequest = c.next(t)
				}
				if c.keys != nil {
					in.NextKeys = c.keys(t)
				}
				if c.secret != nil {
					in.Secret = c.secret(t)
				}
				return in, Options{}
			},
		})
	}
	return rows
}

// replayRows is every case of the replayed tables, grouped by the chain
// it exercises.
func replayRows() []replayRow {
	var rows []replayRow
	rows = append(rows, triggerRows()...)
	rows = append(rows, managedMetadataRows()...)
	rows = append(rows, templateRows()...)
	rows = append(rows, templateOwnershipRows()...)
	rows = append(rows, outputFormatRows()...)
	rows = append(rows, outputFormatOwnershipRows()...)
	rows = append(rows, ownerRefRows()...)
	rows = append(rows, readinessRows()...)
	rows = append(rows, secretDataRows()...)
	rows = append(rows, issuingRows()...)
	return rows
}

// replayedCases is how many cases each replayed table of cert-manager
// v1.21.2 has (181 in all); the replay has one row for each.
var replayedCases = map[string]int{
	"Test_NewTriggerPolicyChain":                                  22,
	"Test_SecretCertificateNameAnnotationsMismatch":               3,
	"Test_SecretManagedLabelsAndAnnotationsManagedFieldsMismatch": 4,
	"Test_SecretSecretTemplateMismatch":                           9,
	"Test_SecretSecretTemplateManagedFieldsMismatch":              14,
	"Test_SecretAdditionalOutputFormatsMismatch":                  13,
	"Test_SecretAdditionalOutputFormatsManagedFieldsMismatch":     18,
	"Test_SecretOwnerReferenceManagedFieldMismatch":               8,
	"Test_SecretOwnerReferenceMismatch":                           14,
	"TestNewReadinessPolicyChain":                                 10,
	"Test_ensureSecretData":                                       31,
	"TestIssuingController":                                       35,
}

// issuingOutcomeOf is what the issuing controller's part of d comes to,
// with job/'s check before storing a certificate.
func issuingOutcomeOf(d Decision, in Input) (outcome issuingOutcome, reason, message string, attempts int) {
	switch {
	case d.Failure != nil:
		return issuingFails, d.Failure.Reason, d.Failure.Message, d.Failure.Retry.FailedAttempts
	case d.Action == ActionIssue && d.Request == RequestIssued:
		cert := in.NextRequest.Status.Certificate
		if leaf, reason, message := issuance.VerifyIssued(cert, in.NextRequest.Spec.Request, in.Now); leaf == nil {
			f := d.Fail(ClassIssuance, reason, message, in.Now)
			return issuingFails, f.Reason, f.Message, f.Retry.FailedAttempts
		}
		if d.Key.Key == nil || !issuance.KeyMatchesCertificate(d.Key.Key, cert) {
			return issuingNothing, "", "no key for the certificate", 0
		}
		return issuingStores, "", "", 0
	case d.Action == ActionIssue && d.TemporaryCertificate && d.Key.Source == KeyAdopt:
		return issuingTemporary, "", "", 0
	}
	return issuingNothing, "", "", 0
}

// agrees reports whether d, decided on in, honours the row's verdict, and
// says what d did.
func (r replayRow) agrees(d Decision, in Input) (bool, string) {
	got := fmt.Sprintf("%s %q %q", d.Action, d.Reason, d.Message)
	switch {
	case r.chain == chainIssuing:
		outcome, reason, message, attempts := issuingOutcomeOf(d, in)
		got = fmt.Sprintf("%s %q %q after %d attempt(s) (Decision: %s request %q)", outcome, reason, message, attempts, d.Action, d.Request)
		if outcome != r.outcome {
			return false, got
		}
		return outcome != issuingFails || (reason == r.reason && message == r.message && attempts == r.attempts), got
	case r.chain == chainReadiness:
		got = fmt.Sprintf("Ready=%s %q %q", d.Ready.Status, d.Ready.Reason, d.Ready.Message)
		if r.violated {
			return d.Ready.Status == cmmeta.ConditionFalse && d.Ready.Reason == r.reason && d.Ready.Message == r.message, got
		}
		return d.Ready.Status == cmmeta.ConditionTrue, got
	case r.chain == chainSecretData:
		return (d.Action == ActionRewriteSecret) == r.violated, got
	case r.chain == chainTrigger && r.violated:
		return d.Action == ActionIssue && d.Reason == r.reason && d.Message == r.message, got
	case r.chain == chainTrigger:
		return d.Action != ActionIssue, got
	case r.violated:
		return d.Action == ActionRewriteSecret && d.Reason == r.reason && d.Message == r.message, got
	default:
		return d.Action == ActionNone, got
	}
}

func (r replayRow) want() string {
	if r.chain == chainIssuing {
		if r.outcome == issuingFails {
			return fmt.Sprintf("%s: %s %q %q after %d attempt(s)", r.chain, r.outcome, r.reason, r.message, r.attempts)
		}
		return fmt.Sprintf("%s: %s", r.chain, r.outcome)
	}
	if r.chain == chainSecretData {
		return fmt.Sprintf("%s: Secret rewritten %t", r.chain, r.violated)
	}
	if !r.violated {
		return fmt.Sprintf("%s chain passes", r.chain)
	}
	return fmt.Sprintf("%s chain: %q %q", r.chain, r.reason, r.message)
}

// TestReplayCertManagerPolicyTables runs every replayed case through Decide.
func TestReplayCertManagerPolicyTables(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatalf("reading README.md for the deliberate differences: %v", err)
	}
	// An entry may be wrapped anywhere; compare words.
	readme := strings.Join(strings.Fields(string(raw)), " ")
	rows := replayRows()
	perTable := map[string]int{}
	for _, row := range rows {
		perTable[row.table]++
	}
	for table, want := range replayedCases {
		if perTable[table] != want {
			t.Errorf("%s: %d rows replay its %d cases", table, perTable[table], want)
		}
	}
	for table := range perTable {
		if _, ok := replayedCases[table]; !ok {
			t.Errorf("rows name %s, which is not a replayed table", table)
		}
	}
	seen := map[string]bool{}
	var agree, deliberate int
	for _, row := range rows {
		id := row.table + "/" + row.name
		if seen[id] {
			t.Errorf("case %s is replayed twice", id)
		}
		seen[id] = true
		t.Run(id, func(t *testing.T) {
			in, opts := row.input(t)
			ok, got := row.agrees(Decide(in, opts), in)
			switch {
			case ok && row.deliberate == "":
				agree++
			case ok:
				t.Errorf("marked deliberate (%q) but agrees with cert-manager (%s); remove the mark", row.deliberate, got)
			case row.deliberate == "":
				t.Errorf("disagrees with cert-manager: want %s, got %s", row.want(), got)
			case !strings.Contains(readme, row.deliberate):
				t.Errorf("deliberate difference %q is not in README.md", row.deliberate)
			default:
				deliberate++
				t.Logf("deliberate (README: %s): cert-manager %s; certsweep %s", row.deliberate, row.want(), got)
			}
		})
	}
	t.Logf("replayed cert-manager v1.21.2's policy tables: %d cases, %d agree, %d deliberate", len(rows), agree, deliberate)
}
