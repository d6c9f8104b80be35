package harness_test

import (
	"context"
	"os"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/certsweep/certsweep/test/harness"
)

func TestMain(m *testing.M) { os.Exit(harness.SetupMain(m, harness.Options{})) }

var (
	certificates = schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "certificates"}
	configMaps   = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	namespaces   = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
)

func dyn(t *testing.T, cfg *rest.Config) *dynamic.DynamicClient {
	t.Helper()
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func certificate(ns, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cert-manager.io/v1",
		"kind":       "Certificate",
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{
			"secretName": name + "-tls",
			"dnsNames":   []any{"example.test"},
			"issuerRef":  map[string]any{"name": "ca", "kind": "Issuer"},
		},
	}}
}

func configMap(ns, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"data":       map[string]any{"k": "v"},
	}}
}

func TestCertManagerCRDsServed(t *testing.T) {
	cp := harness.Shared(t)
	ns := cp.Namespace(t)
	ctx := t.Context()
	c := dyn(t, cp.Config)

	for _, r := range []string{"certificates", "certificaterequests", "issuers", "clusterissuers"} {
		if _, err := c.Resource(schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: r}).List(ctx, metav1.ListOptions{}); err != nil {
			t.Errorf("list %s: %v", r, err)
		}
	}
	for _, r := range []string{"orders", "challenges"} {
		if _, err := c.Resource(schema.GroupVersionResource{Group: "acme.cert-manager.io", Version: "v1", Resource: r}).List(ctx, metav1.ListOptions{}); err != nil {
			t.Errorf("list %s: %v", r, err)
		}
	}
	if _, err := c.Resource(namespaces).Get(ctx, harness.CertManagerNamespace, metav1.GetOptions{}); err != nil {
		t.Errorf("get namespace %s: %v", harness.CertManagerNamespace, err)
	}

	if _, err := c.Resource(certificates).Namespace(ns).Create(ctx, certificate(ns, "web"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create certificate: %v", err)
	}
	list, err := c.Resource(certificates).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list certificates: %v", err)
	}
	if len(list.Items) != 1 || list.Items[0].GetName() != "web" {
		t.Errorf("got %d certificates, want just %q", len(list.Items), "web")
	}

	// The CRD schema is enforced: it is the real thing, not a stub.
	bad := certificate(ns, "bad")
	unstructured.RemoveNestedField(bad.Object, "spec", "secretName")
	if _, err := c.Resource(certificates).Namespace(ns).Create(ctx, bad, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("create certificate without secretName: got %v, want Invalid", err)
	}
}

func TestCountingTransport(t *testing.T) {
	cp := harness.Shared(t)
	ns := cp.Namespace(t)
	ctx := t.Context()
	cfg, counter := harness.WrapCounting(cp.Config)
	c := dyn(t, cfg)

	if _, err := c.Resource(certificates).Namespace(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Resource(namespaces).Get(ctx, ns, metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := counter.Writes(); got != 0 {
		t.Fatalf("after reads: Writes() = %d, want 0", got)
	}

	if _, err := c.Resource(configMaps).Namespace(ns).Create(ctx, configMap(ns, "cm"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Resource(configMaps).Namespace(ns).Patch(ctx, "cm", types.MergePatchType, []byte(`{"data":{"k":"w"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	cm, err := c.Resource(configMaps).Namespace(ns).Get(ctx, "cm", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Resource(configMaps).Namespace(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Resource(configMaps).Namespace(ns).Delete(ctx, "cm", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := c.Resource(configMaps).Namespace(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.Stop()

	s := counter.Snapshot()
	want := map[string]int{
		"LIST certificates.cert-manager.io": 1,
		"GET namespaces":                    1,
		"CREATE configmaps":                 1,
		"PATCH configmaps":                  1,
		"GET configmaps":                    1,
		"UPDATE configmaps":                 1,
		"DELETE configmaps":                 1,
		"WATCH configmaps":                  1,
	}
	for k, n := range want {
		if s.ByResource[k] != n {
			t.Errorf("ByResource[%q] = %d, want %d; all:\n%v", k, s.ByResource[k], n, s)
		}
	}
	if s.Total != len(want) {
		t.Errorf("Total = %d, want %d:\n%v", s.Total, len(want), s)
	}
	if got := counter.Writes(); got != 4 {
		t.Errorf("Writes() = %d, want 4: %v", got, s.Writes())
	}
	if s.ByVerb[harness.VerbList] != 1 || s.ByVerb[harness.VerbGet] != 2 {
		t.Errorf("ByVerb = %v", s.ByVerb)
	}
	for _, r := range s.Requests {
		if r.StatusCode/100 != 2 {
			t.Errorf("%v: unexpected status", r)
		}
	}

	counter.Reset()
	if s := counter.Snapshot(); s.Total != 0 {
		t.Errorf("after Reset: %v", s)
	}
}

func TestImpersonatedUserIsForbidden(t *testing.T) {
	cp := harness.Shared(t)
	ns := cp.Namespace(t)
	ctx := t.Context()

	for name, cfg := range map[string]*rest.Config{
		"user":           cp.ImpersonatingConfig("alice", "developers"),
		"serviceaccount": cp.ServiceAccountConfig(ns, "certsweep"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := dyn(t, cfg).Resource(certificates).Namespace(ns).List(ctx, metav1.ListOptions{})
			if !apierrors.IsForbidden(err) {
				t.Fatalf("list certificates: got %v, want Forbidden", err)
			}
			if !strings.Contains(err.Error(), cfg.Impersonate.UserName) {
				t.Errorf("error %q does not name the impersonated user", err)
			}
		})
	}
}

// TestKubeconfigFor checks that the written kubeconfig carries server, CA,
// token and impersonation by rebuilding a client from it by hand (clientcmd
// is not a dependency of the main module).
func TestKubeconfigFor(t *testing.T) {
	cp := harness.Shared(t)
	ns := cp.Namespace(t)

	path, err := cp.KubeconfigFor(cp.ServiceAccountConfig(ns, "certsweep"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var kc struct {
		CurrentContext string `json:"current-context"`
		Clusters       []struct {
			Cluster struct {
				Server string `json:"server"`
				CAData []byte `json:"certificate-authority-data"`
			} `json:"cluster"`
		} `json:"clusters"`
		Users []struct {
			User struct {
				Token string `json:"token"`
				As    string `json:"as"`
			} `json:"user"`
		} `json:"users"`
	}
	if err := yaml.Unmarshal(data, &kc); err != nil {
		t.Fatalf("parse kubeconfig: %v", err)
	}
	if kc.CurrentContext == "" || len(kc.Clusters) != 1 || len(kc.Users) != 1 {
		t.Fatalf("unexpected kubeconfig:\n%s", data)
	}
	if want := "system:serviceaccount:" + ns + ":certsweep"; kc.Users[0].User.As != want {
		t.Errorf("as = %q, want %q", kc.Users[0].User.As, want)
	}
	cfg := &rest.Config{
		Host:            kc.Clusters[0].Cluster.Server,
		BearerToken:     kc.Users[0].User.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: kc.Clusters[0].Cluster.CAData},
	}
	// Without impersonation the token is the admin's, and TLS verifies
	// against the CA from the file.
	if _, err := dyn(t, cfg).Resource(certificates).Namespace(ns).List(t.Context(), metav1.ListOptions{}); err != nil {
		t.Errorf("list with kubeconfig credentials: %v", err)
	}
	cfg.Impersonate.UserName = kc.Users[0].User.As
	if _, err := dyn(t, cfg).Resource(certificates).Namespace(ns).List(t.Context(), metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list as service account: got %v, want Forbidden", err)
	}

	if data, err := os.ReadFile(cp.Kubeconfig); err != nil || !strings.Contains(string(data), cp.URL) {
		t.Errorf("admin kubeconfig %s: %v\n%s", cp.Kubeconfig, err, data)
	}
}

// TestNamespaceCleanup checks that Namespace's cleanup removes the namespace
// and its contents (even with finalizers) despite there being no
// controller-manager.
func TestNamespaceCleanup(t *testing.T) {
	cp := harness.Shared(t)
	c := dyn(t, cp.Config)
	ctx := context.Background()
	var ns string
	t.Run("inner", func(t *testing.T) {
		ns = cp.Namespace(t)
		cm := configMap(ns, "kept")
		cm.SetFinalizers([]string{"example.test/hold"})
		if _, err := c.Resource(configMaps).Namespace(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Resource(certificates).Namespace(ns).Create(ctx, certificate(ns, "web"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	if os.Getenv("CERTSWEEP_KEEP_CONTROLPLANE") != "" {
		t.Skip("namespaces are kept")
	}
	if _, err := c.Resource(namespaces).Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace %s after cleanup: got %v, want NotFound", ns, err)
	}
	for _, gvr := range []schema.GroupVersionResource{configMaps, certificates} {
		list, err := c.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) != 0 {
			t.Errorf("%s left in %s: %v %v", gvr.Resource, ns, len(list.Items), err)
		}
	}
}
