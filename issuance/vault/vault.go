// Package vault is the Vault issuer: it signs CertificateRequests through
// the sign endpoint of a HashiCorp Vault PKI engine (spec.vault of an Issuer
// or ClusterIssuer), logging in with a token, AppRole or Kubernetes auth.
//
// It talks to Vault through HashiCorp's own client (github.com/hashicorp/
// vault/api) and never to the Kubernetes API: Secrets come through an
// issuance.SecretGetter and ServiceAccount tokens through a TokenRequester,
// both passed in by job/. Nothing is done at construction; the first Check
// or Sign logs in, and the token is kept for the life of the value only,
// so a sweep logs in at most once per issuer and a new sweep reads the
// credentials afresh.
package vault

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	vaultapi "github.com/hashicorp/vault/api"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/certsweep/certsweep/issuance"
)

// Reasons, in cert-manager's words: the Issuer's Ready condition, and the
// reasons a request waits or fails with.
const (
	ReasonVaultVerified  = "VaultVerified"
	ReasonVaultError     = "VaultError"
	MessageVaultVerified = "Vault verified"

	// ReasonSecretMissing: a Secret the issuer names does not exist.
	ReasonSecretMissing = "SecretMissing"
	// ReasonVaultInitError: the issuer cannot log in for a reason a person
	// must fix (a refused credential, a bad CA bundle).
	ReasonVaultInitError = "VaultInitError"
	// ReasonSigningError: Vault refused to sign (a 4xx answer).
	ReasonSigningError = "SigningError"

	messageClientInitFailed  = "Failed to initialize Vault client"
	messageHealthCheckFailed = "Failed to verify Vault is initialized and unsealed"
	messageSignFailed        = "Vault failed to sign certificate"
)

// tokenExpirationSeconds is the life of a ServiceAccount token minted for a
// login: it is used once and thrown away, and ten minutes is the shortest
// the API server grants.
const tokenExpirationSeconds = 600

// requestTimeout bounds each HTTP request to Vault.
const requestTimeout = 30 * time.Second

// TokenRequester mints a token for a ServiceAccount with the audiences (a
// TokenRequest, which job/ makes: it is an API write). Its error keeps the
// API's status so that apierrors can classify it.
type TokenRequester func(ctx context.Context, namespace, serviceAccount string, audiences []string, expirationSeconds int64) (string, error)

// Config is what an Issuer needs from its surroundings.
type Config struct {
	// Spec is the Issuer's or ClusterIssuer's spec.vault.
	Spec cmapi.VaultIssuer
	// IssuerName and IssuerNamespace name the issuer, for the audience of
	// minted tokens; IssuerNamespace is empty for a ClusterIssuer.
	IssuerName      string
	IssuerNamespace string
	// ResourceNamespace is where the issuer's Secrets and ServiceAccount
	// are: the Issuer's namespace, or the cluster resource namespace.
	ResourceNamespace string
	GetSecret         issuance.SecretGetter
	// RequestToken mints ServiceAccount tokens for Kubernetes auth with a
	// serviceAccountRef; nil refuses such issuers.
	RequestToken TokenRequester
}

// Issuer signs through one Vault issuer. Make one per sweep.
type Issuer struct {
	cfg Config

	mu       sync.Mutex
	conn     *vaultapi.Client // configured, not yet logged in; nil until first used
	client   *vaultapi.Client // conn once logged in
	verified bool             // the health check passed
}

var _ issuance.Issuer = (*Issuer)(nil)

// New returns the issuer for cfg. It neither connects nor logs in.
func New(cfg Config) *Issuer { return &Issuer{cfg: cfg} }

// Status is the Issuer's Ready condition as a check found it.
type Status struct {
	Ready   bool
	Reason  string
	Message string
}

// Check judges the issuer as cert-manager's Vault issuer setup does: the
// spec, Vault's health (initialised and unsealed), and a login. The Status
// is always set. The error is non-nil only for a temporary failure (Vault
// unreachable, sealed, answering 5xx, or the API server failing a token
// request); a problem a person must fix is a not-Ready Status with no error.
// A successful login is kept for Sign.
func (v *Issuer) Check(ctx context.Context) (Status, error) {
	if msg := validateSpec(&v.cfg.Spec); msg != "" {
		return Status{Reason: ReasonVaultError, Message: msg}, nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.healthCheck(ctx); err != nil {
		st := Status{Reason: ReasonVaultError, Message: messageHealthCheckFailed + ": " + safeMessage(err)}
		if nr, ok := errors.AsType[*issuance.NotReadyError](err); ok {
			st.Message = messageHealthCheckFailed + ": " + nr.Message
			return st, nil
		}
		return st, err
	}
	if _, err := v.loggedIn(ctx); err != nil {
		st := Status{Reason: ReasonVaultError, Message: messageClientInitFailed + ": " + safeMessage(err)}
		if nr, ok := errors.AsType[*issuance.NotReadyError](err); ok {
			st.Message = nr.Message
			return st, nil
		}
		return st, err
	}
	return Status{Ready: true, Reason: ReasonVaultVerified, Message: MessageVaultVerified}, nil
}

// Sign sends req's CSR to the PKI engine's sign endpoint. Vault's 4xx
// answer fails the request (SigningError); no answer, a 5xx or a failed
// login is a temporary error, and a login a person must fix is a
// NotReadyError.
func (v *Issuer) Sign(ctx context.Context, req issuance.Request) (issuance.Result, error) {
	cr := req.CertificateRequest
	if cr == nil {
		return issuance.Result{}, errors.New("no CertificateRequest to sign")
	}
	if msg := validateSpec(&v.cfg.Spec); msg != "" {
		return issuance.Result{}, &issuance.NotReadyError{Reason: ReasonVaultError, Message: msg}
	}
	params, err := signParameters(cr)
	if err != nil {
		return issuance.Result{State: issuance.StateFailed, Reason: ReasonSigningError, Message: messageSignFailed + ": " + err.Error()}, nil
	}
	v.mu.Lock()
	client, err := v.loggedIn(ctx)
	v.mu.Unlock()
	if err != nil {
		return issuance.Result{}, err
	}
	body, err := writeRaw(ctx, client, signPath(v.cfg.Spec.Path), params)
	if err != nil {
		if isRefusal(err) {
			return issuance.Result{State: issuance.StateFailed, Reason: ReasonSigningError, Message: messageSignFailed + ": " + safeMessage(err)}, nil
		}
		return issuance.Result{}, fmt.Errorf("signing through Vault %s: %s", v.cfg.Spec.Server, safeMessage(err))
	}
	tlsCrt, caCrt, err := decodeSignResponse(body)
	if err != nil {
		return issuance.Result{State: issuance.StateFailed, Reason: ReasonSigningError, Message: messageSignFailed + ": " + err.Error()}, nil
	}
	return issuance.Result{State: issuance.StateIssued, Certificate: tlsCrt, CA: caCrt}, nil
}

// validateSpec returns cert-manager's message for a spec its Vault issuer
// setup refuses, or "" for a usable one. Client certificate and AWS auth
// are refused too: certsweep does not log in with them.
func validateSpec(s *cmapi.VaultIssuer) string {
	a := s.Auth
	switch {
	case s.Server == "" || s.Path == "":
		return "Vault server and path are required fields"
	case a.TokenSecretRef == nil && a.AppRole == nil && a.ClientCertificate == nil && a.Kubernetes == nil && a.AWS == nil:
		return "Vault tokenSecretRef, appRole, clientCertificate, kubernetes, or aws is required"
	case countAuth(a) > 1:
		return "Multiple auth methods cannot be set on the same Vault issuer"
	case a.TokenSecretRef != nil && a.TokenSecretRef.Name == "":
		return "Vault Token auth requires tokenSecretRef.name"
	case a.AppRole != nil && (a.AppRole.RoleId == "" || a.AppRole.SecretRef.Name == ""):
		return "Vault AppRole auth requires both roleId and tokenSecretRef.name"
	case a.AppRole != nil && a.AppRole.SecretRef.Key == "":
		return "Vault AppRole auth requires secretRef.key"
	case a.Kubernetes != nil && a.Kubernetes.Role == "":
		return "Vault Kubernetes auth requires a role to be set"
	case a.Kubernetes != nil && a.Kubernetes.SecretRef.Name == "" && a.Kubernetes.ServiceAccountRef == nil:
		return "Vault Kubernetes auth requires either secretRef.name or serviceAccountRef.name to be set"
	case a.Kubernetes != nil && a.Kubernetes.SecretRef.Name != "" && a.Kubernetes.ServiceAccountRef != nil:
		return "Vault Kubernetes auth cannot be used with both secretRef.name and serviceAccountRef.name"
	case a.ClientCertificate != nil:
		return "Vault clientCertificate auth is not supported by certsweep; use tokenSecretRef, appRole or kubernetes"
	case a.AWS != nil:
		return "Vault aws auth is not supported by certsweep; use tokenSecretRef, appRole or kubernetes"
	}
	return ""
}

func countAuth(a cmapi.VaultAuth) int {
	n := 0
	for _, set := range []bool{a.TokenSecretRef != nil, a.AppRole != nil, a.ClientCertificate != nil, a.Kubernetes != nil, a.AWS != nil} {
		if set {
			n++
		}
	}
	return n
}

// loggedIn returns a client holding a Vault token, logging in the first
// time. v.mu must be held. A failed login is not kept.
func (v *Issuer) loggedIn(ctx context.Context) (*vaultapi.Client, error) {
	if v.client != nil {
		return v.client, nil
	}
	client, err := v.connection(ctx)
	if err != nil {
		return nil, err
	}
	token, err := v.login(ctx, client)
	if err != nil {
		return nil, err
	}
	client.SetToken(token)
	v.client = client
	return client, nil
}

// healthCheck asks sys/health, once per Issuer value. v.mu must be held.
func (v *Issuer) healthCheck(ctx context.Context) error {
	if v.verified {
		return nil
	}
	client, err := v.connection(ctx)
	if err != nil {
		return err
	}
	// sys/ is a root-only path: no namespace header (Vault Enterprise
	// refuses some sys paths inside a namespace).
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	health, err := client.WithNamespace("").Sys().HealthWithContext(ctx)
	if err != nil {
		return fmt.Errorf("asking Vault %s for its health: %s", v.cfg.Spec.Server, safeMessage(err))
	}
	switch {
	case !health.Initialized:
		return errors.New("the Vault server is not initialized")
	case health.Sealed:
		return errors.New("the Vault server is sealed")
	}
	v.verified = true
	return nil
}

// connection returns the issuer's client, made on first use. v.mu must be
// held. A failure is not kept.
func (v *Issuer) connection(ctx context.Context) (*vaultapi.Client, error) {
	if v.conn == nil {
		client, err := v.newClient(ctx)
		if err != nil {
			return nil, err
		}
		v.conn = client
	}
	return v.conn, nil
}

// newClient makes a client for the spec's server, trusting its CA bundle
// and presenting its client certificate. Nothing of the environment
// (VAULT_ADDR, VAULT_TOKEN, ...) is used: every setting is the issuer's.
func (v *Issuer) newClient(ctx context.Context) (*vaultapi.Client, error) {
	spec := &v.cfg.Spec
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: spec.ServerName}
	bundle, err := v.caBundle(ctx)
	if err != nil {
		return nil, err
	}
	if len(bundle) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(bundle) {
			return nil, &issuance.NotReadyError{Reason: ReasonVaultInitError, Message: messageClientInitFailed + ": no Vault CA bundles loaded, check bundle contents"}
		}
		tlsConfig.RootCAs = pool
	}
	cert, err := v.clientCertificate(ctx)
	if err != nil {
		return nil, err
	}
	if cert != nil {
		tlsConfig.Certificates = []tls.Certificate{*cert}
	}
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     tlsConfig,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	cfg := &vaultapi.Config{
		Address: spec.Server,
		HttpClient: &http.Client{
			Transport: transport,
			// The Vault client follows Vault's own redirects (standby to
			// active) itself.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		// No client timeout: the client cancels its own deadline when a
		// raw call returns, before the body is read. Each call is bounded
		// by a context instead (writeRaw, healthCheck).
		Timeout: 0,
		// No retries inside a sweep: a failed attempt gets its retry window
		// and the next run tries again, with no extra logins meanwhile.
		MaxRetries: 0,
	}
	client, err := vaultapi.NewClient(cfg)
	if err != nil {
		return nil, &issuance.NotReadyError{Reason: ReasonVaultInitError, Message: fmt.Sprintf("%s: %v", messageClientInitFailed, err)}
	}
	// NewClient picks up VAULT_TOKEN, VAULT_NAMESPACE and VAULT_HEADERS
	// from the environment; none of them belongs to this issuer.
	client.ClearToken()
	client.SetHeaders(http.Header{vaultapi.RequestHeaderName: []string{"true"}})
	if spec.Namespace != "" {
		client.SetNamespace(spec.Namespace)
	}
	return client, nil
}

// caBundle returns spec.caBundle, or the key of caBundleSecretRef (ca.crt by
// default), or nothing (the system's roots).
func (v *Issuer) caBundle(ctx context.Context) ([]byte, error) {
	spec := &v.cfg.Spec
	if len(spec.CABundle) > 0 {
		return spec.CABundle, nil
	}
	if spec.CABundleSecretRef == nil {
		return nil, nil
	}
	return v.secretValue(ctx, *spec.CABundleSecretRef, cmmeta.TLSCAKey, "CA bundle")
}

// clientCertificate returns the mTLS client certificate of
// clientCertSecretRef and clientKeySecretRef, or nil when either is unset.
func (v *Issuer) clientCertificate(ctx context.Context) (*tls.Certificate, error) {
	spec := &v.cfg.Spec
	if spec.ClientCertSecretRef == nil || spec.ClientKeySecretRef == nil {
		return nil, nil
	}
	certPEM, err := v.secretValue(ctx, *spec.ClientCertSecretRef, corev1.TLSCertKey, "client certificate")
	if err != nil {
		return nil, err
	}
	keyPEM, err := v.secretValue(ctx, *spec.ClientKeySecretRef, corev1.TLSPrivateKeyKey, "client key")
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// tls's errors describe the PEM, never the key's bytes.
		return nil, &issuance.NotReadyError{Reason: ReasonVaultInitError, Message: fmt.Sprintf("%s: could not parse the client certificate from Secrets %s/%s and %s/%s: %v",
			messageClientInitFailed, v.cfg.ResourceNamespace, spec.ClientCertSecretRef.Name, v.cfg.ResourceNamespace, spec.ClientKeySecretRef.Name, err)}
	}
	return &cert, nil
}

// secretValue reads one key of a Secret in the resource namespace. A
// missing Secret or key is a NotReadyError; failing to read is temporary.
func (v *Issuer) secretValue(ctx context.Context, sel cmmeta.SecretKeySelector, defaultKey, what string) ([]byte, error) {
	ns := v.cfg.ResourceNamespace
	key := sel.Key
	if key == "" {
		key = defaultKey
	}
	secret, err := v.cfg.GetSecret(ctx, ns, sel.Name)
	switch {
	case apierrors.IsNotFound(err) || (err == nil && secret == nil):
		return nil, &issuance.NotReadyError{Reason: ReasonSecretMissing, Message: fmt.Sprintf("Required secret resource not found: Secret %s/%s with the Vault %s does not exist", ns, sel.Name, what)}
	case err != nil:
		return nil, fmt.Errorf("reading the Vault %s from Secret %s/%s: %w", what, ns, sel.Name, err)
	}
	value, ok := secret.Data[key]
	if !ok || len(value) == 0 {
		return nil, &issuance.NotReadyError{Reason: ReasonVaultInitError, Message: fmt.Sprintf("%s: no data for %q in Secret %s/%s", messageClientInitFailed, key, ns, sel.Name)}
	}
	return value, nil
}

// signPath is the API path (after /v1/) of spec.path, which cert-manager
// documents as "pki/sign/<role>" and some write with a leading "/v1/".
func signPath(specPath string) string {
	return apiPath(specPath)
}

// apiPath turns a path given with or without "/v1/" in front into the
// path the Vault client puts after /v1/.
func apiPath(p string) string {
	p = strings.TrimLeft(p, "/")
	p = strings.TrimPrefix(p, "v1/")
	return strings.TrimRight(p, "/")
}
