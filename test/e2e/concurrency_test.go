package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/test/harness"
)

// TestOverlappingSweepsIssueEachCertificateOnce starts four sweeps at once,
// each with its own clients as four Pods would have, over 200 new
// Certificates. Overlap is what a CronJob with a slow run, a manual Job and
// a Knative event produce together; the API server's optimistic
// concurrency must make it harmless.
func TestOverlappingSweepsIssueEachCertificateOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("200 issuances")
	}
	e := newEnv(t)
	e.withCA()
	e.run() // the CA first, so every leaf can be issued by whichever sweep gets to it
	const n = 200
	for i := range n {
		e.create(certificate(fmt.Sprintf("leaf-%03d", i), issuerRef("ca"), ecdsaKey))
	}

	const sweeps = 4
	reports := make([]*job.Report, sweeps)
	errs := make([]error, sweeps)
	var wg sync.WaitGroup
	start := make(chan struct{})
	counters := make([]*harness.RequestCounter, sweeps)
	for i := range sweeps {
		cfg, counter := harness.WrapCounting(e.cp.Config)
		counters[i] = counter
		sw := e.sweeper(cfg, func(o *job.Options) { o.Identity = fmt.Sprintf("sweep-%d", i) })
		wg.Go(func() {
			<-start
			reports[i], errs[i] = sw.Run(e.ctx())
		})
	}
	close(start)
	wg.Wait()

	issued := 0
	for i := range sweeps {
		if errs[i] != nil {
			t.Fatalf("sweep %d: %v", i, errs[i])
		}
		conflicts := 0
		for _, r := range counters[i].Snapshot().Requests {
			if r.StatusCode == 409 {
				conflicts++
			}
		}
		// How much the sweeps overlapped depends on scheduling; it is
		// logged, and the invariants below must hold however it went.
		t.Logf("sweep %d: %s; %d writes lost a race (409)", i, reports[i].Summary(), conflicts)
		// A sweep that keeps losing the race for one Certificate gives up
		// on it for this run after a few re-reads and reports it waiting
		// ("Contended"); a failure is allowed only for a lost race, and only
		// if the winner's issuance stands (checked below for every
		// Certificate).
		for _, o := range reports[i].Outcomes {
			if o.Result == job.ResultFailed || o.Result == job.ResultWaiting {
				t.Logf("sweep %d: %s %s: %s: %s", i, o.Name, o.Result, o.Reason, o.Message)
			}
			if o.Result == job.ResultFailed && !strings.Contains(o.Message, "the object has been modified") {
				t.Errorf("sweep %d: %s/%s failed other than by losing a race: %s: %s", i, o.Namespace, o.Name, o.Reason, o.Message)
			}
		}
		issued += reports[i].Issued
	}
	e.requireOneRequestEach(n)
	// Every target Secret written so far holds a key matching its
	// certificate, whichever sweep wrote it.
	written := map[string]bool{}
	for i := range n {
		name := fmt.Sprintf("leaf-%03d", i)
		sec, err := e.kube.CoreV1().Secrets(e.ns).Get(e.ctx(), name+"-tls", metav1.GetOptions{})
		if err != nil {
			continue // left for the next run, checked below
		}
		verifyChain(t, parseSecret(t, sec))
		written[name] = true
	}
	t.Logf("overlapping sweeps issued %d, wrote %d of %d Secrets", issued, len(written), n)

	// A Certificate whose sweep lost a race may be left waiting out a
	// short backoff for the next run. That run must finish it from the
	// request already made: no second request, and no reissue of any
	// Certificate already done.
	e.advance(10 * time.Minute)
	rep := e.run()
	issued += rep.Issued
	if issued != n {
		t.Errorf("issued %d times in total over %d Certificates, want exactly once each", issued, n)
	}
	e.requireOneRequestEach(n)
	for i := range n {
		name := fmt.Sprintf("leaf-%03d", i)
		parseSecret(t, e.secret(name+"-tls")) // tls.key matches tls.crt
		e.requireReady(name, 1)
	}
}

// requireOneRequestEach asserts leaf-000.. leaf-(n-1) have exactly one
// CertificateRequest each.
func (e *env) requireOneRequestEach(n int) {
	e.t.Helper()
	crs, err := e.cm.CertmanagerV1().CertificateRequests(e.ns).List(e.ctx(), metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	perCert := map[string]int{}
	for _, cr := range crs.Items {
		perCert[cr.Annotations[cmapi.CertificateNameKey]]++
	}
	for i := range n {
		name := fmt.Sprintf("leaf-%03d", i)
		if perCert[name] != 1 {
			e.t.Errorf("%s has %d CertificateRequests, want exactly 1", name, perCert[name])
		}
	}
}

// TestShardsCoverEveryCertificateOnce runs the binary as the three Pods of
// an Indexed Job would (JOB_COMPLETION_INDEX 0..2, CERTSWEEP_SHARDS=3), one
// after another, and checks that each issues exactly the Certificates
// job.ShardOf gives it, so together they issue each one exactly once.
func TestShardsCoverEveryCertificateOnce(t *testing.T) {
	bin := certsweepBinary(t)
	e := newEnv(t)
	e.create(selfSignedIssuer("ss"))
	const n, shards = 30, 3
	byShard := map[int][]string{}
	for i := range n {
		name := fmt.Sprintf("c-%02d", i)
		e.create(certificate(name, issuerRef("ss"), ecdsaKey))
		s := job.ShardOf(e.ns, name, shards)
		byShard[s] = append(byShard[s], name)
	}
	done := map[string]bool{}
	for shard := range shards {
		if len(byShard[shard]) == 0 {
			t.Fatalf("shard %d got no certificates out of %d; the hash does not spread", shard, n)
		}
		code, stdout, stderr := runBinary(t, bin, e.podEnv(e.cp.Config,
			"CERTSWEEP_SHARDS=3", fmt.Sprintf("JOB_COMPLETION_INDEX=%d", shard)), "run")
		if code != 0 {
			t.Fatalf("shard %d: exit %d\nstderr: %s", shard, code, stderr)
		}
		if want := fmt.Sprintf("issued=%d ", len(byShard[shard])); !strings.Contains(stdout, want) {
			t.Fatalf("shard %d: summary %q, want %s", shard, strings.TrimSpace(stdout), want)
		}
		for _, name := range byShard[shard] {
			done[name] = true
		}
		for i := range n {
			name := fmt.Sprintf("c-%02d", i)
			if done[name] {
				e.requireReady(name, 1)
				if crs := e.requests(name); len(crs) != 1 {
					t.Fatalf("%s: %d requests after shard %d, want 1", name, len(crs), shard)
				}
			} else {
				e.requireNotIssued(name)
			}
		}
	}
}

// TestRunEveryStopsCleanlyOnSIGTERM: `run --every` is for running outside
// Kubernetes; SIGTERM must end it with exit 0 and never cut a sweep short.
func TestRunEveryStopsCleanlyOnSIGTERM(t *testing.T) {
	bin := certsweepBinary(t)

	t.Run("idle between ticks", func(t *testing.T) {
		e := newEnv(t)
		cmd, stdout, ready := startBinary(t, bin, e.podEnv(e.cp.Config), "run", "--every", "* * * * *")
		<-ready
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("run --every after SIGTERM: %v, want exit 0", err)
		}
		if stdout.Len() != 0 {
			t.Fatalf("no tick was due, yet it printed:\n%s", stdout.String())
		}
	})

	t.Run("sweep in flight finishes", func(t *testing.T) {
		e := newEnv(t)
		e.create(selfSignedIssuer("ss"))
		// Watch for the sweep's first write before starting it, so SIGTERM
		// lands between that write and the rest of the issuance.
		w, err := e.cm.CertmanagerV1().CertificateRequests(e.ns).Watch(e.ctx(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		e.create(certificate("inflight", issuerRef("ss"), ecdsaKey))
		// "@every" is accepted by the same parser as "* * * * *" and makes
		// the first tick come within a second instead of up to a minute.
		cmd, stdout, _ := startBinary(t, bin, e.podEnv(e.cp.Config), "run", "--every", "@every 1s")
		for ev := range w.ResultChan() {
			if ev.Type == watch.Added {
				break
			}
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("run --every after SIGTERM: %v, want exit 0", err)
		}
		if out := stdout.String(); !strings.Contains(out, "scanned=1 issued=1") {
			t.Fatalf("the sweep in flight did not report finishing; stdout:\n%s", out)
		}
		parseSecret(t, e.secret("inflight-tls"))
		e.requireReady("inflight", 1)
	})
}

// startBinary starts the binary in the background. Its stdout buffer may be
// read once cmd.Wait has returned. The returned channel closes at the first
// line on stderr: by then main has installed its signal handler.
func startBinary(t *testing.T, bin string, env []string, args ...string) (*exec.Cmd, *bytes.Buffer, <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stdout bytes.Buffer
	stderr := &firstWrite{ready: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() && cmd.ProcessState != nil {
			t.Logf("stderr of %s:\n%s", bin, stderr.buf.String())
		}
	})
	return cmd, &stdout, stderr.ready
}

// firstWrite collects output and signals when the first bytes arrive.
type firstWrite struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
}

func (w *firstWrite) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() == 0 {
		close(w.ready)
	}
	return w.buf.Write(p)
}
