package shim

// Which objects ask for Certificates, and from which issuer
// (cert-manager's hasShimAnnotation and issuerForIngressLike).

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
)

// TLSACMEAnnotation is the annotation that asks for a Certificate from the
// default issuer (cert-manager's default --auto-certificate-annotations).
// Only Ingresses honour it.
const TLSACMEAnnotation = "kubernetes.io/tls-acme"

// asksForCertificates reports whether an object's annotations ask the shim
// for Certificates: an issuer or cluster-issuer annotation, whatever its
// value, or (Ingresses only) kubernetes.io/tls-acme set to a true value.
func asksForCertificates(ann map[string]string, ingress bool) bool {
	if _, ok := ann[cmapi.IngressIssuerNameAnnotationKey]; ok {
		return true
	}
	if _, ok := ann[cmapi.IngressClusterIssuerNameAnnotationKey]; ok {
		return true
	}
	if ingress {
		if on, _ := strconv.ParseBool(ann[TLSACMEAnnotation]); on {
			return true
		}
	}
	return false
}

// issuerFor returns the issuer an object's Certificates use: the default,
// overridden by cert-manager.io/issuer (kind Issuer) or cluster-issuer
// (kind ClusterIssuer), then by issuer-kind and issuer-group. A
// ClusterIssuer with a kind or group, both issuers, or no name at all is
// refused, every reason at once.
func issuerFor(ann map[string]string, d Defaults) (cmmeta.IssuerReference, error) {
	ref := cmmeta.IssuerReference{Name: d.IssuerName, Kind: d.IssuerKind, Group: d.IssuerGroup}
	issuer, isIssuer := ann[cmapi.IngressIssuerNameAnnotationKey]
	if isIssuer {
		ref.Name, ref.Kind = issuer, cmapi.IssuerKind
	}
	cluster, isCluster := ann[cmapi.IngressClusterIssuerNameAnnotationKey]
	if isCluster {
		ref.Name, ref.Kind = cluster, cmapi.ClusterIssuerKind
	}
	kind, hasKind := ann[cmapi.IssuerKindAnnotationKey]
	if hasKind {
		ref.Kind = kind
	}
	group, hasGroup := ann[cmapi.IssuerGroupAnnotationKey]
	if hasGroup {
		ref.Group = group
	}

	var problems []string
	if ref.Name == "" {
		problems = append(problems, "failed to determine issuer name to be used for ingress resource")
	}
	both := func(a, b string) string { return fmt.Sprintf("both %q and %q may not be set", a, b) }
	if isIssuer && isCluster {
		problems = append(problems, both(cmapi.IngressIssuerNameAnnotationKey, cmapi.IngressClusterIssuerNameAnnotationKey))
	}
	if isCluster && hasGroup {
		problems = append(problems, both(cmapi.IngressClusterIssuerNameAnnotationKey, cmapi.IssuerGroupAnnotationKey))
	}
	if isCluster && hasKind {
		problems = append(problems, both(cmapi.IngressClusterIssuerNameAnnotationKey, cmapi.IssuerKindAnnotationKey))
	}
	if len(problems) > 0 {
		return cmmeta.IssuerReference{}, errors.New(strings.Join(problems, ", "))
	}
	return ref, nil
}

// issuerProblem words an issuer error as cert-manager's event does.
func issuerProblem(err error) string {
	return "Could not determine issuer for ingress due to bad annotations: " + err.Error()
}
