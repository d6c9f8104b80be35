package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/yaml"

	"github.com/certsweep/certsweep/test/harness"
)

func baseManifests(t *testing.T) string {
	t.Helper()
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "manifests", "base")
}

// TestSweepRunsAsTheManifestServiceAccount applies manifests/base for real
// and runs the binary as its ServiceAccount: a sweep over a SelfSigned ->
// CA -> leaf chain (Secrets, requests, status, events, issuer status) and
// event-file reconciles that look up a Secret's and a request's owner must
// all work with exactly the ClusterRole's verbs.
func TestSweepRunsAsTheManifestServiceAccount(t *testing.T) {
	bin := certsweepBinary(t)
	e := newEnv(t)
	if _, err := harness.Apply(e.ctx(), e.cp.Config, harness.ApplyOptions{}, baseManifests(t)); err != nil {
		t.Fatalf("applying manifests/base: %v", err)
	}
	e.waitAllowed("certsweep", "certsweep", "list", "cert-manager.io", "certificates")
	sa := e.cp.ServiceAccountConfig("certsweep", "certsweep")

	e.withCA()
	e.create(certificate("leaf", issuerRef("ca"), ecdsaKey))
	// A request no Certificate owns, as cmctl makes it: approved and
	// signed under the same role.
	e.createRequest(cmctlRequest(t, "tool", certificate("tool", issuerRef("ca")), newKey(t)))
	// A Kubernetes CertificateSigningRequest to the same CA: listed,
	// checked with a SubjectAccessReview, signed (the signers rule) and
	// written through status, under the same role.
	csrKey := newCSRKey(t, "csr", nil)
	e.createCSR(e.cp.Config, "csr", "issuers.cert-manager.io/"+e.ns+".ca", csrKey)
	e.decideCSR("csr", true)
	code, stdout, stderr := runBinary(t, bin, e.podEnv(sa), "run")
	if code != 0 {
		t.Fatalf("sweep as the ServiceAccount: exit %d\nstderr:\n%s", code, stderr)
	}
	requireNoDenials(t, stderr)
	t.Logf("sweep: %s", strings.TrimSpace(stdout))
	verifyChain(t, parseSecret(t, e.secret("leaf-tls")))
	e.csrChain("csr", csrKey)
	e.requireReady("leaf", 1)
	tool := e.request("tool")
	approvedByCertManager(t, tool)
	requireFetchable(t, tool)
	// The approve verb cert-manager's webhook asks about; no webhook runs
	// here, so ask the authorizer directly.
	for _, signer := range []string{"issuers.cert-manager.io/*", "clusterissuers.cert-manager.io/*"} {
		e.waitAllowedNamed("certsweep", "certsweep", "approve", "cert-manager.io", "signers", signer)
	}

	// A deleted Secret, announced by an event: the owner lookup and the
	// reissue run under the same role.
	if err := e.kube.CoreV1().Secrets(e.ns).Delete(e.ctx(), "leaf-tls", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []struct{ kind, apiVersion, name string }{
		{"Secret", "v1", "leaf-tls"},
		{"CertificateRequest", "cert-manager.io/v1", e.requests("leaf")[0].Name},
		{"Issuer", "cert-manager.io/v1", "ca"},
	} {
		path := writeEventFile(t, refEvent("update", ev.apiVersion, ev.kind, e.ns, ev.name))
		code, _, stderr := runBinary(t, bin, e.podEnv(sa, "CERTSWEEP_EVENT_FILE="+path), "run")
		if code != 0 {
			t.Fatalf("%s event as the ServiceAccount: exit %d\nstderr:\n%s", ev.kind, code, stderr)
		}
		requireNoDenials(t, stderr)
	}
	parseSecret(t, e.secret("leaf-tls"))
	e.requireReady("leaf", 2)
}

// TestSweepWithoutListPermissionFailsClearly applies the same ClusterRole
// with one verb removed (list on certificates) for another ServiceAccount:
// the run cannot happen, and the binary says so in one line and exits 1.
func TestSweepWithoutListPermissionFailsClearly(t *testing.T) {
	bin := certsweepBinary(t)
	e := newEnv(t)
	role := manifestClusterRole(t)
	role.Name = "certsweep-cut-" + e.ns
	cut := false
	for i, r := range role.Rules {
		if slices.Contains(r.Resources, "certificates") && slices.Contains(r.APIGroups, "cert-manager.io") {
			role.Rules[i].Verbs = slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool { return v == "list" })
			cut = true
		}
	}
	if !cut {
		t.Fatal("the manifest's ClusterRole has no rule for certificates")
	}
	ctx := e.ctx()
	if _, err := e.kube.CoreV1().ServiceAccounts(e.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "cut"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.kube.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "cut", Namespace: e.ns}},
	}
	if _, err := e.kube.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = e.kube.RbacV1().ClusterRoleBindings().Delete(context.Background(), role.Name, metav1.DeleteOptions{})
		_ = e.kube.RbacV1().ClusterRoles().Delete(context.Background(), role.Name, metav1.DeleteOptions{})
	})
	// Wait for a verb the role keeps, so the denial below is the cut verb's.
	e.waitAllowed(e.ns, "cut", "get", "cert-manager.io", "certificates")

	e.create(selfSignedIssuer("ss"))
	e.create(certificate("c", issuerRef("ss"), ecdsaKey))
	code, _, stderr := runBinary(t, bin, e.podEnv(e.cp.ServiceAccountConfig(e.ns, "cut")), "run")
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstderr:\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if len(lines) != 1 || !strings.HasPrefix(last, "certsweep: error:") || !strings.Contains(last, "forbidden") || !strings.Contains(last, "certificates") {
		t.Fatalf("want one clear error line naming the forbidden list of certificates, got:\n%s", stderr)
	}
	e.requireNotIssued("c")
}

func manifestClusterRole(t *testing.T) *rbacv1.ClusterRole {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(baseManifests(t), "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var role rbacv1.ClusterRole
		if err := yaml.Unmarshal([]byte(doc), &role); err != nil {
			t.Fatalf("manifests/base/rbac.yaml: %v", err)
		}
		if role.Kind == "ClusterRole" {
			role.ResourceVersion = ""
			return &role
		}
	}
	t.Fatal("manifests/base/rbac.yaml has no ClusterRole")
	return nil
}

// waitAllowed waits until the RBAC authorizer, which learns of new roles
// and bindings through a watch, allows the ServiceAccount the verb. It is a
// wait for a condition, bounded by the test context, not a timing check.
func (e *env) waitAllowed(namespace, name, verb, group, resource string) {
	e.t.Helper()
	e.waitAllowedNamed(namespace, name, verb, group, resource, "")
}

// waitAllowedNamed is waitAllowed for one object name (resourceNames).
func (e *env) waitAllowedNamed(namespace, name, verb, group, resource, objectName string) {
	e.t.Helper()
	review := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User:   "system:serviceaccount:" + namespace + ":" + name,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
		ResourceAttributes: &authzv1.ResourceAttributes{
			Namespace: e.ns, Verb: verb, Group: group, Resource: resource, Name: objectName,
		},
	}}
	err := wait.PollUntilContextCancel(e.ctx(), 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		out, err := e.kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return false, err
		}
		return out.Status.Allowed, nil
	})
	if err != nil {
		e.t.Fatalf("%s/%s never allowed to %s %s: %v", namespace, name, verb, resource, err)
	}
}

// requireNoDenials fails on any permission error the binary logged, even
// one it survived (an event it could not record, an issuer status it could
// not write).
func requireNoDenials(t *testing.T, stderr string) {
	t.Helper()
	if strings.Contains(stderr, "forbidden") {
		t.Fatalf("the ServiceAccount lacked a permission:\n%s", stderr)
	}
}
