// Package shim decides what the certificate-shim writes: for each Ingress
// or Gateway, which of the Certificates it asks for (built by
// issuance/shim) to create, which of its existing Certificates to update,
// and which to delete, following cert-manager v1.21's certificate-shim
// (pkg/controller/certificate-shim/sync.go). It is pure: the objects and
// the Certificates that exist come in, a Plan goes out, and job/shim.go
// carries it out.
package shim

import (
	"cmp"
	"slices"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/certsweep/certsweep/renew"
)

// Input is one Ingress or Gateway that asks for Certificates.
type Input struct {
	// Owner is the object's controller reference; its UID says which
	// Certificates are the object's own.
	Owner metav1.OwnerReference
	// Namespace is the object's, and its Certificates'.
	Namespace string
	// Desired are the Certificates it asks for, one per name.
	Desired []*cmapi.Certificate
	// SecretNames are every Secret it still names: an own Certificate for
	// any other Secret is deleted.
	SecretNames map[string]bool
	// ManagedAnnotations are the Certificate annotations the shim sets and
	// removes (issuance/shim.SolverAnnotations); others are left alone.
	ManagedAnnotations []string
}

// Plan is what to write for one object.
type Plan struct {
	// Create are new Certificates.
	Create []*cmapi.Certificate
	// Update are the object's own Certificates with the shim's fields
	// brought in line, at the resourceVersion read.
	Update []*cmapi.Certificate
	// Delete are the object's own Certificates for Secrets it no longer
	// names.
	Delete []*cmapi.Certificate
	// NotOwned are Certificates it asks for under a name another owner
	// (or nobody's controller) already holds: they are never touched.
	NotOwned []NotOwned
	// Refused are Certificates it asks for that cert-manager's admission
	// webhook would refuse: they are neither created nor updated.
	Refused []Refused
}

// NotOwned names a Certificate the shim leaves alone, and who controls it
// ("" for nobody: a Certificate made by hand).
type NotOwned struct {
	Name       string
	Controller string
}

// Refused is a Certificate the webhook would refuse, with its message.
type Refused struct {
	Name    string
	Message string
}

// Empty reports a plan that writes nothing.
func (p Plan) Empty() bool { return len(p.Create)+len(p.Update)+len(p.Delete) == 0 }

// Decide plans every object at once. existing are the Certificates of the
// objects' namespaces that matter: those named like a desired one and those
// an object controls. Objects are taken in order of namespace, kind and
// name, so that when two ask for the same Certificate in one run the first
// creates it and the second finds it taken, on every run alike.
func Decide(inputs []Input, existing []*cmapi.Certificate) []Plan {
	byName := map[key]*cmapi.Certificate{}
	byOwner := map[types.UID][]*cmapi.Certificate{}
	for _, crt := range existing {
		byName[key{crt.Namespace, crt.Name}] = crt
		if c := metav1.GetControllerOf(crt); c != nil {
			byOwner[c.UID] = append(byOwner[c.UID], crt)
		}
	}
	order := make([]int, len(inputs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		x, y := inputs[a], inputs[b]
		return cmp.Or(cmp.Compare(x.Namespace, y.Namespace), cmp.Compare(x.Owner.Kind, y.Owner.Kind), cmp.Compare(x.Owner.Name, y.Owner.Name))
	})
	// claimed are the names created earlier in this run, by owner.
	claimed := map[key]metav1.OwnerReference{}
	plans := make([]Plan, len(inputs))
	for _, i := range order {
		plans[i] = decideOne(inputs[i], byName, byOwner[inputs[i].Owner.UID], claimed)
	}
	return plans
}

type key struct{ namespace, name string }

func decideOne(in Input, byName map[key]*cmapi.Certificate, owned []*cmapi.Certificate, claimed map[key]metav1.OwnerReference) Plan {
	var p Plan
	for _, want := range in.Desired {
		k := key{in.Namespace, want.Name}
		have := byName[k]
		if have == nil {
			if other, ok := claimed[k]; ok {
				p.NotOwned = append(p.NotOwned, NotOwned{Name: want.Name, Controller: describe(&other)})
				continue
			}
			if msg := refusal(want); msg != "" {
				p.Refused = append(p.Refused, Refused{Name: want.Name, Message: msg})
				continue
			}
			claimed[k] = in.Owner
			p.Create = append(p.Create, want)
			continue
		}
		if c := metav1.GetControllerOf(have); c == nil || c.UID != in.Owner.UID {
			p.NotOwned = append(p.NotOwned, NotOwned{Name: want.Name, Controller: describe(c)})
			continue
		}
		next := have.DeepCopy()
		bringInLine(next, want, in.ManagedAnnotations)
		if upToDate(have, next) {
			continue
		}
		if msg := refusal(next); msg != "" {
			p.Refused = append(p.Refused, Refused{Name: want.Name, Message: msg})
			continue
		}
		p.Update = append(p.Update, next)
	}
	for _, crt := range owned {
		if crt.Namespace == in.Namespace && !in.SecretNames[crt.Spec.SecretName] {
			p.Delete = append(p.Delete, crt)
		}
	}
	slices.SortFunc(p.Delete, func(x, y *cmapi.Certificate) int { return cmp.Compare(x.Name, y.Name) })
	return p
}

// describe names a controller as "Kind name", "" for none.
func describe(c *metav1.OwnerReference) string {
	if c == nil {
		return ""
	}
	return c.Kind + " " + c.Name
}

// refusal is the webhook's refusal of crt, "" when it would admit it.
func refusal(crt *cmapi.Certificate) string {
	return renew.RefusalMessage(renew.ValidateCertificate(crt))
}

// bringInLine sets the fields the shim manages on crt to want's: the
// labels, the managed annotations and the spec fields an object's
// annotations and TLS configuration fill. Everything else a person or a
// tool put on the Certificate (other annotations, keystores, output
// formats, ...) stays.
func bringInLine(crt, want *cmapi.Certificate, managed []string) {
	crt.Labels = want.Labels
	for _, k := range managed {
		if v, ok := want.Annotations[k]; ok {
			if crt.Annotations == nil {
				crt.Annotations = map[string]string{}
			}
			crt.Annotations[k] = v
		} else {
			delete(crt.Annotations, k)
		}
	}
	s, w := &crt.Spec, &want.Spec
	s.SecretName = w.SecretName
	s.IssuerRef = w.IssuerRef
	s.CommonName = w.CommonName
	s.DNSNames = w.DNSNames
	s.IPAddresses = w.IPAddresses
	s.EmailAddresses = w.EmailAddresses
	s.Subject = w.Subject
	s.Duration = w.Duration
	s.RenewBefore = w.RenewBefore
	s.RenewBeforePercentage = w.RenewBeforePercentage
	s.Usages = w.Usages
	s.RevisionHistoryLimit = w.RevisionHistoryLimit
	s.PrivateKey = w.PrivateKey
	s.SecretTemplate = w.SecretTemplate
}

// upToDate compares what bringInLine may change, with nil and empty alike
// (the API server drops empty lists and maps).
func upToDate(have, next *cmapi.Certificate) bool {
	return equality.Semantic.DeepEqual(have.Labels, next.Labels) &&
		equality.Semantic.DeepEqual(have.Annotations, next.Annotations) &&
		equality.Semantic.DeepEqual(have.Spec, next.Spec)
}
