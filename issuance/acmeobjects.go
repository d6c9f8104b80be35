package issuance

// The ACME objects cert-manager keeps its progress in, built the way it
// builds them (pkg/controller/certificaterequests/acme, pkg/controller/
// acmeorders), so that `kubectl get orders,challenges` and cmctl read a
// sweep's progress as they read cert-manager's, and a name computed twice is
// the same name: one Order per request, one Challenge per authorization.

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"strings"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance/pki"
)

// BuildOrder is the Order for cr: the CSR's names, the issuer's profile,
// the replaced certificate's ARI CertID (or ""), and the request's duration
// when the issuer enables the duration feature. owner is the Order's
// controller: cr itself (RequestOwner), or the Kubernetes
// CertificateSigningRequest cr stands in for (CSROwner), which cert-manager
// names its Orders after in the same way.
func BuildOrder(cr *cmapi.CertificateRequest, owner metav1.OwnerReference, profile, replaces string, enableDuration bool) (*cmacme.Order, error) {
	csr, err := pki.DecodeCSR(cr.Spec.Request)
	if err != nil {
		return nil, fmt.Errorf("building the Order for %s/%s: %w", cr.Namespace, cr.Name, err)
	}
	var ips []string
	for _, ip := range csr.IPAddresses {
		ips = append(ips, ip.String())
	}
	spec := cmacme.OrderSpec{
		Request:     cr.Spec.Request,
		IssuerRef:   cr.Spec.IssuerRef,
		CommonName:  csr.Subject.CommonName,
		DNSNames:    csr.DNSNames,
		IPAddresses: ips,
		Profile:     profile,
		Replaces:    replaces,
	}
	if enableDuration {
		spec.Duration = cr.Spec.Duration
	}
	// The name hashes the spec without the CSR, so a new key does not make
	// a new name; a request name of 52 characters or more is hashed with
	// the spec, or truncated names would collide.
	hashed := spec.DeepCopy()
	hashed.Request = nil
	var obj any = hashed
	switch {
	case len(cr.Name) < 52:
	case owner.Kind == csrOwnerKind.Kind:
		obj = struct {
			CSRName string            `json:"certificateSigningRequestName"`
			Spec    *cmacme.OrderSpec `json:"spec"`
		}{cr.Name, hashed}
	default:
		obj = struct {
			CRName string            `json:"certificateRequestName"`
			Spec   *cmacme.OrderSpec `json:"spec"`
		}{cr.Name, hashed}
	}
	name, err := hashedName(cr.Name, obj)
	if err != nil {
		return nil, fmt.Errorf("naming the Order for %s/%s: %w", cr.Namespace, cr.Name, err)
	}
	return &cmacme.Order{
		TypeMeta: metav1.TypeMeta{APIVersion: cmacme.SchemeGroupVersion.String(), Kind: "Order"},
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       cr.Namespace,
			Labels:          maps.Clone(cr.Labels),
			Annotations:     maps.Clone(cr.Annotations),
			OwnerReferences: []metav1.OwnerReference{owner},
		},
		Spec: spec,
	}, nil
}

// csrOwnerKind is the kind of a Kubernetes CertificateSigningRequest that
// controls an Order.
var csrOwnerKind = certificatesv1.SchemeGroupVersion.WithKind("CertificateSigningRequest")

// RequestOwner is the controller reference of an Order made for the
// CertificateRequest cr.
func RequestOwner(cr *cmapi.CertificateRequest) metav1.OwnerReference {
	return *metav1.NewControllerRef(cr, cmapi.SchemeGroupVersion.WithKind(cmapi.CertificateRequestKind))
}

// CSROwner is the controller reference of an Order made for the Kubernetes
// CertificateSigningRequest csr. The CSR is cluster-scoped and the Order
// namespaced, which owner references allow: deleting the CSR lets the
// garbage collector remove its Order, and the Order's Challenges with it.
func CSROwner(csr *certificatesv1.CertificateSigningRequest) metav1.OwnerReference {
	return *metav1.NewControllerRef(csr, csrOwnerKind)
}

// IsCSROwner reports whether ref names a Kubernetes CertificateSigningRequest.
func IsCSROwner(ref *metav1.OwnerReference) bool {
	return ref != nil && ref.Kind == csrOwnerKind.Kind && ref.APIVersion == csrOwnerKind.GroupVersion().String()
}

// CSROrderAnnotations are the annotations of a CertificateSigningRequest
// an Order made for it carries: all but those cert-manager leaves out by
// default (--copied-annotation-prefixes), which belong to the tools that
// manage the CSR itself.
func CSROrderAnnotations(annotations map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range annotations {
		if !strings.HasPrefix(k, "kubectl.kubernetes.io/") && !strings.HasPrefix(k, "fluxcd.io/") && !strings.HasPrefix(k, "argocd.argoproj.io/") {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// OrderNames are the identifiers an Order asks the CA for: its DNS names,
// then its IP addresses, with the common name added when the CSR carries
// it but no SAN does (as cert-manager does).
func OrderNames(order *cmacme.Order) []string {
	names := append([]string{}, order.Spec.DNSNames...)
	names = append(names, order.Spec.IPAddresses...)
	if cn := order.Spec.CommonName; cn != "" {
		found := false
		for _, n := range names {
			found = found || n == cn
		}
		if !found {
			names = append(names, cn)
		}
	}
	return names
}

// BuildChallenge is the Challenge for one authorization of order, answered
// by solver with challenge type typ ("http-01" or "dns-01"). It is owned by
// the Order and named from its spec, so it is found again by name.
func BuildChallenge(order *cmacme.Order, authz cmacme.ACMEAuthorization, ch cmacme.ACMEChallenge, solver cmacme.ACMEChallengeSolver, keyAuthorization string) (*cmacme.Challenge, error) {
	typ := cmacme.ACMEChallengeTypeHTTP01
	if ch.Type == "dns-01" {
		typ = cmacme.ACMEChallengeTypeDNS01
	}
	wildcard := authz.Wildcard != nil && *authz.Wildcard
	spec := cmacme.ChallengeSpec{
		AuthorizationURL: authz.URL,
		Type:             typ,
		URL:              ch.URL,
		DNSName:          authz.Identifier,
		Token:            ch.Token,
		Solver:           solver,
		Wildcard:         wildcard,
		IssuerRef:        order.Spec.IssuerRef,
	}
	// cert-manager names the Challenge before it knows the key.
	name, err := hashedName(order.Name, spec)
	if err != nil {
		return nil, fmt.Errorf("naming the Challenge for %s: %w", authz.Identifier, err)
	}
	spec.Key = keyAuthorization
	return &cmacme.Challenge{
		TypeMeta: metav1.TypeMeta{APIVersion: cmacme.SchemeGroupVersion.String(), Kind: "Challenge"},
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       order.Namespace,
			Labels:          map[string]string{ChallengeOrderLabel: order.Name},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(order, cmacme.SchemeGroupVersion.WithKind("Order"))},
		},
		Spec: spec,
	}, nil
}

// ChallengeOrderLabel names a Challenge's Order, so that a final order's
// leftover Challenges are found with a LIST scoped to that order rather
// than one of every Challenge in the namespace (cert-manager has no such
// label; an Order's name is a valid label value by construction).
const ChallengeOrderLabel = "certsweep.io/order"

// hashedName is prefix, cut to 52 characters, "-" and the decimal FNV-32
// hash of obj's JSON: at most 63 characters, a valid label, and the same
// name cert-manager computes for the same object.
func hashedName(prefix string, obj any) (string, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return "", err
	}
	h := fnv.New32()
	h.Write(data)
	if len(prefix) >= 52 {
		prefix = dnsSafePrefix(prefix, 52)
	}
	return fmt.Sprintf("%s-%d", prefix, h.Sum32()), nil
}
