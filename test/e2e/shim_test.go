package e2e

// The certificate-shim against the real API server: annotated Ingresses and
// Gateways get their Certificates, issued in the same sweep; edits update
// them in place, renames replace them, a Certificate the shim does not own
// is never touched, and the writes survive faults.

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	gwapi "sigs.k8s.io/gateway-api/apis/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/test/harness"
)

// shimOn turns the certificate-shim on, reading Gateways through cfg.
func shimOn(t *testing.T, cfg *rest.Config) func(*job.Options) {
	gw, err := gwclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return func(o *job.Options) {
		o.Shim = job.ShimOptions{Enabled: true, Gateways: gw}
		o.Logger = testLogger(t)
	}
}

// shimRun is one sweep with the shim, through cfg (admin when nil).
func (e *env) shimRun(cfg *rest.Config, mutate ...func(*job.Options)) *job.Report {
	e.t.Helper()
	if cfg == nil {
		cfg = e.cp.Config
	}
	rep, err := e.sweeper(cfg, append([]func(*job.Options){shimOn(e.t, cfg)}, mutate...)...).Run(e.ctx())
	if err != nil {
		e.t.Fatalf("sweep: %v", err)
	}
	e.t.Logf("sweep: %s", rep.Summary())
	return rep
}

// requireShimRunWritesNothing runs a sweep with the shim and fails on any
// write request.
func (e *env) requireShimRunWritesNothing() {
	e.t.Helper()
	cfg, counter := harness.WrapCounting(e.cp.Config)
	e.shimRun(cfg)
	if n := counter.Writes(); n != 0 {
		e.t.Fatalf("a run with nothing to do wrote %d times: %v", n, counter.Snapshot().Writes())
	}
}

// ingressFor is an Ingress annotated with the Issuer "ca" plus ann, with one
// TLS entry per secretName: hosts pair.
func ingressFor(name string, ann map[string]string, tls ...networkingv1.IngressTLS) *networkingv1.Ingress {
	all := map[string]string{cmapi.IngressIssuerNameAnnotationKey: "ca"}
	for k, v := range ann {
		all[k] = v
	}
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: all, Labels: map[string]string{"app": name}},
		Spec: networkingv1.IngressSpec{
			DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: 80}}},
			TLS:            tls,
		},
	}
}

func tlsFor(secret string, hosts ...string) networkingv1.IngressTLS {
	return networkingv1.IngressTLS{SecretName: secret, Hosts: hosts}
}

func (e *env) createIngress(ing *networkingv1.Ingress) {
	e.t.Helper()
	ing.Namespace = e.ns
	if _, err := e.kube.NetworkingV1().Ingresses(e.ns).Create(e.ctx(), ing, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating ingress: %v", err)
	}
}

// editIngress changes an Ingress as a person would, retrying on conflict.
func (e *env) editIngress(name string, edit func(*networkingv1.Ingress)) {
	e.t.Helper()
	for {
		ing, err := e.kube.NetworkingV1().Ingresses(e.ns).Get(e.ctx(), name, metav1.GetOptions{})
		if err != nil {
			e.t.Fatal(err)
		}
		edit(ing)
		_, err = e.kube.NetworkingV1().Ingresses(e.ns).Update(e.ctx(), ing, metav1.UpdateOptions{})
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) {
			e.t.Fatalf("editing ingress %s: %v", name, err)
		}
	}
}

func (e *env) ingress(name string) *networkingv1.Ingress {
	e.t.Helper()
	ing, err := e.kube.NetworkingV1().Ingresses(e.ns).Get(e.ctx(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return ing
}

// requireNoCertificate asserts a Certificate does not exist.
func (e *env) requireNoCertificate(name string) {
	e.t.Helper()
	_, err := e.cm.CertmanagerV1().Certificates(e.ns).Get(e.ctx(), name, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		e.t.Fatalf("certificate %s: %v, want it not to exist", name, err)
	}
}

// eventsOn lists the events on the named object of kind with reason.
func (e *env) eventsOn(kind, name, reason string) []corev1.Event {
	e.t.Helper()
	list, err := e.kube.CoreV1().Events(e.ns).List(e.ctx(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []corev1.Event
	for _, ev := range list.Items {
		if ev.InvolvedObject.Kind == kind && ev.Reason == reason {
			out = append(out, ev)
		}
	}
	return out
}

// requireControlledBy asserts crt's controller is the named object.
func requireControlledBy(t *testing.T, crt *cmapi.Certificate, kind, name string, uid any) {
	t.Helper()
	c := metav1.GetControllerOf(crt)
	if c == nil || c.Kind != kind || c.Name != name || string(c.UID) != uid {
		t.Fatalf("certificate %s controlled by %+v, want %s %s", crt.Name, c, kind, name)
	}
}

// TestShimIngressIssuedInOneSweep: an annotated Ingress gets its
// Certificate, owned by it and shaped by its annotations, and a Ready
// Secret in the same sweep; the next sweep makes no write and reads
// Ingresses and Gateways with one LIST each.
func TestShimIngressIssuedInOneSweep(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.createIngress(ingressFor("site", map[string]string{
		"cert-manager.io/common-name":           "site.example.test",
		"cert-manager.io/duration":              "2160h",
		"cert-manager.io/private-key-algorithm": "ECDSA",
		"cert-manager.io/subject-organizations": `"Example, Inc."`,
		"applyset.kubernetes.io/id":             "ignored",
	}, tlsFor("site-tls", "site.example.test", "www.site.example.test")))

	rep := e.shimRun(nil)
	if rep.Issued != 2 || rep.Failed != 0 {
		t.Fatalf("want the CA and the Ingress's Certificate issued in one sweep: %s", rep.Summary())
	}
	crt := e.requireReady("site-tls", 1)
	requireControlledBy(t, crt, "Ingress", "site", string(e.ingress("site").UID))
	if !slices.Equal(crt.Spec.DNSNames, []string{"site.example.test", "www.site.example.test"}) || crt.Spec.CommonName != "site.example.test" ||
		crt.Spec.Duration == nil || crt.Spec.Duration.Duration != 2160*time.Hour || crt.Spec.SecretName != "site-tls" ||
		crt.Spec.IssuerRef != (cmmeta.IssuerReference{Name: "ca", Kind: "Issuer", Group: "cert-manager.io"}) ||
		crt.Labels["app"] != "site" {
		t.Fatalf("certificate %+v %+v", crt.ObjectMeta, crt.Spec)
	}
	p := parseSecret(t, e.secret("site-tls"))
	verifyChain(t, p)
	leaf := p.chain[0]
	if !slices.Equal(leaf.DNSNames, crt.Spec.DNSNames) || !slices.Equal(leaf.Subject.Organization, []string{"Example, Inc."}) {
		t.Fatalf("leaf SANs %q, subject %s", leaf.DNSNames, leaf.Subject)
	}
	if evs := e.eventsOn("Ingress", "site", "CreateCertificate"); len(evs) != 1 || evs[0].Message != `Successfully created Certificate "site-tls"` {
		t.Fatalf("CreateCertificate events on the Ingress: %+v", evs)
	}

	cfg, counter := harness.WrapCounting(e.cp.Config)
	e.shimRun(cfg)
	snap := counter.Snapshot()
	if n := counter.Writes(); n != 0 {
		t.Fatalf("the second sweep wrote: %v", snap.Writes())
	}
	if snap.ByResource["LIST ingresses.networking.k8s.io"] != 1 || snap.ByResource["LIST gateways.gateway.networking.k8s.io"] != 1 ||
		snap.ByResource["GET ingresses.networking.k8s.io"] != 0 || snap.ByResource["GET gateways.gateway.networking.k8s.io"] != 0 {
		t.Fatalf("want one LIST of Ingresses and of Gateways and no GET:\n%s", snap)
	}
}

// TestShimIngressEditsUpdateInPlace: a new host, usages and subject on the
// Ingress update its Certificate (same object), which is reissued in the
// same sweep; dropping an annotation clears its field.
func TestShimIngressEditsUpdateInPlace(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.createIngress(ingressFor("site", map[string]string{"cert-manager.io/duration": "2160h"}, tlsFor("site-tls", "site.example.test")))
	e.shimRun(nil)
	before := e.requireReady("site-tls", 1)

	e.editIngress("site", func(ing *networkingv1.Ingress) {
		ing.Spec.TLS[0].Hosts = append(ing.Spec.TLS[0].Hosts, "api.site.example.test")
		ing.Annotations["cert-manager.io/usages"] = "digital signature,key encipherment,server auth"
		ing.Annotations["cert-manager.io/subject-countries"] = "NL"
		ing.Annotations["acme.cert-manager.io/http01-ingress-class"] = "nginx"
		delete(ing.Annotations, "cert-manager.io/duration")
	})
	rep := e.shimRun(nil)
	if rep.Issued != 1 {
		t.Fatalf("want the updated Certificate reissued in the same sweep: %s", rep.Summary())
	}
	after := e.requireReady("site-tls", 2)
	if after.UID != before.UID {
		t.Fatal("the Certificate was replaced, not updated")
	}
	if !slices.Equal(after.Spec.DNSNames, []string{"site.example.test", "api.site.example.test"}) ||
		!slices.Equal(after.Spec.Usages, []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment, cmapi.UsageServerAuth}) ||
		after.Spec.Subject == nil || !slices.Equal(after.Spec.Subject.Countries, []string{"NL"}) || after.Spec.Duration != nil ||
		after.Annotations[cmacme.ACMECertificateHTTP01IngressClassOverride] != "nginx" {
		t.Fatalf("updated certificate: %+v %+v", after.Annotations, after.Spec)
	}
	leaf := parseSecret(t, e.secret("site-tls")).chain[0]
	if !slices.Equal(leaf.DNSNames, after.Spec.DNSNames) || !slices.Equal(leaf.Subject.Country, []string{"NL"}) {
		t.Fatalf("reissued leaf: SANs %q, subject %s", leaf.DNSNames, leaf.Subject)
	}
	if evs := e.eventsOn("Ingress", "site", "UpdateCertificate"); len(evs) != 1 {
		t.Fatalf("UpdateCertificate events: %d, want 1", len(evs))
	}
	e.requireShimRunWritesNothing()
}

// TestShimSecretNameRename: renaming the TLS entry's secretName creates the
// new Certificate (issued in the same sweep) and deletes the old one.
func TestShimSecretNameRename(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.createIngress(ingressFor("site", nil, tlsFor("old-tls", "site.example.test")))
	e.shimRun(nil)
	e.requireReady("old-tls", 1)

	e.editIngress("site", func(ing *networkingv1.Ingress) { ing.Spec.TLS[0].SecretName = "new-tls" })
	rep := e.shimRun(nil)
	if rep.Issued != 1 || rep.Failed != 0 {
		t.Fatalf("want the new Certificate issued in the same sweep: %s", rep.Summary())
	}
	e.requireReady("new-tls", 1)
	e.requireNoCertificate("old-tls")
	if evs := e.eventsOn("Ingress", "site", "DeleteCertificate"); len(evs) != 1 || evs[0].Message != `Successfully deleted unrequired Certificate "old-tls"` {
		t.Fatalf("DeleteCertificate events: %+v", evs)
	}
	e.requireShimRunWritesNothing()
}

// TestShimLeavesCertificatesItDoesNotOwnAlone: a user's Certificate, and
// another Ingress's, named like the Secret an Ingress names, are never
// changed or deleted by the shim (the sweep still issues them as usual).
func TestShimLeavesCertificatesItDoesNotOwnAlone(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.create(certificate("mine-tls", issuerRef("ca"), func(s *cmapi.CertificateSpec) {
		s.SecretName = "mine-tls"
		s.DNSNames = []string{"mine.example.test"}
	}))
	e.createIngress(ingressFor("first", nil, tlsFor("shared-tls", "first.example.test")))
	e.shimRun(nil)
	shared := e.requireReady("shared-tls", 1)
	requireControlledBy(t, shared, "Ingress", "first", string(e.ingress("first").UID))

	// Now an Ingress asks for both names, and the first one lets go of
	// nothing.
	e.createIngress(ingressFor("second", map[string]string{"cert-manager.io/duration": "240h"},
		tlsFor("mine-tls", "second.example.test"), tlsFor("shared-tls", "second.example.test")))
	e.shimRun(nil)
	mine := e.requireReady("mine-tls", 1)
	if len(mine.OwnerReferences) != 0 || !slices.Equal(mine.Spec.DNSNames, []string{"mine.example.test"}) || mine.Spec.Duration != nil {
		t.Fatalf("the user's Certificate was changed: %+v %+v", mine.OwnerReferences, mine.Spec)
	}
	shared = e.requireReady("shared-tls", 1)
	requireControlledBy(t, shared, "Ingress", "first", string(e.ingress("first").UID))
	if !slices.Equal(shared.Spec.DNSNames, []string{"first.example.test"}) {
		t.Fatalf("the first Ingress's Certificate was changed: %+v", shared.Spec)
	}
	if n := len(e.eventsOn("Ingress", "second", "CreateCertificate")) + len(e.eventsOn("Ingress", "second", "UpdateCertificate")); n != 0 {
		t.Fatalf("the second Ingress recorded %d writes", n)
	}
	e.requireShimRunWritesNothing()

	// The second Ingress drops both entries: nothing of theirs is deleted.
	e.editIngress("second", func(ing *networkingv1.Ingress) { ing.Spec.TLS = nil })
	e.requireShimRunWritesNothing()
	e.requireReady("mine-tls", 1)
	e.requireReady("shared-tls", 1)
}

// TestShimBadAnnotationWarnsOnce: an unusable annotation value gets one
// Warning event on the Ingress and no Certificate; the next sweep does not
// say it again; once fixed, the Certificate is made and issued.
func TestShimBadAnnotationWarnsOnce(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.createIngress(ingressFor("site", map[string]string{"cert-manager.io/duration": "90 days"}, tlsFor("site-tls", "site.example.test")))
	e.shimRun(nil)
	e.requireNoCertificate("site-tls")
	warn := e.eventsOn("Ingress", "site", "BadConfig")
	if len(warn) != 1 || warn[0].Type != corev1.EventTypeWarning || !strings.Contains(warn[0].Message, `invalid ingress annotation "cert-manager.io/duration"`) {
		t.Fatalf("BadConfig events: %+v", warn)
	}

	cfg, counter := harness.WrapCounting(e.cp.Config)
	e.shimRun(cfg)
	for _, w := range counter.Snapshot().Writes() {
		// The one request the repeat costs: the same event, which the
		// API server refuses as already there.
		if w.Resource != "events" || w.StatusCode != 409 {
			t.Fatalf("the second sweep wrote: %v", counter.Snapshot().Writes())
		}
	}
	if n := len(e.eventsOn("Ingress", "site", "BadConfig")); n != 1 {
		t.Fatalf("%d BadConfig events after two sweeps, want 1", n)
	}

	e.editIngress("site", func(ing *networkingv1.Ingress) { ing.Annotations["cert-manager.io/duration"] = "2160h" })
	e.shimRun(nil)
	e.requireReady("site-tls", 1)
}

// TestShimGatewayListeners: a Gateway's HTTPS listener gets a Certificate
// named after its Secret for its hostname, owned by the Gateway; HTTP and
// passthrough listeners get nothing; a listener naming another namespace's
// Secret is skipped with one Warning event.
func TestShimGatewayListeners(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	gw, err := gwclient.NewForConfig(e.cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	ref := func(name string, ns string) gwapi.SecretObjectReference {
		r := gwapi.SecretObjectReference{Name: gwapi.ObjectName(name)}
		if ns != "" {
			n := gwapi.Namespace(ns)
			r.Namespace = &n
		}
		return r
	}
	host := func(h string) *gwapi.Hostname { v := gwapi.Hostname(h); return &v }
	terminate, passthrough := gwapi.TLSModeTerminate, gwapi.TLSModePassthrough
	g := &gwapi.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: "edge", Namespace: e.ns, Annotations: map[string]string{cmapi.IngressIssuerNameAnnotationKey: "ca"}},
		Spec: gwapi.GatewaySpec{GatewayClassName: "example", Listeners: []gwapi.Listener{
			{Name: "http", Protocol: gwapi.HTTPProtocolType, Port: 80, Hostname: host("edge.example.test")},
			{Name: "https", Protocol: gwapi.HTTPSProtocolType, Port: 443, Hostname: host("edge.example.test"),
				TLS: &gwapi.ListenerTLSConfig{Mode: &terminate, CertificateRefs: []gwapi.SecretObjectReference{ref("edge-tls", "")}}},
			{Name: "https-www", Protocol: gwapi.HTTPSProtocolType, Port: 443, Hostname: host("www.edge.example.test"),
				TLS: &gwapi.ListenerTLSConfig{Mode: &terminate, CertificateRefs: []gwapi.SecretObjectReference{ref("edge-tls", e.ns)}}},
			{Name: "elsewhere", Protocol: gwapi.HTTPSProtocolType, Port: 8443, Hostname: host("x.example.test"),
				TLS: &gwapi.ListenerTLSConfig{Mode: &terminate, CertificateRefs: []gwapi.SecretObjectReference{ref("x-tls", "other")}}},
			{Name: "pass", Protocol: gwapi.TLSProtocolType, Port: 9443, Hostname: host("p.example.test"),
				TLS: &gwapi.ListenerTLSConfig{Mode: &passthrough}},
		}},
	}
	created, err := gw.GatewayV1().Gateways(e.ns).Create(e.ctx(), g, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating gateway: %v", err)
	}

	rep := e.shimRun(nil)
	if rep.Issued != 2 || rep.Failed != 0 {
		t.Fatalf("want the CA and the Gateway's Certificate issued: %s", rep.Summary())
	}
	crt := e.requireReady("edge-tls", 1)
	requireControlledBy(t, crt, "Gateway", "edge", string(created.UID))
	if !slices.Equal(crt.Spec.DNSNames, []string{"edge.example.test", "www.edge.example.test"}) ||
		crt.Annotations[cmacme.ACMECertificateHTTP01ParentRefKind] != "Gateway" || crt.Annotations[cmacme.ACMECertificateHTTP01ParentRefName] != "edge" {
		t.Fatalf("certificate %+v %+v", crt.Annotations, crt.Spec)
	}
	verifyChain(t, parseSecret(t, e.secret("edge-tls")))
	list, err := e.cm.CertmanagerV1().Certificates(e.ns).List(e.ctx(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 { // root and edge-tls
		t.Fatalf("%d certificates, want root and edge-tls only", len(list.Items))
	}
	warn := e.eventsOn("Gateway", "edge", "BadConfig")
	if len(warn) != 1 || !strings.Contains(warn[0].Message, "cross-namespace secret references are not allowed") {
		t.Fatalf("BadConfig events on the Gateway: %+v", warn)
	}
	e.shimRun(nil)
	if n := len(e.eventsOn("Gateway", "edge", "BadConfig")); n != 1 {
		t.Fatalf("%d BadConfig events after two sweeps, want 1", n)
	}
}

// TestShimFaultsOnCertificateWrites: the shim's create, update and delete
// each reach the API server but fail at the client (the connection reset
// after the write). The sweep goes on; the next clean sweep converges, and
// the one after writes nothing.
func TestShimFaultsOnCertificateWrites(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.run() // the CA first, so the faults hit the shim's writes
	e.createIngress(ingressFor("site", nil, tlsFor("a-tls", "site.example.test")))

	steps := []struct {
		verb string
		do   func()
		then func()
	}{
		{harness.VerbCreate, func() {}, func() { e.requireReady("a-tls", 1) }},
		{harness.VerbUpdate, func() {
			e.editIngress("site", func(ing *networkingv1.Ingress) {
				ing.Spec.TLS[0].Hosts = append(ing.Spec.TLS[0].Hosts, "www.site.example.test")
			})
		}, func() {
			crt := e.requireReady("a-tls", 2)
			if !slices.Equal(crt.Spec.DNSNames, []string{"site.example.test", "www.site.example.test"}) {
				t.Fatalf("dnsNames %q", crt.Spec.DNSNames)
			}
		}},
		{harness.VerbDelete, func() {
			e.editIngress("site", func(ing *networkingv1.Ingress) { ing.Spec.TLS[0].SecretName = "b-tls" })
		}, func() {
			e.requireReady("b-tls", 1)
			e.requireNoCertificate("a-tls")
		}},
	}
	for _, step := range steps {
		t.Run(step.verb, func(t *testing.T) {
			step.do()
			proxy := harness.StartFaultProxy(t, e.cp, harness.FaultRule{
				Kind: harness.FaultResetAfterForward, Verbs: []string{step.verb}, Resources: []string{"certificates"}, Rate: 1, Max: 1,
			})
			e.shimRun(proxy.RESTConfig())
			if proxy.Stats().Total() != 1 {
				t.Fatalf("%d faults injected, want the shim's %s", proxy.Stats().Total(), step.verb)
			}
			e.shimRun(nil)
			step.then()
			e.requireShimRunWritesNothing()
		})
	}
}

// TestShimOffNeedsNoShimPermissions runs the binary as a ServiceAccount
// whose role is the manifest's without what only the shim uses (Ingresses,
// Gateways, creating and deleting Certificates). With CERTSWEEP_SHIM=false
// it sweeps without a denial and leaves the Ingress alone; with the shim on,
// the denial is logged and the Certificates are still swept.
func TestShimOffNeedsNoShimPermissions(t *testing.T) {
	bin := certsweepBinary(t)
	e := newEnv(t)
	role := manifestClusterRole(t)
	role.Name = "certsweep-noshim-" + e.ns
	var rules []rbacv1.PolicyRule
	for _, r := range role.Rules {
		switch {
		case slices.Contains(r.APIGroups, "networking.k8s.io"), slices.Contains(r.APIGroups, "gateway.networking.k8s.io"):
			continue
		case slices.Contains(r.APIGroups, "cert-manager.io") && slices.Contains(r.Resources, "certificates"):
			r.Verbs = slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool { return v == "create" || v == "delete" })
		}
		rules = append(rules, r)
	}
	role.Rules = rules
	ctx := e.ctx()
	if _, err := e.kube.CoreV1().ServiceAccounts(e.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "noshim"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.kube.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "noshim", Namespace: e.ns}},
	}
	if _, err := e.kube.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = e.kube.RbacV1().ClusterRoleBindings().Delete(context.Background(), role.Name, metav1.DeleteOptions{})
		_ = e.kube.RbacV1().ClusterRoles().Delete(context.Background(), role.Name, metav1.DeleteOptions{})
	})
	e.waitAllowed(e.ns, "noshim", "update", "cert-manager.io", "certificates")
	sa := e.cp.ServiceAccountConfig(e.ns, "noshim")

	e.withCA()
	e.create(certificate("leaf", issuerRef("ca"), ecdsaKey))
	e.createIngress(ingressFor("site", nil, tlsFor("site-tls", "site.example.test")))
	code, _, stderr := runBinary(t, bin, e.podEnv(sa, "CERTSWEEP_SHIM=false"), "run")
	if code != 0 {
		t.Fatalf("CERTSWEEP_SHIM=false: exit %d\nstderr:\n%s", code, stderr)
	}
	requireNoDenials(t, stderr)
	e.requireReady("leaf", 1)
	e.requireNoCertificate("site-tls")

	// With the shim on and no permission for it, the run still happens.
	e.create(certificate("later", issuerRef("ca"), ecdsaKey))
	code, _, stderr = runBinary(t, bin, e.podEnv(sa), "run")
	if code != 0 || !strings.Contains(stderr, "forbidden") || !strings.Contains(stderr, "ingresses") {
		t.Fatalf("shim on without its permissions: exit %d, want 0 with the denial logged\nstderr:\n%s", code, stderr)
	}
	e.requireReady("later", 1)
	e.requireNoCertificate("site-tls")
}

// TestShimRunsAsTheManifestServiceAccount runs the binary as the
// manifest's ServiceAccount: an Ingress and a Gateway get their
// Certificates; a rename creates and deletes; an Ingress event (Knative
// JobSink's event file) sweeps its namespace with the shim, all with no
// denial.
func TestShimRunsAsTheManifestServiceAccount(t *testing.T) {
	bin := certsweepBinary(t)
	e := newEnv(t)
	if _, err := harness.Apply(e.ctx(), e.cp.Config, harness.ApplyOptions{}, baseManifests(t)); err != nil {
		t.Fatalf("applying manifests/base: %v", err)
	}
	e.waitAllowed("certsweep", "certsweep", "list", "gateway.networking.k8s.io", "gateways")
	sa := e.cp.ServiceAccountConfig("certsweep", "certsweep")
	gw, err := gwclient.NewForConfig(e.cp.Config)
	if err != nil {
		t.Fatal(err)
	}

	e.withCA()
	e.createIngress(ingressFor("site", nil, tlsFor("site-tls", "site.example.test")))
	terminate := gwapi.TLSModeTerminate
	hostname := gwapi.Hostname("edge.example.test")
	if _, err := gw.GatewayV1().Gateways(e.ns).Create(e.ctx(), &gwapi.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: "edge", Annotations: map[string]string{cmapi.IngressIssuerNameAnnotationKey: "ca"}},
		Spec: gwapi.GatewaySpec{GatewayClassName: "example", Listeners: []gwapi.Listener{{
			Name: "https", Protocol: gwapi.HTTPSProtocolType, Port: 443, Hostname: &hostname,
			TLS: &gwapi.ListenerTLSConfig{Mode: &terminate, CertificateRefs: []gwapi.SecretObjectReference{{Name: "edge-tls"}}},
		}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating gateway: %v", err)
	}
	code, _, stderr := runBinary(t, bin, e.podEnv(sa), "run")
	if code != 0 {
		t.Fatalf("sweep as the ServiceAccount: exit %d\nstderr:\n%s", code, stderr)
	}
	requireNoDenials(t, stderr)
	e.requireReady("site-tls", 1)
	e.requireReady("edge-tls", 1)

	e.editIngress("site", func(ing *networkingv1.Ingress) { ing.Spec.TLS[0].SecretName = "renamed-tls" })
	path := writeEventFile(t, refEvent("update", "networking.k8s.io/v1", "Ingress", e.ns, "site"))
	code, stdout, stderr := runBinary(t, bin, e.podEnv(sa, "CERTSWEEP_EVENT_FILE="+path), "run")
	if code != 0 {
		t.Fatalf("Ingress event as the ServiceAccount: exit %d\nstderr:\n%s", code, stderr)
	}
	requireNoDenials(t, stderr)
	t.Logf("event: %s", strings.TrimSpace(stdout))
	e.requireReady("renamed-tls", 1)
	e.requireNoCertificate("site-tls")
}

// TestShimWithoutGatewayAPI runs on a control plane of its own without the
// Gateway API's CRDs: the Gateway LIST is NotFound, nothing is logged
// above debug, and Ingresses are served as usual.
func TestShimWithoutGatewayAPI(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cp, err := harness.Start(ctx, harness.Options{})
	if err != nil {
		t.Fatalf("start control plane: %v", err)
	}
	t.Cleanup(cp.Stop)
	e := newEnvOn(t, cp)
	e.withCA()
	e.createIngress(ingressFor("site", nil, tlsFor("site-tls", "site.example.test")))

	var logs bytes.Buffer
	cfg, counter := harness.WrapCounting(cp.Config)
	rep := e.shimRun(cfg, func(o *job.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	if rep.Issued != 2 || rep.Failed != 0 {
		t.Fatalf("sweep: %s", rep.Summary())
	}
	e.requireReady("site-tls", 1)
	var gatewayLists []harness.Request
	for _, r := range counter.Snapshot().Requests {
		if strings.HasPrefix(r.Resource, "gateways.") {
			gatewayLists = append(gatewayLists, r)
		}
	}
	if len(gatewayLists) != 1 || gatewayLists[0].Verb != harness.VerbList || gatewayLists[0].StatusCode != 404 {
		t.Fatalf("Gateway requests %v, want one LIST answered 404", gatewayLists)
	}
	if logs.Len() != 0 {
		t.Fatalf("logged without the Gateway API:\n%s", logs.String())
	}
}
