package harness_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/certsweep/certsweep/test/harness"
)

func kube(t *testing.T, cfg *rest.Config) kubernetes.Interface {
	t.Helper()
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func cm(t *testing.T, cfg *rest.Config) cmclient.Interface {
	t.Helper()
	c, err := cmclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func typedConfigMap(ns, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Data:       map[string]string{"k": "v"},
	}
}

func typedCertificate(ns, name string) *cmapi.Certificate {
	return &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: cmapi.CertificateSpec{
			SecretName: name + "-tls",
			DNSNames:   []string{"example.test"},
			IssuerRef:  cmmeta.IssuerReference{Name: "ca", Kind: "Issuer"},
		},
	}
}

// requireTransportError fails unless err is a connection-level failure (no
// API status at all), which is what a reset must look like to the client.
func requireTransportError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want a connection error")
	}
	t.Logf("client error: %v", err)
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		t.Fatalf("got API status %v, want a connection error", err)
	}
	if !utilnet.IsConnectionReset(err) && !utilnet.IsProbableEOF(err) {
		t.Fatalf("got %v (%T), want connection reset or EOF", err, err)
	}
}

// TestFaultProxyCleanRun checks that without rules the proxy is transparent
// for client-go's and cert-manager's typed clientsets.
func TestFaultProxyCleanRun(t *testing.T) {
	cp := harness.Shared(t)
	ns := cp.Namespace(t)
	ctx := t.Context()
	p := harness.StartFaultProxy(t, cp)
	k, c := kube(t, p.RESTConfig()), cm(t, p.RESTConfig())

	cms := k.CoreV1().ConfigMaps(ns)
	if _, err := cms.Create(ctx, typedConfigMap(ns, "cm"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create configmap: %v", err)
	}
	got, err := cms.Get(ctx, "cm", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get configmap: %v", err)
	}
	got.Data["k"] = "w"
	if _, err := cms.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update configmap: %v", err)
	}
	if _, err := cms.Patch(ctx, "cm", types.MergePatchType, []byte(`{"data":{"k":"x"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("patch configmap: %v", err)
	}
	if err := cms.Delete(ctx, "cm", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete configmap: %v", err)
	}

	certs := c.CertmanagerV1().Certificates(ns)
	crt, err := certs.Create(ctx, typedCertificate(ns, "web"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create certificate: %v", err)
	}
	crt.Status.Revision = new(int)
	if _, err := certs.UpdateStatus(ctx, crt, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update certificate status: %v", err)
	}
	if list, err := certs.List(ctx, metav1.ListOptions{}); err != nil || len(list.Items) != 1 {
		t.Fatalf("list certificates: %v (%d items)", err, len(list.Items))
	}

	s := p.Stats()
	if s.Total() != 0 || s.UpstreamErrors != 0 || s.Requests != 8 || s.Forwarded != s.Requests {
		t.Errorf("want 8 requests, all forwarded, no faults; got %v", s)
	}
}

// TestFaultProxySetRulesAndDisable checks that rules can be swapped on a
// running proxy and turned off for a clean run.
func TestFaultProxySetRulesAndDisable(t *testing.T) {
	cp := harness.Shared(t)
	ns := cp.Namespace(t)
	ctx := t.Context()
	p := harness.StartFaultProxy(t, cp, harness.FaultRule{Kind: harness.FaultInternalError, Rate: 1})
	nsClient := kube(t, p.RESTConfig()).CoreV1().Namespaces()

	if _, err := nsClient.Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsInternalError(err) {
		t.Fatalf("with a rate-1 rule: got %v, want InternalError", err)
	}
	p.SetRules(harness.FaultRule{Kind: harness.FaultServiceUnavailable, Rate: 1, Verbs: []string{harness.VerbGet}})
	if _, err := nsClient.Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsServiceUnavailable(err) {
		t.Fatalf("after SetRules: got %v, want ServiceUnavailable", err)
	}
	p.Disable()
	if _, err := nsClient.Get(ctx, ns, metav1.GetOptions{}); err != nil {
		t.Fatalf("after Disable: %v", err)
	}
	s := p.Stats()
	if s.Faults[harness.FaultInternalError] != 1 || s.Faults[harness.FaultServiceUnavailable] != 1 || s.Total() != 2 || s.Forwarded != 1 {
		t.Errorf("want one InternalError, one ServiceUnavailable, one forward; got %v", s)
	}
	p.ResetStats()
	if s := p.Stats(); s.Requests != 0 || s.Total() != 0 {
		t.Errorf("after ResetStats: %v", s)
	}
}

// TestFaultProxyAnsweredFaults checks the faults the proxy answers itself:
// client-go classifies each as the apiserver's own error, and the write never
// reaches the apiserver.
func TestFaultProxyAnsweredFaults(t *testing.T) {
	cp := harness.Shared(t)
	ns := cp.Namespace(t)
	direct := kube(t, cp.Config).CoreV1().ConfigMaps(ns)

	for _, tc := range []struct {
		kind harness.FaultKind
		is   func(error) bool
	}{
		{harness.FaultTooManyRequests, apierrors.IsTooManyRequests},
		{harness.FaultInternalError, apierrors.IsInternalError},
		{harness.FaultServiceUnavailable, apierrors.IsServiceUnavailable},
		{harness.FaultConflict, apierrors.IsConflict},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			ctx := t.Context()
			// Rate 1 without Max: client-go's own retries of a 429 are
			// faulted too, so the error reaches the caller.
			p := harness.StartFaultProxy(t, cp, harness.FaultRule{
				Kind: tc.kind, Verbs: []string{harness.VerbCreate}, Resources: []string{"configmaps"}, Rate: 1,
			})
			name := "answered-" + strings.ToLower(string(tc.kind))
			_, err := kube(t, p.RESTConfig()).CoreV1().ConfigMaps(ns).Create(ctx, typedConfigMap(ns, name), metav1.CreateOptions{})
			if !tc.is(err) {
				t.Fatalf("got %v, want %s", err, tc.kind)
			}
			if _, err := direct.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("configmap after an answered fault: got %v, want NotFound", err)
			}
			if s := p.Stats(); s.Forwarded != 0 || s.Faults[tc.kind] == 0 || s.Faults[tc.kind] != s.Requests {
				t.Errorf("want every request faulted, none forwarded; got %v", s)
			}
		})
	}
}

// TestFaultProxyTooManyRequestsRetried checks that the 429 carries a
// Retry-After client-go honours: a single fault is absorbed by its retry.
func TestFaultProxyTooManyRequestsRetried(t *testing.T) {
	cp := harness.Shared(t)
	ns := cp.Namespace(t)
	p := harness.StartFaultProxy(t, cp, harness.FaultRule{Kind: harness.FaultTooManyRequests, Rate: 1, Max: 1})
	if _, err := kube(t, p.RESTConfig()).CoreV1().ConfigMaps(ns).Create(t.Context(), typedConfigMap(ns, "cm"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create after one 429: %v", err)
	}
	if s := p.Stats(); s.Faults[harness.FaultTooManyRequests] != 1 || s.Requests != 2 || s.Forwarded != 1 {
		t.Errorf("want one 429 then one forwarded retry; got %v", s)
	}
}

// TestFaultProxyConflictOnlyOnWrites checks that a Conflict rule without
// verbs leaves reads alone and fails UPDATE and PATCH without changing the
// object.
func TestFaultProxyConflictOnlyOnWrites(t *testing.T) {
	cp := harness.Shared(t)
	ns := cp.Namespace(t)
	ctx := t.Context()
	direct := kube(t, cp.Config).CoreV1().ConfigMaps(ns)
	if _, err := direct.Create(ctx, typedConfigMap(ns, "cm"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := harness.StartFaultProxy(t, cp, harness.FaultRule{Kind: harness.FaultConflict, Resources: []string{"configmaps"}, Rate: 1})
	cms := kube(t, p.RESTConfig()).CoreV1().ConfigMaps(ns)

	got, err := cms.Get(ctx, "cm", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get through a Conflict rule: %v", err)
	}
	got.Data["k"] = "updated"
	if _, err := cms.Update(ctx, got, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("update: got %v, want Conflict", err)
	}
	if _, err := cms.Patch(ctx, "cm", types.MergePatchType, []byte(`{"data":{"k":"patched"}}`), metav1.PatchOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("patch: got %v, want Conflict", err)
	}
	if now, err := direct.Get(ctx, "cm", metav1.GetOptions{}); err != nil || now.Data["k"] != "v" {
		t.Errorf("configmap after conflicts: %v %v, want unchanged", now.Data, err)
	}
}

// TestFaultProxyExpiredContinue checks that only the continuation of a
// paginated LIST gets 410 Expired.
func TestFaultProxyExpiredContinue(t *testing.T) {
	cp := harness.Shared(t)
	ns := cp.Namespace(t)
	ctx := t.Context()
	direct := kube(t, cp.Config).CoreV1().ConfigMaps(ns)
	for i := range 3 {
		if _, err := direct.Create(ctx, typedConfigMap(ns, fmt.Sprintf("cm-%d", i)), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	p := harness.StartFaultProxy(t, cp, harness.FaultRule{Kind: harness.FaultExpiredContinue, Rate: 1})
	cms := kube(t, p.RESTConfig()).CoreV1().ConfigMaps(ns)

	first, err := cms.List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		t.Fatalf("first page: %v", err)
	}
	if first.Continue == "" {
		t.Fatal("first page has no continue token")
	}
	_, err = cms.List(ctx, metav1.ListOptions{Limit: 1, Continue: first.Continue})
	if !apierrors.IsResourceExpired(err) {
		t.Fatalf("second page: got %v, want Expired", err)
	}
	if all, err := cms.List(ctx, metav1.ListOptions{}); err != nil || len(all.Items) != 3 {
		t.Errorf("unpaginated list: %v (%d items), want 3 items", err, len(all.Items))
	}
	if s := p.Stats(); s.Faults[harness.FaultExpiredContinue] != 1 {
		t.Errorf("want exactly one Expired fault; got %v", s)
	}
}

// TestFaultProxyResetBeforeForward checks that the client sees a connection
// reset and the write never happened.
func TestFaultProxyResetBeforeForward(t *testing.T) {
	cp := harness.Shared(t)
	ns := cp.Namespace(t)
	ctx := t.Context()
	p := harness.StartFaultProxy(t, cp, harness.FaultRule{
		Kind: harness.FaultResetBeforeForward, Verbs: []string{harness.VerbCreate}, Resources: []string{"configmaps"}, Rate: 1,
	})
	_, err := kube(t, p.RESTConfig()).CoreV1().ConfigMaps(ns).Create(ctx, typedConfigMap(ns, "cm"), metav1.CreateOptions{})
	requireTransportError(t, err)
	if _, err := kube(t, cp.Config).CoreV1().ConfigMaps(ns).Get(ctx, "cm", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("configmap after reset before forwarding: got %v, want NotFound", err)
	}
	if s := p.Stats(); s.Forwarded != 0 || s.Faults[harness.FaultResetBeforeForward] != 1 {
		t.Errorf("want one reset, nothing forwarded; got %v", s)
	}
}

// TestFaultProxyResetAfterForward checks the ambiguous failure: the client
// gets a connection error although the apiserver performed the write, for a
// core resource and for a cert-manager status subresource.
func TestFaultProxyResetAfterForward(t *testing.T) {
	cp := harness.Shared(t)
	ns := cp.Namespace(t)
	ctx := t.Context()

	t.Run("create configmap", func(t *testing.T) {
		p := harness.StartFaultProxy(t, cp, harness.FaultRule{
			Kind: harness.FaultResetAfterForward, Verbs: []string{harness.VerbCreate}, Resources: []string{"configmaps"}, Rate: 1, Max: 1,
		})
		cms := kube(t, p.RESTConfig()).CoreV1().ConfigMaps(ns)
		_, err := cms.Create(ctx, typedConfigMap(ns, "cm"), metav1.CreateOptions{})
		requireTransportError(t, err)
		if _, err := kube(t, cp.Config).CoreV1().ConfigMaps(ns).Get(ctx, "cm", metav1.GetOptions{}); err != nil {
			t.Fatalf("configmap after reset after forwarding: %v, want it created", err)
		}
		// What a naive retry runs into.
		if _, err := cms.Create(ctx, typedConfigMap(ns, "cm"), metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
			t.Errorf("retried create: got %v, want AlreadyExists", err)
		}
		s := p.Stats()
		if s.Faults[harness.FaultResetAfterForward] != 1 || s.Forwarded != 2 || s.Events[0].Request.StatusCode != 201 {
			t.Errorf("want one reset of a 201 Created, two forwards; got %v", s)
		}
	})

	t.Run("update certificate status", func(t *testing.T) {
		directCerts := cm(t, cp.Config).CertmanagerV1().Certificates(ns)
		if _, err := directCerts.Create(ctx, typedCertificate(ns, "web"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p := harness.StartFaultProxy(t, cp, harness.FaultRule{
			Kind: harness.FaultResetAfterForward, Resources: []string{"certificates.cert-manager.io/status"}, Rate: 1,
		})
		certs := cm(t, p.RESTConfig()).CertmanagerV1().Certificates(ns)
		// The main resource does not match a status rule.
		crt, err := certs.Patch(ctx, "web", types.MergePatchType, []byte(`{"metadata":{"labels":{"a":"b"}}}`), metav1.PatchOptions{})
		if err != nil {
			t.Fatalf("patch certificate: %v", err)
		}
		crt.Status.Revision = new(7)
		_, err = certs.UpdateStatus(ctx, crt, metav1.UpdateOptions{})
		requireTransportError(t, err)
		got, err := directCerts.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Revision == nil || *got.Status.Revision != 7 {
			t.Errorf("status.revision = %v, want 7: the status update must have been written", got.Status.Revision)
		}
		if s := p.Stats(); s.Faults[harness.FaultResetAfterForward] != 1 || s.Events[0].Request.Subresource != "status" || s.Events[0].Request.StatusCode != 200 {
			t.Errorf("want one reset of a successful status update; got %v", s)
		}
	})
}

// TestFaultProxySlowAnswer checks that a held answer surfaces as a client
// timeout although the write happened.
func TestFaultProxySlowAnswer(t *testing.T) {
	cp := harness.Shared(t)
	ns := cp.Namespace(t)
	ctx := t.Context()
	p := harness.StartFaultProxy(t, cp, harness.FaultRule{
		Kind: harness.FaultSlow, Verbs: []string{harness.VerbCreate}, Resources: []string{"configmaps"}, Rate: 1,
	})
	_, err := kube(t, p.RESTConfig()).CoreV1().ConfigMaps(ns).Create(ctx, typedConfigMap(ns, "cm"), metav1.CreateOptions{})
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Fatalf("got %v (%T), want a timeout", err, err)
	}
	t.Logf("client error: %v", err)
	if _, err := kube(t, cp.Config).CoreV1().ConfigMaps(ns).Get(ctx, "cm", metav1.GetOptions{}); err != nil {
		t.Errorf("configmap after a slow answer: %v, want it created", err)
	}
	if s := p.Stats(); s.Faults[harness.FaultSlow] != 1 || s.Forwarded != 1 {
		t.Errorf("want one slow forward; got %v", s)
	}
}

// TestRestartAPIServer restarts the apiserver of a control plane of its own
// (not the shared one, which other tests use) and checks that data, address,
// certificate and credentials survive, directly and through a proxy.
func TestRestartAPIServer(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cp, err := harness.Start(ctx, harness.Options{})
	if err != nil {
		t.Fatalf("start control plane: %v", err)
	}
	t.Cleanup(cp.Stop)
	p := harness.StartFaultProxy(t, cp)
	direct := kube(t, cp.Config)
	if _, err := direct.CoreV1().ConfigMaps("default").Create(ctx, typedConfigMap("default", "survivor"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, pidBefore := cp.PIDs()

	cp.RestartAPIServer(t)

	if _, pid := cp.PIDs(); pid == pidBefore {
		t.Errorf("apiserver PID unchanged (%d): not restarted", pid)
	}
	if _, err := direct.CoreV1().ConfigMaps("default").Get(ctx, "survivor", metav1.GetOptions{}); err != nil {
		t.Errorf("get configmap with the pre-restart client: %v", err)
	}
	if _, err := kube(t, p.RESTConfig()).CoreV1().ConfigMaps("default").Get(ctx, "survivor", metav1.GetOptions{}); err != nil {
		t.Errorf("get configmap through the proxy: %v", err)
	}
	if _, err := cm(t, cp.Config).CertmanagerV1().Certificates("default").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list certificates (CRDs served after restart): %v", err)
	}
}
