package harness_test

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/test/harness"
)

func TestZZTiming(t *testing.T) {
	cp := harness.Shared(t)
	c := dyn(t, cp.Config)
	s0 := time.Now()
	bad := certificate("default", "x")
	delete(bad.Object, "spec")
	_, err := c.Resource(certificates).Namespace("default").Create(t.Context(), bad, metav1.CreateOptions{DryRun: []string{"All"}})
	t.Logf("dry run %v %v", time.Since(s0), err)
	for i := 0; i < 2; i++ {
		s := time.Now()
		ns := cp.Namespace(t)
		t.Logf("ns %v", time.Since(s))
		s = time.Now()
		if _, err := c.Resource(certificates).Namespace(ns).Create(t.Context(), certificate(ns, "web"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Logf("create %v", time.Since(s))
		s = time.Now()
		if err := cp.DeleteNamespace(t.Context(), ns); err != nil {
			t.Fatal(err)
		}
		t.Logf("delete %v", time.Since(s))
	}
}
