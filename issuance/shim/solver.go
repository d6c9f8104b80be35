package shim

// The annotations an object passes to its Certificates for ACME HTTP-01
// (cert-manager's setIssuerSpecificConfig): they tell the solver which
// Ingress to edit, which ingress class to use, or which Gateway to attach
// its HTTPRoute to. They mean nothing to other issuers, so they are always
// set, whatever the issuer.

import (
	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// SolverAnnotations are the Certificate annotations the shim manages: it
// sets them as the object asks and removes them when it no longer does.
// Every other annotation of a Certificate is left as it is.
var SolverAnnotations = []string{
	cmacme.ACMECertificateHTTP01IngressNameOverride,
	cmapi.IssueTemporaryCertificateAnnotation,
	cmacme.ACMECertificateHTTP01IngressClassOverride,
	cmacme.ACMECertificateHTTP01IngressClassNameOverride,
	cmacme.ACMECertificateHTTP01ParentRefKind,
	cmacme.ACMECertificateHTTP01ParentRefName,
}

// solverAnnotations returns the HTTP-01 annotations for a Certificate of
// obj, nil when there are none:
//
//   - acme.cert-manager.io/http01-edit-in-place: "true" (exactly) names obj
//     as the Ingress the solver edits, and asks for a temporary
//     certificate while the real one is issued (ingress-gce will not
//     serve an Ingress whose Secret does not exist);
//   - acme.cert-manager.io/http01-ingress-class and
//     http01-ingress-ingressclassname, when not empty, override the
//     solver's class and ingressClassName;
//   - a Gateway names itself as the parent of the solver's HTTPRoute.
func solverAnnotations(obj metav1.Object, gvk schema.GroupVersionKind) map[string]string {
	in := obj.GetAnnotations()
	out := map[string]string{}
	if in[cmacme.IngressEditInPlaceAnnotationKey] == "true" {
		out[cmacme.ACMECertificateHTTP01IngressNameOverride] = obj.GetName()
		out[cmapi.IssueTemporaryCertificateAnnotation] = "true"
	}
	if v := in[cmapi.IngressACMEIssuerHTTP01IngressClassAnnotationKey]; v != "" {
		out[cmacme.ACMECertificateHTTP01IngressClassOverride] = v
	}
	if v := in[cmapi.IngressACMEIssuerHTTP01IngressClassNameAnnotationKey]; v != "" {
		out[cmacme.ACMECertificateHTTP01IngressClassNameOverride] = v
	}
	if gvk == gatewayGVK {
		out[cmacme.ACMECertificateHTTP01ParentRefKind] = gvk.Kind
		out[cmacme.ACMECertificateHTTP01ParentRefName] = obj.GetName()
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
