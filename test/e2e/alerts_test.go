package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/certsweep/certsweep/test/harness"
)

// prometheusRule is the part of a monitoring.coreos.com/v1 PrometheusRule
// promtool reads: its rule groups, as a Prometheus rule file has them.
type prometheusRule struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert string `json:"alert"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// promtoolTests is the part of a promtool test file this test reads:
// which alerts each case expects to fire, or to stay silent.
type promtoolTests struct {
	Tests []struct {
		AlertRuleTest []struct {
			Alertname string `json:"alertname"`
			ExpAlerts []any  `json:"exp_alerts"`
		} `json:"alert_rule_test"`
	} `json:"tests"`
}

// TestAlertRules checks manifests/monitoring's PrometheusRule with
// Prometheus's own promtool: its groups, written out as a rule file, pass
// `promtool check rules`, and `promtool test rules` runs
// testdata/prometheusrule_test.yaml against them, in which every alert
// fires on some sample series and stays silent on others.
func TestAlertRules(t *testing.T) {
	promtool := harness.Promtool(t)
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "manifests", "monitoring")
	data, err := os.ReadFile(filepath.Join(dir, "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rule prometheusRule
	if err := yaml.Unmarshal(data, &rule); err != nil {
		t.Fatalf("prometheusrule.yaml: %v", err)
	}
	if rule.APIVersion != "monitoring.coreos.com/v1" || rule.Kind != "PrometheusRule" || len(rule.Spec.Groups) == 0 {
		t.Fatalf("prometheusrule.yaml is a %s %s with %d groups, want a monitoring.coreos.com/v1 PrometheusRule with some", rule.APIVersion, rule.Kind, len(rule.Spec.Groups))
	}
	var kustomization struct {
		Resources []string `json:"resources"`
	}
	if data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml")); err != nil {
		t.Fatal(err)
	} else if err := yaml.Unmarshal(data, &kustomization); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if !slices.Contains(kustomization.Resources, "prometheusrule.yaml") {
		t.Fatalf("manifests/monitoring/kustomization.yaml does not list prometheusrule.yaml: %v", kustomization.Resources)
	}

	// The rule file is the PrometheusRule's spec, as the Prometheus
	// Operator hands it to Prometheus: the groups, verbatim.
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	spec, _ := doc["spec"].(map[string]any)
	rules, err := yaml.Marshal(map[string]any{"groups": spec["groups"]})
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "rules.yaml"), rules, 0o644); err != nil {
		t.Fatal(err)
	}
	cases, err := os.ReadFile(filepath.Join("testdata", "prometheusrule_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "tests.yaml"), cases, 0o644); err != nil {
		t.Fatal(err)
	}

	// Every alert is tested both ways.
	var tests promtoolTests
	if err := yaml.Unmarshal(cases, &tests); err != nil {
		t.Fatalf("testdata/prometheusrule_test.yaml: %v", err)
	}
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				silent[a.Alertname] = true
			}
		}
	}
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if !fires[r.Alert] || !silent[r.Alert] {
				t.Errorf("alert %s: tested firing %v, tested silent %v; want both", r.Alert, fires[r.Alert], silent[r.Alert])
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, args := range [][]string{{"check", "rules", "rules.yaml"}, {"test", "rules", "tests.yaml"}} {
		cmd := exec.CommandContext(ctx, promtool, args...)
		cmd.Dir = work
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("promtool %v: %v\n%s", args, err, out)
		}
		t.Logf("promtool %v:\n%s", args, out)
	}
}
