package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/test/harness"
)

// exposition is a parsed /metrics page.
type exposition map[string]*dto.MetricFamily

func parseExposition(t *testing.T, text string) exposition {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, text)
	}
	return families
}

// samples returns the values of name's series whose labels include want.
func (x exposition) samples(name string, want map[string]string) []float64 {
	var out []float64
	mf := x[name]
	if mf == nil {
		return nil
	}
	for _, m := range mf.GetMetric() {
		if !hasLabels(m, want) {
			continue
		}
		switch {
		case m.GetGauge() != nil:
			out = append(out, m.GetGauge().GetValue())
		case m.GetCounter() != nil:
			out = append(out, m.GetCounter().GetValue())
		case m.GetUntyped() != nil:
			out = append(out, m.GetUntyped().GetValue())
		}
	}
	return out
}

// value is the one series of name with labels want; the test fails when
// there is none or more than one.
func (x exposition) value(t *testing.T, name string, want map[string]string) float64 {
	t.Helper()
	v := x.samples(name, want)
	if len(v) != 1 {
		t.Fatalf("%s%v: %d series, want 1", name, want, len(v))
	}
	return v[0]
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	have := map[string]string{}
	for _, l := range m.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// certificateLabels are the labels cert-manager puts on a Certificate's
// series: its name and namespace, and spec.issuerRef as written.
func certificateLabels(c *cmapi.Certificate) map[string]string {
	return map[string]string{
		"name": c.Name, "namespace": c.Namespace,
		"issuer_name": c.Spec.IssuerRef.Name, "issuer_kind": c.Spec.IssuerRef.Kind, "issuer_group": c.Spec.IssuerRef.Group,
	}
}

func withLabels(base map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func unixOrZero(t *metav1.Time) float64 {
	if t == nil {
		return 0
	}
	return float64(t.Unix())
}

// requireCertificateSeries checks x against c as the API server has it,
// the way cert-manager's collector reports a Certificate: ready_status 1
// on the Ready condition's status (Unknown when none) and 0 on the other
// two, and the four timestamps (0 while not set). extra labels (job,
// shard) must be on every series.
func requireCertificateSeries(t *testing.T, x exposition, c *cmapi.Certificate, extra ...string) {
	t.Helper()
	labels := withLabels(certificateLabels(c), extra...)
	ready := cmmeta.ConditionUnknown
	if cond := condition(c, cmapi.CertificateConditionReady); cond != nil {
		ready = cond.Status
	}
	for _, cond := range []cmmeta.ConditionStatus{cmmeta.ConditionTrue, cmmeta.ConditionFalse, cmmeta.ConditionUnknown} {
		want := 0.0
		if cond == ready {
			want = 1
		}
		if got := x.value(t, "certmanager_certificate_ready_status", withLabels(labels, "condition", string(cond))); got != want {
			t.Errorf("%s ready_status{condition=%q} = %v, want %v (Ready is %s)", c.Name, cond, got, want, ready)
		}
	}
	for name, want := range map[string]float64{
		"certmanager_certificate_expiration_timestamp_seconds": unixOrZero(c.Status.NotAfter),
		"certmanager_certificate_not_after_timestamp_seconds":  unixOrZero(c.Status.NotAfter),
		"certmanager_certificate_not_before_timestamp_seconds": unixOrZero(c.Status.NotBefore),
		"certmanager_certificate_renewal_timestamp_seconds":    unixOrZero(c.Status.RenewalTime),
	} {
		if got := x.value(t, name, labels); got != want {
			t.Errorf("%s %s = %v, want %v", c.Name, name, got, want)
		}
	}
}

// requireNoCertificateSeries checks that no cert-manager series names the
// Certificate.
func requireNoCertificateSeries(t *testing.T, x exposition, namespace, name string) {
	t.Helper()
	for family := range x {
		if !strings.HasPrefix(family, "certmanager_certificate_") {
			continue
		}
		if n := len(x.samples(family, map[string]string{"namespace": namespace, "name": name})); n != 0 {
			t.Errorf("%s still has %d series for the deleted Certificate %s", family, n, name)
		}
	}
}

// TestMetricsPushedToPushgateway runs `certsweep run` as the CronJob does,
// with CERTSWEEP_PUSHGATEWAY_URL set, against a real Pushgateway: the
// Pushgateway then shows cert-manager's series for a Ready and a
// not-ready Certificate with cert-manager's labels and the values of
// their status, and certsweep's own. A Certificate deleted before the next
// run has no series after it: each push replaces the previous one.
func TestMetricsPushedToPushgateway(t *testing.T) {
	pg := harness.StartPushgateway(t)
	e := newEnv(t)
	bin := certsweepBinary(t)
	e.create(selfSignedIssuer("ss"))
	e.create(certificate("good", cmmeta.IssuerReference{Name: "ss", Kind: "Issuer", Group: "cert-manager.io"}, ecdsaKey))
	e.create(certificate("orphan", issuerRef("nowhere"), ecdsaKey))
	env := e.podEnv(e.cp.Config, "CERTSWEEP_PUSHGATEWAY_URL="+pg.URL())

	before := time.Now().Unix()
	code, stdout, stderr := runBinary(t, bin, env, "run")
	after := time.Now().Unix()
	if code != 0 || !regexp.MustCompile(`(?m)^scanned=2 issued=1 `).MatchString(stdout) {
		t.Fatalf("run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if strings.Contains(stderr, "Pushgateway") {
		t.Fatalf("a push that worked was logged as a problem: %s", stderr)
	}
	good := e.requireReady("good", 1)
	orphan := e.certificate("orphan")
	if r := condition(orphan, cmapi.CertificateConditionReady); r != nil && r.Status == cmmeta.ConditionTrue {
		t.Fatalf("orphan is Ready: %+v", orphan.Status.Conditions)
	}

	x := parseExposition(t, pg.Metrics(t))
	group := []string{"job", "certsweep", "instance", ""}
	requireCertificateSeries(t, x, good, group...)
	requireCertificateSeries(t, x, orphan, group...)
	if got := x.value(t, "certmanager_certificate_ready_status", withLabels(certificateLabels(orphan), "condition", "True")); got != 0 {
		t.Errorf("orphan ready_status{condition=True} = %v", got)
	}
	for result, want := range map[string]float64{"scanned": 2, "issued": 1, "rewritten": 0, "deferred": 0} {
		if got := x.value(t, "certsweep_sweep_certificates", map[string]string{"job": "certsweep", "result": result}); got != want {
			t.Errorf("certsweep_sweep_certificates{result=%q} = %v, want %v", result, got, want)
		}
	}
	failedOrWaiting := x.value(t, "certsweep_sweep_certificates", map[string]string{"result": "failed"}) +
		x.value(t, "certsweep_sweep_certificates", map[string]string{"result": "waiting"})
	if failedOrWaiting != 1 {
		t.Errorf("failed + waiting = %v, want 1 (the orphan)", failedOrWaiting)
	}
	if v := x.value(t, "certsweep_last_success_timestamp_seconds", map[string]string{"job": "certsweep"}); v < float64(before) || v > float64(after) {
		t.Errorf("last success = %v, want within the run [%d, %d]", v, before, after)
	}
	if v := x.value(t, "certsweep_sweep_duration_seconds", nil); v <= 0 {
		t.Errorf("sweep duration = %v", v)
	}
	for _, verb := range []string{"list", "create"} {
		if v := x.value(t, "certsweep_sweep_api_requests_total", map[string]string{"verb": verb}); v < 1 {
			t.Errorf("api requests{verb=%q} = %v, want some", verb, v)
		}
	}
	for _, clock := range []string{"certmanager_clock_time_seconds", "certmanager_clock_time_seconds_gauge"} {
		if v := x.value(t, clock, map[string]string{"job": "certsweep"}); v < float64(before) || v > float64(after) {
			t.Errorf("%s = %v, want within the run [%d, %d]", clock, v, before, after)
		}
	}

	// Delete the orphan; the next run's push replaces the group, so its
	// series are gone and the others stay.
	if err := e.cm.CertmanagerV1().Certificates(e.ns).Delete(e.ctx(), "orphan", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runBinary(t, bin, env, "run")
	if code != 0 || !regexp.MustCompile(`(?m)^scanned=1 issued=0 `).MatchString(stdout) {
		t.Fatalf("second run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	x = parseExposition(t, pg.Metrics(t))
	requireNoCertificateSeries(t, x, e.ns, "orphan")
	requireCertificateSeries(t, x, e.certificate("good"), group...)
	if got := x.value(t, "certsweep_sweep_certificates", map[string]string{"result": "scanned"}); got != 1 {
		t.Errorf("second run scanned = %v, want 1", got)
	}

	// With none left, none of cert-manager's series are left either: a
	// push replaces the whole group, not only the families it carries.
	if err := e.cm.CertmanagerV1().Certificates(e.ns).Delete(e.ctx(), "good", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr = runBinary(t, bin, env, "run"); code != 0 {
		t.Fatalf("third run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	text := pg.Metrics(t)
	if testing.Verbose() {
		t.Logf("the Pushgateway after the last run:\n%s", text)
	}
	x = parseExposition(t, text)
	for family := range x {
		if strings.HasPrefix(family, "certmanager_certificate_") {
			t.Errorf("%s is still on the Pushgateway with no Certificate left", family)
		}
	}
	if got := x.value(t, "certsweep_sweep_certificates", map[string]string{"result": "scanned"}); got != 0 {
		t.Errorf("third run scanned = %v, want 0", got)
	}
}

// TestMetricsPushPerShard: with CERTSWEEP_SHARDS, each shard replaces its
// own group (shard="0", shard="1"), so together they hold every
// Certificate once, each under the shard that handles it.
func TestMetricsPushPerShard(t *testing.T) {
	pg := harness.StartPushgateway(t)
	e := newEnv(t)
	bin := certsweepBinary(t)
	e.create(selfSignedIssuer("ss"))
	names := []string{"a", "b", "c", "d", "e"}
	for _, n := range names {
		e.create(certificate(n, issuerRef("ss"), ecdsaKey))
	}
	for shard := range 2 {
		env := e.podEnv(e.cp.Config, "CERTSWEEP_PUSHGATEWAY_URL="+pg.URL(), "CERTSWEEP_SHARDS=2", "JOB_COMPLETION_INDEX="+strconv.Itoa(shard))
		if code, stdout, stderr := runBinary(t, bin, env, "run"); code != 0 {
			t.Fatalf("shard %d: exit %d, stdout %q, stderr %q", shard, code, stdout, stderr)
		}
	}
	x := parseExposition(t, pg.Metrics(t))
	scanned := 0.0
	for shard := range 2 {
		scanned += x.value(t, "certsweep_sweep_certificates", map[string]string{"result": "scanned", "shard": strconv.Itoa(shard)})
	}
	if scanned != float64(len(names)) {
		t.Errorf("scanned over both shards = %v, want %d", scanned, len(names))
	}
	for _, n := range names {
		c := e.requireReady(n, 1)
		shard := strconv.Itoa(job.ShardOf(e.ns, n, 2))
		requireCertificateSeries(t, x, c, "job", "certsweep", "shard", shard)
		if all := x.samples("certmanager_certificate_ready_status", certificateLabels(c)); len(all) != 3 {
			t.Errorf("%s has %d ready_status series over both shards, want 3", n, len(all))
		}
	}
}

// TestMetricsPushFailureKeepsTheRun: with nothing listening at the
// Pushgateway's address the run still issues, prints its summary and
// exits 0; the failed push is one log line.
func TestMetricsPushFailureKeepsTheRun(t *testing.T) {
	e := newEnv(t)
	bin := certsweepBinary(t)
	e.create(selfSignedIssuer("ss"))
	e.create(certificate("site", issuerRef("ss"), ecdsaKey))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()

	code, stdout, stderr := runBinary(t, bin, e.podEnv(e.cp.Config, "CERTSWEEP_PUSHGATEWAY_URL="+down), "run")
	if code != 0 || !regexp.MustCompile(`(?m)^scanned=1 issued=1 failed=0 `).MatchString(stdout) {
		t.Fatalf("run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	e.requireReady("site", 1)
	var pushLines []string
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if strings.Contains(line, "Pushgateway") {
			pushLines = append(pushLines, line)
		}
	}
	if len(pushLines) != 1 || !strings.Contains(pushLines[0], `"level":"WARN"`) || strings.Contains(stderr, "certsweep: error:") {
		t.Fatalf("want one WARN line about the push and no error, got stderr:\n%s", stderr)
	}

	// A URL that is not one is bad configuration: exit 2, before any work.
	code, _, stderr = runBinary(t, bin, e.podEnv(e.cp.Config, "CERTSWEEP_PUSHGATEWAY_URL=pushgateway:9091"), "run")
	if code != 2 || !oneErrorLine(stderr) || !strings.Contains(stderr, "CERTSWEEP_PUSHGATEWAY_URL") {
		t.Fatalf("bad URL: exit %d, stderr %q", code, stderr)
	}
}

// TestServeMetrics: `serve` answers /metrics with cert-manager's series
// from one LIST per CERTSWEEP_METRICS_INTERVAL; scraping never sweeps or
// writes (a Certificate due for issuance stays unissued), and a sweep
// (a ping) updates the series and records its success.
func TestServeMetrics(t *testing.T) {
	e := newEnv(t)
	bin := certsweepBinary(t)
	e.create(selfSignedIssuer("ss"))
	e.create(certificate("done", issuerRef("ss"), ecdsaKey))
	e.run()
	e.create(certificate("pending", issuerRef("ss"), ecdsaKey))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd, _, _ := startBinary(t, bin, e.podEnv(e.cp.Config, fmt.Sprintf("PORT=%d", port), "CERTSWEEP_REQUEST_TIMEOUT=60s", "CERTSWEEP_METRICS_INTERVAL=1h"), "serve")
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	scrape := func() exposition {
		t.Helper()
		var body string
		err := wait.PollUntilContextCancel(e.ctx(), 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				var errno syscall.Errno
				if errors.As(err, &errno) && errno == syscall.ECONNREFUSED {
					return false, nil // not listening yet
				}
				return false, err
			}
			defer resp.Body.Close()
			data, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK {
				return false, fmt.Errorf("GET /metrics: %s %v", resp.Status, err)
			}
			body = string(data)
			return true, nil
		})
		if err != nil {
			t.Fatalf("scraping serve: %v", err)
		}
		return parseExposition(t, body)
	}
	writes := func(x exposition) float64 {
		sum := 0.0
		for _, verb := range []string{"create", "update", "patch", "apply", "delete", "deletecollection"} {
			for _, v := range x.samples("certsweep_sweep_api_requests_total", map[string]string{"verb": verb}) {
				sum += v
			}
		}
		return sum
	}

	first := scrape()
	requireCertificateSeries(t, first, e.certificate("done"))
	requireCertificateSeries(t, first, e.certificate("pending"))
	lists := first.value(t, "certsweep_sweep_api_requests_total", map[string]string{"verb": "list"})
	if lists < 1 {
		t.Fatalf("the first scrape listed nothing")
	}
	if len(first.samples("certsweep_last_success_timestamp_seconds", nil)) != 0 {
		t.Errorf("a last success before any sweep")
	}
	second := scrape()
	if got := second.value(t, "certsweep_sweep_api_requests_total", map[string]string{"verb": "list"}); got != lists {
		t.Errorf("a second scrape within the interval listed again: %v LISTs, want %v", got, lists)
	}
	if w := writes(second); w != 0 {
		t.Errorf("scraping wrote %v times", w)
	}
	e.requireNotIssued("pending")

	// A ping sweeps; the sweep's Certificates replace the read.
	if code := send(t, url, "binary", pingEvent()); code != http.StatusOK {
		t.Fatalf("ping reply = %d", code)
	}
	pending := e.requireReady("pending", 1)
	third := scrape()
	requireCertificateSeries(t, third, pending)
	if v := third.value(t, "certsweep_sweep_certificates", map[string]string{"result": "issued"}); v != 1 {
		t.Errorf("issued = %v, want 1", v)
	}
	if len(third.samples("certsweep_last_success_timestamp_seconds", nil)) != 1 {
		t.Errorf("no last success after a sweep")
	}
}

// TestServePushesEachPingSweep: with CERTSWEEP_PUSHGATEWAY_URL set, `serve`
// pushes after each ping's sweep, as `run` does, so the series outlive a
// Knative Service scaled to zero: they are still on the Pushgateway after
// the process has exited. A Certificate deleted before the next ping has
// no series after it.
func TestServePushesEachPingSweep(t *testing.T) {
	pg := harness.StartPushgateway(t)
	e := newEnv(t)
	bin := certsweepBinary(t)
	e.create(selfSignedIssuer("ss"))
	e.create(certificate("kept", issuerRef("ss"), ecdsaKey))
	e.create(certificate("dropped", issuerRef("ss"), ecdsaKey))
	cmd, url := e.startServeBinary(bin, "CERTSWEEP_PUSHGATEWAY_URL="+pg.URL())

	// The push happens before the reply, so the Pushgateway has it now.
	if code := send(t, url, "binary", pingEvent()); code != http.StatusOK {
		t.Fatalf("ping reply = %d", code)
	}
	x := parseExposition(t, pg.Metrics(t))
	group := []string{"job", "certsweep", "instance", ""}
	requireCertificateSeries(t, x, e.requireReady("kept", 1), group...)
	requireCertificateSeries(t, x, e.requireReady("dropped", 1), group...)
	if got := x.value(t, "certsweep_sweep_certificates", map[string]string{"result": "issued"}); got != 2 {
		t.Errorf("issued = %v, want 2", got)
	}

	// The next ping's push replaces the group.
	if err := e.cm.CertmanagerV1().Certificates(e.ns).Delete(e.ctx(), "dropped", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if code := send(t, url, "binary", pingEvent()); code != http.StatusOK {
		t.Fatalf("second ping reply = %d", code)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v, want exit 0", err)
	}
	// Scaled to zero: the series are still there to alert on.
	x = parseExposition(t, pg.Metrics(t))
	requireNoCertificateSeries(t, x, e.ns, "dropped")
	requireCertificateSeries(t, x, e.certificate("kept"), group...)
	if got := x.value(t, "certsweep_sweep_certificates", map[string]string{"result": "scanned"}); got != 1 {
		t.Errorf("second ping scanned = %v, want 1", got)
	}
}

// issuerReadyOf is the status the ready_status series carry for an
// Issuer's or ClusterIssuer's conditions: the Ready condition's, Unknown
// without one.
func issuerReadyOf(conds []cmapi.IssuerCondition) cmmeta.ConditionStatus {
	for _, c := range conds {
		if c.Type == cmapi.IssuerConditionReady {
			return c.Status
		}
	}
	return cmmeta.ConditionUnknown
}

// requireReadySeries checks the three ready_status series of family with
// labels base: 1 on status, 0 on the other two.
func requireReadySeries(t *testing.T, x exposition, family string, base map[string]string, status cmmeta.ConditionStatus) {
	t.Helper()
	for _, cond := range []cmmeta.ConditionStatus{cmmeta.ConditionTrue, cmmeta.ConditionFalse, cmmeta.ConditionUnknown} {
		want := 0.0
		if cond == status {
			want = 1
		}
		if got := x.value(t, family, withLabels(base, "condition", string(cond))); got != want {
			t.Errorf("%s%v{condition=%s} = %v, want %v", family, base, cond, got, want)
		}
	}
}

// requireIssuerSeriesAsInTheAPI checks the ready_status series of every
// Issuer of the namespace against the API server's objects.
func (e *env) requireIssuerSeriesAsInTheAPI(x exposition) {
	e.t.Helper()
	issuers, err := e.cm.CertmanagerV1().Issuers(e.ns).List(e.ctx(), metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(issuers.Items) == 0 {
		e.t.Fatal("no Issuers to check")
	}
	for _, is := range issuers.Items {
		requireReadySeries(e.t, x, "certmanager_issuer_ready_status", map[string]string{"name": is.Name, "namespace": e.ns}, issuerReadyOf(is.Status.Conditions))
	}
	if n := len(x.samples("certmanager_issuer_ready_status", map[string]string{"namespace": e.ns})); n != 3*len(issuers.Items) {
		e.t.Errorf("%d issuer ready_status series in %s, want 3 for each of %d Issuers", n, e.ns, len(issuers.Items))
	}
}

// requireChallengeSeriesAsInTheAPI checks the eight challenge_status
// series of a Challenge against the API server's object.
func (e *env) requireChallengeSeriesAsInTheAPI(x exposition, name string) {
	e.t.Helper()
	ch, err := e.cm.AcmeV1().Challenges(e.ns).Get(e.ctx(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	base := map[string]string{"name": name, "namespace": e.ns, "domain": ch.Spec.DNSName, "type": string(ch.Spec.Type),
		"reason": ch.Status.Reason, "processing": strconv.FormatBool(ch.Status.Processing)}
	for _, state := range []cmacme.State{cmacme.Ready, cmacme.Valid, cmacme.Errored, cmacme.Expired, cmacme.Invalid, cmacme.Processing, cmacme.Unknown, cmacme.Pending} {
		want := 0.0
		if state == ch.Status.State {
			want = 1
		}
		if got := x.value(e.t, "certmanager_certificate_challenge_status", withLabels(base, "status", string(state))); got != want {
			e.t.Errorf("challenge_status{name=%s,status=%q} = %v, want %v", name, state, got, want)
		}
	}
	if n := len(x.samples("certmanager_certificate_challenge_status", map[string]string{"name": name})); n != 8 {
		e.t.Errorf("%d challenge_status series for %s, want 8", n, name)
	}
}

// acmeRequests sums certmanager_http_acme_client_request_count, and the
// sample count of the duration summary, over the series with labels want.
func (x exposition) acmeRequests(want map[string]string) (count, observed float64) {
	if mf := x["certmanager_http_acme_client_request_count"]; mf != nil {
		for _, m := range mf.GetMetric() {
			if hasLabels(m, want) {
				count += m.GetCounter().GetValue()
			}
		}
	}
	if mf := x["certmanager_http_acme_client_request_duration_seconds"]; mf != nil {
		for _, m := range mf.GetMetric() {
			if hasLabels(m, want) {
				observed += float64(m.GetSummary().GetSampleCount())
			}
		}
	}
	return count, observed
}

// TestMetricsIssuerAndACMESeries: cert-manager's issuer and ACME series,
// as its collectors and ACME client show them. `run` with a Pushgateway,
// limited to one namespace, issues through Pebble (DNS-01), then pushes:
// three ready_status series per Issuer as the API server has them
// (True, False, Unknown), none for ClusterIssuers (cert-manager limited to
// a namespace disables them), eight challenge_status series for a
// Challenge that exists and none for the one the issuance cleaned up, and
// the ACME client's requests counted per action (one new order, one
// finalize). `serve` over all namespaces then shows the same issuer and
// Challenge series on /metrics, and the ClusterIssuers'.
func TestMetricsIssuerAndACMESeries(t *testing.T) {
	pg := harness.StartPushgateway(t)
	bin := certsweepBinary(t)
	a := newACME(t)
	// An Issuer whose Ready is False and one with no condition, both
	// unused, so no sweep changes them.
	a.create(selfSignedIssuer("idle-none"))
	a.create(selfSignedIssuer("idle-false"))
	idle, err := a.cm.CertmanagerV1().Issuers(a.ns).Get(a.ctx(), "idle-false", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	idle.Status.Conditions = []cmapi.IssuerCondition{{Type: cmapi.IssuerConditionReady, Status: cmmeta.ConditionFalse, Reason: "Testing", Message: "set by the test"}}
	if _, err := a.cm.CertmanagerV1().Issuers(a.ns).UpdateStatus(a.ctx(), idle, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	clusterIssuer := "metrics-" + a.ns
	a.create(&cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: clusterIssuer}, Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}}}})
	// A Challenge that no order of this run touches, in the middle of
	// being solved.
	stray, err := a.cm.AcmeV1().Challenges(a.ns).Create(a.ctx(), &cmacme.Challenge{
		ObjectMeta: metav1.ObjectMeta{Name: "stray-1-2-3"},
		Spec: cmacme.ChallengeSpec{
			URL: "https://ca.example/chal/1", AuthorizationURL: "https://ca.example/authz/1", DNSName: "stray.example.test",
			Type: cmacme.ACMEChallengeTypeDNS01, Token: "token", Key: "key",
			Solver:    cmacme.ACMEChallengeSolver{DNS01: &cmacme.ACMEChallengeSolverDNS01{Webhook: &cmacme.ACMEIssuerDNS01ProviderWebhook{GroupName: "example.test", SolverName: "none"}}},
			IssuerRef: cmmeta.IssuerReference{Name: "elsewhere", Kind: "Issuer", Group: "cert-manager.io"},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stray.Status = cmacme.ChallengeStatus{State: cmacme.Pending, Processing: true, Presented: true, Reason: "Waiting for DNS-01 challenge propagation"}
	if _, err := a.cm.AcmeV1().Challenges(a.ns).UpdateStatus(a.ctx(), stray, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	a.create(acmeCertificate("web", "web.example.test"))

	env := a.podEnv(a.cp.Config, "CERTSWEEP_PUSHGATEWAY_URL="+pg.URL(), "CERTSWEEP_ACME_WAIT=45s",
		"CERTSWEEP_DNS01_RECURSIVE_NAMESERVERS="+a.dns.Addr(), "CERTSWEEP_DNS01_RECURSIVE_NAMESERVERS_ONLY=true")
	code, stdout, stderr := runBinary(t, bin, env, "run")
	if code != 0 || !regexp.MustCompile(`(?m)^scanned=1 issued=1 `).MatchString(stdout) {
		t.Fatalf("run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if strings.Contains(stderr, "could not list") || strings.Contains(stderr, "Pushgateway") {
		t.Fatalf("the push or its LISTs failed: %s", stderr)
	}
	a.requireReady("web", 1)
	text := pg.Metrics(t)
	if testing.Verbose() {
		t.Logf("the Pushgateway after the run:\n%s", text)
	}
	x := parseExposition(t, text)
	a.requireIssuerSeriesAsInTheAPI(x)
	requireReadySeries(t, x, "certmanager_issuer_ready_status", map[string]string{"name": "acme", "namespace": a.ns}, cmmeta.ConditionTrue)
	requireReadySeries(t, x, "certmanager_issuer_ready_status", map[string]string{"name": "idle-false", "namespace": a.ns}, cmmeta.ConditionFalse)
	requireReadySeries(t, x, "certmanager_issuer_ready_status", map[string]string{"name": "idle-none", "namespace": a.ns}, cmmeta.ConditionUnknown)
	if n := len(x.samples("certmanager_clusterissuer_ready_status", nil)); n != 0 {
		t.Errorf("a run limited to %s pushed %d clusterissuer series, want none", a.ns, n)
	}
	a.requireChallengeSeriesAsInTheAPI(x, stray.Name)
	if v := x.samples("certmanager_certificate_challenge_status", map[string]string{"domain": "web.example.test"}); len(v) != 0 {
		t.Errorf("the issuance's Challenge is gone, yet it has %d series", len(v))
	}

	// The ACME client's requests, by cert-manager's actions, at Pebble.
	dir, err := url.Parse(a.pebble.DirectoryURL())
	if err != nil {
		t.Fatal(err)
	}
	at := func(action, method, status string) map[string]string {
		m := map[string]string{"job": "certsweep", "scheme": "https", "host": dir.Host, "action": action, "method": method}
		if status != "" {
			m["status"] = status
		}
		return m
	}
	for _, c := range []struct {
		action, method, status string
		want                   float64 // 0: at least one
	}{
		{"authorize_order", "POST", "201", 1}, // one order placed
		{"create_order_cert", "POST", "200", 1},
		{"discover", "GET", "200", 0},
		{"register_account", "POST", "", 0},
		{"get_authorization", "POST", "200", 0},
		{"accept_challenge", "POST", "200", 0},
		{"fetch_cert", "POST", "200", 0},
	} {
		count, observed := x.acmeRequests(at(c.action, c.method, c.status))
		if (c.want > 0 && count != c.want) || count < 1 {
			t.Errorf("acme_client_request_count{action=%s,method=%s,status=%s} = %v, want %v (0: some)", c.action, c.method, c.status, count, c.want)
		}
		if observed != count {
			t.Errorf("acme_client_request_duration_seconds{action=%s} observed %v requests, the count says %v", c.action, observed, count)
		}
	}
	if count, _ := x.acmeRequests(map[string]string{"action": "unnamed_action"}); count != 0 {
		t.Errorf("%v ACME requests were not put to an action", count)
	}

	// serve, over every namespace: /metrics reads the same objects, and
	// the ClusterIssuers too. Scraping only: no ping, so nothing is swept.
	cmd, base := a.startServeBinary(bin, "CERTSWEEP_NAMESPACE=", "CERTSWEEP_METRICS_INTERVAL=1h")
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s %v", resp.Status, err)
	}
	served := parseExposition(t, string(body))
	a.requireIssuerSeriesAsInTheAPI(served)
	ci, err := a.cm.CertmanagerV1().ClusterIssuers().Get(a.ctx(), clusterIssuer, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	requireReadySeries(t, served, "certmanager_clusterissuer_ready_status", map[string]string{"name": clusterIssuer}, issuerReadyOf(ci.Status.Conditions))
	a.requireChallengeSeriesAsInTheAPI(served, stray.Name)
}

// TestMetricsPushSurvivesFailingIssuerLists: when the API server refuses
// the LISTs behind the issuer and ACME series, `run` still succeeds and
// pushes the rest; the failure is one WARN line, and the push carries no
// issuer or challenge series rather than wrong ones.
func TestMetricsPushSurvivesFailingIssuerLists(t *testing.T) {
	pg := harness.StartPushgateway(t)
	e := newEnv(t)
	bin := certsweepBinary(t)
	e.create(selfSignedIssuer("ss"))
	e.create(certificate("good", issuerRef("ss"), ecdsaKey))
	proxy := harness.StartFaultProxy(t, e.cp, harness.FaultRule{
		Kind: harness.FaultServiceUnavailable, Verbs: []string{harness.VerbList},
		Resources: []string{"issuers", "challenges"}, Rate: 1,
	})
	code, stdout, stderr := runBinary(t, bin, e.podEnv(proxy.RESTConfig(), "CERTSWEEP_PUSHGATEWAY_URL="+pg.URL()), "run")
	if code != 0 || !regexp.MustCompile(`(?m)^scanned=1 issued=1 `).MatchString(stdout) {
		t.Fatalf("run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if n := strings.Count(stderr, "could not list some Issuers, ClusterIssuers or Challenges"); n != 1 {
		t.Errorf("%d log lines about the failed LISTs, want 1:\n%s", n, stderr)
	}
	if proxy.Stats().Total() < 2 {
		t.Fatalf("the LISTs were not refused: %s", proxy.Stats())
	}
	x := parseExposition(t, pg.Metrics(t))
	requireCertificateSeries(t, x, e.requireReady("good", 1), "job", "certsweep", "instance", "")
	for _, family := range []string{"certmanager_issuer_ready_status", "certmanager_clusterissuer_ready_status", "certmanager_certificate_challenge_status"} {
		if n := len(x.samples(family, nil)); n != 0 {
			t.Errorf("%s: %d series pushed from LISTs that failed", family, n)
		}
	}
}

// TestMetricsChallengeSeriesOfAStalledOrder: a run that cannot see its
// DNS-01 record propagate leaves the order's Challenge in place, and the
// push shows its eight challenge_status series as the API server has the
// Challenge, cert-manager's labels and all.
func TestMetricsChallengeSeriesOfAStalledOrder(t *testing.T) {
	pg := harness.StartPushgateway(t)
	bin := certsweepBinary(t)
	a := newACME(t)
	a.create(acmeCertificate("web", "web.example.test"))
	env := a.podEnv(a.cp.Config, "CERTSWEEP_PUSHGATEWAY_URL="+pg.URL(), "CERTSWEEP_ACME_WAIT=3s",
		"CERTSWEEP_DNS01_RECURSIVE_NAMESERVERS="+blindDNS(t), "CERTSWEEP_DNS01_RECURSIVE_NAMESERVERS_ONLY=true")
	code, stdout, stderr := runBinary(t, bin, env, "run")
	if code != 0 || !regexp.MustCompile(`(?m)^scanned=1 issued=0 `).MatchString(stdout) {
		t.Fatalf("run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	chs, err := a.cm.AcmeV1().Challenges(a.ns).List(a.ctx(), metav1.ListOptions{})
	if err != nil || len(chs.Items) != 1 {
		t.Fatalf("want the order's one Challenge left: %v, %d", err, len(chs.Items))
	}
	x := parseExposition(t, pg.Metrics(t))
	a.requireChallengeSeriesAsInTheAPI(x, chs.Items[0].Name)
	if v := x.samples("certmanager_certificate_challenge_status", map[string]string{"domain": "web.example.test", "type": "DNS-01"}); len(v) != 8 {
		t.Errorf("%d challenge_status series for web.example.test's DNS-01 Challenge, want 8", len(v))
	}
	if count, _ := x.acmeRequests(map[string]string{"action": "authorize_order", "status": "201"}); count != 1 {
		t.Errorf("new orders counted: %v, want 1", count)
	}
}
