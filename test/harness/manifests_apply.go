package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// ApplyOptions tunes Apply.
type ApplyOptions struct {
	// DryRun asks the API server to validate and admit every object without
	// storing it (server-side dry-run).
	DryRun bool
	// ExplicitNamespaces rejects a namespaced object without a namespace
	// (kubectl would put it wherever the user happens to be) and a
	// cluster-scoped one with a namespace, instead of defaulting.
	ExplicitNamespaces bool
}

// Apply server-side-applies every YAML document of the given files (or of
// the *.yaml files of the given directories, in name order), like
// `kubectl apply --server-side --validate=strict`. It returns the applied
// objects.
func Apply(ctx context.Context, cfg *rest.Config, opts ApplyOptions, paths ...string) ([]*unstructured.Unstructured, error) {
	objs, err := DecodeManifests(paths...)
	if err != nil {
		return nil, err
	}
	return ApplyObjects(ctx, cfg, opts, objs)
}

// DecodeManifests reads every YAML document of the given files (or of the
// *.yaml files of the given directories, in name order).
func DecodeManifests(paths ...string) ([]*unstructured.Unstructured, error) {
	files, err := manifestFiles(paths)
	if err != nil {
		return nil, err
	}
	var all []*unstructured.Unstructured
	for _, f := range files {
		objs, err := decodeManifest(f)
		if err != nil {
			return nil, err
		}
		all = append(all, objs...)
	}
	return all, nil
}

// ApplyObjects server-side-applies objs in order, with strict field
// validation, so a misspelt field fails instead of being dropped.
func ApplyObjects(ctx context.Context, cfg *rest.Config, opts ApplyOptions, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))
	var applied []*unstructured.Unstructured
	for _, obj := range objs {
		out, err := applyOne(ctx, dyn, mapper, obj, opts)
		if err != nil {
			return applied, fmt.Errorf("%s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
		}
		applied = append(applied, out)
	}
	return applied, nil
}

func applyOne(ctx context.Context, dyn dynamic.Interface, mapper *restmapper.DeferredDiscoveryRESTMapper, obj *unstructured.Unstructured, opts ApplyOptions) (*unstructured.Unstructured, error) {
	gvk := obj.GroupVersionKind()
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		// A CRD applied earlier in the same call is not in the cached discovery yet.
		mapper.Reset()
		if mapping, err = mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			return nil, fmt.Errorf("no API serves %s: %w", gvk, err)
		}
	}
	var client dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
	namespaced := mapping.Scope.Name() == meta.RESTScopeNameNamespace
	switch {
	case namespaced && obj.GetNamespace() == "" && opts.ExplicitNamespaces:
		return nil, fmt.Errorf("namespaced %s has no namespace", gvk.Kind)
	case !namespaced && obj.GetNamespace() != "" && opts.ExplicitNamespaces:
		return nil, fmt.Errorf("cluster-scoped %s has a namespace", gvk.Kind)
	case namespaced && obj.GetNamespace() == "":
		obj = obj.DeepCopy()
		obj.SetNamespace("default")
	}
	if namespaced {
		client = dyn.Resource(mapping.Resource).Namespace(obj.GetNamespace())
	}
	body, err := obj.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	force := true
	po := metav1.PatchOptions{FieldManager: "certsweep-harness", Force: &force, FieldValidation: "Strict"}
	if opts.DryRun {
		po.DryRun = []string{metav1.DryRunAll}
	}
	// The dynamic client's Apply has no field-validation option; a raw
	// apply patch with fieldValidation=Strict is kubectl's --validate=strict.
	return client.Patch(ctx, obj.GetName(), types.ApplyPatchType, body, po)
}

func manifestFiles(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("reading manifests: %w", err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("reading manifests: %w", err)
		}
		var names []string
		for _, e := range entries {
			if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) && e.Name() != "kustomization.yaml" {
				names = append(names, filepath.Join(p, e.Name()))
			}
		}
		sort.Strings(names)
		files = append(files, names...)
	}
	return files, nil
}

func decodeManifest(path string) ([]*unstructured.Unstructured, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	var out []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("decoding %s: %w", path, err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		out = append(out, obj)
	}
}
