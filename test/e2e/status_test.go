package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/renew"
	"github.com/certsweep/certsweep/test/harness"
)

// TestStatusExplainsOneCertificate: `certsweep status` on a Ready
// Certificate shows its conditions, what its Secret holds, its request and
// that a sweep would do nothing; on one whose issuer is broken it shows the
// retry window, that a sweep waits and why, and the Warning event. Status
// writes nothing, and the binary prints the same in text and JSON.
func TestStatusExplainsOneCertificate(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.create(certificate("leaf", issuerRef("ca"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"leaf.example.test"} }))
	e.create(caIssuer("broken", "missing-ca"))
	e.create(certificate("stuck", issuerRef("broken")))
	e.run()

	cfg, counter := harness.WrapCounting(e.cp.Config)
	st, err := e.sweeper(cfg).Status(e.ctx(), e.ns, "leaf")
	if err != nil {
		t.Fatal(err)
	}
	if counter.Writes() != 0 {
		t.Fatalf("status wrote: %v", counter.Snapshot().Writes())
	}
	if !hasCondition(st.Conditions, cmapi.CertificateConditionReady, cmmeta.ConditionTrue) {
		t.Fatalf("conditions %+v", st.Conditions)
	}
	if st.Secret == nil || len(st.Secret.DNSNames) != 1 || st.Secret.DNSNames[0] != "leaf.example.test" || st.Secret.KeyAlgorithm != "ECDSA" || !strings.Contains(st.Secret.IssuerName, "ca") {
		t.Fatalf("secret summary %+v (%s)", st.Secret, st.SecretProblem)
	}
	if len(st.Requests) != 1 || st.Requests[0].Phase != "Issued" || st.Requests[0].Revision != "1" {
		t.Fatalf("requests %+v", st.Requests)
	}
	if st.Decision.Action != renew.ActionNone || st.Retry != nil || len(st.Events) == 0 {
		t.Fatalf("decision %+v retry %+v events %d", st.Decision, st.Retry, len(st.Events))
	}

	stuck, err := e.sweeper(e.cp.Config).Status(e.ctx(), e.ns, "stuck")
	if err != nil {
		t.Fatal(err)
	}
	if stuck.Retry == nil || stuck.Retry.FailedAttempts != 1 || stuck.Decision.Action != renew.ActionWait || stuck.Decision.Reason != renew.ReasonBackoff {
		t.Fatalf("stuck: retry %+v decision %+v", stuck.Retry, stuck.Decision)
	}
	if stuck.Secret != nil || !strings.Contains(stuck.SecretProblem, "does not exist") {
		t.Fatalf("stuck secret %+v %q", stuck.Secret, stuck.SecretProblem)
	}
	warned := false
	for _, ev := range stuck.Events {
		warned = warned || ev.Type == corev1.EventTypeWarning
	}
	if !warned {
		t.Fatalf("no Warning event among %+v", stuck.Events)
	}

	bin := certsweepBinary(t)
	code, stdout, stderr := runBinary(t, bin, e.podEnv(e.cp.Config), "status", "-n", e.ns, "stuck")
	// The binary runs on the real clock, so the 5s window may be over:
	// what it must show is the window itself.
	if code != 0 || !strings.Contains(stdout, "Retry: 1 failed attempt(s), temporary class") || !strings.Contains(stdout, "Warning  IssuerNotReady") {
		t.Fatalf("status text: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = runBinary(t, bin, e.podEnv(e.cp.Config), "status", "-n", e.ns, "-o", "json", "leaf")
	var got job.CertificateStatus
	if code != 0 || json.Unmarshal([]byte(stdout), &got) != nil || got.Name != "leaf" || got.Secret == nil {
		t.Fatalf("status json: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, stderr := runBinary(t, bin, e.podEnv(e.cp.Config), "status", "-n", e.ns, "nope"); code != 1 || !oneErrorLine(stderr) {
		t.Fatalf("status of a missing Certificate: exit %d, %s", code, stderr)
	}
}

func hasCondition(conds []cmapi.CertificateCondition, typ cmapi.CertificateConditionType, status cmmeta.ConditionStatus) bool {
	for _, c := range conds {
		if c.Type == typ && c.Status == status {
			return true
		}
	}
	return false
}
