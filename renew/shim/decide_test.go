package shim

import (
	"reflect"
	"strings"
	"testing"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

var managed = []string{
	cmacme.ACMECertificateHTTP01IngressNameOverride, cmapi.IssueTemporaryCertificateAnnotation,
	cmacme.ACMECertificateHTTP01IngressClassOverride, cmacme.ACMECertificateHTTP01IngressClassNameOverride,
	cmacme.ACMECertificateHTTP01ParentRefKind, cmacme.ACMECertificateHTTP01ParentRefName,
}

func owner(name string, uid types.UID) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Name: name, UID: uid, Controller: &yes, BlockOwnerDeletion: &yes}
}

// desired is what an Ingress "site" asks for under name: a Certificate
// for name.example.com from the Issuer "ca".
func desired(name string, by metav1.OwnerReference) *cmapi.Certificate {
	return &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "web", Labels: map[string]string{"app": "site"}, OwnerReferences: []metav1.OwnerReference{by}},
		Spec: cmapi.CertificateSpec{
			SecretName: name, DNSNames: []string{name + ".example.com"},
			IssuerRef: cmmeta.IssuerReference{Name: "ca", Kind: "Issuer", Group: "cert-manager.io"},
			Usages:    cmapi.DefaultKeyUsages(),
		},
	}
}

// stored is want as the API server returns it: with a UID, a
// resourceVersion, status and certsweep's own annotations.
func stored(want *cmapi.Certificate) *cmapi.Certificate {
	crt := want.DeepCopy()
	crt.UID = types.UID("crt-" + want.Name)
	crt.ResourceVersion = "11"
	crt.Annotations = map[string]string{"certsweep.io/failed-attempts": "1"}
	for k, v := range want.Annotations {
		crt.Annotations[k] = v
	}
	rev := 1
	crt.Status.Revision = &rev
	return crt
}

func input(by metav1.OwnerReference, want ...*cmapi.Certificate) Input {
	names := map[string]bool{}
	for _, w := range want {
		names[w.Spec.SecretName] = true
	}
	return Input{Owner: by, Namespace: "web", Desired: want, SecretNames: names, ManagedAnnotations: managed}
}

func names(list []*cmapi.Certificate) []string {
	var out []string
	for _, c := range list {
		out = append(out, c.Name)
	}
	return out
}

// One row per situation the shim meets with one Ingress: what it creates,
// updates, deletes and leaves alone.
func TestDecide(t *testing.T) {
	site := owner("site", "ing-uid")
	other := owner("other", "other-uid")
	cases := []struct {
		name     string
		in       Input
		existing []*cmapi.Certificate
		create   []string
		update   []string
		delete   []string
		notOwned []NotOwned
		refused  []string
	}{
		{name: "nothing there: create", in: input(site, desired("a", site)), create: []string{"a"}},
		{name: "up to date: nothing", in: input(site, desired("a", site)), existing: []*cmapi.Certificate{stored(desired("a", site))}},
		{name: "nil and empty labels are the same", in: func() Input {
			w := desired("a", site)
			w.Labels = map[string]string{}
			return input(site, w)
		}(), existing: []*cmapi.Certificate{func() *cmapi.Certificate { c := stored(desired("a", site)); c.Labels = nil; return c }()}},
		{name: "hosts changed: update", in: func() Input {
			w := desired("a", site)
			w.Spec.DNSNames = append(w.Spec.DNSNames, "www.example.com")
			return input(site, w)
		}(), existing: []*cmapi.Certificate{stored(desired("a", site))}, update: []string{"a"}},
		{name: "usages changed: update (cert-manager would not)", in: func() Input {
			w := desired("a", site)
			w.Spec.Usages = []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageServerAuth}
			return input(site, w)
		}(), existing: []*cmapi.Certificate{stored(desired("a", site))}, update: []string{"a"}},
		{name: "subject changed: update (cert-manager would not)", in: func() Input {
			w := desired("a", site)
			w.Spec.Subject = &cmapi.X509Subject{Organizations: []string{"Acme"}}
			return input(site, w)
		}(), existing: []*cmapi.Certificate{stored(desired("a", site))}, update: []string{"a"}},
		{name: "issuer group changed: update", in: func() Input {
			w := desired("a", site)
			w.Spec.IssuerRef.Group = "example.com"
			return input(site, w)
		}(), existing: []*cmapi.Certificate{stored(desired("a", site))}, update: []string{"a"}},
		{name: "labels changed: update", in: func() Input {
			w := desired("a", site)
			w.Labels = map[string]string{"app": "site", "tier": "web"}
			return input(site, w)
		}(), existing: []*cmapi.Certificate{stored(desired("a", site))}, update: []string{"a"}},
		{name: "an ACME annotation added: update", in: func() Input {
			w := desired("a", site)
			w.Annotations = map[string]string{cmacme.ACMECertificateHTTP01IngressClassOverride: "nginx"}
			return input(site, w)
		}(), existing: []*cmapi.Certificate{stored(desired("a", site))}, update: []string{"a"}},
		{name: "a user's Certificate of that name: left alone", in: input(site, desired("a", site)),
			existing: []*cmapi.Certificate{func() *cmapi.Certificate { c := stored(desired("a", site)); c.OwnerReferences = nil; return c }()},
			notOwned: []NotOwned{{Name: "a"}}},
		{name: "another Ingress's Certificate of that name: left alone", in: input(site, desired("a", site)),
			existing: []*cmapi.Certificate{stored(desired("a", other))},
			notOwned: []NotOwned{{Name: "a", Controller: "Ingress other"}}},
		{name: "an own Certificate for a Secret no longer named: delete", in: input(site, desired("b", site)),
			existing: []*cmapi.Certificate{stored(desired("a", site))}, create: []string{"b"}, delete: []string{"a"}},
		{name: "an own Certificate whose Secret is still named (a skipped entry): kept", in: func() Input {
			in := input(site)
			in.SecretNames = map[string]bool{"a": true}
			return in
		}(), existing: []*cmapi.Certificate{stored(desired("a", site))}},
		{name: "another Ingress's Certificate is never deleted", in: input(site),
			existing: []*cmapi.Certificate{stored(desired("a", other))}},
		{name: "a Certificate the webhook would refuse is not created", in: func() Input {
			w := desired("a", site)
			w.Spec.Duration = &metav1.Duration{Duration: time.Minute}
			return input(site, w)
		}(), refused: []string{"a"}},
		{name: "an update the webhook would refuse is not made", in: func() Input {
			w := desired("a", site)
			w.Spec.Duration = &metav1.Duration{Duration: time.Minute}
			return input(site, w)
		}(), existing: []*cmapi.Certificate{stored(desired("a", site))}, refused: []string{"a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := Decide([]Input{tc.in}, tc.existing)[0]
			var refused []string
			for _, r := range p.Refused {
				refused = append(refused, r.Name)
				if !strings.Contains(r.Message, "spec.duration") {
					t.Errorf("refusal %q does not say why", r.Message)
				}
			}
			if !reflect.DeepEqual(names(p.Create), tc.create) || !reflect.DeepEqual(names(p.Update), tc.update) ||
				!reflect.DeepEqual(names(p.Delete), tc.delete) || !reflect.DeepEqual(p.NotOwned, tc.notOwned) ||
				!reflect.DeepEqual(refused, tc.refused) {
				t.Errorf("create %q update %q delete %q notOwned %v refused %q\nwant create %q update %q delete %q notOwned %v refused %q",
					names(p.Create), names(p.Update), names(p.Delete), p.NotOwned, refused,
					tc.create, tc.update, tc.delete, tc.notOwned, tc.refused)
			}
		})
	}
}

// An update brings the shim's fields in line and keeps everything else: the
// resourceVersion read, status, other annotations (certsweep's retry state
// among them) and the spec fields the shim does not manage.
func TestUpdateKeepsWhatTheShimDoesNotManage(t *testing.T) {
	site := owner("site", "ing-uid")
	have := stored(desired("a", site))
	have.Annotations[cmacme.ACMECertificateHTTP01IngressClassOverride] = "old"
	have.Annotations["team.example.com/note"] = "keep"
	have.Spec.Keystores = &cmapi.CertificateKeystores{PKCS12: &cmapi.PKCS12Keystore{Create: true, PasswordSecretRef: cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "p12"}, Key: "password"}}}
	have.Spec.CommonName = "old"
	want := desired("a", site)
	want.Spec.Duration = &metav1.Duration{Duration: 2160 * time.Hour}

	p := Decide([]Input{input(site, want)}, []*cmapi.Certificate{have})[0]
	if len(p.Update) != 1 {
		t.Fatalf("plan %+v, want one update", p)
	}
	got := p.Update[0]
	if got.ResourceVersion != "11" || got.Status.Revision == nil {
		t.Errorf("resourceVersion %q, revision %v: the update must carry what was read", got.ResourceVersion, got.Status.Revision)
	}
	wantAnn := map[string]string{"certsweep.io/failed-attempts": "1", "team.example.com/note": "keep"}
	if !reflect.DeepEqual(got.Annotations, wantAnn) {
		t.Errorf("annotations %v, want %v (the managed override removed, the rest kept)", got.Annotations, wantAnn)
	}
	if got.Spec.Keystores == nil || got.Spec.CommonName != "" || got.Spec.Duration == nil || got.Spec.Duration.Duration != 2160*time.Hour {
		t.Errorf("spec %+v: keystores kept, commonName cleared, duration set", got.Spec)
	}
	if have.Spec.Duration != nil || have.Spec.CommonName != "old" {
		t.Error("the Certificate read was changed in place")
	}
}

// Two objects asking for the same Certificate in one run: the first in
// order of namespace, kind and name creates it, on every run alike; the
// other leaves it alone.
func TestTwoObjectsAskingForOneCertificate(t *testing.T) {
	a, b := owner("a-site", "a-uid"), owner("b-site", "b-uid")
	for _, inputs := range [][]Input{
		{input(a, desired("shared", a)), input(b, desired("shared", b))},
		{input(b, desired("shared", b)), input(a, desired("shared", a))},
	} {
		plans := Decide(inputs, nil)
		for i, in := range inputs {
			p := plans[i]
			if in.Owner.Name == "a-site" {
				if !reflect.DeepEqual(names(p.Create), []string{"shared"}) {
					t.Errorf("a-site: create %q, want shared", names(p.Create))
				}
			} else if len(p.Create) != 0 || !reflect.DeepEqual(p.NotOwned, []NotOwned{{Name: "shared", Controller: "Ingress a-site"}}) {
				t.Errorf("b-site: create %q, notOwned %v; want it left to a-site", names(p.Create), p.NotOwned)
			}
		}
	}
}
