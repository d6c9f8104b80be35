package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/cert-manager/cert-manager/third_party/forked/acme"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// solverStubSource stands in for `certsweep solve-http01`, which is written
// separately: the same flags, the key on the token's path for the domain's
// Host only, and 200 on /healthz.
const solverStubSource = `package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "solve-http01" {
		log.Fatalf("usage: %s solve-http01 --listen-port=N --domain=D --token=T --key=K", os.Args[0])
	}
	flags := flag.NewFlagSet("solve-http01", flag.ExitOnError)
	port := flags.Int("listen-port", 8089, "")
	domain := flags.String("domain", "", "")
	token := flags.String("token", "", "")
	key := flags.String("key", "", "")
	_ = flags.Parse(os.Args[2:])

	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("/.well-known/acme-challenge/", func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s Host=%s", r.Method, r.URL.Path, r.Host)
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !strings.EqualFold(host, *domain) || r.URL.Path != "/.well-known/acme-challenge/"+*token {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, *key)
	})
	log.Fatal(http.ListenAndServe(net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)), mux))
}
`

// buildSolverStub builds solverStubSource as its own standard-library-only
// module, outside the repository's module and workspace.
func buildSolverStub(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module solverstub\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(solverStubSource), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "solver")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build solver stub: %v\n%s", err, out)
	}
	return bin
}

// testSolver is one challenge's Pod, Service and Ingress, shaped like the
// ones cert-manager's HTTP-01 solver creates.
type testSolver struct {
	name, host, token, key string
	// byName makes the Service's targetPort and the Ingress backend's port
	// names instead of numbers.
	byName   bool
	pathType networkingv1.PathType
}

func (s testSolver) path() string { return "/.well-known/acme-challenge/" + s.token }

func (s testSolver) create(t *testing.T, client kubernetes.Interface, ns string) {
	t.Helper()
	ctx := t.Context()
	selector := map[string]string{"acme.cert-manager.io/http01-solver": "true", "solver": s.name}
	podLabels := map[string]string{"acme.cert-manager.io/http01-solver": "true", "solver": s.name, "acme.cert-manager.io/http-domain": "1"}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: ns, Labels: podLabels},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyOnFailure,
			Containers: []corev1.Container{{
				Name:  "acmesolver",
				Image: "quay.io/jetstack/cert-manager-acmesolver:test",
				Args:  []string{"solve-http01", "--listen-port=8089", "--domain=" + s.host, "--token=" + s.token, "--key=" + s.key},
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8089}},
			}},
		},
	}
	targetPort, backendPort := intstr.FromInt32(8089), networkingv1.ServiceBackendPort{Number: 8089}
	if s.byName {
		targetPort, backendPort = intstr.FromString("http"), networkingv1.ServiceBackendPort{Name: "http"}
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 8089, TargetPort: targetPort}},
		},
	}
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: ns},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			Host: s.host,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{
					Path:     s.path(),
					PathType: &s.pathType,
					Backend:  networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: s.name, Port: backendPort}},
				}},
			}},
		}}},
	}
	if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod: %v", err)
	}
	if _, err := client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service: %v", err)
	}
	if _, err := client.NetworkingV1().Ingresses(ns).Create(ctx, ing, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ingress: %v", err)
	}
}

// eventually polls check every 100ms until it returns nil, failing the test
// with the last error after timeout. The timeout is a bound for a stuck
// harness, not a speed requirement.
func eventually(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after %s: %v", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// getVia sends GET path with the given Host to the router and returns the
// status and body.
func getVia(t *testing.T, r *IngressRouter, host, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+r.Addr()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s%s: %v", host, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s%s: read body: %v", host, path, err)
	}
	return resp.StatusCode, string(body)
}

func podRunningAndReady(pod *corev1.Pod) error {
	if pod.Status.Phase != corev1.PodRunning || pod.Status.PodIP != "127.0.0.1" {
		return fmt.Errorf("pod %s: phase %q, podIP %q", pod.Name, pod.Status.Phase, pod.Status.PodIP)
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return nil
		}
	}
	return fmt.Errorf("pod %s: no Ready=True condition in %v", pod.Name, pod.Status.Conditions)
}

func TestKubeletAndIngressRouterServeTwoChallenges(t *testing.T) {
	cp := Shared(t)
	ns := cp.Namespace(t)
	client, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	k := StartKubelet(t, cp.Config, buildSolverStub(t), ns)
	r := StartIngressRouter(t, cp.Config, k, "127.0.0.1:0")

	alpha := testSolver{name: "solver-alpha", host: "alpha.example.test", token: "token-alpha", key: "token-alpha.key-alpha", pathType: networkingv1.PathTypeImplementationSpecific}
	beta := testSolver{name: "solver-beta", host: "beta.example.test", token: "token-beta", key: "token-beta.key-beta", byName: true, pathType: networkingv1.PathTypeExact}
	alpha.create(t, client, ns)
	beta.create(t, client, ns)

	eventually(t, time.Minute, "both solver pods Running and Ready", func() error {
		if n := k.Running(); n != 2 {
			return fmt.Errorf("Running() = %d, want 2", n)
		}
		for _, s := range []testSolver{alpha, beta} {
			pod, err := client.CoreV1().Pods(ns).Get(t.Context(), s.name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if err := podRunningAndReady(pod); err != nil {
				return err
			}
		}
		return nil
	})
	if n := k.Started(); n != 2 {
		t.Errorf("Started() = %d, want 2", n)
	}

	for _, s := range []testSolver{alpha, beta} {
		if status, body := getVia(t, r, s.host, s.path()); status != http.StatusOK || body != s.key {
			t.Errorf("GET %s%s = %d %q, want 200 %q", s.host, s.path(), status, body, s.key)
		}
	}
	// The port a client puts in Host (Pebble does, off port 80) does not
	// change the route.
	if status, body := getVia(t, r, alpha.host+":5002", alpha.path()); status != http.StatusOK || body != alpha.key {
		t.Errorf("GET with port in Host = %d %q, want 200 %q", status, body, alpha.key)
	}
	for _, c := range []struct{ host, path string }{
		{"gamma.example.test", alpha.path()}, // no rule for the host
		{alpha.host, beta.path()},            // the other challenge's path
		{alpha.host, alpha.path() + "/x"},    // ImplementationSpecific is exact
	} {
		if status, _ := getVia(t, r, c.host, c.path); status != http.StatusNotFound {
			t.Errorf("GET %s%s = %d, want 404", c.host, c.path, status)
		}
	}
	wantPod := ns + "/" + beta.name
	if !slices.ContainsFunc(r.Requests(), func(req RoutedRequest) bool {
		return req.Host == beta.host && req.Path == beta.path() && req.Status == http.StatusOK && req.Pod == wantPod
	}) {
		t.Errorf("Requests() = %+v, want a 200 for %s%s from %s", r.Requests(), beta.host, beta.path(), wantPod)
	}

	oldAddr, ok := k.Endpoint(ns, alpha.name, 8089)
	if !ok {
		t.Fatalf("Endpoint(%s, %s, 8089) not found", ns, alpha.name)
	}
	if err := client.CoreV1().Pods(ns).Delete(t.Context(), alpha.name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete pod: %v", err)
	}
	eventually(t, time.Minute, "the deleted pod's solver stopped", func() error {
		if n := k.Running(); n != 1 {
			return fmt.Errorf("Running() = %d, want 1", n)
		}
		if addr, ok := k.Endpoint(ns, alpha.name, 8089); ok {
			return fmt.Errorf("Endpoint still %s", addr)
		}
		return nil
	})
	// Stopped means the process is gone, not just forgotten: its port no
	// longer serves the answer. (Another test's process may have been given
	// the freed port since, so a connection alone proves nothing.)
	if body, err := getDirect(oldAddr, alpha.host, alpha.path()); err == nil && body == alpha.key {
		t.Errorf("deleted pod's solver still answers on %s", oldAddr)
	}
	if status, _ := getVia(t, r, alpha.host, alpha.path()); status != http.StatusServiceUnavailable {
		t.Errorf("GET %s after its pod was deleted = %d, want 503", alpha.host, status)
	}
	if status, body := getVia(t, r, beta.host, beta.path()); status != http.StatusOK || body != beta.key {
		t.Errorf("GET %s after the other pod was deleted = %d %q, want 200 %q", beta.host, status, body, beta.key)
	}
	if n := k.Started(); n != 2 {
		t.Errorf("Started() after delete = %d, want 2", n)
	}
}

// TestKubeletFailsPodWhoseSolverExits checks a solver that dies is reported
// as a Failed Pod rather than left looking Ready.
func TestKubeletFailsPodWhoseSolverExits(t *testing.T) {
	cp := Shared(t)
	ns := cp.Namespace(t)
	client, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	k := StartKubelet(t, cp.Config, buildSolverStub(t), ns)
	s := testSolver{name: "solver", host: "exit.example.test", token: "t", key: "k", pathType: networkingv1.PathTypeExact}
	s.create(t, client, ns)
	eventually(t, time.Minute, "solver running", func() error {
		if n := k.Running(); n != 1 {
			return fmt.Errorf("Running() = %d, want 1", n)
		}
		return nil
	})
	k.mu.Lock()
	proc := k.pods[types.NamespacedName{Namespace: ns, Name: s.name}].procs[0]
	k.mu.Unlock()
	// Killed behind the Kubelet's back, as a crash would be.
	if err := proc.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "pod Failed", func() error {
		pod, err := client.CoreV1().Pods(ns).Get(t.Context(), s.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if pod.Status.Phase != corev1.PodFailed {
			return fmt.Errorf("phase %q", pod.Status.Phase)
		}
		return nil
	})
	if n := k.Running(); n != 0 {
		t.Errorf("Running() = %d, want 0", n)
	}
	if _, ok := k.Endpoint(ns, s.name, 8089); ok {
		t.Errorf("Endpoint found for a failed solver")
	}
}

// TestPebbleValidatesHTTP01ThroughIngressRouter runs an ACME order whose
// HTTP-01 challenge Pebble validates the way it would in a cluster: the name
// resolves to 127.0.0.1, Pebble connects to the IngressRouter on its HTTP-01
// port, and the router proxies to the solver Pod the Kubelet runs.
func TestPebbleValidatesHTTP01ThroughIngressRouter(t *testing.T) {
	cp := Shared(t)
	ns := cp.Namespace(t)
	kube, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	d := StartDNS(t, testZone)
	k := StartKubelet(t, cp.Config, buildSolverStub(t), ns)
	r := StartIngressRouter(t, cp.Config, k, "127.0.0.1:0")
	_, port, err := net.SplitHostPort(r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	httpPort, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	p := StartPebble(t, PebbleOptions{DNSServer: d.Addr(), HTTPPort: httpPort})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	client := acmeClient(ctx, t, p)

	const name = "ingress.example.test"
	d.AddA(t, name, "127.0.0.1")
	order, err := client.AuthorizeOrder(ctx, []acme.AuthzID{{Type: "dns", Value: name}}, acme.WithOrderProfile(PebbleDefaultProfile))
	if err != nil {
		t.Fatalf("new order: %v", err)
	}
	if len(order.AuthzURLs) != 1 {
		t.Fatalf("order has %d authorizations, want 1", len(order.AuthzURLs))
	}
	authz, err := client.GetAuthorization(ctx, order.AuthzURLs[0])
	if err != nil {
		t.Fatalf("get authorization: %v", err)
	}
	chal := challenge(t, authz, "http-01")
	keyAuth, err := client.HTTP01ChallengeResponse(chal.Token)
	if err != nil {
		t.Fatalf("HTTP-01 response: %v", err)
	}
	s := testSolver{name: "cm-acme-http-solver-abcde", host: name, token: chal.Token, key: keyAuth, pathType: networkingv1.PathTypeImplementationSpecific}
	s.create(t, kube, ns)
	eventually(t, time.Minute, "solver pod Ready", func() error {
		pod, err := kube.CoreV1().Pods(ns).Get(ctx, s.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		return podRunningAndReady(pod)
	})
	if _, err := client.Accept(ctx, chal); err != nil {
		t.Fatalf("accept challenge: %v", err)
	}
	if _, err := client.WaitAuthorization(ctx, authz.URI); err != nil {
		var acmeErr *acme.AuthorizationError
		if errors.As(err, &acmeErr) {
			t.Logf("authorization errors: %v", acmeErr.Errors)
		}
		t.Fatalf("authorization did not become valid: %v", err)
	}
	finalize(ctx, t, client, order.URI, name)

	if !slices.ContainsFunc(r.Requests(), func(req RoutedRequest) bool {
		return req.Host == name && req.Path == s.path() && req.Status == http.StatusOK
	}) {
		t.Errorf("Requests() = %+v, want Pebble's validation answered 200", r.Requests())
	}
}

func TestIngressPathMatches(t *testing.T) {
	const token = "/.well-known/acme-challenge/abc"
	for _, c := range []struct {
		pathType networkingv1.PathType // "" for unset
		rule     string
		request  string
		want     bool
	}{
		{networkingv1.PathTypeImplementationSpecific, token, token, true},
		{networkingv1.PathTypeImplementationSpecific, token, token + "d", false},
		{networkingv1.PathTypeImplementationSpecific, token, token + "/", false},
		{"", token, token, true},
		{"", token, "/", false},
		{networkingv1.PathTypeExact, token, token, true},
		{networkingv1.PathTypeExact, token, "/.well-known/acme-challenge/", false},
		{networkingv1.PathTypePrefix, "/.well-known/acme-challenge", token, true},
		{networkingv1.PathTypePrefix, "/.well-known/acme-challenge/", token, true},
		{networkingv1.PathTypePrefix, "/", token, true},
		{networkingv1.PathTypePrefix, token, token, true},
		{networkingv1.PathTypePrefix, token, token + "/", true},
		{networkingv1.PathTypePrefix, "/.well-known/acme", token, false}, // not a whole element
	} {
		p := networkingv1.HTTPIngressPath{Path: c.rule}
		if c.pathType != "" {
			p.PathType = &c.pathType
		}
		if got := pathMatches(p, c.request); got != c.want {
			t.Errorf("%q path %q, request %q: match = %v, want %v", c.pathType, c.rule, c.request, got, c.want)
		}
	}
}

func TestMatchRoutesPrecedence(t *testing.T) {
	path := func(p string, typ networkingv1.PathType) networkingv1.HTTPIngressPath {
		return networkingv1.HTTPIngressPath{Path: p, PathType: &typ}
	}
	ing := networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "ing"},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{
			{Host: "other.example.test", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{path("/a/b", networkingv1.PathTypeExact)},
			}}},
			{Host: "Web.Example.Test", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{
					path("/", networkingv1.PathTypePrefix),
					path("/a/b", networkingv1.PathTypePrefix),
					path("/a/b", networkingv1.PathTypeExact),
					path("/a", networkingv1.PathTypePrefix),
				},
			}}},
		}},
	}
	var got []string
	for _, rt := range matchRoutes([]networkingv1.Ingress{ing}, "web.example.test", "/a/b") {
		got = append(got, string(*rt.path.PathType)+" "+rt.path.Path)
	}
	want := []string{"Exact /a/b", "Prefix /a/b", "Prefix /a", "Prefix /"}
	if !slices.Equal(got, want) {
		t.Errorf("matchRoutes = %q, want %q", got, want)
	}
}

// getDirect fetches path from addr with the given Host, bypassing the
// router; the body is returned only for a 200.
func getDirect(addr, host, path string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return "", err
	}
	req.Host = host
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %v", resp.StatusCode, err)
	}
	return string(b), nil
}
