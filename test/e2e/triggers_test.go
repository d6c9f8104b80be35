package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	authzv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"

	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/test/harness"
	"github.com/certsweep/certsweep/triggers"
)

// --- helpers shared by the trigger, RBAC and concurrency tests ---

// serve starts the CloudEvents handler over this test's namespace, as
// `certsweep serve` wires it, on a local HTTP server.
func (e *env) serve(mutate ...func(*job.Options)) string {
	e.t.Helper()
	h := &triggers.Handler{Target: e.sweeper(e.cp.Config, mutate...), Logger: testLogger(e.t)}
	srv := httptest.NewServer(h)
	e.t.Cleanup(srv.Close)
	return srv.URL
}

// testLogger sends the handler's log lines to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// refEvent is the event an ApiServerSource in Reference mode sends.
func refEvent(verb, apiVersion, kind, namespace, name string) event.Event {
	ev := cloudevents.NewEvent()
	ev.SetID(fmt.Sprintf("%s-%s-%s-%d", verb, kind, name, time.Now().UnixNano()))
	ev.SetSource("https://127.0.0.1:6443")
	ev.SetType("dev.knative.apiserver.ref." + verb)
	data := map[string]string{"kind": kind, "name": name, "apiVersion": apiVersion}
	if namespace != "" {
		data["namespace"] = namespace
	}
	if err := ev.SetData(cloudevents.ApplicationJSON, data); err != nil {
		panic(err) // a map of strings always marshals
	}
	return ev
}

func pingEvent() event.Event {
	ev := cloudevents.NewEvent()
	ev.SetID(fmt.Sprintf("ping-%d", time.Now().UnixNano()))
	ev.SetSource("/apis/v1/namespaces/certsweep/pingsources/certsweep")
	ev.SetType(triggers.TypePing)
	return ev
}

// send delivers ev to url through the CloudEvents SDK client in the given
// mode ("binary" or "structured") and returns the HTTP status of the reply.
func send(t *testing.T, url, mode string, ev event.Event) int {
	t.Helper()
	c, err := cloudevents.NewClientHTTP()
	if err != nil {
		t.Fatalf("cloudevents client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctx = cloudevents.ContextWithTarget(ctx, url)
	switch mode {
	case "binary":
		ctx = cloudevents.WithEncodingBinary(ctx)
	case "structured":
		ctx = cloudevents.WithEncodingStructured(ctx)
	default:
		t.Fatalf("unknown mode %q", mode)
	}
	res := c.Send(ctx, ev)
	var httpResult *cehttp.Result
	if !cloudevents.ResultAs(res, &httpResult) {
		t.Fatalf("sending %s event: no HTTP result: %v", ev.Type(), res)
	}
	return httpResult.StatusCode
}

// ecdsaKey makes fixtures cheap to issue.
func ecdsaKey(s *cmapi.CertificateSpec) {
	s.PrivateKey = &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm}
}

// requireNotIssued asserts a Certificate has never been issued.
func (e *env) requireNotIssued(name string) {
	e.t.Helper()
	if c := e.certificate(name); c.Status.Revision != nil {
		e.t.Fatalf("certificate %s was issued (revision %d) but should not have been", name, *c.Status.Revision)
	}
	if crs := e.requests(name); len(crs) != 0 {
		e.t.Fatalf("certificate %s has %d requests, want none", name, len(crs))
	}
}

// certsweepBinary builds the command into a temporary directory.
func certsweepBinary(t *testing.T) string {
	t.Helper()
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "certsweep")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/certsweep")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// podEnv is the environment the manifests give the container, pointed at the
// test control plane as the given identity and narrowed to the namespace.
func (e *env) podEnv(cfg *rest.Config, extra ...string) []string {
	e.t.Helper()
	kc := e.cp.Kubeconfig
	if cfg != e.cp.Config {
		var err error
		if kc, err = e.cp.KubeconfigFor(cfg); err != nil {
			e.t.Fatal(err)
		}
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + e.t.TempDir(),
		"KUBECONFIG=" + kc,
		"CERTSWEEP_NAMESPACE=" + e.ns,
		"CERTSWEEP_CLUSTER_RESOURCE_NAMESPACE=" + e.ns,
		"CERTSWEEP_LOG_FORMAT=json",
	}
	return append(env, extra...)
}

// runBinary runs the built binary to completion and returns its exit code,
// stdout and stderr.
func runBinary(t *testing.T, bin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String(), stderr.String()
	default:
		t.Fatalf("running %s: %v\nstderr:\n%s", bin, err, stderr.String())
		return -1, "", ""
	}
}

// --- serve: one row per event type, in both content modes ---

// TestServeActsOnEachEventType sends each event an ApiServerSource or a
// PingSource would send, through the CloudEvents SDK in binary and
// structured mode, and checks the reply and that exactly the right
// Certificates were issued.
func TestServeActsOnEachEventType(t *testing.T) {
	cases := []struct {
		name string
		// setup creates fixtures and returns the event to send.
		setup func(e *env) event.Event
		// check asserts the outcome after a 200.
		check func(e *env)
	}{
		{
			name: "certificate ref issues that certificate only",
			setup: func(e *env) event.Event {
				e.create(selfSignedIssuer("ss"))
				e.create(certificate("wanted", issuerRef("ss"), ecdsaKey))
				e.create(certificate("bystander", issuerRef("ss"), ecdsaKey))
				return refEvent("add", "cert-manager.io/v1", "Certificate", e.ns, "wanted")
			},
			check: func(e *env) {
				parseSecret(e.t, e.secret("wanted-tls"))
				e.requireReady("wanted", 1)
				e.requireNotIssued("bystander")
			},
		},
		{
			name: "certificate delete ref does nothing",
			setup: func(e *env) event.Event {
				e.create(selfSignedIssuer("ss"))
				e.create(certificate("bystander", issuerRef("ss"), ecdsaKey))
				return refEvent("delete", "cert-manager.io/v1", "Certificate", e.ns, "gone")
			},
			check: func(e *env) { e.requireNotIssued("bystander") },
		},
		{
			name: "deleted secret ref reissues its certificate",
			setup: func(e *env) event.Event {
				e.create(selfSignedIssuer("ss"))
				e.create(certificate("site", issuerRef("ss"), ecdsaKey))
				e.create(certificate("bystander", issuerRef("ss"), ecdsaKey))
				e.run()
				if err := e.kube.CoreV1().Secrets(e.ns).Delete(e.ctx(), "site-tls", metav1.DeleteOptions{}); err != nil {
					e.t.Fatal(err)
				}
				return refEvent("delete", "v1", "Secret", e.ns, "site-tls")
			},
			check: func(e *env) {
				parseSecret(e.t, e.secret("site-tls"))
				e.requireReady("site", 2)
				e.requireReady("bystander", 1)
			},
		},
		{
			name: "certificate request ref completes the certificate it belongs to",
			setup: func(e *env) event.Event {
				e.create(certificate("ext", cmmeta.IssuerReference{Group: "example.com", Kind: "Thing", Name: "signer"}, ecdsaKey))
				e.run()
				crs := e.requests("ext")
				if len(crs) != 1 {
					e.t.Fatalf("want one pending request, got %d", len(crs))
				}
				e.signExternally(&crs[0])
				return refEvent("update", "cert-manager.io/v1", "CertificateRequest", e.ns, crs[0].Name)
			},
			check: func(e *env) {
				parseSecret(e.t, e.secret("ext-tls"))
				e.requireReady("ext", 1)
			},
		},
		{
			name: "issuer ref issues the certificates referencing it",
			setup: func(e *env) event.Event {
				e.create(certificate("late", issuerRef("late-issuer"), ecdsaKey))
				e.create(certificate("other", issuerRef("other-issuer"), ecdsaKey))
				e.create(selfSignedIssuer("late-issuer"))
				e.create(selfSignedIssuer("other-issuer"))
				return refEvent("add", "cert-manager.io/v1", "Issuer", e.ns, "late-issuer")
			},
			check: func(e *env) {
				e.requireReady("late", 1)
				e.requireNotIssued("other")
			},
		},
		{
			name: "cluster issuer ref issues the certificates referencing it",
			setup: func(e *env) event.Event {
				name := e.ns + "-ss"
				e.create(&cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}}}})
				e.create(certificate("cluster", cmmeta.IssuerReference{Kind: cmapi.ClusterIssuerKind, Name: name}, ecdsaKey))
				e.create(certificate("namespaced", cmmeta.IssuerReference{Kind: cmapi.IssuerKind, Name: name}, ecdsaKey))
				return refEvent("update", "cert-manager.io/v1", "ClusterIssuer", "", name)
			},
			check: func(e *env) {
				e.requireReady("cluster", 1)
				e.requireNotIssued("namespaced")
			},
		},
		{
			name: "ping sweeps everything",
			setup: func(e *env) event.Event {
				e.withCA()
				e.create(certificate("a", issuerRef("ca"), ecdsaKey))
				e.create(certificate("b", issuerRef("ca"), ecdsaKey))
				return pingEvent()
			},
			check: func(e *env) {
				e.requireReady("root", 1)
				for _, n := range []string{"a", "b"} {
					verifyChain(e.t, parseSecret(e.t, e.secret(n+"-tls")))
					e.requireReady(n, 1)
				}
			},
		},
		{
			name: "unknown event type is acknowledged and ignored",
			setup: func(e *env) event.Event {
				e.create(selfSignedIssuer("ss"))
				e.create(certificate("bystander", issuerRef("ss"), ecdsaKey))
				ev := pingEvent()
				ev.SetType("com.example.unrelated")
				_ = ev.SetData(cloudevents.ApplicationJSON, map[string]string{"kind": "Certificate", "namespace": e.ns, "name": "bystander", "apiVersion": "cert-manager.io/v1"})
				return ev
			},
			check: func(e *env) { e.requireNotIssued("bystander") },
		},
	}
	for _, mode := range []string{"binary", "structured"} {
		for _, tc := range cases {
			t.Run(mode+"/"+tc.name, func(t *testing.T) {
				e := newEnv(t)
				ev := tc.setup(e)
				url := e.serve()
				if code := send(t, url, mode, ev); code != http.StatusOK {
					t.Fatalf("reply = %d, want 200", code)
				}
				tc.check(e)
			})
		}
	}
}

// TestServeActsOnACMEOrderAndChallengeEvents: an order left pending (its
// DNS-01 record not yet seen) is taken to the end by an event about its
// Order, or about its Challenge: the Certificate it works for is
// reconciled, and only that one, so another pending order waits for its
// own event. The Challenge's deletion, once done, concerns nothing.
func TestServeActsOnACMEOrderAndChallengeEvents(t *testing.T) {
	for _, kind := range []string{"Order", "Challenge"} {
		t.Run(kind, func(t *testing.T) {
			a := newACME(t)
			a.create(acmeCertificate("web", "web.example.test"))
			a.create(acmeCertificate("api", "api.example.test"))
			a.run(stalledOptions(blindDNS(t)))
			order, challenge := a.orderOf("web")
			name := order
			if kind == "Challenge" {
				name = challenge
			}
			url := a.serve(a.acmeOptions)
			if code := send(t, url, "binary", refEvent("update", "acme.cert-manager.io/v1", kind, a.ns, name)); code != http.StatusOK {
				t.Fatalf("reply = %d, want 200", code)
			}
			a.requireReady("web", 1)
			if c := a.certificate("api"); c.Status.Revision != nil {
				t.Fatalf("api was issued by an event about web's %s", kind)
			}
			if kind == "Challenge" {
				if _, err := a.cm.AcmeV1().Challenges(a.ns).Get(a.ctx(), challenge, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					t.Fatalf("web's Challenge is still there after issuance: %v", err)
				}
				if code := send(t, url, "binary", refEvent("delete", "acme.cert-manager.io/v1", kind, a.ns, challenge)); code != http.StatusOK {
					t.Fatalf("delete reply = %d, want 200", code)
				}
			}
			if _, apiChallenge := a.orderOf("api"); apiChallenge == "" {
				t.Fatal("api's order moved on without an event of its own")
			}
		})
	}
}

// TestACMEEventsAsTheManifestServiceAccount: the lookups behind an ACME
// event (Challenge -> Order -> request -> Certificate) and the work after
// them need no verb manifests/base does not grant: the binary, as its
// ServiceAccount, takes a stalled order to the end from a Challenge event.
// plan, as the same ServiceAccount, still plans when it may not list
// Orders, and says why it shows none.
func TestACMEEventsAsTheManifestServiceAccount(t *testing.T) {
	bin := certsweepBinary(t)
	a := newACME(t)
	if _, err := harness.Apply(a.ctx(), a.cp.Config, harness.ApplyOptions{}, baseManifests(t)); err != nil {
		t.Fatalf("applying manifests/base: %v", err)
	}
	a.waitAllowed("certsweep", "certsweep", "get", "acme.cert-manager.io", "challenges")
	sa := a.cp.ServiceAccountConfig("certsweep", "certsweep")
	a.create(acmeCertificate("web", "web.example.test"))
	if rep := a.run(stalledOptions(blindDNS(t))); rep.Waiting != 1 {
		t.Fatalf("want the order left pending: %s %+v", rep.Summary(), rep.Outcomes)
	}
	_, challenge := a.orderOf("web")

	code, stdout, stderr := runBinary(t, bin, a.podEnv(sa), "plan")
	if code != 0 {
		t.Fatalf("plan as the ServiceAccount: exit %d\n%s", code, stderr)
	}
	if a.allowed("certsweep", "certsweep", "list", "acme.cert-manager.io", "orders") {
		if !strings.Contains(stdout, "ACME orders in flight:") {
			t.Errorf("plan as the ServiceAccount shows no order:\n%s", stdout)
		}
	} else if !strings.Contains(stdout, "warning: "+a.ns+"/web: where the ACME order of request web-1 stands could not be read") {
		t.Errorf("plan as a ServiceAccount that may not list Orders does not say so:\n%s", stdout)
	}

	path := writeEventFile(t, refEvent("update", "acme.cert-manager.io/v1", "Challenge", a.ns, challenge))
	code, _, stderr = runBinary(t, bin, a.podEnv(sa, "CERTSWEEP_EVENT_FILE="+path,
		"CERTSWEEP_DNS01_RECURSIVE_NAMESERVERS="+a.dns.Addr(), "CERTSWEEP_DNS01_RECURSIVE_NAMESERVERS_ONLY=true"), "run")
	if code != 0 {
		t.Fatalf("Challenge event as the ServiceAccount: exit %d\nstderr:\n%s", code, stderr)
	}
	requireNoDenials(t, stderr)
	a.requireReady("web", 1)
}

// allowed asks the API server whether a ServiceAccount may do verb on
// resource in the test's namespace.
func (e *env) allowed(namespace, name, verb, group, resource string) bool {
	e.t.Helper()
	out, err := e.kube.AuthorizationV1().SubjectAccessReviews().Create(e.ctx(), &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User:               "system:serviceaccount:" + namespace + ":" + name,
		Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
		ResourceAttributes: &authzv1.ResourceAttributes{Namespace: e.ns, Verb: verb, Group: group, Resource: resource},
	}}, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.Status.Allowed
}

// orderOf names the Order of cert's only request, and the Order's one
// Challenge ("" when there is none).
func (a *acmeSetup) orderOf(cert string) (order, challenge string) {
	a.t.Helper()
	crs := a.requests(cert)
	if len(crs) != 1 {
		a.t.Fatalf("%s: want one request, got %d", cert, len(crs))
	}
	orders, err := a.cm.AcmeV1().Orders(a.ns).List(a.ctx(), metav1.ListOptions{})
	if err != nil {
		a.t.Fatal(err)
	}
	var orderUID types.UID
	for _, o := range orders.Items {
		if ref := metav1.GetControllerOf(&o); ref != nil && ref.UID == crs[0].UID {
			order, orderUID = o.Name, o.UID
		}
	}
	if order == "" {
		a.t.Fatalf("%s: request %s has no Order", cert, crs[0].Name)
	}
	chs, err := a.cm.AcmeV1().Challenges(a.ns).List(a.ctx(), metav1.ListOptions{})
	if err != nil {
		a.t.Fatal(err)
	}
	for _, ch := range chs.Items {
		if ref := metav1.GetControllerOf(&ch); ref != nil && ref.UID == orderUID {
			challenge = ch.Name
		}
	}
	return order, challenge
}

// signExternally plays an external issuer's controller: it signs the
// request's CSR with a throwaway CA and marks the request Issued.
func (e *env) signExternally(cr *cmapi.CertificateRequest) {
	e.t.Helper()
	block, _ := pem.Decode(cr.Spec.Request)
	if block == nil {
		e.t.Fatal("request has no PEM CSR")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		e.t.Fatalf("parse CSR: %v", err)
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		e.t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "external test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		e.t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: csr.Subject, DNSNames: csr.DNSNames,
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(90 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, csr.PublicKey, caKey)
	if err != nil {
		e.t.Fatal(err)
	}
	upd := cr.DeepCopy()
	upd.Status.Certificate = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})
	upd.Status.CA = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	nowMeta := metav1.Now()
	upd.Status.Conditions = append(upd.Status.Conditions, cmapi.CertificateRequestCondition{
		Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionTrue,
		Reason: cmapi.CertificateRequestReasonIssued, Message: "signed by the test", LastTransitionTime: &nowMeta,
	})
	if _, err := e.cm.CertmanagerV1().CertificateRequests(e.ns).UpdateStatus(e.ctx(), upd, metav1.UpdateOptions{}); err != nil {
		e.t.Fatalf("sign request: %v", err)
	}
}

// --- serve: replies that tell the sender to back off ---

func TestServeAsksForRedeliveryWhenBudgetIsSpent(t *testing.T) {
	e := newEnv(t)
	e.create(selfSignedIssuer("ss"))
	e.create(certificate("a", issuerRef("ss"), ecdsaKey))
	e.create(certificate("b", issuerRef("ss"), ecdsaKey))
	url := e.serve(func(o *job.Options) { o.MaxIssuances = 1 })

	resp := postEvent(t, url, pingEvent())
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("reply = %d Retry-After %q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// The redelivery Knative makes then finishes the job.
	if resp := postEvent(t, url, pingEvent()); resp.StatusCode != http.StatusOK {
		t.Fatalf("redelivery reply = %d, want 200", resp.StatusCode)
	}
	e.requireReady("a", 1)
	e.requireReady("b", 1)
}

func TestServeAnswers503WhenTheAPIServerIsUnreachable(t *testing.T) {
	e := newEnv(t)
	// A listener that is closed at once: connections are refused, as when
	// the API server is down.
	ln := httptest.NewServer(http.NotFoundHandler())
	dead := ln.URL
	ln.Close()
	cfg := rest.CopyConfig(e.cp.Config)
	cfg.Host = dead
	cfg.TLSClientConfig = rest.TLSClientConfig{}
	h := &triggers.Handler{Target: e.sweeper(cfg), Logger: testLogger(t)}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, ev := range []event.Event{pingEvent(), refEvent("add", "v1", "Secret", e.ns, "x-tls")} {
		resp := postEvent(t, srv.URL, ev)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: reply = %d Retry-After %q, want 503 with Retry-After", ev.Type(), resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
}

// postEvent sends ev in binary mode with plain net/http, to see headers the
// SDK client does not expose.
func postEvent(t *testing.T, url string, ev event.Event) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(ev.Data()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Ce-Specversion", "1.0")
	req.Header.Set("Ce-Id", ev.ID())
	req.Header.Set("Ce-Source", ev.Source())
	req.Header.Set("Ce-Type", ev.Type())
	if ev.DataContentType() != "" {
		req.Header.Set("Content-Type", ev.DataContentType())
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

// --- serve: malformed input is refused before anything is touched ---

func TestServeRejectsMalformedRequests(t *testing.T) {
	e := newEnv(t)
	e.create(selfSignedIssuer("ss"))
	e.create(certificate("bystander", issuerRef("ss"), ecdsaKey))
	cfg, counter := harness.WrapCounting(e.cp.Config)
	h := &triggers.Handler{Target: e.sweeper(cfg), Logger: testLogger(t)}
	srv := httptest.NewServer(h)
	defer srv.Close()

	validRef := `{"kind":"Certificate","namespace":"` + e.ns + `","name":"bystander","apiVersion":"cert-manager.io/v1"}`
	binaryHeaders := map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "1", "Ce-Source": "/t", "Ce-Type": "dev.knative.apiserver.ref.add"}
	cases := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		body    []byte
		want    int
	}{
		{name: "health check", method: http.MethodGet, path: "/healthz", want: http.StatusOK},
		{name: "GET is not allowed", method: http.MethodGet, path: "/", want: http.StatusMethodNotAllowed},
		{name: "PUT is not allowed", method: http.MethodPut, path: "/", body: []byte(validRef), want: http.StatusMethodNotAllowed},
		{name: "bad content type, no ce- headers", method: http.MethodPost, path: "/",
			headers: map[string]string{"Content-Type": "text/plain"}, body: []byte("hello"), want: http.StatusBadRequest},
		{name: "JSON without ce- headers", method: http.MethodPost, path: "/",
			headers: map[string]string{"Content-Type": "application/json"}, body: []byte(validRef), want: http.StatusBadRequest},
		{name: "binary mode missing ce-id and ce-source", method: http.MethodPost, path: "/",
			headers: map[string]string{"Content-Type": "application/json", "Ce-Specversion": "1.0", "Ce-Type": "dev.knative.apiserver.ref.add"},
			body:    []byte(validRef), want: http.StatusBadRequest},
		{name: "structured garbage JSON", method: http.MethodPost, path: "/",
			headers: map[string]string{"Content-Type": "application/cloudevents+json"}, body: []byte(`{"specversion": "1.0", "id": [garbage`), want: http.StatusBadRequest},
		{name: "binary event with garbage data", method: http.MethodPost, path: "/",
			headers: withContentType(binaryHeaders, "application/json"), body: []byte(`{"kind": Certificate`), want: http.StatusBadRequest},
		{name: "10 MB body", method: http.MethodPost, path: "/",
			headers: withContentType(binaryHeaders, "application/json"), body: bytes.Repeat([]byte(" "), 10<<20), want: http.StatusRequestEntityTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			if resp := do(t, req); resp.StatusCode != tc.want {
				t.Fatalf("reply = %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	if n := len(counter.Snapshot().Requests); n != 0 {
		t.Fatalf("malformed requests reached the API server %d times: %v", n, counter.Snapshot().Requests)
	}
	e.requireNotIssued("bystander")
}

func withContentType(h map[string]string, ct string) map[string]string {
	out := map[string]string{"Content-Type": ct}
	for k, v := range h {
		out[k] = v
	}
	return out
}

// --- serve: the feedback loop must go quiet ---

// TestEventFeedbackLoopGoesQuiet plays Knative's part: every write the
// handler makes to a watched object becomes the Reference-mode event an
// ApiServerSource would send, and is fed back, until a round produces no
// writes. certsweep reacting to its own writes must converge, not spin.
func TestEventFeedbackLoopGoesQuiet(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	for _, n := range []string{"a", "b", "c"} {
		e.create(certificate(n, issuerRef("ca"), ecdsaKey))
	}
	url := e.serve()

	// Empty: every object that exists is an "add".
	seen := e.feedUntilQuiet(url, map[watchedKey]string{})
	e.requireReady("root", 1)

	// Leaves whose first attempt raced the CA Secret are in a short backoff
	// that no write ends; the PingSource safety net does. Its tick after
	// the backoff, and the events that follow it, must also go quiet.
	e.advance(10 * time.Minute)
	if code := send(t, url, "binary", pingEvent()); code != http.StatusOK {
		t.Fatalf("ping reply = %d", code)
	}
	e.feedUntilQuiet(url, seen)
	for _, n := range []string{"a", "b", "c"} {
		// Not verifyChain: the test clock is ahead, so these are not yet
		// valid by the wall clock.
		parseSecret(t, e.secret(n+"-tls"))
		e.requireReady(n, 1)
	}
}

// TestEventFeedbackLoopGoesQuietWithACME: the same with an ACME issuer,
// whose Orders and Challenges are watched too. An order stalled on DNS
// propagation makes its events and then goes quiet (waiting writes
// nothing); once the record can be seen, the ping's sweep takes the order
// on, and the events of its progress end when the Certificate is issued.
func TestEventFeedbackLoopGoesQuietWithACME(t *testing.T) {
	a := newACME(t)
	a.create(acmeCertificate("web", "web.example.test"))
	stalled := a.serve(stalledOptions(blindDNS(t)))
	seen := a.feedUntilQuiet(stalled, map[watchedKey]string{})
	if order, challenge := a.orderOf("web"); order == "" || challenge == "" {
		t.Fatalf("want an order stalled on its challenge, got order %q challenge %q", order, challenge)
	}
	if c := a.certificate("web"); c.Status.Revision != nil {
		t.Fatal("issued although the DNS-01 record was never seen")
	}

	url := a.serve(a.acmeOptions)
	if code := send(t, url, "binary", pingEvent()); code != http.StatusOK {
		t.Fatalf("ping reply = %d", code)
	}
	a.feedUntilQuiet(url, seen)
	a.requireReady("web", 1)
}

// feedUntilQuiet sends the events for every change since seen until a
// round changes nothing, failing if that takes more than a few rounds.
func (e *env) feedUntilQuiet(url string, seen map[watchedKey]string) map[watchedKey]string {
	e.t.Helper()
	const maxRounds = 6
	for round := 1; ; round++ {
		now := e.watchedObjects()
		events := diffToEvents(e.ns, seen, now)
		if len(events) == 0 {
			e.t.Logf("quiet after %d rounds", round-1)
			return now
		}
		if round > maxRounds {
			e.t.Fatalf("still %d events after %d rounds: the handler keeps reacting to its own writes", len(events), maxRounds)
		}
		e.t.Logf("round %d: %d events", round, len(events))
		for _, ev := range events {
			if code := send(e.t, url, "binary", ev); code != http.StatusOK {
				e.t.Fatalf("round %d: %s reply = %d", round, ev.Type(), code)
			}
		}
		seen = now
	}
}

type watchedKey struct{ apiVersion, kind, name string }

// watchedObjects is what the manifests' ApiServerSource watches in the
// namespace, by resourceVersion.
func (e *env) watchedObjects() map[watchedKey]string {
	e.t.Helper()
	ctx := e.ctx()
	out := map[watchedKey]string{}
	certs, err := e.cm.CertmanagerV1().Certificates(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, o := range certs.Items {
		out[watchedKey{"cert-manager.io/v1", "Certificate", o.Name}] = o.ResourceVersion
	}
	crs, err := e.cm.CertmanagerV1().CertificateRequests(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, o := range crs.Items {
		out[watchedKey{"cert-manager.io/v1", "CertificateRequest", o.Name}] = o.ResourceVersion
	}
	issuers, err := e.cm.CertmanagerV1().Issuers(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, o := range issuers.Items {
		out[watchedKey{"cert-manager.io/v1", "Issuer", o.Name}] = o.ResourceVersion
	}
	orders, err := e.cm.AcmeV1().Orders(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, o := range orders.Items {
		out[watchedKey{"acme.cert-manager.io/v1", "Order", o.Name}] = o.ResourceVersion
	}
	challenges, err := e.cm.AcmeV1().Challenges(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, o := range challenges.Items {
		out[watchedKey{"acme.cert-manager.io/v1", "Challenge", o.Name}] = o.ResourceVersion
	}
	secrets, err := e.kube.CoreV1().Secrets(e.ns).List(ctx, metav1.ListOptions{
		LabelSelector: labels.Set{cmapi.PartOfCertManagerControllerLabelKey: "true"}.String(),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, o := range secrets.Items {
		out[watchedKey{"v1", "Secret", o.Name}] = o.ResourceVersion
	}
	return out
}

// diffToEvents turns the difference between two listings into the events an
// ApiServerSource would have sent for it.
func diffToEvents(ns string, before, after map[watchedKey]string) []event.Event {
	var events []event.Event
	for k, rv := range after {
		old, ok := before[k]
		switch {
		case !ok:
			events = append(events, refEvent("add", k.apiVersion, k.kind, ns, k.name))
		case old != rv:
			events = append(events, refEvent("update", k.apiVersion, k.kind, ns, k.name))
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			events = append(events, refEvent("delete", k.apiVersion, k.kind, ns, k.name))
		}
	}
	return events
}

// --- event file (JobSink) mode, through the built binary ---

func TestEventFileMode(t *testing.T) {
	bin := certsweepBinary(t)

	t.Run("a certificate event issues it and exits 0", func(t *testing.T) {
		e := newEnv(t)
		e.create(selfSignedIssuer("ss"))
		e.create(certificate("wanted", issuerRef("ss"), ecdsaKey))
		e.create(certificate("bystander", issuerRef("ss"), ecdsaKey))
		ev := refEvent("add", "cert-manager.io/v1", "Certificate", e.ns, "wanted")
		path := writeEventFile(t, ev)
		code, stdout, stderr := runBinary(t, bin, e.podEnv(e.cp.Config, "CERTSWEEP_EVENT_FILE="+path), "run")
		if code != 0 {
			t.Fatalf("exit %d, want 0\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
		e.requireReady("wanted", 1)
		e.requireNotIssued("bystander")
	})

	t.Run("a ping sweeps everything", func(t *testing.T) {
		e := newEnv(t)
		e.create(selfSignedIssuer("ss"))
		e.create(certificate("a", issuerRef("ss"), ecdsaKey))
		e.create(certificate("b", issuerRef("ss"), ecdsaKey))
		path := writeEventFile(t, pingEvent())
		code, stdout, stderr := runBinary(t, bin, e.podEnv(e.cp.Config, "CERTSWEEP_EVENT_FILE="+path), "run")
		if code != 0 {
			t.Fatalf("exit %d, want 0\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
		e.requireReady("a", 1)
		e.requireReady("b", 1)
	})

	for _, bad := range []struct{ name, content string }{
		{"garbage", "{this is not json"},
		{"not a cloudevent", `{"hello":"world"}`},
		{"ref event naming no object", `{"specversion":"1.0","id":"1","source":"/s","type":"dev.knative.apiserver.ref.add","datacontenttype":"application/json","data":{"kind":"Certificate"}}`},
		{"missing file", ""},
	} {
		t.Run("malformed: "+bad.name+" exits 2 touching nothing", func(t *testing.T) {
			e := newEnv(t)
			e.create(selfSignedIssuer("ss"))
			e.create(certificate("bystander", issuerRef("ss"), ecdsaKey))
			path := filepath.Join(t.TempDir(), "event")
			if bad.content != "" {
				if err := os.WriteFile(path, []byte(bad.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			before := e.certificate("bystander").ResourceVersion
			code, stdout, stderr := runBinary(t, bin, e.podEnv(e.cp.Config, "CERTSWEEP_EVENT_FILE="+path), "run")
			if code != 2 {
				t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], "CERTSWEEP_EVENT_FILE") {
				t.Fatalf("want one error line naming CERTSWEEP_EVENT_FILE, got:\n%s", stderr)
			}
			if after := e.certificate("bystander").ResourceVersion; after != before {
				t.Fatal("a malformed event file changed a Certificate")
			}
			e.requireNotIssued("bystander")
		})
	}
}

// writeEventFile writes ev as JobSink does: the structured-mode JSON of the
// event, in a file named "event".
func writeEventFile(t *testing.T, ev event.Event) string {
	t.Helper()
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "event")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startServeBinary starts `certsweep serve` on a free port with the pod's
// environment plus env, and returns once it answers /healthz.
func (e *env) startServeBinary(bin string, env ...string) (*exec.Cmd, string) {
	t := e.t
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	env = append([]string{fmt.Sprintf("PORT=%d", port), "CERTSWEEP_REQUEST_TIMEOUT=60s"}, env...)
	cmd, _, _ := startBinary(t, bin, e.podEnv(e.cp.Config, env...), "serve")
	url := fmt.Sprintf("http://127.0.0.1:%d", port)

	// Wait until it listens: a condition, bounded by the test context.
	err = wait.PollUntilContextCancel(e.ctx(), 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		if cmd.ProcessState != nil {
			return false, errors.New("serve exited")
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("serve never answered /healthz: %v", err)
	}
	return cmd, url
}

// TestServeBinary runs `certsweep serve` as the Knative Service does: on
// $PORT, answering /healthz, handling a ping, and exiting 0 on SIGTERM.
func TestServeBinary(t *testing.T) {
	bin := certsweepBinary(t)
	e := newEnv(t)
	e.create(selfSignedIssuer("ss"))
	e.create(certificate("served", issuerRef("ss"), ecdsaKey))

	cmd, url := e.startServeBinary(bin)
	for _, mode := range []string{"binary", "structured"} {
		if code := send(t, url, mode, pingEvent()); code != http.StatusOK {
			t.Fatalf("%s ping reply = %d", mode, code)
		}
	}
	e.requireReady("served", 1)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v, want exit 0", err)
	}
}
