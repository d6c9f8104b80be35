package manifests

import (
	"context"
	"reflect"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/certsweep/certsweep/test/harness"
)

// TestPrometheusRuleIsStoredAsWritten applies manifests/monitoring for
// real (not a dry-run) to the API server with the Prometheus Operator's
// PrometheusRule CRD installed, and reads it back: the server stores the
// rule groups exactly as written, so no field is pruned or defaulted away
// on the way to the operator, which hands them to Prometheus verbatim.
// (test/e2e/alerts_test.go checks the rules themselves with promtool.)
func TestPrometheusRuleIsStoredAsWritten(t *testing.T) {
	cp := harness.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, obj := range objects(t, "base") {
		if obj.GetKind() == "Namespace" {
			if _, err := harness.ApplyObjects(ctx, cp.Config, harness.ApplyOptions{}, []*unstructured.Unstructured{obj}); err != nil {
				t.Fatal(err)
			}
		}
	}
	written := find(t, objects(t, "monitoring"), "PrometheusRule", "certsweep")
	applied, err := harness.ApplyObjects(ctx, cp.Config, harness.ApplyOptions{ExplicitNamespaces: true}, []*unstructured.Unstructured{written})
	if err != nil {
		t.Fatal(err)
	}
	stored := applied[0]
	if stored.GetAPIVersion() != "monitoring.coreos.com/v1" || stored.GetKind() != "PrometheusRule" || stored.GetResourceVersion() == "" {
		t.Fatalf("stored %s %s, resourceVersion %q", stored.GetAPIVersion(), stored.GetKind(), stored.GetResourceVersion())
	}
	want, _, _ := unstructured.NestedSlice(written.Object, "spec", "groups")
	got, _, _ := unstructured.NestedSlice(stored.Object, "spec", "groups")
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Fatalf("the API server stored other groups than written:\nwritten %v\nstored  %v", want, got)
	}
	if !reflect.DeepEqual(stored.GetLabels(), written.GetLabels()) {
		t.Fatalf("labels %v, written %v", stored.GetLabels(), written.GetLabels())
	}
}
