// Package manifests checks manifests/: every variant applies to a real API
// server (server-side dry-run, strict field validation) with cert-manager's,
// Knative's and the Prometheus Operator's PrometheusRule CRDs installed,
// and its settings agree with each other and with what the binary does. It
// is its own package so that those CRDs load only here and the e2e
// package's control plane stays lean.
package manifests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"testing"

	"github.com/certsweep/certsweep/test/harness"
)

// The Knative releases whose CRDs the manifests are checked against, and
// the Prometheus Operator release whose PrometheusRule CRD
// manifests/monitoring is. They are Go modules, fetched into the module
// cache by exact version without touching this module's go.mod. The
// Prometheus Operator's is v0.85.0 because that is the newest release of
// its root module (the one that ships example/prometheus-operator-crd) the
// module proxy serves; PrometheusRule's v1 schema is stable across them.
var knativeCRDs = []struct {
	module string
	dir    string
	files  []string
}{
	{"knative.dev/serving@v0.51.0", "config/core/300-resources", []string{"service.yaml"}},
	{"knative.dev/eventing@v0.47.0", "config/core/resources", []string{"apiserversource.yaml", "pingsource.yaml", "jobsink.yaml", "broker.yaml", "trigger.yaml"}},
	{"github.com/prometheus-operator/prometheus-operator@v0.85.0", "example/prometheus-operator-crd", []string{"monitoring.coreos.com_prometheusrules.yaml"}},
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "certsweep-knative-crds-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := knativeCRDFiles(dir); err != nil {
		fmt.Fprintf(os.Stderr, "knative and prometheus-operator CRDs: %v\n", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	// The sources watch Gateways, so the Gateway API's CRDs are installed
	// too, for discovery to map them.
	gateways, err := harness.GatewayAPICRDFiles(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "gateway API CRDs: %v\n", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := harness.SetupMain(m, harness.Options{ExtraCRDDirs: append([]string{dir}, gateways...)})
	os.RemoveAll(dir)
	os.Exit(code)
}

// knativeCRDFiles downloads the Knative modules and writes the
// CustomResourceDefinitions of the files we need into dir, one per file.
// The release YAML may hold other documents; only CRDs are kept.
func knativeCRDFiles(dir string) error {
	n := 0
	for _, src := range knativeCRDs {
		modDir, err := moduleDir(src.module)
		if err != nil {
			return err
		}
		for _, f := range src.files {
			raw, err := os.ReadFile(filepath.Join(modDir, src.dir, f))
			if err != nil {
				return fmt.Errorf("reading %s: %w", src.module, err)
			}
			dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
			for {
				var obj map[string]any
				if err := dec.Decode(&obj); err != nil {
					if errors.Is(err, io.EOF) {
						break
					}
					return fmt.Errorf("decoding %s/%s: %w", src.module, f, err)
				}
				u := unstructured.Unstructured{Object: obj}
				if u.GetKind() != "CustomResourceDefinition" || u.GetAPIVersion() != "apiextensions.k8s.io/v1" {
					continue
				}
				out, err := yaml.Marshal(obj)
				if err != nil {
					return err
				}
				n++
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d-%s.yaml", n, u.GetName())), out, 0o600); err != nil {
					return err
				}
			}
		}
	}
	if n == 0 {
		return errors.New("no CustomResourceDefinitions found")
	}
	return nil
}

// moduleDir runs `go mod download` outside any module, so the download
// neither needs nor changes our go.mod, and returns the module's directory.
func moduleDir(module string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("go mod download %s: %s", module, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w: %s", module, err, stderr.String())
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no directory reported", module)
	}
	return info.Dir, nil
}
