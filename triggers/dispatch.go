package triggers

import (
	"context"
	"fmt"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/certsweep/certsweep/job"
)

// Lookup finds the Certificates a changed object concerns by reading the
// API as it is now. job.Sweeper implements it (job/lookup.go).
type Lookup interface {
	CertificatesNamed(ctx context.Context, namespace, name string) ([]job.ObjectRef, error)
	CertificatesOwningSecret(ctx context.Context, namespace, name string) ([]job.ObjectRef, error)
	CertificatesOwningRequest(ctx context.Context, namespace, name string) ([]job.ObjectRef, error)
	CertificatesOwningOrder(ctx context.Context, namespace, name string) ([]job.ObjectRef, error)
	CertificatesOwningChallenge(ctx context.Context, namespace, name string) ([]job.ObjectRef, error)
	CertificatesUsingIssuer(ctx context.Context, kind, namespace, name string) ([]job.ObjectRef, error)
	// CSROwningOrder and CSROwningChallenge name the Kubernetes
	// CertificateSigningRequest an ACME Order (or a Challenge, through its
	// Order) works for, or "".
	CSROwningOrder(ctx context.Context, namespace, name string) (string, error)
	CSROwningChallenge(ctx context.Context, namespace, name string) (string, error)
}

// Target is what event-driven triggers drive: a Sweeper that can also look
// up the Certificates an object concerns.
type Target interface {
	Sweeper
	Lookup
	// ShimNamespace runs the certificate-shim over one namespace's
	// Ingresses and Gateways and sweeps that namespace (job/shim.go); a
	// nil report means the shim is off or the namespace out of scope.
	ShimNamespace(ctx context.Context, namespace string) (*job.Report, error)
	// HandleUnownedRequest approves and signs one CertificateRequest no
	// Certificate owns, if it is due (job/requests.go); a nil report means
	// there was nothing to do.
	HandleUnownedRequest(ctx context.Context, namespace, name string) (*job.Report, error)
	// ReconcileCSR signs one Kubernetes CertificateSigningRequest if it is
	// due (job/csr.go).
	ReconcileCSR(ctx context.Context, name string) (*job.Report, error)
}

// route says how a changed object of one kind maps to Certificates.
type route struct {
	namespaced bool
	find       func(ctx context.Context, l Lookup, s Subject) ([]job.ObjectRef, error)
	// shim: the object asks the certificate-shim for Certificates, so its
	// namespace is swept, shim first, instead of looking anything up.
	shim bool
	// csr: the object is a Kubernetes CertificateSigningRequest, which
	// concerns no Certificate: it is signed, if due, by itself.
	csr bool
	// unowned: when find yields no Certificate, the object is a
	// CertificateRequest no Certificate owns (cmctl's, a CSI driver's),
	// handled by itself.
	unowned bool
	// csrOwner: when find yields no Certificate, the Kubernetes
	// CertificateSigningRequest the object works for, if any, is signed.
	csrOwner func(ctx context.Context, l Lookup, s Subject) (string, error)
}

// routes is the whole event -> work mapping, one row per kind we watch.
// A delete takes the same path as an add or update: the lookup reads what
// exists now, so a deleted Certificate yields nothing to do, and a deleted
// Secret yields the Certificate that must now reissue it.
var routes = map[schema.GroupKind]route{
	// The Certificate itself: reconcile it.
	{Group: certManagerGroup, Kind: cmapi.CertificateKind}: {namespaced: true, find: func(ctx context.Context, l Lookup, s Subject) ([]job.ObjectRef, error) {
		return l.CertificatesNamed(ctx, s.Namespace, s.Name)
	}},
	// A target or next-private-key Secret: its Certificate.
	{Group: "", Kind: "Secret"}: {namespaced: true, find: func(ctx context.Context, l Lookup, s Subject) ([]job.ObjectRef, error) {
		return l.CertificatesOwningSecret(ctx, s.Namespace, s.Name)
	}},
	// A CertificateRequest (an external issuer signed it, or someone
	// approved or denied it): the Certificate it was made for, or, for a
	// request no Certificate owns, the request itself.
	{Group: certManagerGroup, Kind: cmapi.CertificateRequestKind}: {namespaced: true, unowned: true, find: func(ctx context.Context, l Lookup, s Subject) ([]job.ObjectRef, error) {
		return l.CertificatesOwningRequest(ctx, s.Namespace, s.Name)
	}},
	// An ACME Order or Challenge (the CA moved on, or a sweep recorded a
	// step): the Certificate whose request it works for, through the
	// request that controls the Order, so the next step is taken now
	// rather than at the next ping; or the Kubernetes
	// CertificateSigningRequest that controls the Order.
	{Group: acmeGroup, Kind: "Order"}: {namespaced: true, find: func(ctx context.Context, l Lookup, s Subject) ([]job.ObjectRef, error) {
		return l.CertificatesOwningOrder(ctx, s.Namespace, s.Name)
	}, csrOwner: func(ctx context.Context, l Lookup, s Subject) (string, error) {
		return l.CSROwningOrder(ctx, s.Namespace, s.Name)
	}},
	{Group: acmeGroup, Kind: "Challenge"}: {namespaced: true, find: func(ctx context.Context, l Lookup, s Subject) ([]job.ObjectRef, error) {
		return l.CertificatesOwningChallenge(ctx, s.Namespace, s.Name)
	}, csrOwner: func(ctx context.Context, l Lookup, s Subject) (string, error) {
		return l.CSROwningChallenge(ctx, s.Namespace, s.Name)
	}},
	// An issuer: every Certificate that references it.
	{Group: certManagerGroup, Kind: cmapi.IssuerKind}: {namespaced: true, find: func(ctx context.Context, l Lookup, s Subject) ([]job.ObjectRef, error) {
		return l.CertificatesUsingIssuer(ctx, cmapi.IssuerKind, s.Namespace, s.Name)
	}},
	{Group: certManagerGroup, Kind: cmapi.ClusterIssuerKind}: {namespaced: false, find: func(ctx context.Context, l Lookup, s Subject) ([]job.ObjectRef, error) {
		return l.CertificatesUsingIssuer(ctx, cmapi.ClusterIssuerKind, "", s.Name)
	}},
	// An Ingress or a Gateway: the Certificates it asks for may have to be
	// created, updated or deleted, and a deleted one leaves nothing to look
	// up, so its namespace is swept with the shim first.
	{Group: "networking.k8s.io", Kind: "Ingress"}:         {namespaced: true, shim: true},
	{Group: "gateway.networking.k8s.io", Kind: "Gateway"}: {namespaced: true, shim: true},
	// A CertificateSigningRequest (created, or approved): sign it now.
	{Group: "certificates.k8s.io", Kind: "CertificateSigningRequest"}: {csr: true},
}

// Outcome is what handling one event did.
type Outcome struct {
	Request Request
	// Refs are the Certificates reconciled (nil for a sweep or nothing).
	Refs []job.ObjectRef
	// Report is the run's report; nil when the event asked for nothing.
	Report *job.Report
}

// Handle carries out one Request: a full sweep for a ping, a reconcile of
// the Certificates the subject concerns, or nothing. Both `serve` and `run`
// with an event file come through here, so the two agree on every event.
// Errors wrap job.ErrRunImpossible when the API could not be read.
func Handle(ctx context.Context, t Target, req Request) (Outcome, error) {
	out := Outcome{Request: req}
	switch {
	case req.Sweep:
		rep, err := t.Run(ctx)
		out.Report = rep
		return out, err
	case req.Subject == nil:
		return out, nil
	}
	r, ok := routes[req.Subject.groupKind()]
	if !ok {
		return out, nil // a kind we do not watch: nothing concerns us
	}
	if r.csr {
		rep, err := t.ReconcileCSR(ctx, req.Subject.Name)
		out.Report = rep
		return out, err
	}
	if r.shim {
		rep, err := t.ShimNamespace(ctx, req.Subject.Namespace)
		out.Report = rep
		return out, err
	}
	refs, err := r.find(ctx, t, *req.Subject)
	if err != nil {
		return out, fmt.Errorf("%w: finding the certificates %s concerns: %w", job.ErrRunImpossible, req.Subject, err)
	}
	out.Refs = refs
	if len(refs) == 0 {
		if r.csrOwner != nil {
			name, err := r.csrOwner(ctx, t, *req.Subject)
			if err != nil {
				return out, fmt.Errorf("%w: finding the CertificateSigningRequest %s works for: %w", job.ErrRunImpossible, req.Subject, err)
			}
			if name != "" {
				rep, err := t.ReconcileCSR(ctx, name)
				out.Report = rep
				return out, err
			}
		}
		if r.unowned {
			rep, err := t.HandleUnownedRequest(ctx, req.Subject.Namespace, req.Subject.Name)
			out.Report = rep
			return out, err
		}
		return out, nil
	}
	rep, err := t.Reconcile(ctx, refs)
	out.Report = rep
	return out, err
}
