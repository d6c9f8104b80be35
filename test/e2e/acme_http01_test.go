package e2e

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/test/harness"
)

// http01Setup is a namespace with an ACME Issuer "acme" over Pebble that
// solves HTTP-01 with an ingress solver. There is no kubelet and no
// ingress controller here: the harness's Kubelet runs each solver Pod's
// args with the certsweep binary, as a kubelet would run the image, and
// its IngressRouter, on the port Pebble validates on, routes as the
// Ingress, Service and Pod say. The challenge names resolve to it through
// the test's DNS server, which Pebble (and the sweep's self-check) use.
type http01Setup struct {
	*env
	dns     *harness.DNS
	pebble  *harness.Pebble
	kubelet *harness.Kubelet
	router  *harness.IngressRouter
}

func newHTTP01(t *testing.T, mutate ...func(*cmacme.ACMEChallengeSolverHTTP01Ingress)) *http01Setup {
	t.Helper()
	e := newEnv(t)
	dns := harness.StartDNS(t, "example.test.")
	kubelet := harness.StartKubelet(t, e.cp.Config, certsweepBinary(t), e.ns)
	router := harness.StartIngressRouter(t, e.cp.Config, kubelet, "127.0.0.1:0")
	_, port, err := net.SplitHostPort(router.Addr())
	if err != nil {
		t.Fatal(err)
	}
	httpPort, _ := strconv.Atoi(port)
	pebble := harness.StartPebble(t, harness.PebbleOptions{DNSServer: dns.Addr(), HTTPPort: httpPort})
	class := "nginx"
	solver := &cmacme.ACMEChallengeSolverHTTP01Ingress{IngressClassName: &class}
	for _, m := range mutate {
		m(solver)
	}
	e.create(&cmapi.Issuer{ObjectMeta: metav1.ObjectMeta{Name: "acme"}, Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{ACME: &cmacme.ACMEIssuer{
		Server:     pebble.DirectoryURL(),
		CABundle:   pebble.CABundle(),
		Email:      "ops@example.test",
		PrivateKey: cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "acme-account"}},
		Profile:    "shortlived",
		Solvers:    []cmacme.ACMEChallengeSolver{{HTTP01: &cmacme.ACMEChallengeSolverHTTP01{Ingress: solver}}},
	}}}})
	return &http01Setup{env: e, dns: dns, pebble: pebble, kubelet: kubelet, router: router}
}

// options point the sweep's self-check where Pebble looks: the router's
// port, through the test's DNS server.
func (h *http01Setup) options(o *job.Options) {
	_, port, _ := net.SplitHostPort(h.router.Addr())
	o.HTTP01SelfCheckPort, _ = strconv.Atoi(port)
	addr := h.dns.Addr()
	o.HTTP01SelfCheckResolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	o.ACMEWait = 45 * time.Second
}

// names makes each name resolve to the router, for Pebble and the self-check.
func (h *http01Setup) names(names ...string) {
	for _, n := range names {
		h.dns.AddA(h.t, n, "127.0.0.1")
	}
}

// userIngress creates a person's own Ingress routing host to a Service,
// for solvers that edit an Ingress in place.
func (h *http01Setup) userIngress(name, host string) {
	h.t.Helper()
	prefix := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
		Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
			Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "app", Port: networkingv1.ServiceBackendPort{Number: 80}}},
		}}}},
	}}}}
	if _, err := h.kube.NetworkingV1().Ingresses(h.ns).Create(h.ctx(), ing, metav1.CreateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

// solverObjects counts the HTTP-01 solver Pods, Services and Ingresses left
// in the namespace.
func (h *http01Setup) solverObjects() (pods, services, ingresses int) {
	sel := metav1.ListOptions{LabelSelector: cmacme.SolverIdentificationLabelKey + "=true"}
	p, err := h.kube.CoreV1().Pods(h.ns).List(h.ctx(), sel)
	if err != nil {
		h.t.Fatal(err)
	}
	s, err := h.kube.CoreV1().Services(h.ns).List(h.ctx(), sel)
	if err != nil {
		h.t.Fatal(err)
	}
	i, err := h.kube.NetworkingV1().Ingresses(h.ns).List(h.ctx(), sel)
	if err != nil {
		h.t.Fatal(err)
	}
	return len(p.Items), len(s.Items), len(i.Items)
}

// TestACMEHTTP01IssuesInOneRun: a Certificate for two names whose Issuer
// solves HTTP-01 goes from nothing to Ready in one run. Both challenges are
// pending at once, each with its own solver Pod (cert-manager's shape and
// args, run by the stand-in kubelet), Service and Ingress; Pebble fetched
// each answer through the router; and when the run ends the Pods,
// Services, Ingresses and Challenges are gone. The next run writes nothing.
func TestACMEHTTP01IssuesInOneRun(t *testing.T) {
	h := newHTTP01(t)
	h.names("web.example.test", "www.example.test")
	h.create(certificate("web", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) {
		s.DNSNames = []string{"web.example.test", "www.example.test"}
	}))
	rep := h.run(h.options)
	if rep.Issued != 1 {
		t.Fatalf("want the certificate issued in one run: %s %+v", rep.Summary(), rep.Outcomes)
	}
	h.requireReady("web", 1)
	leaf := parseSecret(t, h.secret("web-tls")).chain[0]
	if got := slices.Sorted(slices.Values(leaf.DNSNames)); !slices.Equal(got, []string{"web.example.test", "www.example.test"}) {
		t.Fatalf("leaf names %v", got)
	}
	if n := h.kubelet.Started(); n != 2 {
		t.Fatalf("the kubelet ran %d solver Pods, want one per challenge (2)", n)
	}
	validated := map[string]bool{}
	for _, r := range h.router.Requests() {
		if r.Status == 200 && strings.HasPrefix(r.Path, "/.well-known/acme-challenge/") {
			validated[r.Host] = true
		}
	}
	if !validated["web.example.test"] || !validated["www.example.test"] {
		t.Fatalf("answers served through the router for %v, want both names", validated)
	}
	if p, s, i := h.solverObjects(); p+s+i != 0 {
		t.Fatalf("left behind: %d pods, %d services, %d ingresses", p, s, i)
	}
	if chs, _ := h.cm.AcmeV1().Challenges(h.ns).List(h.ctx(), metav1.ListOptions{}); len(chs.Items) != 0 {
		t.Fatalf("%d Challenges left", len(chs.Items))
	}
	cfg, counter := harness.WrapCounting(h.cp.Config)
	if _, err := h.sweeper(cfg, h.options).Run(h.ctx()); err != nil || counter.Writes() != 0 {
		t.Fatalf("the run after Ready wrote: %v %v", err, counter.Snapshot().Writes())
	}
}

// TestACMEHTTP01SolverObjectsShape: while a challenge is pending (the
// sweep's wait is too short for the CA), its Pod, Service and Ingress are
// cert-manager's: the Pod runs `solve-http01 --listen-port=8089 --domain
// --token --key` under the namespace's default ServiceAccount with the
// podTemplate's labels; the Service targets 8089 with the solver's
// serviceType; the Ingress carries the class and routes the token's path
// to the Service. They stay across runs and go when the challenge ends.
func TestACMEHTTP01SolverObjectsShape(t *testing.T) {
	h := newHTTP01(t, func(s *cmacme.ACMEChallengeSolverHTTP01Ingress) {
		s.ServiceType = corev1.ServiceTypeClusterIP
		s.PodTemplate = &cmacme.ACMEChallengeSolverHTTP01IngressPodTemplate{
			ACMEChallengeSolverHTTP01IngressPodObjectMeta: cmacme.ACMEChallengeSolverHTTP01IngressPodObjectMeta{Labels: map[string]string{"team": "edge"}},
		}
		s.IngressTemplate = &cmacme.ACMEChallengeSolverHTTP01IngressTemplate{
			ACMEChallengeSolverHTTP01IngressObjectMeta: cmacme.ACMEChallengeSolverHTTP01IngressObjectMeta{Annotations: map[string]string{"example.io/owner": "edge"}},
		}
	})
	// The name does not resolve yet, so the self-check fails and the run
	// leaves the challenge presented.
	h.create(certificate("web", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"web.example.test"} }))
	short := func(o *job.Options) { h.options(o); o.ACMEWait = 3 * time.Second }
	for range 2 {
		if rep := h.run(short); rep.Issued != 0 {
			t.Fatalf("issued although the name does not resolve: %s", rep.Summary())
		}
	}
	chs, err := h.cm.AcmeV1().Challenges(h.ns).List(h.ctx(), metav1.ListOptions{})
	if err != nil || len(chs.Items) != 1 {
		t.Fatalf("want one pending Challenge: %v %d", err, len(chs.Items))
	}
	ch := chs.Items[0]
	if !ch.Status.Presented || ch.Status.Processing || ch.Spec.Type != cmacme.ACMEChallengeTypeHTTP01 {
		t.Fatalf("challenge status %+v", ch.Status)
	}
	sel := metav1.ListOptions{LabelSelector: cmacme.SolverIdentificationLabelKey + "=true"}
	pods, _ := h.kube.CoreV1().Pods(h.ns).List(h.ctx(), sel)
	svcs, _ := h.kube.CoreV1().Services(h.ns).List(h.ctx(), sel)
	ings, _ := h.kube.NetworkingV1().Ingresses(h.ns).List(h.ctx(), sel)
	if len(pods.Items) != 1 || len(svcs.Items) != 1 || len(ings.Items) != 1 {
		t.Fatalf("after two runs: %d pods, %d services, %d ingresses; want one each", len(pods.Items), len(svcs.Items), len(ings.Items))
	}
	pod, svc, ing := pods.Items[0], svcs.Items[0], ings.Items[0]
	args := pod.Spec.Containers[0].Args
	wantArgs := []string{"solve-http01", "--listen-port=8089", "--domain=web.example.test", "--token=" + ch.Spec.Token, "--key=" + ch.Spec.Key}
	if !slices.Equal(args, wantArgs) {
		t.Fatalf("pod args %q, want %q", args, wantArgs)
	}
	if pod.Spec.ServiceAccountName != "" && pod.Spec.ServiceAccountName != "default" {
		t.Fatalf("pod service account %q, want the namespace's default", pod.Spec.ServiceAccountName)
	}
	if pod.Labels["team"] != "edge" || !metav1.IsControlledBy(&pod, &ch) {
		t.Fatalf("pod labels %v, owners %v", pod.Labels, pod.OwnerReferences)
	}
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.Ports[0].TargetPort.IntValue() != 8089 {
		t.Fatalf("service %+v", svc.Spec)
	}
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" || ing.Annotations["example.io/owner"] != "edge" {
		t.Fatalf("ingress class %v, annotations %v", ing.Spec.IngressClassName, ing.Annotations)
	}
	rule := ing.Spec.Rules[0]
	path := rule.HTTP.Paths[0]
	if rule.Host != "web.example.test" || path.Path != "/.well-known/acme-challenge/"+ch.Spec.Token || path.Backend.Service.Name != svc.Name {
		t.Fatalf("ingress rule %+v", rule)
	}

	// Once the name resolves, the next run finishes, and cleans up.
	h.names("web.example.test")
	if rep := h.run(h.options); rep.Issued != 1 {
		t.Fatalf("want issuance once the name resolves: %s %+v", rep.Summary(), rep.Outcomes)
	}
	if p, s, i := h.solverObjects(); p+s+i != 0 {
		t.Fatalf("left behind: %d pods, %d services, %d ingresses", p, s, i)
	}
	if n := h.kubelet.Started(); n != 1 {
		t.Fatalf("the kubelet ran %d solver Pods across the runs, want 1", n)
	}
}

// TestACMEHTTP01EditsNamedIngressInPlace: a solver with `name` adds the
// challenge path to the user's own Ingress instead of making one, and
// removes it afterwards, leaving the user's rules as they were.
func TestACMEHTTP01EditsNamedIngressInPlace(t *testing.T) {
	h := newHTTP01(t, func(s *cmacme.ACMEChallengeSolverHTTP01Ingress) { s.IngressClassName = nil; s.Name = "app" })
	h.names("web.example.test")
	h.userIngress("app", "web.example.test")
	h.create(certificate("web", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"web.example.test"} }))
	if rep := h.run(h.options); rep.Issued != 1 {
		t.Fatalf("want the certificate issued in one run: %s %+v", rep.Summary(), rep.Outcomes)
	}
	served := false
	for _, r := range h.router.Requests() {
		served = served || (r.Status == 200 && strings.HasPrefix(r.Path, "/.well-known/acme-challenge/"))
	}
	if !served {
		t.Fatal("the answer was never served through the user's Ingress")
	}
	ing, err := h.kube.NetworkingV1().Ingresses(h.ns).Get(h.ctx(), "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ing.Spec.Rules) != 1 || len(ing.Spec.Rules[0].HTTP.Paths) != 1 || ing.Spec.Rules[0].HTTP.Paths[0].Path != "/" {
		t.Fatalf("the user's Ingress was not restored: %+v", ing.Spec.Rules)
	}
	if p, s, i := h.solverObjects(); p+s+i != 0 {
		t.Fatalf("left behind: %d pods, %d services, %d ingresses", p, s, i)
	}
}

// TestACMEHTTP01ConvergesAfterFaults: every create and delete of a solver
// Pod, Service or Ingress (and the Challenge's progress) may reach the API
// server and yet fail at the client, as a kill after the write would leave
// it. Runs continue the same order; there is never more than one solver Pod
// per challenge; and when the certificate is Ready nothing is left behind.
func TestACMEHTTP01ConvergesAfterFaults(t *testing.T) {
	h := newHTTP01(t)
	h.names("web.example.test")
	h.create(certificate("web", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"web.example.test"} }))
	proxy := harness.StartFaultProxy(t, h.cp, harness.FaultRule{
		Kind: harness.FaultResetAfterForward, Verbs: []string{"CREATE", "UPDATE", "DELETE"},
		Resources: []string{"pods", "services", "ingresses", "challenges", "challenges/status"}, Rate: 0.5, Max: 8,
	})
	issued := false
	runs := 0
	for ; runs < 30 && !issued; runs++ {
		rep, err := h.sweeper(proxy.RESTConfig(), h.options).Run(h.ctx())
		if err != nil {
			t.Fatalf("run %d: %v", runs, err)
		}
		issued = rep.Issued == 1
		if p, _, _ := h.solverObjects(); p > 1 {
			t.Fatalf("run %d: %d solver Pods for one challenge", runs, p)
		}
		h.advance(10 * time.Minute)
	}
	if !issued {
		t.Fatal("not issued after 30 runs")
	}
	if proxy.Stats().Total() == 0 {
		t.Fatal("no fault was injected; the test proves nothing")
	}
	t.Logf("issued after %d runs with %d faults", runs, proxy.Stats().Total())
	// A cleanup cut short is finished by the next run.
	for range 2 {
		h.run(h.options)
	}
	if p, s, i := h.solverObjects(); p+s+i != 0 {
		t.Fatalf("left behind: %d pods, %d services, %d ingresses", p, s, i)
	}
	orders, _ := h.cm.AcmeV1().Orders(h.ns).List(h.ctx(), metav1.ListOptions{})
	if len(orders.Items) != 1 {
		t.Fatalf("%d Orders, want 1", len(orders.Items))
	}
}

// TestACMERunsAsTheManifestServiceAccount: ACME issuance with exactly the
// ClusterRole of manifests/base. The sweep runs with the ServiceAccount's
// credentials and issues three Certificates: one through an HTTP-01 solver
// that makes its own Ingress, one through a solver that edits the user's
// Ingress in place, and one through DNS-01 with the TSIG Secret - creating
// the account key Secret, Orders and Challenges, solver Pods, Services and
// Ingresses, and the Issuers' status, and deleting what it made. The
// follow-up runs fetch the ARI windows under the same role.
func TestACMERunsAsTheManifestServiceAccount(t *testing.T) {
	h := newHTTP01(t)
	if _, err := harness.Apply(h.ctx(), h.cp.Config, harness.ApplyOptions{}, baseManifests(t)); err != nil {
		t.Fatalf("applying manifests/base: %v", err)
	}
	h.waitAllowed("certsweep", "certsweep", "create", "", "pods")
	sa := h.cp.ServiceAccountConfig("certsweep", "certsweep")
	h.names("web.example.test", "app.example.test")

	// The HTTP-01 Issuer also edits the "app" Ingress for app.example.test.
	iss, err := h.cm.CertmanagerV1().Issuers(h.ns).Get(h.ctx(), "acme", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	iss.Spec.ACME.Solvers = append([]cmacme.ACMEChallengeSolver{{
		Selector: &cmacme.CertificateDNSNameSelector{DNSNames: []string{"app.example.test"}},
		HTTP01:   &cmacme.ACMEChallengeSolverHTTP01{Ingress: &cmacme.ACMEChallengeSolverHTTP01Ingress{Name: "app"}},
	}}, iss.Spec.ACME.Solvers...)
	if _, err := h.cm.CertmanagerV1().Issuers(h.ns).Update(h.ctx(), iss, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.userIngress("app", "app.example.test")

	// A DNS-01 Issuer on the same CA and DNS server.
	h.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tsig"}, Data: map[string][]byte{"secret": []byte(h.dns.TSIGSecret())}})
	h.create(&cmapi.Issuer{ObjectMeta: metav1.ObjectMeta{Name: "acme-dns"}, Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{ACME: &cmacme.ACMEIssuer{
		Server: h.pebble.DirectoryURL(), CABundle: h.pebble.CABundle(), Email: "ops@example.test",
		PrivateKey: cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "acme-dns-account"}},
		Solvers: []cmacme.ACMEChallengeSolver{{DNS01: &cmacme.ACMEChallengeSolverDNS01{RFC2136: &cmacme.ACMEIssuerDNS01ProviderRFC2136{
			Nameserver: h.dns.Addr(), TSIGKeyName: h.dns.TSIGKeyName(), TSIGAlgorithm: h.dns.TSIGAlgorithm(),
			TSIGSecret: cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "tsig"}, Key: "secret"},
		}}}},
	}}}})

	h.create(certificate("web", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"web.example.test"} }))
	h.create(certificate("app", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"app.example.test"} }))
	h.create(certificate("dns", issuerRef("acme-dns"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"dns.example.test"} }))
	opts := func(o *job.Options) {
		h.options(o)
		o.DNS01Nameservers = []string{h.dns.Addr()}
		o.DNS01RecursiveOnly = true
		o.ACMEARI = true
	}
	var logs syncBuffer
	withLogs := func(o *job.Options) {
		opts(o)
		o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	rep, err := h.sweeper(sa, withLogs).Run(h.ctx())
	if err != nil || rep.Issued != 3 {
		t.Fatalf("sweep as the ServiceAccount: %v %s %+v", err, rep.Summary(), rep.Outcomes)
	}
	for _, name := range []string{"web", "app", "dns"} {
		h.requireReady(name, 1)
	}
	for range 2 { // the ARI windows, then nothing
		if _, err := h.sweeper(sa, withLogs).Run(h.ctx()); err != nil {
			t.Fatal(err)
		}
	}
	if crt := h.certificate("dns"); crt.Status.ACME == nil || crt.Status.ACME.ARI == nil || crt.Status.ACME.ARI.SuggestedWindow == nil {
		t.Fatalf("the ARI window was not fetched as the ServiceAccount: %+v", crt.Status.ACME)
	}
	requireNoDenials(t, logs.String())
	if p, s, i := h.solverObjects(); p+s+i != 0 {
		t.Fatalf("left behind: %d pods, %d services, %d ingresses", p, s, i)
	}
}

// TestACMEHTTP01IngressNameOverride: a Certificate annotated
// acme.cert-manager.io/http01-override-ingress-name (as the ingress-shim
// annotates one for acme.cert-manager.io/http01-edit-in-place) has its
// challenge answered through that Ingress, edited in place and restored,
// although the Issuer's solver makes its own Ingress.
func TestACMEHTTP01IngressNameOverride(t *testing.T) {
	h := newHTTP01(t)
	h.names("web.example.test")
	h.userIngress("app", "web.example.test")
	crt := certificate("web", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"web.example.test"} })
	crt.Annotations = map[string]string{cmacme.ACMECertificateHTTP01IngressNameOverride: "app"}
	h.create(crt)

	cfg, counter := harness.WrapCounting(h.cp.Config)
	rep, err := h.sweeper(cfg, h.options).Run(h.ctx())
	if err != nil || rep.Issued != 1 {
		t.Fatalf("want the certificate issued in one run: %v %s %+v", err, rep.Summary(), rep.Outcomes)
	}
	// The path was added to the named Ingress and removed (two updates),
	// and no solver Ingress was made.
	byRes := counter.Snapshot().ByResource
	if byRes["UPDATE ingresses.networking.k8s.io"] != 2 || byRes["CREATE ingresses.networking.k8s.io"] != 0 {
		t.Fatalf("ingress writes %v: want two updates of the named Ingress and no create", byRes)
	}
	ing, err := h.kube.NetworkingV1().Ingresses(h.ns).Get(h.ctx(), "app", metav1.GetOptions{})
	if err != nil || len(ing.Spec.Rules[0].HTTP.Paths) != 1 {
		t.Fatalf("the user's Ingress was not restored: %v %+v", err, ing.Spec.Rules)
	}
	if p, s, i := h.solverObjects(); p+s+i != 0 {
		t.Fatalf("left behind: %d pods, %d services, %d ingresses", p, s, i)
	}
}

// TestACMEHTTP01NamedIngressEditsConvergeAfterFaults: the updates that add
// the challenge path to a person's Ingress and take it out again may reach
// the API server and fail at the client. The runs that follow finish the
// issuance with one order and leave the Ingress as it was.
func TestACMEHTTP01NamedIngressEditsConvergeAfterFaults(t *testing.T) {
	h := newHTTP01(t, func(s *cmacme.ACMEChallengeSolverHTTP01Ingress) { s.IngressClassName = nil; s.Name = "app" })
	h.names("web.example.test")
	h.userIngress("app", "web.example.test")
	h.create(certificate("web", issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"web.example.test"} }))
	proxy := harness.StartFaultProxy(t, h.cp, harness.FaultRule{
		Kind: harness.FaultResetAfterForward, Verbs: []string{"UPDATE"}, Resources: []string{"ingresses"}, Rate: 1, Max: 2,
	})
	issued := false
	for runs := 0; runs < 10 && !issued; runs++ {
		rep, err := h.sweeper(proxy.RESTConfig(), h.options).Run(h.ctx())
		if err != nil {
			t.Fatalf("run %d: %v", runs, err)
		}
		issued = rep.Issued == 1
		h.advance(10 * time.Minute)
	}
	if !issued {
		t.Fatal("not issued after 10 runs")
	}
	if proxy.Stats().Total() == 0 {
		t.Fatal("no fault was injected; the test proves nothing")
	}
	h.run(h.options) // a cleanup cut short is finished by the next run
	ing, err := h.kube.NetworkingV1().Ingresses(h.ns).Get(h.ctx(), "app", metav1.GetOptions{})
	if err != nil || len(ing.Spec.Rules) != 1 || len(ing.Spec.Rules[0].HTTP.Paths) != 1 {
		t.Fatalf("the person's Ingress was not restored: %v %+v", err, ing.Spec.Rules)
	}
	if orders, _ := h.cm.AcmeV1().Orders(h.ns).List(h.ctx(), metav1.ListOptions{}); len(orders.Items) != 1 {
		t.Fatalf("%d Orders, want 1", len(orders.Items))
	}
	cfg, counter := harness.WrapCounting(h.cp.Config)
	if _, err := h.sweeper(cfg, h.options).Run(h.ctx()); err != nil || counter.Writes() != 0 {
		t.Fatalf("the run after wrote: %v %v", err, counter.Snapshot().Writes())
	}
}
