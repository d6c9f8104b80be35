package harness

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// sharedTimeout bounds the first Shared call. It includes building the
// binaries on a cold cache, which takes minutes.
const sharedTimeout = 20 * time.Minute

var shared struct {
	mu    sync.Mutex // guards setup, opts and cp; never held while starting
	setup bool       // SetupMain is running
	opts  Options
	cp    *ControlPlane

	once sync.Once // starts the control plane; concurrent Shared calls wait
	err  error     // written inside once
}

// SetupMain runs a test package's tests with one shared control plane and
// returns the exit code. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(harness.SetupMain(m, harness.Options{})) }
//
// The control plane starts lazily on the first Shared call, so tests that do
// not need one (or `go test -run` selecting only unit tests) cost nothing, and
// it is stopped after all tests finish. Starting once per package rather than
// per test keeps a package's overhead to a few seconds; tests isolate
// themselves with ControlPlane.Namespace.
func SetupMain(m *testing.M, opts Options) int {
	shared.mu.Lock()
	shared.setup = true
	shared.opts = opts
	shared.mu.Unlock()

	// On Ctrl-C or SIGTERM, stop the children and remove the temp dir rather
	// than leaving the children to the parent-death signal and the dir behind.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			stopShared()
			fmt.Fprintf(os.Stderr, "harness: %v: stopped control plane\n", sig)
			os.Exit(130)
		case <-done:
		}
	}()
	defer func() {
		signal.Stop(sigs)
		close(done)
		stopShared()
	}()
	return m.Run()
}

func stopShared() {
	shared.mu.Lock()
	cp := shared.cp
	shared.mu.Unlock()
	if cp != nil {
		cp.Stop()
	}
}

// Shared returns the package's shared control plane, starting it on first use.
// It fails the test if the package's TestMain does not call SetupMain or the
// control plane cannot start (every later caller gets the same error rather
// than retrying a slow failing start).
func Shared(t testing.TB) *ControlPlane {
	t.Helper()
	shared.mu.Lock()
	setup, opts := shared.setup, shared.opts
	shared.mu.Unlock()
	if !setup {
		t.Fatal("harness.Shared: the package's TestMain must call harness.SetupMain")
	}
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		start := time.Now()
		cp, err := Start(ctx, opts)
		if err != nil {
			shared.err = err
			return
		}
		shared.mu.Lock()
		shared.cp = cp
		shared.mu.Unlock()
		t.Logf("harness: control plane at %s ready in %s (dir %s)", cp.URL, time.Since(start).Round(time.Millisecond), cp.Dir)
	})
	if shared.err != nil {
		t.Fatalf("start shared control plane: %v", shared.err)
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	return shared.cp
}

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// Namespace creates a namespace for t named after the test and deletes it,
// with everything in it, when the test ends (unless
// $CERTSWEEP_KEEP_CONTROLPLANE is set, to allow inspection).
func (cp *ControlPlane) Namespace(t testing.TB) string {
	t.Helper()
	// Readable prefix from the test name plus a random suffix, since the
	// same test may run repeatedly (-count) against one control plane.
	base := strings.Trim(nonDNS.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(base) > 50 {
		base = strings.TrimRight(base[:50], "-")
	}
	name := base + "-" + strings.ToLower(rand.Text()[:6])

	dyn, err := dynamic.NewForConfig(cp.Config)
	if err != nil {
		t.Fatalf("create dynamic client: %v", err)
	}
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Namespace",
		"metadata":   map[string]any{"name": name},
	}}
	if _, err := dyn.Resource(namespaceGVR).Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		if os.Getenv("CERTSWEEP_KEEP_CONTROLPLANE") != "" {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := cp.DeleteNamespace(ctx, name); err != nil {
			t.Errorf("clean up namespace: %v", err)
		}
	})
	return name
}

// DeleteNamespace deletes a namespace and its contents. There is no kube-controller-manager, so this does the namespace
// controller's job: without it the objects would linger in etcd and show up
// in other tests' cluster-wide LISTs, and the namespace would stay
// Terminating forever. Finalizers on the contents are removed because no
// controller is around to honour them.
func (cp *ControlPlane) DeleteNamespace(ctx context.Context, name string) error {
	// Sweeping every resource type touches deprecated ones (v1 Endpoints),
	// whose warnings would otherwise be logged once per test.
	cfg := rest.CopyConfig(cp.Config)
	cfg.WarningHandler = rest.NoWarnings{}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("create dynamic client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("create discovery client: %w", err)
	}
	lists, err := disc.ServerPreferredNamespacedResources()
	if err != nil && len(lists) == 0 {
		return fmt.Errorf("discover namespaced resources: %w", err)
	}
	gvrs, err := discovery.GroupVersionResources(discovery.FilteredBy(
		discovery.SupportsAllVerbs{Verbs: []string{"list", "deletecollection"}}, lists))
	if err != nil {
		return fmt.Errorf("discover namespaced resources: %w", err)
	}

	var errs []error
	for gvr := range gvrs {
		ri := dyn.Resource(gvr).Namespace(name)
		items, err := ri.List(ctx, metav1.ListOptions{})
		if err != nil {
			errs = append(errs, fmt.Errorf("list %s: %w", gvr, err))
			continue
		}
		if len(items.Items) == 0 {
			continue // the common case; avoid a write
		}
		for _, it := range items.Items {
			if len(it.GetFinalizers()) == 0 {
				continue
			}
			patch := []byte(`{"metadata":{"finalizers":null}}`)
			if _, err := ri.Patch(ctx, it.GetName(), types.MergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("remove finalizers from %s %s: %w", gvr, it.GetName(), err))
			}
		}
		if err := ri.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete %s: %w", gvr, err))
		}
	}

	nsClient := dyn.Resource(namespaceGVR)
	if err := nsClient.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("delete namespace %s: %w", name, err))
		return errors.Join(errs...)
	}
	// The namespace now sits Terminating with the "kubernetes" finalizer;
	// clear it through the finalize subresource as the controller would.
	ns, err := nsClient.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		errs = append(errs, fmt.Errorf("get namespace %s: %w", name, err))
	default:
		_ = unstructured.SetNestedStringSlice(ns.Object, nil, "spec", "finalizers")
		if _, err := nsClient.Update(ctx, ns, metav1.UpdateOptions{}, "finalize"); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("finalize namespace %s: %w", name, err))
		}
		// A finalized namespace is only removed by a further delete, which
		// is again what the namespace controller does.
		if err := nsClient.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete finalized namespace %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
