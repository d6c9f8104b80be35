package triggers

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/certsweep/certsweep/job"
)

// fakeTarget answers each lookup with the Certificate it was asked about,
// named after the lookup, and records what was reconciled.
type fakeTarget struct {
	asked      []string
	reconciled []job.ObjectRef
	swept      bool
	// shimmed are the namespaces swept with the certificate-shim.
	shimmed []string
	// csrs are the CertificateSigningRequests reconciled.
	csrs []string
	// unowned are the CertificateRequests handled by themselves.
	unowned []string
	// orphans: every lookup finds no Certificate.
	orphans bool
	// csrOwner is the CertificateSigningRequest every Order and Challenge
	// works for ("" for none).
	csrOwner string
}

func (f *fakeTarget) found(lookup, namespace, name string) ([]job.ObjectRef, error) {
	f.asked = append(f.asked, fmt.Sprintf("%s %s/%s", lookup, namespace, name))
	if f.orphans {
		return nil, nil
	}
	return []job.ObjectRef{{Namespace: namespace, Name: "of-" + name}}, nil
}

func (f *fakeTarget) CertificatesNamed(_ context.Context, ns, name string) ([]job.ObjectRef, error) {
	return f.found("named", ns, name)
}
func (f *fakeTarget) CertificatesOwningSecret(_ context.Context, ns, name string) ([]job.ObjectRef, error) {
	return f.found("secret", ns, name)
}
func (f *fakeTarget) CertificatesOwningRequest(_ context.Context, ns, name string) ([]job.ObjectRef, error) {
	return f.found("request", ns, name)
}
func (f *fakeTarget) CertificatesOwningOrder(_ context.Context, ns, name string) ([]job.ObjectRef, error) {
	return f.found("order", ns, name)
}
func (f *fakeTarget) CertificatesOwningChallenge(_ context.Context, ns, name string) ([]job.ObjectRef, error) {
	return f.found("challenge", ns, name)
}
func (f *fakeTarget) CertificatesUsingIssuer(_ context.Context, kind, ns, name string) ([]job.ObjectRef, error) {
	return f.found("issuer "+kind, ns, name)
}
func (f *fakeTarget) CSROwningOrder(_ context.Context, ns, name string) (string, error) {
	f.asked = append(f.asked, fmt.Sprintf("csr of order %s/%s", ns, name))
	return f.csrOwner, nil
}
func (f *fakeTarget) CSROwningChallenge(_ context.Context, ns, name string) (string, error) {
	f.asked = append(f.asked, fmt.Sprintf("csr of challenge %s/%s", ns, name))
	return f.csrOwner, nil
}
func (f *fakeTarget) Run(context.Context) (*job.Report, error) {
	f.swept = true
	return &job.Report{}, nil
}
func (f *fakeTarget) Reconcile(_ context.Context, refs []job.ObjectRef) (*job.Report, error) {
	f.reconciled = append(f.reconciled, refs...)
	return &job.Report{}, nil
}
func (f *fakeTarget) HandleUnownedRequest(_ context.Context, namespace, name string) (*job.Report, error) {
	f.unowned = append(f.unowned, namespace+"/"+name)
	return nil, nil
}
func (f *fakeTarget) ReconcileCSR(_ context.Context, name string) (*job.Report, error) {
	f.csrs = append(f.csrs, name)
	return &job.Report{}, nil
}
func (f *fakeTarget) ShimNamespace(_ context.Context, ns string) (*job.Report, error) {
	f.shimmed = append(f.shimmed, ns)
	return &job.Report{}, nil
}

// One row per watched kind: which lookup its event asks, and that what the
// lookup found is reconciled, never a full sweep.
func TestHandleRoutesEachKind(t *testing.T) {
	cases := []struct {
		subject Subject
		asked   string
	}{
		{Subject{Group: "cert-manager.io", Kind: "Certificate", Namespace: "web", Name: "site"}, "named web/site"},
		{Subject{Kind: "Secret", Namespace: "web", Name: "site-tls"}, "secret web/site-tls"},
		{Subject{Group: "cert-manager.io", Kind: "CertificateRequest", Namespace: "web", Name: "site-1"}, "request web/site-1"},
		{Subject{Group: "acme.cert-manager.io", Kind: "Order", Namespace: "web", Name: "site-1-29"}, "order web/site-1-29"},
		{Subject{Group: "acme.cert-manager.io", Kind: "Challenge", Namespace: "web", Name: "site-1-29-33"}, "challenge web/site-1-29-33"},
		{Subject{Group: "cert-manager.io", Kind: "Issuer", Namespace: "web", Name: "ca"}, "issuer Issuer web/ca"},
		{Subject{Group: "cert-manager.io", Kind: "ClusterIssuer", Name: "ca"}, "issuer ClusterIssuer /ca"},
	}
	for _, tc := range cases {
		t.Run(tc.subject.String(), func(t *testing.T) {
			f := &fakeTarget{}
			out, err := Handle(context.Background(), f, Request{Subject: &tc.subject})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f.asked, []string{tc.asked}) {
				t.Errorf("asked %q, want %q", f.asked, tc.asked)
			}
			want := []job.ObjectRef{{Namespace: tc.subject.Namespace, Name: "of-" + tc.subject.Name}}
			if f.swept || !reflect.DeepEqual(f.reconciled, want) || !reflect.DeepEqual(out.Refs, want) {
				t.Errorf("swept %v, reconciled %v, refs %v; want %v reconciled", f.swept, f.reconciled, out.Refs, want)
			}
		})
	}
}

// An Order or a Challenge of another group (someone else's CRD named the
// same) is not ours: nothing is looked up.
func TestHandleIgnoresOrdersOfAnotherGroup(t *testing.T) {
	for _, kind := range []string{"Order", "Challenge"} {
		f := &fakeTarget{}
		out, err := Handle(context.Background(), f, Request{Subject: &Subject{Group: "shop.example.com", Kind: kind, Namespace: "web", Name: "o"}})
		if err != nil || len(f.asked) != 0 || out.Report != nil {
			t.Errorf("%s of shop.example.com: err %v, asked %v, report %v", kind, err, f.asked, out.Report)
		}
	}
}

// An Ingress or a Gateway sweeps its namespace with the certificate-shim
// first: nothing is looked up, nothing else is swept. The same kinds of
// another group are not ours.
func TestHandleSweepsTheNamespaceOfAnIngressOrGateway(t *testing.T) {
	for _, tc := range []struct {
		subject Subject
		shimmed []string
	}{
		{Subject{Group: "networking.k8s.io", Kind: "Ingress", Namespace: "web", Name: "site"}, []string{"web"}},
		{Subject{Group: "gateway.networking.k8s.io", Kind: "Gateway", Namespace: "edge", Name: "gw"}, []string{"edge"}},
		{Subject{Group: "extensions", Kind: "Ingress", Namespace: "web", Name: "site"}, nil},
		{Subject{Group: "shop.example.com", Kind: "Gateway", Namespace: "web", Name: "gw"}, nil},
	} {
		t.Run(tc.subject.String(), func(t *testing.T) {
			f := &fakeTarget{}
			out, err := Handle(context.Background(), f, Request{Subject: &tc.subject})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f.shimmed, tc.shimmed) || len(f.asked) != 0 || f.swept || len(f.reconciled) != 0 {
				t.Errorf("shimmed %q, asked %q, swept %v, reconciled %v; want shimmed %q only", f.shimmed, f.asked, f.swept, f.reconciled, tc.shimmed)
			}
			if (out.Report != nil) != (tc.shimmed != nil) {
				t.Errorf("report %v, want one only for a shim sweep", out.Report)
			}
		})
	}
}

// A CertificateSigningRequest is signed by itself: nothing is looked up or
// swept. The same kind of another group is not ours.
func TestHandleSignsACertificateSigningRequest(t *testing.T) {
	for _, tc := range []struct {
		subject Subject
		csrs    []string
	}{
		{Subject{Group: "certificates.k8s.io", Kind: "CertificateSigningRequest", Name: "client-1"}, []string{"client-1"}},
		{Subject{Group: "shop.example.com", Kind: "CertificateSigningRequest", Name: "client-1"}, nil},
	} {
		t.Run(tc.subject.String(), func(t *testing.T) {
			f := &fakeTarget{}
			out, err := Handle(context.Background(), f, Request{Subject: &tc.subject})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f.csrs, tc.csrs) || len(f.asked) != 0 || f.swept || len(f.reconciled) != 0 || len(f.shimmed) != 0 {
				t.Errorf("csrs %q, asked %q, swept %v, reconciled %v, shimmed %q; want csrs %q only", f.csrs, f.asked, f.swept, f.reconciled, f.shimmed, tc.csrs)
			}
			if (out.Report != nil) != (tc.csrs != nil) {
				t.Errorf("report %v, want one only for a signed request", out.Report)
			}
		})
	}
}

// A CertificateRequest no Certificate owns (cmctl's) is handled by itself;
// any other object whose lookup finds no Certificate concerns nothing.
func TestHandleGivesAnUnownedRequestToItself(t *testing.T) {
	for _, tc := range []struct {
		subject Subject
		unowned []string
	}{
		{Subject{Group: "cert-manager.io", Kind: "CertificateRequest", Namespace: "web", Name: "tool"}, []string{"web/tool"}},
		{Subject{Group: "", Kind: "Secret", Namespace: "web", Name: "tool-tls"}, nil},
		{Subject{Group: "acme.cert-manager.io", Kind: "Order", Namespace: "web", Name: "tool-1"}, nil},
	} {
		t.Run(tc.subject.String(), func(t *testing.T) {
			f := &fakeTarget{orphans: true}
			if _, err := Handle(context.Background(), f, Request{Subject: &tc.subject}); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f.unowned, tc.unowned) || f.swept || len(f.reconciled) != 0 {
				t.Errorf("unowned %q, swept %v, reconciled %v; want unowned %q only", f.unowned, f.swept, f.reconciled, tc.unowned)
			}
		})
	}
}

// An Order or a Challenge no Certificate's request controls, but a
// Kubernetes CertificateSigningRequest does, signs that CSR; one that
// neither controls leads nowhere.
func TestHandleSignsTheCSROwningAnOrder(t *testing.T) {
	for _, tc := range []struct {
		kind, csrOwner string
		csrs           []string
	}{
		{"Order", "client-1", []string{"client-1"}},
		{"Challenge", "client-1", []string{"client-1"}},
		{"Order", "", nil},
		{"Challenge", "", nil},
	} {
		t.Run(tc.kind+" of "+tc.csrOwner, func(t *testing.T) {
			f := &fakeTarget{orphans: true, csrOwner: tc.csrOwner}
			out, err := Handle(context.Background(), f, Request{Subject: &Subject{Group: "acme.cert-manager.io", Kind: tc.kind, Namespace: "cert-manager", Name: "client-1-42"}})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f.csrs, tc.csrs) || f.swept || len(f.reconciled) != 0 || (out.Report != nil) != (tc.csrs != nil) {
				t.Errorf("signed %q, swept %v, reconciled %v, report %v; want %q signed only", f.csrs, f.swept, f.reconciled, out.Report, tc.csrs)
			}
		})
	}
}
