package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/renew"
	"github.com/certsweep/certsweep/test/harness"
)

// The fault tests run sweeps through harness.FaultProxy (or restart the API
// server under one), then take the faults away and check that a few clean
// runs converge to a state where every invariant of invariants_test.go
// holds and the run after writes nothing. They are seeded (the proxy's
// CERTSWEEP_FAULT_SEED) and bounded: no timed assertions, and the clock is
// moved with e.advance instead of sleeping through retry windows.
//
// CERTSWEEP_SOAK=1 scales them up (more Certificates, more faulty rounds);
// see docs/reliability.md.

// soak reports whether CERTSWEEP_SOAK asks for the long version.
func soak() bool {
	v := os.Getenv("CERTSWEEP_SOAK")
	return v != "" && v != "0" && v != "false"
}

// scaled is normal, or soaked under CERTSWEEP_SOAK.
func scaled(normal, soaked int) int {
	if soak() {
		return soaked
	}
	return normal
}

// writeVerbs are the verbs a write fault applies to.
var writeVerbs = []string{harness.VerbCreate, harness.VerbUpdate, harness.VerbPatch, harness.VerbDelete}

// maxConvergeRuns bounds the clean runs after the faults.
const maxConvergeRuns = 4

// faultRun carries one fault test: its environment, the proxy, the key
// material seen in write requests, the sweep logs, and the counts logged at
// the end.
type faultRun struct {
	t     *testing.T
	e     *env
	proxy *harness.FaultProxy
	keys  *keyMaterial
	logs  *syncBuffer
	log   *slog.Logger
	// settings are options every sweep of the test runs with, faulty and
	// clean alike (a setting such as Decide.OwnerRef).
	settings []func(*job.Options)

	faultyRuns, cleanRuns, sweepErrors int
	converged                          bool
	// Counts of broken promises: invariants of invariants_test.go, leaves
	// not issued exactly once (or with a hidden backoff), writes of the run
	// after converging, and sweep logs carrying key material.
	invariants, notOnce, hiddenBackoffs, quietWrites, logLeaks int
}

func newFaultRun(t *testing.T, e *env) *faultRun {
	f := &faultRun{t: t, e: e, keys: newKeyMaterial(), logs: &syncBuffer{}}
	f.log = slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return f
}

// options sets the logger on every sweep of the test, so each one's log is
// checked for key material, and the test's settings.
func (f *faultRun) options(o *job.Options) {
	o.Logger = f.log
	for _, set := range f.settings {
		set(o)
	}
}

// capture wraps cfg so that private keys in Secret write requests are
// remembered: next-key Secrets are deleted once used, yet their keys must
// not show up anywhere either.
func (f *faultRun) capture(cfg *rest.Config) *rest.Config {
	out := rest.CopyConfig(cfg)
	out.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &keyCapture{next: rt, keys: f.keys} })
	return out
}

// snapshotKeys remembers the keys of the Secrets there now (ones a run is
// about to replace, e.g. a mismatched pair).
func (f *faultRun) snapshotKeys() {
	list, err := f.e.kube.CoreV1().Secrets(f.e.ns).List(f.e.ctx(), metav1.ListOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, s := range list.Items {
		for k, v := range s.Data {
			f.keys.addPEM("Secret "+s.Name+" "+k, v)
		}
	}
}

// faultyRound runs one sweep through the proxy with rules, then moves the
// clock past short retry windows.
func (f *faultRun) faultyRound(rules []harness.FaultRule, mutate ...func(*job.Options)) {
	f.t.Helper()
	f.proxy.SetRules(rules...)
	before := f.proxy.Stats().Total()
	rep, err := f.e.sweeper(f.capture(f.proxy.RESTConfig()), append([]func(*job.Options){f.options}, mutate...)...).Run(f.e.ctx())
	f.faultyRuns++
	injected := f.proxy.Stats().Total() - before
	if err != nil {
		// Only LISTs fail a run, and the only LIST fault injected is an
		// expired continue token, which a sweep restarts from.
		f.sweepErrors++
		f.t.Errorf("faulty sweep %d (%d faults injected) failed as a whole: %v", f.faultyRuns, injected, err)
	} else {
		f.t.Logf("faulty sweep %d: %d faults injected; %s", f.faultyRuns, injected, rep.Summary())
	}
	// Keys of Secrets left behind (a next-key Secret whose delete was
	// lost) before a later run removes them.
	f.snapshotKeys()
	f.e.advance(10 * time.Minute)
}

// converge runs clean sweeps, moving the clock 10 minutes before each, until
// one ends with nothing failed, waiting or deferred apart from the expected
// broken Certificates, at most maxConvergeRuns times.
func (f *faultRun) converge(broken ...string) {
	f.t.Helper()
	if f.proxy != nil {
		f.proxy.Disable()
	}
	for i := 1; i <= maxConvergeRuns; i++ {
		f.e.advance(10 * time.Minute)
		rep, err := f.e.sweeper(f.capture(f.e.cp.Config), f.options).Run(f.e.ctx())
		f.cleanRuns++
		if err != nil {
			f.t.Fatalf("clean sweep %d after the faults failed as a whole: %v", i, err)
		}
		f.t.Logf("clean sweep %d: %s", i, rep.Summary())
		var pending []string
		for _, o := range rep.Outcomes {
			if slices.Contains(broken, o.Name) {
				continue
			}
			if o.Result == job.ResultFailed || o.Result == job.ResultWaiting || o.Result == job.ResultDeferred {
				pending = append(pending, fmt.Sprintf("%s %s: %s: %s", o.Name, o.Result, o.Reason, o.Message))
			}
		}
		if len(pending) == 0 {
			f.converged = true
			return
		}
		if i == maxConvergeRuns {
			f.t.Errorf("not converged after %d clean sweeps; still pending:\n  %s", i, strings.Join(pending, "\n  "))
		}
	}
}

// finish converges, checks the invariants, that each of leaves was issued
// exactly once (one request, revision 1, Ready), that the run after writes
// nothing, and that no sweep logged key material; then logs the counts.
func (f *faultRun) finish(leaves []string, broken ...string) {
	f.t.Helper()
	f.converge(broken...)
	f.invariants = f.e.checkInvariantsWith(f.t, f.keys)

	crs, err := f.e.cm.CertmanagerV1().CertificateRequests(f.e.ns).List(f.e.ctx(), metav1.ListOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	perCert := map[string][]string{}
	for _, cr := range crs.Items {
		name := cr.Annotations[cmapi.CertificateNameKey]
		perCert[name] = append(perCert[name], cr.Name)
	}
	notOnce := 0
	for _, name := range leaves {
		c := f.e.certificate(name)
		// Every Certificate here was only ever written by certsweep, so
		// retry state in status must be the mirror of the annotations
		// ("Visible retries"); status alone is read as cert-manager's
		// issuance backoff (1h and more) that no annotation announces.
		if (c.Status.FailedIssuanceAttempts != nil || c.Status.LastFailureTime != nil) && c.Annotations[renew.AnnotationFailedAttempts] == "" {
			f.t.Errorf("Certificate %s: retry state in status (failedIssuanceAttempts=%v, lastFailureTime=%v) without the %s annotations: a hidden backoff",
				name, ptrValue(c.Status.FailedIssuanceAttempts), c.Status.LastFailureTime, "certsweep.io")
			f.hiddenBackoffs++
		}
		ready := condition(c, cmapi.CertificateConditionReady)
		switch {
		case ready == nil || ready.Status != cmmeta.ConditionTrue:
			f.t.Errorf("Certificate %s not Ready after converging: %s", name, conditionSummary(c.Status.Conditions))
			notOnce++
		case c.Status.Revision == nil || *c.Status.Revision != 1:
			f.t.Errorf("Certificate %s: status.revision = %v, want 1 (issued exactly once)", name, ptrValue(c.Status.Revision))
			notOnce++
		case len(perCert[name]) != 1 || perCert[name][0] != name+"-1":
			f.t.Errorf("Certificate %s: CertificateRequests %v, want exactly [%s-1]", name, perCert[name], name)
			notOnce++
		}
	}
	f.notOnce = notOnce

	cfg, counter := harness.WrapCounting(f.e.cp.Config)
	rep, err := f.e.sweeper(cfg, f.options).Run(f.e.ctx())
	f.cleanRuns++
	if err != nil {
		f.t.Fatalf("the run after converging failed: %v", err)
	}
	if n := counter.Writes(); n != 0 {
		f.quietWrites = n
		f.t.Errorf("the run after converging wrote %d times: %v (%s)", n, counter.Snapshot().Writes(), rep.Summary())
	}

	if f.t.Failed() {
		f.dumpFailures()
	}

	f.snapshotKeys()
	if leak := f.keys.leak(f.logs.String()); leak != "" {
		f.logLeaks++
		f.t.Errorf("sweep logs (%d bytes) carry private key material: %s", f.logs.Len(), leak)
	}
	f.report()
}

// dumpFailures logs, for each Certificate not Ready at revision 1 or
// carrying retry state, what the API server holds about it and every log
// line that names it, so a failure can be reported precisely.
func (f *faultRun) dumpFailures() {
	f.t.Helper()
	ctx := f.e.ctx()
	certs, err := f.e.cm.CertmanagerV1().Certificates(f.e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	crs, _ := f.e.cm.CertmanagerV1().CertificateRequests(f.e.ns).List(ctx, metav1.ListOptions{})
	events, _ := f.e.kube.CoreV1().Events(f.e.ns).List(ctx, metav1.ListOptions{})
	logs := strings.Split(f.logs.String(), "\n")
	for _, c := range certs.Items {
		ready := condition(&c, cmapi.CertificateConditionReady)
		fine := ready != nil && ready.Status == cmmeta.ConditionTrue && c.Status.Revision != nil && *c.Status.Revision == 1 && c.Annotations["certsweep.io/failed-attempts"] == "" &&
			c.Status.FailedIssuanceAttempts == nil && c.Status.LastFailureTime == nil && condition(&c, cmapi.CertificateConditionIssuing) == nil
		if fine || c.Name == "root" {
			continue
		}
		var b strings.Builder
		st := c.Status.DeepCopy()
		st.Conditions = nil
		stJSON, _ := json.Marshal(st)
		fmt.Fprintf(&b, "state of Certificate %s: annotations=%v status=%s", c.Name, c.Annotations, stJSON)
		for _, cond := range c.Status.Conditions {
			fmt.Fprintf(&b, "\n  condition %s=%s %s (since %s): %s", cond.Type, cond.Status, cond.Reason, cond.LastTransitionTime, cond.Message)
		}
		for _, cr := range crs.Items {
			if cr.Annotations[cmapi.CertificateNameKey] != c.Name {
				continue
			}
			fmt.Fprintf(&b, "\n  request %s revision=%s signed=%v", cr.Name, cr.Annotations[cmapi.CertificateRequestRevisionAnnotationKey], len(cr.Status.Certificate) > 0)
			for _, cond := range cr.Status.Conditions {
				fmt.Fprintf(&b, " %s=%s/%s", cond.Type, cond.Status, cond.Reason)
			}
		}
		if sec, err := f.e.kube.CoreV1().Secrets(f.e.ns).Get(ctx, c.Spec.SecretName, metav1.GetOptions{}); err == nil {
			fmt.Fprintf(&b, "\n  secret %s annotations=%v", sec.Name, sec.Annotations)
			if leaf, err := decodePair(sec); err != nil {
				fmt.Fprintf(&b, "\n  secret %s: %v", sec.Name, err)
			} else {
				for _, cr := range crs.Items {
					if cr.Annotations[cmapi.CertificateNameKey] == c.Name {
						fmt.Fprintf(&b, "\n  secret %s: valid pair; leaf is request %s's certificate: %v", sec.Name, cr.Name, bytes.Equal(firstCertDER(cr.Status.Certificate), leaf.Raw))
					}
				}
			}
		} else {
			fmt.Fprintf(&b, "\n  secret %s: %v", c.Spec.SecretName, err)
		}
		for _, ev := range events.Items {
			if ev.InvolvedObject.Name == c.Name {
				fmt.Fprintf(&b, "\n  event %s %s: %s", ev.Type, ev.Reason, ev.Message)
			}
		}
		for _, l := range logs {
			if strings.Contains(l, "/"+c.Name+"\"") || strings.Contains(l, "/"+c.Name+" ") || strings.Contains(l, c.Name+"-") {
				fmt.Fprintf(&b, "\n  log %s", l)
			}
		}
		f.t.Log(b.String())
	}
}

// report logs one RESULT line with the counts, the source of the table in
// docs/reliability.md.
func (f *faultRun) report() {
	f.t.Helper()
	faults := map[harness.FaultKind]int{}
	total := 0
	if f.proxy != nil {
		s := f.proxy.Stats()
		faults, total = s.Faults, s.Total()
	}
	var kinds []string
	for _, k := range slices.Sorted(maps.Keys(faults)) {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, faults[k]))
	}
	f.t.Logf("RESULT %s: runs=%d (faulty %d, clean %d) converged=%v faults=%d [%s] invariant-violations=%d not-exactly-once=%d hidden-backoffs=%d quiet-run-writes=%d keys-in-logs=%d (keys watched %d, log bytes %d) sweep-errors=%d",
		f.t.Name(), f.faultyRuns+f.cleanRuns, f.faultyRuns, f.cleanRuns, f.converged, total, strings.Join(kinds, " "),
		f.invariants, f.notOnce, f.hiddenBackoffs, f.quietWrites, f.logLeaks, f.keys.Len(), f.logs.Len(), f.sweepErrors)
}

// leafFixtures issues the CA with a clean run, then creates n ECDSA
// Certificates under it, named leaf-000.. .
func leafFixtures(e *env, n int) []string {
	e.withCA()
	e.run()
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("leaf-%03d", i)
		e.create(certificate(names[i], issuerRef("ca"), ecdsaKey))
	}
	return names
}

// TestFaultsResetAfterWrite: one write in five to Certificates,
// CertificateRequests and Secrets happens, but the connection is reset
// before the answer, so certsweep sees an error for a write that was made.
// Whatever it retries, each Certificate ends with one request for revision
// 1 and a Secret holding that request's certificate with its key.
func TestFaultsResetAfterWrite(t *testing.T) {
	e := newEnv(t)
	leaves := leafFixtures(e, scaled(40, 200))
	f := newFaultRun(t, e)
	f.proxy = harness.StartFaultProxy(t, e.cp)
	rule := harness.FaultRule{
		Kind:      harness.FaultResetAfterForward,
		Verbs:     writeVerbs,
		Resources: []string{"certificaterequests", "certificaterequests/status", "secrets", "certificates", "certificates/status"},
		Rate:      0.2,
	}
	for range scaled(3, 10) {
		f.faultyRound([]harness.FaultRule{rule})
	}
	f.finish(append(leaves, "root"))
}

// TestFaultsMixed: writes meet 429s, 500s, 503s, resets before the request
// reaches the API server, conflicts and a few answers held past the client
// timeout (the write made), and later LIST pages meet expired continue
// tokens.
func TestFaultsMixed(t *testing.T) {
	e := newEnv(t)
	leaves := leafFixtures(e, scaled(40, 200))
	f := newFaultRun(t, e)
	f.proxy = harness.StartFaultProxy(t, e.cp)
	const slowBudget = 3 // each costs the client timeout (seconds)
	for range scaled(3, 10) {
		rules := []harness.FaultRule{
			{Kind: harness.FaultTooManyRequests, Verbs: writeVerbs, Rate: 0.04, RetryAfter: 0},
			{Kind: harness.FaultInternalError, Verbs: writeVerbs, Rate: 0.04},
			{Kind: harness.FaultServiceUnavailable, Verbs: writeVerbs, Rate: 0.04},
			{Kind: harness.FaultResetBeforeForward, Verbs: writeVerbs, Rate: 0.04},
			{Kind: harness.FaultConflict, Verbs: writeVerbs, Rate: 0.04},
			// A LIST is restarted at most three times before the run gives
			// up, so at most three per sweep.
			{Kind: harness.FaultExpiredContinue, Verbs: []string{harness.VerbList}, Rate: 0.25, Max: 3},
		}
		if left := slowBudget - f.proxy.Stats().Faults[harness.FaultSlow]; left > 0 {
			rules = append(rules, harness.FaultRule{Kind: harness.FaultSlow, Verbs: writeVerbs, Rate: 0.03, Max: left})
		}
		f.faultyRound(rules, func(o *job.Options) { o.PageSize = 10 })
	}
	f.finish(append(leaves, "root"))
}

// TestAPIServerRestartMidSweep restarts the API server of a control plane of
// its own while a sweep is issuing, once the sweep has made its first
// CertificateRequest. The sweep may fail; the runs after must converge.
func TestAPIServerRestartMidSweep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cp, err := harness.Start(ctx, harness.Options{})
	if err != nil {
		t.Fatalf("start control plane: %v", err)
	}
	t.Cleanup(cp.Stop)
	e := newEnvOn(t, cp)
	e.withCA()
	e.run()
	f := newFaultRun(t, e)

	rounds, batch := scaled(1, 4), scaled(60, 50)
	var leaves []string
	midSweep := 0
	for round := range rounds {
		var names []string
		for i := range batch {
			name := fmt.Sprintf("leaf-%d-%03d", round, i)
			names = append(names, name)
			e.create(certificate(name, issuerRef("ca"), ecdsaKey))
		}
		leaves = append(leaves, names...)

		// A short pause on each write keeps the sweep busy long enough for
		// the restart to land in the middle of it.
		cfg := f.capture(cp.Config)
		cfg.Timeout = 10 * time.Second
		cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
			return &slowWrites{next: rt, delay: 15 * time.Millisecond}
		})
		sw := e.sweeper(cfg, f.options)
		sweepCtx, sweepCancel := context.WithTimeout(ctx, 2*time.Minute)
		type result struct {
			rep *job.Report
			err error
		}
		done := make(chan result, 1)
		go func() {
			rep, err := sw.Run(sweepCtx)
			done <- result{rep, err}
		}()

		// Bounded wait for the first request of this round (or the end of
		// the sweep); not an assertion.
		made := 0
		deadline := time.Now().Add(time.Minute)
		for made == 0 && time.Now().Before(deadline) && len(done) == 0 {
			made = len(requestsFor(ctx, e, names))
			if made == 0 {
				time.Sleep(10 * time.Millisecond)
			}
		}
		finished := len(done) > 0
		t.Logf("round %d: restarting the API server with %d CertificateRequests made (sweep already over: %v)", round, made, finished)
		cp.RestartAPIServer(t)
		r := <-done
		sweepCancel()
		f.faultyRuns++
		if !finished {
			midSweep++
		}
		after := len(requestsFor(ctx, e, names))
		if r.err != nil {
			f.sweepErrors++
			t.Logf("round %d: the interrupted sweep failed (allowed): %v; %d of %d requests made", round, r.err, after, batch)
		} else {
			t.Logf("round %d: the interrupted sweep: %s; %d of %d requests made", round, r.rep.Summary(), after, batch)
		}
		f.snapshotKeys()
		e.advance(10 * time.Minute)
	}
	f.finish(append(leaves, "root"))
	t.Logf("RESULT %s: restarts=%d (mid-sweep %d)", t.Name(), rounds, midSweep)
}

// TestNoKeyInLogs runs faulty sweeps with a JSON log at debug level over
// Certificates that take every path where a key is handled: a fresh
// issuance, a Secret whose key does not match its certificate, a Secret
// whose key does not parse, and a CA issuer whose CA Secret is a mismatched
// pair (a failure on every run). No log line may carry a private key.
func TestNoKeyInLogs(t *testing.T) {
	e := newEnv(t)
	leaves := leafFixtures(e, scaled(12, 60))
	f := newFaultRun(t, e)

	label := map[string]string{cmapi.PartOfCertManagerControllerLabelKey: "true"}
	keyA, _ := selfSignedPEM(t, "mismatch.example.test")
	_, certB := selfSignedPEM(t, "mismatch.example.test")
	e.create(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "mismatch-tls", Labels: label},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSPrivateKeyKey: keyA, corev1.TLSCertKey: certB},
	})
	e.create(certificate("mismatch", issuerRef("ca"), ecdsaKey))

	e.create(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "badkey-tls", Labels: label},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSPrivateKeyKey: mislabelledKeyPEM(t), corev1.TLSCertKey: certB},
	})
	e.create(certificate("badkey", issuerRef("ca"), ecdsaKey))

	caKey, _ := selfSignedPEM(t, "bad ca")
	_, caCert := selfSignedCAPEM(t, "bad ca")
	e.create(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "badca-secret"},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSPrivateKeyKey: caKey, corev1.TLSCertKey: caCert},
	})
	e.create(caIssuer("badca", "badca-secret"))
	e.create(certificate("badca-leaf", issuerRef("badca"), ecdsaKey))

	f.snapshotKeys() // the keys about to be replaced
	f.proxy = harness.StartFaultProxy(t, e.cp)
	for range scaled(2, 10) {
		f.faultyRound([]harness.FaultRule{
			{Kind: harness.FaultInternalError, Verbs: writeVerbs, Rate: 0.1},
			{Kind: harness.FaultConflict, Verbs: writeVerbs, Rate: 0.1},
			{Kind: harness.FaultResetAfterForward, Verbs: writeVerbs, Rate: 0.1},
			{Kind: harness.FaultInternalError, Verbs: []string{harness.VerbGet}, Resources: []string{"secrets"}, Rate: 0.2},
		})
	}
	f.finish(append(leaves, "root", "mismatch", "badkey"), "badca-leaf")

	logs := f.logs.String()
	if strings.Contains(logs, "PRIVATE KEY") {
		t.Errorf("the sweep log says PRIVATE KEY")
	}
	lines := strings.Count(logs, "\n")
	t.Logf("RESULT %s: %d log lines, %d bytes, checked against %d private keys", t.Name(), lines, len(logs), f.keys.Len())
	if lines == 0 {
		t.Errorf("the sweeps logged nothing: the check would be vacuous")
	}
	// The failing Certificate's failure must be in the log, so the check
	// covered a path where a key was handled and refused.
	if !strings.Contains(logs, "badca") {
		t.Errorf("the log never mentions the failing CA issuer; logged:\n%s", logs)
	}
}

func ptrValue[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// newEnvOn is newEnv on a control plane the test started itself.
func newEnvOn(t *testing.T, cp *harness.ControlPlane) *env {
	t.Helper()
	e := &env{t: t, cp: cp, ns: "faults-" + strings.ToLower(rand.Text()[:6])}
	e.kube, e.cm = clientsFor(t, cp.Config)
	now := time.Now()
	e.now.Store(&now)
	if _, err := e.kube.CoreV1().Namespaces().Create(e.ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return e
}

// requestsFor lists the CertificateRequests of names; errors (the API
// server restarting) count as none.
func requestsFor(ctx context.Context, e *env, names []string) []string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	list, err := e.cm.CertmanagerV1().CertificateRequests(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	var out []string
	for _, cr := range list.Items {
		if slices.Contains(names, cr.Annotations[cmapi.CertificateNameKey]) {
			out = append(out, cr.Name)
		}
	}
	return out
}

// mislabelledKeyPEM is a real PKCS#8 key under an "EC PRIVATE KEY" header,
// so it does not parse as what it claims to be.
func mislabelledKeyPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

// selfSignedCAPEM is selfSignedPEM with isCA set, for a CA Secret.
func selfSignedCAPEM(t *testing.T, commonName string) (keyPEM, certPEM []byte) {
	t.Helper()
	return selfSignedPair(t, commonName, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), true)
}

// keyCapture remembers the private keys in Secret write requests.
type keyCapture struct {
	next http.RoundTripper
	keys *keyMaterial
}

func (k *keyCapture) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Method != http.MethodGet && strings.Contains(req.URL.Path, "/secrets") {
		body, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		source := req.Method + " " + req.URL.Path
		k.keys.addPEM(source, body) // protobuf carries the PEM as it is
		var obj struct {
			Data       map[string]string `json:"data"`
			StringData map[string]string `json:"stringData"`
		}
		if json.Unmarshal(body, &obj) == nil {
			for _, v := range obj.Data {
				if raw, err := base64.StdEncoding.DecodeString(v); err == nil {
					k.keys.addPEM(source, raw)
				}
			}
			for _, v := range obj.StringData {
				k.keys.addPEM(source, []byte(v))
			}
		}
	}
	return k.next.RoundTrip(req)
}

// WrappedRoundTripper lets client-go reach the transport below (to cancel
// a timed-out request).
func (k *keyCapture) WrappedRoundTripper() http.RoundTripper { return k.next }

// slowWrites pauses briefly before each write request.
type slowWrites struct {
	next  http.RoundTripper
	delay time.Duration
}

func (s *slowWrites) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet {
		t := time.NewTimer(s.delay)
		select {
		case <-t.C:
		case <-req.Context().Done():
			t.Stop()
		}
	}
	return s.next.RoundTrip(req)
}

func (s *slowWrites) WrappedRoundTripper() http.RoundTripper { return s.next }

// syncBuffer is a bytes.Buffer safe for the concurrent writers of a sweep.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}
