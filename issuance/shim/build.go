// Package shim builds the Certificates an Ingress or a Gateway asks for
// through cert-manager's annotations, the way cert-manager v1.21's
// certificate-shim builds them (pkg/controller/certificate-shim, sync.go
// and helper.go, in github.com/cert-manager/cert-manager@v1.21.2).
//
// It only builds: what an object asks for, and what is wrong with how it
// asks. Whether to create, update or delete a Certificate is decided by
// renew/shim, and job/shim.go makes the writes.
package shim

import (
	"maps"
	"net"
	"slices"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ReasonBadConfig is the reason of the Warning event an object gets for a
// configuration the shim cannot use, as cert-manager names it.
const ReasonBadConfig = "BadConfig"

// applysetLabel is kubectl's applyset membership label. cert-manager does
// not copy it to the Certificate: the Certificate is not part of the
// applyset, and with the label kubectl would prune it
// (cert-manager issue 7306).
const applysetLabel = "applyset.kubernetes.io/part-of"

// Defaults are the shim's settings, cert-manager's --default-issuer-name,
// --default-issuer-kind and --default-issuer-group.
type Defaults struct {
	// IssuerName, IssuerKind and IssuerGroup are the issuer of an Ingress
	// annotated kubernetes.io/tls-acme: "true" without an issuer annotation;
	// the group also completes an issuer or cluster-issuer annotation
	// without issuer-group. Empty kind and group mean "Issuer" and
	// "cert-manager.io", cert-manager's defaults.
	IssuerName, IssuerKind, IssuerGroup string
}

func (d Defaults) withDefaults() Defaults {
	if d.IssuerKind == "" {
		d.IssuerKind = cmapi.IssuerKind
	}
	if d.IssuerGroup == "" {
		d.IssuerGroup = "cert-manager.io"
	}
	return d
}

// Built is what one Ingress or Gateway asks for.
type Built struct {
	// Object identifies the Ingress or Gateway, for events about it.
	Object corev1.ObjectReference
	// Owner is the controller reference every Certificate it asks for
	// carries; a Certificate whose controller has Owner.UID is its own.
	Owner metav1.OwnerReference
	// Certificates are the Certificates it asks for, one per Secret, in
	// order of name.
	Certificates []*cmapi.Certificate
	// SecretNames are all the Secrets its TLS configuration names, usable
	// or not: a Certificate it owns for any other Secret is no longer
	// wanted. A TLS entry that is skipped for a problem still keeps its
	// Certificate, as in cert-manager.
	SecretNames map[string]bool
	// Problems are what is wrong with the object's configuration, each a
	// sentence for a Warning event (ReasonBadConfig) on it.
	Problems []string
	// Stop is set when a problem stops the whole object, as in
	// cert-manager: nothing is created, updated or deleted for it until the
	// object is fixed. Otherwise the problems are entries that were skipped.
	Stop bool
}

// tlsEntry is one Secret an object names with the hosts it names for it.
type tlsEntry struct {
	secretName string
	hosts      []string
}

// build assembles one Certificate per entry. annotations are the object's;
// owner its controller reference.
func build(obj metav1.Object, gvk schema.GroupVersionKind, entries []tlsEntry, issuer cmmeta.IssuerReference, b *Built) {
	for _, e := range entries {
		crt := &cmapi.Certificate{
			ObjectMeta: metav1.ObjectMeta{
				Name:            e.secretName,
				Namespace:       obj.GetNamespace(),
				Labels:          certificateLabels(obj.GetLabels()),
				OwnerReferences: []metav1.OwnerReference{b.Owner},
			},
			Spec: cmapi.CertificateSpec{
				SecretName: e.secretName,
				IssuerRef:  issuer,
				Usages:     cmapi.DefaultKeyUsages(),
			},
		}
		crt.Spec.DNSNames, crt.Spec.IPAddresses = splitHosts(e.hosts)
		crt.Annotations = solverAnnotations(obj, gvk)
		if errs := applyAnnotations(crt, obj.GetAnnotations()); len(errs) > 0 {
			// The annotations are the object's, not the entry's, so the
			// first entry reports them and the object stops there.
			for _, err := range errs {
				b.Problems = append(b.Problems, err.Error())
			}
			b.Stop = true
			b.Certificates = nil
			return
		}
		b.Certificates = append(b.Certificates, crt)
	}
	slices.SortFunc(b.Certificates, func(x, y *cmapi.Certificate) int {
		switch {
		case x.Name < y.Name:
			return -1
		case x.Name > y.Name:
			return 1
		}
		return 0
	})
}

// newBuilt starts the Built of obj.
func newBuilt(obj metav1.Object, gvk schema.GroupVersionKind) Built {
	return Built{
		Object: corev1.ObjectReference{
			APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind,
			Namespace: obj.GetNamespace(), Name: obj.GetName(),
			UID: obj.GetUID(), ResourceVersion: obj.GetResourceVersion(),
		},
		Owner:       *metav1.NewControllerRef(obj, gvk),
		SecretNames: map[string]bool{},
	}
}

// certificateLabels are the object's labels, which the Certificate carries,
// without the applyset label.
func certificateLabels(labels map[string]string) map[string]string {
	out := maps.Clone(labels)
	delete(out, applysetLabel)
	return out
}

// splitHosts sorts hosts into DNS names and IP addresses, first seen first,
// each once: several Gateway listeners may name the same Secret and host.
func splitHosts(hosts []string) (dnsNames, ipAddresses []string) {
	seen := map[string]bool{}
	for _, h := range hosts {
		if seen[h] {
			continue
		}
		seen[h] = true
		if net.ParseIP(h) != nil {
			ipAddresses = append(ipAddresses, h)
		} else {
			dnsNames = append(dnsNames, h)
		}
	}
	return dnsNames, ipAddresses
}

// beingDeleted reports an object that is going away, or going away in
// foreground (its dependents first): the shim leaves it alone, and the
// garbage collector removes the Certificates it owns.
func beingDeleted(obj metav1.Object) bool {
	return obj.GetDeletionTimestamp() != nil || slices.Contains(obj.GetFinalizers(), metav1.FinalizerDeleteDependents)
}
