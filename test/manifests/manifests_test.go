package manifests

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/certsweep/certsweep/test/harness"
)

// variants are the directories a user applies with kubectl apply -k.
var variants = []string{"base", "cronjob", "oneshot", "knative", "knative/broker", "knative/jobsink", "monitoring"}

func manifestsDir(t *testing.T) string {
	t.Helper()
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "manifests")
}

// kustomization is the part of kustomization.yaml the manifests use. They
// use resources only (no patches), so this resolver and kustomize agree.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

// resolve lists the manifest files of a kustomization directory the way
// kustomize would gather them, following resource directories.
func resolve(t *testing.T, dir string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatalf("every manifests directory needs a kustomization.yaml: %v", err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(raw, &k); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v (only resources are used, so plain kubectl apply -f and this test agree)", dir, err)
	}
	var files []string
	for _, r := range k.Resources {
		p := filepath.Join(dir, r)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s/kustomization.yaml: resource %s: %v", dir, r, err)
		}
		if st.IsDir() {
			files = append(files, resolve(t, p)...)
		} else {
			files = append(files, p)
		}
	}
	return files
}

func TestEveryFileIsInItsKustomization(t *testing.T) {
	root := manifestsDir(t)
	for _, v := range append(slices.Clone(variants), "knative/service", "knative/source-rbac") {
		dir := filepath.Join(root, v)
		listed := map[string]bool{}
		for _, f := range resolve(t, dir) {
			listed[f] = true
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") && e.Name() != "kustomization.yaml" && !listed[p] {
				t.Errorf("%s is not listed in %s/kustomization.yaml", e.Name(), v)
			}
		}
	}
}

// objects decodes every document of the variant.
func objects(t *testing.T, variant string) []*unstructured.Unstructured {
	t.Helper()
	out, err := harness.DecodeManifests(resolve(t, filepath.Join(manifestsDir(t), variant))...)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, u := range out {
		key := u.GetAPIVersion() + "/" + u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
		if seen[key] {
			t.Fatalf("%s appears twice in %s", key, variant)
		}
		seen[key] = true
	}
	return out
}

// TestEveryVariantAppliesWithServerSideDryRun sends every object to the
// real API server with the Knative CRDs installed, as kubectl apply
// --server-side --dry-run=server --validate=strict would: a misspelt field,
// a wrong type or a missing CRD fails here rather than in a user's cluster.
func TestEveryVariantAppliesWithServerSideDryRun(t *testing.T) {
	cp := harness.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Namespaced objects cannot be dry-run into a namespace that does not
	// exist, so the namespace itself is created for real.
	for _, obj := range objects(t, "base") {
		if obj.GetKind() == "Namespace" {
			if _, err := harness.ApplyObjects(ctx, cp.Config, harness.ApplyOptions{}, []*unstructured.Unstructured{obj}); err != nil {
				t.Fatal(err)
			}
		}
	}
	dryRun := harness.ApplyOptions{DryRun: true, ExplicitNamespaces: true}
	for _, v := range variants {
		t.Run(v, func(t *testing.T) {
			for _, obj := range objects(t, v) {
				if _, err := harness.ApplyObjects(ctx, cp.Config, dryRun, []*unstructured.Unstructured{obj}); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// --- settings that must agree with each other ---

func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s", kind, name)
	return nil
}

func nestedString(t *testing.T, obj *unstructured.Unstructured, path ...string) string {
	t.Helper()
	v, found, err := unstructured.NestedString(obj.Object, path...)
	if err != nil || !found {
		t.Fatalf("%s %s: %s missing or not a string (%v)", obj.GetKind(), obj.GetName(), strings.Join(path, "."), err)
	}
	return v
}

func nestedInt(t *testing.T, obj *unstructured.Unstructured, path ...string) int64 {
	t.Helper()
	v, found, _ := unstructured.NestedFieldNoCopy(obj.Object, path...)
	// The YAML decoder gives numbers as float64 or int64.
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		if n == float64(int64(n)) {
			return int64(n)
		}
	}
	t.Fatalf("%s %s: %s missing or not an integer (found=%v, %T)", obj.GetKind(), obj.GetName(), strings.Join(path, "."), found, v)
	return 0
}

// container returns the single container of the pod spec at path, and its
// env as a map.
func container(t *testing.T, obj *unstructured.Unstructured, podSpecPath ...string) (map[string]any, map[string]string) {
	t.Helper()
	containers, found, err := unstructured.NestedSlice(obj.Object, append(podSpecPath, "containers")...)
	if err != nil || !found || len(containers) != 1 {
		t.Fatalf("%s %s: want exactly one container at %s", obj.GetKind(), obj.GetName(), strings.Join(podSpecPath, "."))
	}
	c := containers[0].(map[string]any)
	env := map[string]string{}
	list, _, _ := unstructured.NestedSlice(c, "env")
	for _, e := range list {
		m := e.(map[string]any)
		env[m["name"].(string)], _ = m["value"].(string)
	}
	return c, env
}

func TestCronJobSettingsAgree(t *testing.T) {
	cj := find(t, objects(t, "cronjob"), "CronJob", "certsweep")
	schedule := nestedString(t, cj, "spec", "schedule")
	podSpec := []string{"spec", "jobTemplate", "spec", "template", "spec"}
	_, env := container(t, cj, podSpec...)
	if env["CERTSWEEP_SCHEDULE"] != schedule {
		t.Errorf("CERTSWEEP_SCHEDULE = %q, want the CronJob's schedule %q (renewals due before the next run are done now)", env["CERTSWEEP_SCHEDULE"], schedule)
	}
	if p := nestedString(t, cj, "spec", "concurrencyPolicy"); p != "Forbid" {
		t.Errorf("concurrencyPolicy = %q, want Forbid", p)
	}
	sched, err := cron.ParseStandard(schedule)
	if err != nil {
		t.Fatalf("schedule: %v", err)
	}
	first := sched.Next(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	interval := sched.Next(first).Sub(first)
	starting := time.Duration(nestedInt(t, cj, "spec", "startingDeadlineSeconds")) * time.Second
	if starting <= 0 || starting >= interval {
		t.Errorf("startingDeadlineSeconds = %s, want between 0 and the interval %s", starting, interval)
	}
	deadline, err := time.ParseDuration(env["CERTSWEEP_DEADLINE"])
	if err != nil {
		t.Fatalf("CERTSWEEP_DEADLINE: %v", err)
	}
	active := time.Duration(nestedInt(t, cj, "spec", "jobTemplate", "spec", "activeDeadlineSeconds")) * time.Second
	// New issuances stop at CERTSWEEP_DEADLINE; the Pod must live long
	// enough after it for those in flight, and end before the next tick.
	if active < deadline+2*time.Minute || active > interval {
		t.Errorf("activeDeadlineSeconds = %s, want at least CERTSWEEP_DEADLINE (%s) + 2m and at most the interval %s", active, deadline, interval)
	}
	if b := nestedInt(t, cj, "spec", "jobTemplate", "spec", "backoffLimit"); b > 2 {
		t.Errorf("backoffLimit = %d, want at most 2: the next tick is the retry", b)
	}
	for _, f := range []string{"successfulJobsHistoryLimit", "failedJobsHistoryLimit"} {
		if n := nestedInt(t, cj, "spec", f); n < 1 || n > 5 {
			t.Errorf("%s = %d, want 1..5", f, n)
		}
	}
	c, _ := container(t, cj, podSpec...)
	if args, _, _ := unstructured.NestedStringSlice(c, "args"); !slices.Equal(args, []string{"run"}) {
		t.Errorf("args = %q, want [run]", args)
	}
}

func TestKnativeServiceTimeoutMatchesRequestTimeout(t *testing.T) {
	for _, v := range []string{"knative", "knative/broker"} {
		svc := find(t, objects(t, v), "Service", "certsweep")
		if svc.GetAPIVersion() != "serving.knative.dev/v1" {
			t.Fatalf("%s: Service certsweep is %s, want serving.knative.dev/v1", v, svc.GetAPIVersion())
		}
		c, env := container(t, svc, "spec", "template", "spec")
		timeout, err := time.ParseDuration(env["CERTSWEEP_REQUEST_TIMEOUT"])
		if err != nil {
			t.Fatalf("CERTSWEEP_REQUEST_TIMEOUT: %v", err)
		}
		if s := nestedInt(t, svc, "spec", "template", "spec", "timeoutSeconds"); time.Duration(s)*time.Second != timeout {
			t.Errorf("timeoutSeconds = %d, want CERTSWEEP_REQUEST_TIMEOUT %s", s, timeout)
		}
		if cc := nestedInt(t, svc, "spec", "template", "spec", "containerConcurrency"); cc < 1 {
			t.Errorf("containerConcurrency = %d, want a bound", cc)
		}
		if ms := nestedString(t, svc, "spec", "template", "metadata", "annotations", "autoscaling.knative.dev/min-scale"); ms != "0" {
			t.Errorf("min-scale = %q, want 0 (scale to zero)", ms)
		}
		if args, _, _ := unstructured.NestedStringSlice(c, "args"); !slices.Equal(args, []string{"serve"}) {
			t.Errorf("args = %q, want [serve]", args)
		}
	}
}

func TestJobSinkReadsTheMountedEvent(t *testing.T) {
	js := find(t, objects(t, "knative/jobsink"), "JobSink", "certsweep")
	c, env := container(t, js, "spec", "job", "spec", "template", "spec")
	if env["CERTSWEEP_EVENT_FILE"] != "/etc/jobsink-event/event" {
		t.Errorf("CERTSWEEP_EVENT_FILE = %q, want /etc/jobsink-event/event (where JobSink mounts the event)", env["CERTSWEEP_EVENT_FILE"])
	}
	if args, _, _ := unstructured.NestedStringSlice(c, "args"); !slices.Equal(args, []string{"run"}) {
		t.Errorf("args = %q, want [run]", args)
	}
}

// TestSourcesWatchWhatCertsweepHandles: each event variant's ApiServerSource
// watches, in Reference mode, exactly the kinds the event mapping handles,
// and each variant also has the PingSource safety net, both sinking to the
// variant's receiver.
func TestSourcesWatchWhatCertsweepHandles(t *testing.T) {
	sinks := map[string]string{"knative": "Service", "knative/broker": "Broker", "knative/jobsink": "JobSink"}
	for v, sinkKind := range sinks {
		objs := objects(t, v)
		src := find(t, objs, "ApiServerSource", "certsweep")
		if m := nestedString(t, src, "spec", "mode"); m != "Reference" {
			t.Errorf("%s: mode = %q, want Reference (no object contents in events)", v, m)
		}
		if sa := nestedString(t, src, "spec", "serviceAccountName"); sa != "certsweep-source" {
			t.Errorf("%s: serviceAccountName = %q, want certsweep-source", v, sa)
		}
		resources, _, _ := unstructured.NestedSlice(src.Object, "spec", "resources")
		var kinds []string
		for _, r := range resources {
			m := r.(map[string]any)
			kind := m["kind"].(string)
			if kind == "Secret" {
				sel, _, _ := unstructured.NestedStringMap(m, "selector", "matchLabels")
				if sel["controller.cert-manager.io/fao"] != "true" {
					t.Errorf("%s: Secrets must be narrowed to controller.cert-manager.io/fao=true, got %v", v, sel)
				}
			}
			kinds = append(kinds, m["apiVersion"].(string)+" "+kind)
		}
		sort.Strings(kinds)
		want := []string{
			"acme.cert-manager.io/v1 Challenge", "acme.cert-manager.io/v1 Order",
			"cert-manager.io/v1 Certificate", "cert-manager.io/v1 CertificateRequest", "cert-manager.io/v1 ClusterIssuer", "cert-manager.io/v1 Issuer",
			"certificates.k8s.io/v1 CertificateSigningRequest",
			"gateway.networking.k8s.io/v1 Gateway", "networking.k8s.io/v1 Ingress",
			"v1 Secret",
		}
		if !slices.Equal(kinds, want) {
			t.Errorf("%s: watched kinds = %q, want %q", v, kinds, want)
		}
		ping := find(t, objs, "PingSource", "certsweep")
		for _, o := range []*unstructured.Unstructured{src, ping} {
			if k := nestedString(t, o, "spec", "sink", "ref", "kind"); k != sinkKind {
				t.Errorf("%s: %s sinks to %s, want %s", v, o.GetKind(), k, sinkKind)
			}
		}
	}
}

// TestSourceMayWatchWhatItWatches: the ApiServerSource's ServiceAccount
// is granted get, list and watch on every kind its source watches (an
// ApiServerSource whose identity cannot watch a kind sends nothing for
// any), with the kinds mapped to resources by the real API server's
// discovery, as the source's informers map them.
func TestSourceMayWatchWhatItWatches(t *testing.T) {
	cp := harness.Shared(t)
	disco, err := discovery.NewDiscoveryClientForConfig(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))
	for _, v := range []string{"knative", "knative/broker", "knative/jobsink"} {
		objs := objects(t, v)
		src := find(t, objs, "ApiServerSource", "certsweep")
		sa := nestedString(t, src, "spec", "serviceAccountName")
		binding := find(t, objs, "ClusterRoleBinding", sa)
		subjects, _, _ := unstructured.NestedSlice(binding.Object, "subjects")
		if len(subjects) != 1 || subjects[0].(map[string]any)["name"] != sa || subjects[0].(map[string]any)["namespace"] != src.GetNamespace() {
			t.Errorf("%s: ClusterRoleBinding %s binds %v, want the ServiceAccount %s/%s", v, sa, subjects, src.GetNamespace(), sa)
		}
		role := find(t, objs, "ClusterRole", nestedString(t, binding, "roleRef", "name"))
		granted := map[string][]string{}
		rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
		for _, r := range rules {
			m := r.(map[string]any)
			groups, _, _ := unstructured.NestedStringSlice(m, "apiGroups")
			resources, _, _ := unstructured.NestedStringSlice(m, "resources")
			verbs, _, _ := unstructured.NestedStringSlice(m, "verbs")
			for _, g := range groups {
				for _, res := range resources {
					granted[g+"/"+res] = append(granted[g+"/"+res], verbs...)
				}
			}
		}
		watched, _, _ := unstructured.NestedSlice(src.Object, "spec", "resources")
		for _, w := range watched {
			m := w.(map[string]any)
			gv, err := schema.ParseGroupVersion(m["apiVersion"].(string))
			if err != nil {
				t.Fatal(err)
			}
			mapping, err := mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: m["kind"].(string)}, gv.Version)
			if err != nil {
				t.Fatalf("%s: %s %s: %v", v, m["apiVersion"], m["kind"], err)
			}
			key := mapping.Resource.Group + "/" + mapping.Resource.Resource
			for _, verb := range []string{"get", "list", "watch"} {
				if !slices.Contains(granted[key], verb) {
					t.Errorf("%s: the source watches %s but %s may not %s %s", v, m["kind"], sa, verb, key)
				}
			}
		}
	}
}

// TestPodsAreRestricted: every Pod certsweep runs in meets the restricted
// Pod Security Standard and asks for resources.
func TestPodsAreRestricted(t *testing.T) {
	templates := []struct {
		variant, kind string
		podSpec       []string
	}{
		{"cronjob", "CronJob", []string{"spec", "jobTemplate", "spec", "template", "spec"}},
		{"oneshot", "Job", []string{"spec", "template", "spec"}},
		{"knative", "Service", []string{"spec", "template", "spec"}},
		{"knative/jobsink", "JobSink", []string{"spec", "job", "spec", "template", "spec"}},
	}
	for _, tc := range templates {
		var obj *unstructured.Unstructured
		for _, o := range objects(t, tc.variant) {
			if o.GetKind() == tc.kind {
				obj = o
			}
		}
		if obj == nil {
			t.Fatalf("%s: no %s", tc.variant, tc.kind)
		}
		c, _ := container(t, obj, tc.podSpec...)
		where := tc.variant + " " + tc.kind
		if sa, _, _ := unstructured.NestedString(obj.Object, append(tc.podSpec, "serviceAccountName")...); sa != "certsweep" {
			t.Errorf("%s: serviceAccountName = %q, want certsweep", where, sa)
		}
		sc, _, _ := unstructured.NestedMap(c, "securityContext")
		checks := []struct {
			path []string
			want any
		}{
			{[]string{"runAsNonRoot"}, true},
			{[]string{"readOnlyRootFilesystem"}, true},
			{[]string{"allowPrivilegeEscalation"}, false},
			{[]string{"seccompProfile", "type"}, "RuntimeDefault"},
		}
		for _, ch := range checks {
			got, found, _ := unstructured.NestedFieldNoCopy(sc, ch.path...)
			if !found || got != ch.want {
				t.Errorf("%s: securityContext.%s = %v, want %v", where, strings.Join(ch.path, "."), got, ch.want)
			}
		}
		if drop, _, _ := unstructured.NestedStringSlice(sc, "capabilities", "drop"); !slices.Equal(drop, []string{"ALL"}) {
			t.Errorf("%s: capabilities.drop = %q, want [ALL]", where, drop)
		}
		for _, r := range []string{"cpu", "memory"} {
			if _, found, _ := unstructured.NestedString(c, "resources", "requests", r); !found {
				t.Errorf("%s: no %s request", where, r)
			}
		}
	}
}

// TestClusterRoleIsExactlyWhatTheBinaryUses pins the ClusterRole to the API
// calls in job/ and issuance/. Each row names where the call is made; a
// verb added here without a caller, or a caller without a verb here (the
// RBAC e2e test catches that one), is a review question.
func TestClusterRoleIsExactlyWhatTheBinaryUses(t *testing.T) {
	want := map[string][]string{
		// gather.go LIST, reread GET, status.go retry annotations UPDATE; the
		// certificate-shim (shim.go, writes.go) creates, updates, deletes.
		"cert-manager.io/certificates": {"create", "delete", "get", "list", "update"},
		// No call: clusters with the OwnerReferencesPermissionEnforcement
		// admission plugin require it for the blockOwnerDeletion owner
		// references certsweep sets to a Certificate (next-key Secrets,
		// requests, and the Secret with CERTSWEEP_ENABLE_CERTIFICATE_OWNER_REF).
		"cert-manager.io/certificates/finalizers":    {"update"},
		"cert-manager.io/certificates/status":        {"update"},                          // status.go
		"cert-manager.io/certificaterequests":        {"create", "delete", "get", "list"}, // writes.go create/prune, lookup.go GET, gather.go LIST
		"cert-manager.io/certificaterequests/status": {"update"},                          // approval and in-process signing
		// Approving a request cert-manager's webhook checks (requests.go).
		"cert-manager.io/signers": {"approve"},
		// Kubernetes CertificateSigningRequests (job/csr.go): listed, read
		// for an event, signed through status (the API server checks sign
		// on the signer), the requester's reference asked with a
		// SubjectAccessReview.
		"certificates.k8s.io/certificatesigningrequests":        {"get", "list"},
		"certificates.k8s.io/certificatesigningrequests/status": {"update"},
		"certificates.k8s.io/signers":                           {"sign"},
		"authorization.k8s.io/subjectaccessreviews":             {"create"},
		"cert-manager.io/issuers":                               {"get", "list"}, // issuers.go GET; job/metrics LIST (issuer ready_status)
		"cert-manager.io/clusterissuers":                        {"get", "list"},
		"cert-manager.io/issuers/status":                        {"update"}, // issuers.go flushStatus
		"cert-manager.io/clusterissuers/status":                 {"update"},
		"/secrets":                                              {"create", "delete", "get", "list", "patch"}, // writes.go apply (PATCH), next keys and ACME account keys create/delete
		"/events":                                               {"create"},                                   // writes.go
		// A Vault issuer's Kubernetes auth with a serviceAccountRef mints a
		// token for it (job/vault.go, writes.go).
		"/serviceaccounts/token": {"create"},
		// ACME (job/acme.go, reads.go, writes.go): Orders and Challenges
		// created and read by name, listed (a final order's leftover
		// Challenges; plan's view of orders), progress written through
		// status, finished Challenges and stale Orders deleted.
		"acme.cert-manager.io/orders":            {"create", "delete", "get", "list", "update"}, // update: the placing claim
		"acme.cert-manager.io/orders/status":     {"update"},
		"acme.cert-manager.io/challenges":        {"create", "delete", "get", "list"},
		"acme.cert-manager.io/challenges/status": {"update"},
		// HTTP-01 solvers (job/solvers.go): Pod, Service and Ingress made
		// per challenge, found by labels, deleted at the end; a named
		// Ingress is read and edited in place.
		"/pods":                       {"create", "delete", "list"},
		"/services":                   {"create", "delete", "list"},
		"networking.k8s.io/ingresses": {"create", "delete", "get", "list", "update"}, // and shim.go's LIST
		// The certificate-shim (job/shim.go) lists Gateways.
		"gateway.networking.k8s.io/gateways": {"list"},
	}
	role := find(t, objects(t, "base"), "ClusterRole", "certsweep")
	got := map[string][]string{}
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	for _, r := range rules {
		m := r.(map[string]any)
		groups, _, _ := unstructured.NestedStringSlice(m, "apiGroups")
		resources, _, _ := unstructured.NestedStringSlice(m, "resources")
		verbs, _, _ := unstructured.NestedStringSlice(m, "verbs")
		// A signer is never called: the API server (certificates.k8s.io)
		// or cert-manager's webhook asks the authorizer about it by name,
		// and those names, wildcard included, are literal.
		if names, _, _ := unstructured.NestedStringSlice(m, "resourceNames"); len(names) > 0 && !slices.Equal(resources, []string{"signers"}) {
			t.Errorf("rule %v narrows by resourceNames, which the sweep cannot honour", m)
		}
		for _, g := range groups {
			for _, res := range resources {
				key := g + "/" + res
				got[key] = append(got[key], verbs...)
			}
		}
	}
	for k := range got {
		slices.Sort(got[k])
		got[k] = slices.Compact(got[k])
	}
	for k, v := range want {
		slices.Sort(v)
		if !slices.Equal(got[k], v) {
			t.Errorf("%s: verbs %q, want %q", k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: verbs %q granted but never used", k, v)
		}
		if slices.Contains(v, "*") || strings.Contains(k, "*") {
			t.Errorf("%s: wildcard", k)
		}
	}
}
