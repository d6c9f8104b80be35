package job

import (
	"context"
	"fmt"
	"sort"
	"strings"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/certsweep/certsweep/issuance"
	"github.com/certsweep/certsweep/renew"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// This file answers the questions an event-driven trigger asks before it can
// call Reconcile: "which Certificates does this changed object concern?".
// Every answer comes from reading the API as it is now, never from the
// event's payload, which may be stale, reordered or forged.

// CertificatesUsingIssuer returns the Certificates in scope whose issuerRef
// names the given cert-manager.io Issuer (namespace set) or ClusterIssuer
// (namespace empty). A change to an issuer (a CA Secret rotated, an issuer
// created after its Certificates) can unblock every one of them.
func (s *Sweeper) CertificatesUsingIssuer(ctx context.Context, kind, namespace, name string) ([]ObjectRef, error) {
	listNS := namespace
	if kind == cmapi.ClusterIssuerKind {
		listNS = s.opts.Namespace
	} else if !s.inNamespace(namespace) {
		return nil, nil
	}
	var refs []ObjectRef
	opts := metav1.ListOptions{Limit: s.opts.PageSize, LabelSelector: s.opts.Selector}
	err := listPages(ctx, "certificates", opts, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		list, err := s.cm.CertmanagerV1().Certificates(listNS).List(ctx, o)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			crt := &list.Items[i]
			if refersTo(crt, kind, name) {
				refs = append(refs, ObjectRef{Namespace: crt.Namespace, Name: crt.Name})
			}
		}
		return list.Continue, nil
	})
	if err != nil {
		return nil, err
	}
	return dedupe(refs), nil
}

// refersTo reports whether crt's issuerRef names the cert-manager.io issuer
// kind/name. An empty kind means Issuer, as in cert-manager.
func refersTo(crt *cmapi.Certificate, kind, name string) bool {
	ref := crt.Spec.IssuerRef
	if !renew.CertManagerIssuer(ref) || ref.Name != name {
		return false
	}
	refKind := ref.Kind
	if refKind == "" {
		refKind = cmapi.IssuerKind
	}
	return refKind == kind
}

// CertificatesOwningSecret returns the Certificate a Secret belongs to. A
// target Secret names its Certificate in the certificate-name annotation; a
// next-private-key Secret has the Certificate as controller owner. When the
// Secret is gone (deleted, which is exactly when its Certificate must be
// reissued) or carries neither mark, the Certificates of that namespace
// whose spec.secretName is this Secret are the answer.
func (s *Sweeper) CertificatesOwningSecret(ctx context.Context, namespace, name string) ([]ObjectRef, error) {
	if !s.inNamespace(namespace) {
		return nil, nil
	}
	sec, err := s.kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("reading secret %s/%s: %w", namespace, name, err)
	default:
		if owner := certificateOwner(sec); owner != "" {
			return s.selected(ctx, []ObjectRef{{Namespace: namespace, Name: owner}})
		}
	}
	var refs []ObjectRef
	opts := metav1.ListOptions{Limit: s.opts.PageSize, LabelSelector: s.opts.Selector}
	err = listPages(ctx, "certificates", opts, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		list, err := s.cm.CertmanagerV1().Certificates(namespace).List(ctx, o)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			if list.Items[i].Spec.SecretName == name {
				refs = append(refs, ObjectRef{Namespace: namespace, Name: list.Items[i].Name})
			}
		}
		return list.Continue, nil
	})
	if err != nil {
		return nil, err
	}
	return dedupe(refs), nil
}

// CertificatesOwningRequest returns the Certificate a CertificateRequest was
// made for. A request that is gone leaves nothing to find: its Certificate
// does not depend on the request still existing, and the next sweep tidies.
func (s *Sweeper) CertificatesOwningRequest(ctx context.Context, namespace, name string) ([]ObjectRef, error) {
	if !s.inNamespace(namespace) {
		return nil, nil
	}
	cr, err := s.cm.CertmanagerV1().CertificateRequests(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading certificate request %s/%s: %w", namespace, name, err)
	}
	owner := certificateOwner(cr)
	if owner == "" {
		return nil, nil
	}
	return s.selected(ctx, []ObjectRef{{Namespace: namespace, Name: owner}})
}

// CertificatesOwningOrder returns the Certificate an ACME Order works for:
// the Order's controller is its CertificateRequest, whose is the
// Certificate. An Order that is gone leaves nothing to find, as a request
// does: the sweep makes a missing Order again when it next works on the
// request.
func (s *Sweeper) CertificatesOwningOrder(ctx context.Context, namespace, name string) ([]ObjectRef, error) {
	if !s.inNamespace(namespace) {
		return nil, nil
	}
	order, err := s.getOrder(ctx, namespace, name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading order %s/%s: %w", namespace, name, err)
	}
	ref := metav1.GetControllerOfNoCopy(order)
	if ref == nil || ref.Kind != cmapi.CertificateRequestKind || !strings.HasPrefix(ref.APIVersion, cmapi.SchemeGroupVersion.Group+"/") {
		return nil, nil
	}
	return s.CertificatesOwningRequest(ctx, namespace, ref.Name)
}

// CertificatesOwningChallenge returns the Certificate an ACME Challenge
// works for, through the Order that controls it. A Challenge that is gone
// (the sweep deletes each one when it is done) leaves nothing to find.
func (s *Sweeper) CertificatesOwningChallenge(ctx context.Context, namespace, name string) ([]ObjectRef, error) {
	if !s.inNamespace(namespace) {
		return nil, nil
	}
	ch, err := s.getChallenge(ctx, namespace, name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading challenge %s/%s: %w", namespace, name, err)
	}
	ref := metav1.GetControllerOfNoCopy(ch)
	if ref == nil || ref.Kind != "Order" || !strings.HasPrefix(ref.APIVersion, cmacme.SchemeGroupVersion.Group+"/") {
		return nil, nil
	}
	return s.CertificatesOwningOrder(ctx, namespace, ref.Name)
}

// CSROwningOrder names the Kubernetes CertificateSigningRequest an ACME
// Order works for (its controller), or "" when a CertificateRequest or
// nothing controls it, or the Order is gone.
func (s *Sweeper) CSROwningOrder(ctx context.Context, namespace, name string) (string, error) {
	if !s.inNamespace(namespace) {
		return "", nil
	}
	order, err := s.getOrder(ctx, namespace, name)
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading order %s/%s: %w", namespace, name, err)
	}
	if ref := metav1.GetControllerOfNoCopy(order); issuance.IsCSROwner(ref) {
		return ref.Name, nil
	}
	return "", nil
}

// CSROwningChallenge names the Kubernetes CertificateSigningRequest an
// ACME Challenge works for, through the Order that controls it, or "".
func (s *Sweeper) CSROwningChallenge(ctx context.Context, namespace, name string) (string, error) {
	if !s.inNamespace(namespace) {
		return "", nil
	}
	ch, err := s.getChallenge(ctx, namespace, name)
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading challenge %s/%s: %w", namespace, name, err)
	}
	ref := metav1.GetControllerOfNoCopy(ch)
	if ref == nil || ref.Kind != "Order" || !strings.HasPrefix(ref.APIVersion, cmacme.SchemeGroupVersion.Group+"/") {
		return "", nil
	}
	return s.CSROwningOrder(ctx, namespace, ref.Name)
}

// CertificatesNamed narrows direct references to a Certificate to those in
// this Sweeper's scope (namespace and label selector).
func (s *Sweeper) CertificatesNamed(ctx context.Context, namespace, name string) ([]ObjectRef, error) {
	if !s.inNamespace(namespace) {
		return nil, nil
	}
	return s.selected(ctx, []ObjectRef{{Namespace: namespace, Name: name}})
}

// certificateOwner names the Certificate obj belongs to: the controller
// owner reference when it is a cert-manager.io Certificate, else the
// certificate-name annotation cert-manager puts on Secrets and requests.
func certificateOwner(obj metav1.Object) string {
	if ref := metav1.GetControllerOfNoCopy(obj); ref != nil && ref.Kind == cmapi.CertificateKind {
		if strings.HasPrefix(ref.APIVersion, cmapi.SchemeGroupVersion.Group+"/") {
			return ref.Name
		}
	}
	return obj.GetAnnotations()[cmapi.CertificateNameKey]
}

func (s *Sweeper) inNamespace(namespace string) bool {
	return s.opts.Namespace == "" || s.opts.Namespace == namespace
}

// selected drops the refs that do not match the label selector. Without a
// selector there is nothing to check, so nothing is read; with one, a LIST
// by name asks the API server to apply it.
func (s *Sweeper) selected(ctx context.Context, refs []ObjectRef) ([]ObjectRef, error) {
	if s.opts.Selector == "" {
		return refs, nil
	}
	var out []ObjectRef
	for _, r := range refs {
		list, err := s.cm.CertmanagerV1().Certificates(r.Namespace).List(ctx, metav1.ListOptions{
			LabelSelector: s.opts.Selector,
			FieldSelector: fields.OneTermEqualSelector("metadata.name", r.Name).String(),
		})
		if err != nil {
			return nil, fmt.Errorf("checking certificate %s/%s against the selector: %w", r.Namespace, r.Name, err)
		}
		if len(list.Items) > 0 {
			out = append(out, r)
		}
	}
	return out, nil
}

func dedupe(refs []ObjectRef) []ObjectRef {
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].Namespace != refs[j].Namespace {
			return refs[i].Namespace < refs[j].Namespace
		}
		return refs[i].Name < refs[j].Name
	})
	out := refs[:0]
	for i, r := range refs {
		if i == 0 || r != refs[i-1] {
			out = append(out, r)
		}
	}
	return out
}
