package renew

// Kubernetes CertificateSigningRequests (certificates.k8s.io/v1) addressed
// to cert-manager's issuers, decided as cert-manager's
// pkg/controller/certificatesigningrequests does: which issuer the
// signerName names, whether the request is approved, denied, failed or
// signed already, and the duration, CA flag and usages to sign with. job/
// carries the decision out (job/csr.go).

import (
	"fmt"
	"slices"
	"strings"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmexp "github.com/cert-manager/cert-manager/pkg/apis/experimental/v1alpha1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
)

// The two signerName forms cert-manager answers to.
const (
	signerTypeIssuers        = "issuers"
	signerTypeClusterIssuers = "clusterissuers"
)

// Reasons of a CertificateSigningRequest's Failed condition and of its
// Warning events, in cert-manager's words.
const (
	ReasonCSRDeniedReference     = "DeniedReference"
	ReasonCSRErrorParseDuration  = "ErrorParseDuration"
	ReasonCSRInvalidDuration     = "InvalidDuration"
	ReasonCSRMissingAnnotation   = "MissingAnnotation"
	ReasonCSRIssuerNotFound      = "IssuerNotFound"
	ReasonCSRIssuerTypeUnsupport = "IssuerTypeUnsupported"
	// An ACME issuer's reasons, as cert-manager's CSR ACME signer gives them.
	ReasonCSRRequestParsing = "RequestParsingError"
	ReasonCSRInvalidOrder   = "InvalidOrder"
	ReasonCSROrderBuilding  = "OrderBuildingError"
	ReasonCSROrderFailed    = "OrderFailed"
	// ReasonCSRIssued is the Normal event of a signed request.
	ReasonCSRIssued = "CertificateIssued"
)

// SignerRef is the issuer a signerName names.
type SignerRef struct {
	// Kind is cmapi.IssuerKind or cmapi.ClusterIssuerKind.
	Kind string
	// Namespace is an Issuer's namespace; empty for a ClusterIssuer.
	Namespace string
	Name      string
}

// IssuerRef is ref as an issuerRef.
func (r SignerRef) IssuerRef() cmmeta.IssuerReference {
	return cmmeta.IssuerReference{Name: r.Name, Kind: r.Kind, Group: cmapi.SchemeGroupVersion.Group}
}

func (r SignerRef) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// ParseSignerName reads `issuers.cert-manager.io/<namespace>.<name>` and
// `clusterissuers.cert-manager.io/<name>`. Anything else (another group,
// another type, a malformed name) is not ours: ok is false.
//
// As in cert-manager, an Issuer's namespace ends at the first dot, since a
// namespace has none and an Issuer's name may; an Issuer signerName
// without a dot names no namespace and is refused here, where cert-manager
// would look for the Issuer in the empty namespace and never find it.
func ParseSignerName(signerName string) (ref SignerRef, ok bool) {
	typeAndGroup, name, found := strings.Cut(signerName, "/")
	if !found || strings.Contains(name, "/") {
		return SignerRef{}, false
	}
	typ, group, found := strings.Cut(typeAndGroup, ".")
	if !found || group != cmapi.SchemeGroupVersion.Group {
		return SignerRef{}, false
	}
	switch typ {
	case signerTypeClusterIssuers:
		if name == "" || strings.HasPrefix(name, ".") {
			return SignerRef{}, false
		}
		return SignerRef{Kind: cmapi.ClusterIssuerKind, Name: name}, true
	case signerTypeIssuers:
		namespace, issuer, found := strings.Cut(name, ".")
		if !found || namespace == "" || issuer == "" {
			return SignerRef{}, false
		}
		return SignerRef{Kind: cmapi.IssuerKind, Namespace: namespace, Name: issuer}, true
	default:
		return SignerRef{}, false
	}
}

// SignerName is the signerName that names ref (the inverse of
// ParseSignerName).
func SignerName(ref SignerRef) string {
	if ref.Kind == cmapi.ClusterIssuerKind {
		return signerTypeClusterIssuers + "." + cmapi.SchemeGroupVersion.Group + "/" + ref.Name
	}
	return signerTypeIssuers + "." + cmapi.SchemeGroupVersion.Group + "/" + ref.Namespace + "." + ref.Name
}

// CSRAction is what a sweep does about one CertificateSigningRequest.
type CSRAction string

const (
	// CSRIgnore: not addressed to one of our issuers, or outside the
	// sweep's namespace. Nothing is read or written.
	CSRIgnore CSRAction = "ignore"
	// CSRDone: signed, failed or denied already. Nothing is written, so a
	// request is never signed twice.
	CSRDone CSRAction = "done"
	// CSRAwaitApproval: nobody has approved it yet. Nothing is written and
	// no event sent (cert-manager sends one on every sync; a sweep that
	// did so would write on every run).
	CSRAwaitApproval CSRAction = "await-approval"
	// CSRSign: approved and unsigned; sign it, or fail it with Failure
	// (after the reference check, as cert-manager orders them).
	CSRSign CSRAction = "sign"
)

// CSRFailure is a final failure of a request: its Failed condition and
// Warning event.
type CSRFailure struct {
	Reason, Message string
}

// CSRDecision is what to do about one CertificateSigningRequest.
type CSRDecision struct {
	Action CSRAction
	// Signer is the issuer the request names (set unless CSRIgnore).
	Signer SignerRef
	// CheckReference: the requester must be allowed to `reference` the
	// signer (a SubjectAccessReview) before anything else is done. Only
	// namespaced Issuers are checked, as in cert-manager: a ClusterIssuer
	// is there for anyone who may create a CSR for it.
	CheckReference bool
	// Failure, for CSRSign, fails the request instead of signing it, once
	// the reference check passed.
	Failure *CSRFailure
	// Duration, IsCA, Usages and PrivateKeySecretName are what to sign with.
	Duration time.Duration
	IsCA     bool
	Usages   []cmapi.KeyUsage
	// PrivateKeySecretName is the Secret holding the key a SelfSigned
	// issuer signs with (experimental.cert-manager.io/private-key-secret-name),
	// read from the issuer's resource namespace.
	PrivateKeySecretName string
}

// CSRScope is the part of a sweep's settings the decision needs.
type CSRScope struct {
	// Namespace, when set, limits the sweep to requests for the Issuers of
	// that namespace, and for ClusterIssuers only when it is also the
	// cluster resource namespace: of several sweeps each scoped to one
	// namespace, the one where the ClusterIssuers' Secrets live acts for
	// them, and the others leave their requests alone.
	Namespace string
	// ClusterResourceNamespace is where ClusterIssuers' Secrets live.
	ClusterResourceNamespace string
}

// inScope reports whether a sweep of scope acts for ref.
func (scope CSRScope) inScope(ref SignerRef) bool {
	switch {
	case scope.Namespace == "":
		return true
	case ref.Kind == cmapi.ClusterIssuerKind:
		return scope.Namespace == scope.ClusterResourceNamespace
	default:
		return ref.Namespace == scope.Namespace
	}
}

// DecideCSR decides one request, in cert-manager's order: signer, failed,
// denied, approved, already signed; then what to sign with.
func DecideCSR(csr *certificatesv1.CertificateSigningRequest, scope CSRScope) CSRDecision {
	ref, ok := ParseSignerName(csr.Spec.SignerName)
	if !ok {
		return CSRDecision{Action: CSRIgnore}
	}
	if !scope.inScope(ref) {
		return CSRDecision{Action: CSRIgnore}
	}
	d := CSRDecision{Signer: ref}
	switch {
	case hasCSRCondition(csr, certificatesv1.CertificateFailed),
		hasCSRCondition(csr, certificatesv1.CertificateDenied):
		d.Action = CSRDone
		return d
	case !hasCSRCondition(csr, certificatesv1.CertificateApproved):
		d.Action = CSRAwaitApproval
		return d
	case len(csr.Status.Certificate) > 0:
		d.Action = CSRDone
		return d
	}
	d.Action = CSRSign
	d.CheckReference = ref.Kind == cmapi.IssuerKind
	d.IsCA = csr.Annotations[cmexp.CertificateSigningRequestIsCAAnnotationKey] == "true"
	d.PrivateKeySecretName = csr.Annotations[cmexp.CertificateSigningRequestPrivateKeyAnnotationKey]
	for _, u := range csr.Spec.Usages {
		// The two APIs spell every usage alike; one neither knows fails
		// when the certificate template is built, as in cert-manager.
		d.Usages = append(d.Usages, cmapi.KeyUsage(u))
	}
	var fail *CSRFailure
	d.Duration, fail = CSRDuration(csr.Annotations, csr.Spec.ExpirationSeconds)
	d.Failure = fail
	return d
}

// hasCSRCondition reports whether csr carries a condition of type t,
// whatever its status: cert-manager reads the three built-in conditions
// this way, and the API server admits them with status True only.
func hasCSRCondition(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) bool {
	for _, c := range csr.Status.Conditions {
		if c.Type == t {
			return true
		}
	}
	return false
}

// CSRDuration is the validity a request asks for: the request-duration
// annotation (a Go duration) over spec.expirationSeconds, over
// cert-manager's default of 90 days. An annotation that does not parse, or
// a duration under cert-manager's minimum of 10 minutes, is a failure.
func CSRDuration(annotations map[string]string, expirationSeconds *int32) (time.Duration, *CSRFailure) {
	d := cmapi.DefaultCertificateDuration
	if v, ok := annotations[cmexp.CertificateSigningRequestDurationAnnotationKey]; ok {
		parsed, err := time.ParseDuration(v)
		if err != nil {
			return 0, &CSRFailure{
				Reason: ReasonCSRErrorParseDuration,
				Message: fmt.Sprintf("Failed to parse requested duration: failed to parse requested duration on annotation %q: %v",
					cmexp.CertificateSigningRequestDurationAnnotationKey, err),
			}
		}
		d = parsed
	} else if expirationSeconds != nil {
		d = time.Duration(*expirationSeconds) * time.Second
	}
	if d < cmexp.CertificateSigningRequestMinimumDuration {
		return 0, &CSRFailure{
			Reason:  ReasonCSRInvalidDuration,
			Message: fmt.Sprintf("CertificateSigningRequest minimum allowed duration is %s, requested %s", cmexp.CertificateSigningRequestMinimumDuration, d),
		}
	}
	return d, nil
}

// CSRDeniedReference is the failure of a requester who may not reference
// the namespaced Issuer ref.
func CSRDeniedReference(ref SignerRef) CSRFailure {
	return CSRFailure{
		Reason:  ReasonCSRDeniedReference,
		Message: fmt.Sprintf("Requester may not reference Namespaced Issuer %s/%s", ref.Namespace, ref.Name),
	}
}

// CSRSelfSignedKey is the failure of a request to a SelfSigned issuer that
// names no private key Secret, or nil when it names one.
func CSRSelfSignedKey(d CSRDecision) *CSRFailure {
	if d.PrivateKeySecretName != "" {
		return nil
	}
	return &CSRFailure{
		Reason:  ReasonCSRMissingAnnotation,
		Message: fmt.Sprintf("Missing private key reference annotation: %q", cmexp.CertificateSigningRequestPrivateKeyAnnotationKey),
	}
}

// CSRUnsupportedIssuer is the failure of a request to an issuer type the
// sweep cannot sign CertificateSigningRequests with.
func CSRUnsupportedIssuer(ref SignerRef, what string) CSRFailure {
	return CSRFailure{
		Reason:  ReasonCSRIssuerTypeUnsupport,
		Message: fmt.Sprintf("Referenced %s is %s; certsweep does not sign CertificateSigningRequests with it", ref, what),
	}
}

// CSRACMECommonName is the failure of a request to an ACME issuer whose
// common name is none of its DNS names or IP addresses, or nil: an ACME CA
// issues for identifiers only, so a common name must be one of them, and
// cert-manager fails such a request before any Order is made.
func CSRACMECommonName(commonName string, dnsNames, ipAddresses []string) *CSRFailure {
	if commonName == "" || slices.Contains(dnsNames, commonName) || slices.Contains(ipAddresses, commonName) {
		return nil
	}
	return &CSRFailure{
		Reason: ReasonCSRInvalidOrder,
		Message: fmt.Sprintf("The CSR PEM requests a commonName that is not present in the list of dnsNames or ipAddresses. "+
			"If a commonName is set, ACME requires that the value is also present in the list of dnsNames or ipAddresses: %q does not exist in %v or %v",
			commonName, dnsNames, ipAddresses),
	}
}

// CSROrderFailed is the failure of a request whose ACME Order failed:
// the CA made it invalid (or it expired or errored), or refused it.
// detail is the Order's state and reason, or the CA's refusal.
func CSROrderFailed(namespace, name, detail string) CSRFailure {
	return CSRFailure{
		Reason:  ReasonCSROrderFailed,
		Message: fmt.Sprintf("Failed to wait for order resource %s/%s to become ready: %s", namespace, name, detail),
	}
}

// CSROrderHeldUntil is the end of the wait an ACME CA asked for (its
// Retry-After) on the Order of a CertificateSigningRequest, and whether it
// is still running at now. A CSR has no retry annotations of its own, so
// the wait is recorded on its Order (AnnotationRetryAfter); until it ends,
// the Order is not driven and nothing is written. A value that does not
// parse holds nothing.
func CSROrderHeldUntil(order *cmacme.Order, now time.Time) (time.Time, bool) {
	v, ok := order.Annotations[AnnotationRetryAfter]
	if !ok {
		return time.Time{}, false
	}
	until, err := time.Parse(time.RFC3339, v)
	if err != nil || !until.After(now) {
		return time.Time{}, false
	}
	// A clock set back, or a hand-written value, never holds longer than
	// a CA may ask for.
	if limit := now.Add(MaxRetryAfter); until.After(limit) {
		until = limit
	}
	return until, true
}

// CSROrderRetryAt is the end of the wait a CA asked for with a
// Retry-After of after at now, as recorded on a CSR's Order: rounded up to
// a second, and at most MaxRetryAfter away.
func CSROrderRetryAt(now time.Time, after time.Duration) time.Time {
	after = min(max(after, 0), MaxRetryAfter)
	return now.Add(after + time.Second - 1).Truncate(time.Second)
}
