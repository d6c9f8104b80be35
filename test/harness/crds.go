package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
)

var (
	crdGVR       = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	namespaceGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
)

// CertManagerNamespace is cert-manager's default cluster resource namespace
// (where ClusterIssuer secrets live); Start creates it.
const CertManagerNamespace = "cert-manager"

// setup installs the CRDs and creates the namespaces every test expects.
func (cp *ControlPlane) setup(ctx context.Context, crdPaths []string) error {
	dyn, err := dynamic.NewForConfig(cp.Config)
	if err != nil {
		return fmt.Errorf("create dynamic client: %w", err)
	}
	if err := installCRDs(ctx, dyn, crdPaths); err != nil {
		return err
	}
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Namespace",
		"metadata":   map[string]any{"name": CertManagerNamespace},
	}}
	if _, err := dyn.Resource(namespaceGVR).Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", CertManagerNamespace, err)
	}
	return nil
}

// crdFiles lists cert-manager's CRD files (from the module version the main
// module depends on, so the schema matches the Go types certsweep uses)
// followed by the files in extra.
func crdFiles(ctx context.Context, extra []string) ([]string, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/cert-manager/cert-manager")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("locate cert-manager module: %w: %s", err, stderr.String())
	}
	cmDir := strings.TrimSpace(string(out))
	if cmDir == "" {
		return nil, errors.New("locate cert-manager module: not downloaded (run go mod download)")
	}
	var files []string
	for _, p := range append([]string{filepath.Join(cmDir, "deploy", "crds")}, extra...) {
		fs, err := yamlFiles(p)
		if err != nil {
			return nil, err
		}
		files = append(files, fs...)
	}
	return files, nil
}

// GatewayAPICRDFiles returns the CRD files of the Gateway API's Gateway and
// GatewayClass (standard channel), from the gateway-api module version the
// main module depends on, so that the schema matches the Go types the
// certificate-shim reads. Pass them in Options.ExtraCRDDirs; a control plane
// without them is one where the Gateway API is not installed.
func GatewayAPICRDFiles(ctx context.Context) ([]string, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("locate gateway-api module: %w: %s", err, stderr.String())
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return nil, errors.New("locate gateway-api module: not downloaded (run go mod download)")
	}
	std := filepath.Join(dir, "config", "crd", "standard")
	return []string{
		filepath.Join(std, "gateway.networking.k8s.io_gatewayclasses.yaml"),
		filepath.Join(std, "gateway.networking.k8s.io_gateways.yaml"),
	}, nil
}

// yamlFiles returns path itself if it is a file, else the YAML/JSON files
// directly in it, sorted.
func yamlFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read CRD path: %w", err)
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("read CRD dir: %w", err)
	}
	var files []string
	for _, e := range entries {
		switch filepath.Ext(e.Name()) {
		case ".yaml", ".yml", ".json":
			if !e.IsDir() {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no YAML files in CRD dir %s", path)
	}
	slices.Sort(files)
	return files, nil
}

// readCRDs decodes every document in files, rejecting anything that is not a
// v1 CRD so that a mistaken path fails loudly rather than being half-applied.
func readCRDs(files []string) ([]*unstructured.Unstructured, error) {
	var crds []*unstructured.Unstructured
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read CRD file: %w", err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var obj map[string]any
			if err := dec.Decode(&obj); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, fmt.Errorf("decode %s: %w", f, err)
			}
			if len(obj) == 0 {
				continue // empty document between "---" separators
			}
			u := &unstructured.Unstructured{Object: obj}
			if u.GroupVersionKind() != (schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}) {
				return nil, fmt.Errorf("%s: %s %q is not an apiextensions.k8s.io/v1 CustomResourceDefinition", f, u.GroupVersionKind(), u.GetName())
			}
			crds = append(crds, u)
		}
	}
	return crds, nil
}

// installCRDs creates the CRDs and waits until each is Established and every
// served version answers a LIST: Established alone does not guarantee the
// handler for the new resource is wired up yet.
func installCRDs(ctx context.Context, dyn dynamic.Interface, files []string) error {
	crds, err := readCRDs(files)
	if err != nil {
		return err
	}
	// Watch before creating so no transition can be missed. One watch
	// rather than per-CRD polling matters: CRD objects are large (hundreds
	// of KB for cert-manager's), and re-serialising them every few ms would
	// steal CPU from the apiserver work we are waiting for.
	w, err := dyn.Resource(crdGVR).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("watch CRDs: %w", err)
	}
	defer w.Stop()

	g, gctx := errgroup.WithContext(ctx)
	for _, crd := range crds {
		g.Go(func() error {
			if _, err := dyn.Resource(crdGVR).Create(gctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("create CRD %s: %w", crd.GetName(), err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("install CRDs: %w", err)
	}

	pending := map[string]bool{}
	for _, crd := range crds {
		pending[crd.GetName()] = true
	}
	established := map[string]*unstructured.Unstructured{}
	for len(pending) > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for CRDs %v to be Established: %w", slices.Sorted(maps.Keys(pending)), ctx.Err())
		case ev, ok := <-w.ResultChan():
			if !ok {
				// The server may end a watch at any time; the caller's
				// timeout bounds how often we retry.
				w.Stop()
				if w, err = dyn.Resource(crdGVR).Watch(ctx, metav1.ListOptions{}); err != nil {
					return fmt.Errorf("watch CRDs: %w", err)
				}
				continue
			}
			crd, ok := ev.Object.(*unstructured.Unstructured)
			if !ok || !pending[crd.GetName()] || !isEstablished(crd) {
				continue
			}
			delete(pending, crd.GetName())
			established[crd.GetName()] = crd
		}
	}

	g, gctx = errgroup.WithContext(ctx)
	for _, crd := range established {
		g.Go(func() error {
			if err := waitServed(gctx, dyn, crd); err != nil {
				return err
			}
			return backdateEstablished(gctx, dyn, crd)
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("install CRDs: %w", err)
	}
	return nil
}

func isEstablished(crd *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// waitServed polls a LIST of every served version of crd until it succeeds.
// It normally does on the first try.
func waitServed(ctx context.Context, dyn dynamic.Interface, crd *unstructured.Unstructured) error {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		m, _ := v.(map[string]any)
		if served, _ := m["served"].(bool); !served {
			continue
		}
		version, _ := m["name"].(string)
		gvr := schema.GroupVersionResource{Group: group, Version: version, Resource: plural}
		for {
			_, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1})
			if err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("wait for %s to be served: %w (last: %w)", gvr, ctx.Err(), err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// backdateEstablished moves the CRD's Established condition an hour into the
// past. The apiextensions handler sleeps 2s on every create within 2s of
// Established (so that in an HA setup all apiservers have caught up, see
// customresource_handler.go); with a single apiserver that protects nothing
// and would only add 2s to whichever test first creates a custom resource.
// If the handler has not yet seen this update, that create just pays the
// sleep, so no waiting is needed here.
func backdateEstablished(ctx context.Context, dyn dynamic.Interface, crd *unstructured.Unstructured) error {
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	// The first attempt reuses the object from the watch; CRDs are big
	// enough that skipping a GET is worth it.
	for attempt := 0; ; attempt++ {
		crd = crd.DeepCopy()
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == "Established" {
				m["lastTransitionTime"] = past
			}
		}
		if err := unstructured.SetNestedSlice(crd.Object, conds, "status", "conditions"); err != nil {
			return fmt.Errorf("backdate CRD %s: %w", crd.GetName(), err)
		}
		_, err := dyn.Resource(crdGVR).UpdateStatus(ctx, crd, metav1.UpdateOptions{})
		if err == nil {
			return nil
		}
		// Conflicts are expected: the naming controller may still be
		// updating the status.
		if !apierrors.IsConflict(err) || attempt == 10 {
			return fmt.Errorf("backdate CRD %s: %w", crd.GetName(), err)
		}
		if crd, err = dyn.Resource(crdGVR).Get(ctx, crd.GetName(), metav1.GetOptions{}); err != nil {
			return fmt.Errorf("get CRD: %w", err)
		}
	}
}
