package issuance

// The CA issuer: certificates signed by a CA key pair kept in a Secret
// (docs/semantics.md §7.3).

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/certsweep/certsweep/issuance/pki"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Reasons the CA issuer reports, in cert-manager's words.
const (
	ReasonSecretMissing     = "SecretMissing"
	ReasonSecretInvalidData = "SecretInvalidData"
	ReasonSigningError      = "SigningError"

	// Reasons of the issuer's own Ready condition.
	ReasonKeyPairVerified   = "KeyPairVerified"
	ReasonErrGetKeyPair     = "ErrGetKeyPair"
	ReasonErrInvalidKeyPair = "ErrInvalidKeyPair"

	MessageKeyPairVerified = "Signing CA verified"
	messageErrGetKeyPair   = "Error getting keypair for CA issuer: "
)

// SecretGetter reads one Secret. For a Secret that does not exist it returns
// an error for which apierrors.IsNotFound is true.
type SecretGetter func(ctx context.Context, namespace, name string) (*corev1.Secret, error)

// CA signs requests with the key pair in spec.ca.secretName. The Secret is
// read from namespace: the Issuer's own namespace, or the cluster resource
// namespace for a ClusterIssuer.
//
// The first time the key pair loads it is kept for the life of the CA value,
// so one sweep that signs many requests reads and parses the Secret once.
// Make a new CA per sweep to pick up a rotated CA. Failed loads are not kept.
type CA struct {
	getSecret SecretGetter
	namespace string
	spec      cmapi.CAIssuer
	// Clock returns the time certificates start; nil means time.Now.
	Clock func() time.Time

	mu     sync.Mutex
	loaded *caKeyPair
}

var _ Issuer = (*CA)(nil)

// caKeyPair is a parsed CA Secret.
type caKeyPair struct {
	key crypto.Signer
	// certs are every certificate of tls.crt, then the first of ca.crt if
	// any. certs[0] is the signing certificate.
	certs []*x509.Certificate
}

// NewCA returns the issuer for spec.ca, reading its Secret from namespace.
func NewCA(getSecret SecretGetter, namespace string, spec cmapi.CAIssuer) *CA {
	return &CA{getSecret: getSecret, namespace: namespace, spec: spec}
}

// Sign signs req.CertificateRequest with the CA key pair. A missing or
// unreadable CA Secret is a temporary NotReadyError; an unusable CSR or a
// failure to sign or to build the chain is final (SigningError).
func (c *CA) Sign(ctx context.Context, req Request) (Result, error) {
	cr := req.CertificateRequest
	if cr == nil {
		return Result{}, errors.New("no CertificateRequest to sign")
	}
	kp, err := c.keyPair(ctx)
	if err != nil {
		return Result{}, err
	}

	tmpl, err := certificateTemplate(cr, now(c.Clock))
	if err != nil {
		return failed(ReasonSigningError, "Error generating certificate template", err), nil
	}
	tmpl.CRLDistributionPoints = c.spec.CRLDistributionPoints
	tmpl.OCSPServer = c.spec.OCSPServers
	tmpl.IssuingCertificateURL = c.spec.IssuingCertificateURLs
	// A leaf that outlives its CA stops verifying when the CA expires; it
	// ends with the CA instead, and the Certificate says so.
	var warning string
	if caNotAfter := kp.certs[0].NotAfter; tmpl.NotAfter.After(caNotAfter) {
		warning = fmt.Sprintf("The requested duration would outlive the CA certificate; the certificate ends with the CA at %s", caNotAfter.UTC().Format(time.RFC3339))
		tmpl.NotAfter = caNotAfter
	}

	leaf, err := signCertificate(tmpl, kp.certs[0], kp.key)
	if err != nil {
		return failed(ReasonSigningError, "Error signing certificate", err), nil
	}
	tlsCrt, caCrt, err := buildChain(leaf, kp.certs)
	if err != nil {
		return failed(ReasonSigningError, "Error signing certificate", err), nil
	}
	return Result{State: StateIssued, Certificate: tlsCrt, CA: caCrt, Warning: warning}, nil
}

// keyPair returns the CA key pair, loading it on first use.
func (c *CA) keyPair(ctx context.Context) (*caKeyPair, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded != nil {
		return c.loaded, nil
	}

	name := c.spec.SecretName
	secret, err := c.getSecret(ctx, c.namespace, name)
	switch {
	case apierrors.IsNotFound(err):
		return nil, &NotReadyError{
			Reason:  ReasonSecretMissing,
			Message: fmt.Sprintf("Referenced secret %s/%s not found", c.namespace, name),
		}
	case err != nil:
		return nil, fmt.Errorf("failed to get CA key pair from secret %s/%s: %w", c.namespace, name, err)
	case secret == nil:
		return nil, &NotReadyError{
			Reason:  ReasonSecretMissing,
			Message: fmt.Sprintf("Referenced secret %s/%s not found", c.namespace, name),
		}
	}

	kp, err := parseCASecret(secret)
	if err != nil {
		return nil, &NotReadyError{
			Reason:  ReasonSecretInvalidData,
			Message: fmt.Sprintf("Failed to parse signing CA keypair from secret %s/%s: %v", c.namespace, name, err),
		}
	}
	c.loaded = kp
	return kp, nil
}

// parseCASecret reads tls.key, every certificate of tls.crt and the first
// certificate of ca.crt when there is one.
func parseCASecret(secret *corev1.Secret) (*caKeyPair, error) {
	certPEM := secret.Data[corev1.TLSCertKey]
	if len(certPEM) == 0 {
		return nil, fmt.Errorf("no data for %q in secret", corev1.TLSCertKey)
	}
	keyPEM := secret.Data[corev1.TLSPrivateKeyKey]
	if len(keyPEM) == 0 {
		return nil, fmt.Errorf("no data for %q in secret", corev1.TLSPrivateKeyKey)
	}
	certs, err := pki.DecodeCertificates(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", corev1.TLSCertKey, err)
	}
	key, err := pki.DecodePrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", corev1.TLSPrivateKeyKey, err)
	}
	if caPEM := secret.Data[cmmeta.TLSCAKey]; len(caPEM) > 0 {
		cas, err := pki.DecodeCertificates(caPEM)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cmmeta.TLSCAKey, err)
		}
		certs = append(certs, cas[0])
	}
	return &caKeyPair{key: key, certs: certs}, nil
}

// Ready reads the CA Secret and judges it as checkCA does, for the issuer's
// own Ready condition. A ready key pair is kept for signing, so a sweep that
// checks and then signs reads the Secret once.
func (c *CA) Ready(ctx context.Context) (ready bool, reason, message string, err error) {
	secret, err := c.getSecret(ctx, c.namespace, c.spec.SecretName)
	if apierrors.IsNotFound(err) {
		return false, ReasonErrGetKeyPair, messageErrGetKeyPair + fmt.Sprintf("secret %s/%s not found", c.namespace, c.spec.SecretName), nil
	}
	if err != nil {
		return false, "", "", err
	}
	ready, reason, message = checkCA(secret, now(c.Clock))
	if ready {
		if kp, err := parseCASecret(secret); err == nil {
			c.mu.Lock()
			if c.loaded == nil {
				c.loaded = kp
			}
			c.mu.Unlock()
		}
	}
	return ready, reason, message, nil
}

// checkCA judges a CA Secret for the issuer's Ready condition: True
// "KeyPairVerified" when its certificate and key load, belong together and
// the certificate is a CA; otherwise False with "ErrGetKeyPair" (something
// does not load) or "ErrInvalidKeyPair" (it loads but cannot sign).
//
// cert-manager does not compare the key with the certificate here and fails
// only at signing time; checking it up front says what is wrong sooner.
func checkCA(secret *corev1.Secret, at time.Time) (ready bool, reason, message string) {
	if secret == nil {
		return false, ReasonErrGetKeyPair, messageErrGetKeyPair + "secret not found"
	}
	certPEM := secret.Data[corev1.TLSCertKey]
	if len(certPEM) == 0 {
		return false, ReasonErrGetKeyPair, messageErrGetKeyPair + fmt.Sprintf("no data for %q in secret %s/%s", corev1.TLSCertKey, secret.Namespace, secret.Name)
	}
	certs, err := pki.DecodeCertificates(certPEM)
	if err != nil {
		return false, ReasonErrGetKeyPair, messageErrGetKeyPair + fmt.Sprintf("%s in secret %s/%s: %v", corev1.TLSCertKey, secret.Namespace, secret.Name, err)
	}
	keyPEM := secret.Data[corev1.TLSPrivateKeyKey]
	if len(keyPEM) == 0 {
		return false, ReasonErrGetKeyPair, messageErrGetKeyPair + fmt.Sprintf("no data for %q in secret %s/%s", corev1.TLSPrivateKeyKey, secret.Namespace, secret.Name)
	}
	key, err := pki.DecodePrivateKey(keyPEM)
	if err != nil {
		return false, ReasonErrGetKeyPair, messageErrGetKeyPair + fmt.Sprintf("%s in secret %s/%s: %v", corev1.TLSPrivateKeyKey, secret.Namespace, secret.Name, err)
	}
	if !pki.KeyMatches(key, certs[0].PublicKey) {
		return false, ReasonErrInvalidKeyPair, messageErrGetKeyPair + "the private key does not match the certificate"
	}
	if !certs[0].IsCA {
		return false, ReasonErrInvalidKeyPair, messageErrGetKeyPair + "certificate is not a CA"
	}
	// cert-manager signs with an expired CA, and the leaves it makes do not
	// verify; certsweep refuses until the CA is renewed.
	if at.After(certs[0].NotAfter) {
		return false, ReasonErrInvalidKeyPair, messageErrGetKeyPair + fmt.Sprintf("the CA certificate expired at %s", certs[0].NotAfter.UTC().Format(time.RFC3339))
	}
	if at.Before(certs[0].NotBefore) {
		return false, ReasonErrInvalidKeyPair, messageErrGetKeyPair + fmt.Sprintf("the CA certificate is not valid until %s", certs[0].NotBefore.UTC().Format(time.RFC3339))
	}
	return true, ReasonKeyPairVerified, MessageKeyPairVerified
}
