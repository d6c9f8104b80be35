package e2e

import (
	"fmt"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"

	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/test/harness"
)

// TestSweepRaceFree runs a sweep whose Secret LIST keeps expiring mid-way,
// so scan restarts it while workers already hold the Certificates of the
// first pages, over Certificates that share secretNames. make test runs it
// under the race detector: before the ownership rule moved into renew/ and
// took copies, a restarted LIST re-assigned owners on items workers held.
// Whatever the restarts, every Certificate is decided once and the run
// after converges.
func TestSweepRaceFree(t *testing.T) {
	e := newEnv(t)
	e.withCA()
	e.run()
	const n = 24
	for i := range n {
		secret := fmt.Sprintf("shared-%02d", i/2) // pairs share a Secret
		e.create(certificate(fmt.Sprintf("c-%02d", i), issuerRef("ca"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.SecretName = secret }))
	}
	e.run() // one of each pair owns its Secret and is issued

	proxy := harness.StartFaultProxy(t, e.cp, harness.FaultRule{
		Kind: harness.FaultExpiredContinue, Verbs: []string{"LIST"}, Resources: []string{"secrets"}, Rate: 1, Max: 2,
	})
	// Renewing everything makes every worker write while the LIST restarts.
	e.advance(70 * 24 * time.Hour)
	rep, err := e.sweeper(proxy.RESTConfig(), func(o *job.Options) { o.PageSize = 3; o.Concurrency = 8 }).Run(e.ctx())
	if err != nil {
		t.Fatalf("sweep through restarted LISTs: %v", err)
	}
	if got := proxy.Stats().Faults[harness.FaultExpiredContinue]; got != 2 {
		t.Fatalf("want 2 expired continue tokens injected, got %d", got)
	}
	if rep.Scanned != n+1 || rep.Failed != 0 {
		t.Fatalf("each Certificate once, none failed: %s %+v", rep.Summary(), rep.Outcomes)
	}
	cfg, counter := harness.WrapCounting(e.cp.Config)
	if again, err := e.sweeper(cfg).Run(e.ctx()); err != nil || again.Failed != 0 || counter.Writes() != 0 {
		t.Fatalf("the run after should write nothing: %v %s %v", err, again.Summary(), counter.Snapshot().Writes())
	}
}
