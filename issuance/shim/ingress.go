package shim

import (
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var ingressGVK = networkingv1.SchemeGroupVersion.WithKind("Ingress")

// Ingress returns what an Ingress asks for: one Certificate per TLS entry,
// named after the entry's secretName, for the entry's hosts. ok is false
// when it asks for nothing: no issuer, cluster-issuer or tls-acme
// annotation, or it is being deleted.
//
// Two entries naming one Secret stop the whole Ingress (two Certificates
// cannot share a name); an entry without hosts or secretName is skipped
// with a problem.
func Ingress(ing *networkingv1.Ingress, d Defaults) (b Built, ok bool) {
	if !asksForCertificates(ing.Annotations, true) || beingDeleted(ing) {
		return Built{}, false
	}
	b = newBuilt(ing, ingressGVK)
	for _, tls := range ing.Spec.TLS {
		b.SecretNames[tls.SecretName] = true
	}
	issuer, err := issuerFor(ing.Annotations, d.withDefaults())
	if err != nil {
		b.Problems, b.Stop = []string{issuerProblem(err)}, true
		return b, true
	}
	if errs := duplicateSecretNames(ing.Spec.TLS); len(errs) > 0 {
		b.Problems, b.Stop = []string{errs.ToAggregate().Error()}, true
		return b, true
	}
	var entries []tlsEntry
	for i, tls := range ing.Spec.TLS {
		path := field.NewPath("spec", "tls").Index(i)
		var errs field.ErrorList
		if len(tls.Hosts) == 0 {
			errs = append(errs, field.Required(path.Child("hosts"), ""))
		}
		if tls.SecretName == "" {
			errs = append(errs, field.Required(path.Child("secretName"), ""))
		}
		if len(errs) > 0 {
			b.Problems = append(b.Problems, "Skipped a TLS block: "+errs.ToAggregate().Error())
			continue
		}
		entries = append(entries, tlsEntry{secretName: tls.SecretName, hosts: tls.Hosts})
	}
	build(ing, ingressGVK, entries, issuer, &b)
	return b, true
}

// duplicateSecretNames refuses two TLS entries naming the same Secret, each
// secretName once, in order of first appearance.
func duplicateSecretNames(entries []networkingv1.IngressTLS) field.ErrorList {
	base := field.NewPath("spec", "tls")
	first := map[string]int{}
	reported := map[string]bool{}
	var errs field.ErrorList
	for i, tls := range entries {
		j, seen := first[tls.SecretName]
		if !seen {
			first[tls.SecretName] = i
			continue
		}
		if reported[tls.SecretName] {
			continue
		}
		reported[tls.SecretName] = true
		errs = append(errs, field.Invalid(base.Index(j).Child("secretName"), tls.SecretName,
			fmt.Sprintf("this secret name must only appear in a single TLS entry but is also used in %s", base.Index(i).Child("secretName"))))
	}
	return errs
}
