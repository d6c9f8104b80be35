package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certsweep/certsweep/job"
)

var (
	sweepDurationDesc = prometheus.NewDesc("certsweep_sweep_duration_seconds",
		"How long the last completed sweep took, in seconds.", nil, nil)
	sweepCertificatesDesc = prometheus.NewDesc("certsweep_sweep_certificates",
		"Certificates of the last completed sweep by what became of them: scanned (all of them), issued, failed, waiting, rewritten (Secret repaired), deferred (the run's issuance budget was spent).",
		[]string{"result"}, nil)
	lastSuccessDesc = prometheus.NewDesc("certsweep_last_success_timestamp_seconds",
		"When the last sweep that could run (listed every Certificate in scope) ended, as a Unix Epoch Time. A Certificate that failed does not make the sweep fail.",
		nil, nil)
)

// Sweeps holds certsweep's own series about the last completed sweep of
// this process. Until a sweep completes it has none: a
// last_success_timestamp of 0 would read as "no success since 1970".
// It is safe for concurrent use.
type Sweeps struct {
	mu       sync.Mutex
	done     bool
	duration time.Duration
	counts   [len(sweepResults)]int
	ended    time.Time
}

// sweepResults are the result label's values, in the order of counts.
var sweepResults = [...]string{"scanned", "issued", "failed", "waiting", "rewritten", "deferred"}

// Observe records rep, a full sweep that ended at ended. Reconciles of a
// few named Certificates are not sweeps and are not observed.
func (s *Sweeps) Observe(rep *job.Report, ended time.Time) {
	if rep == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	s.duration = rep.Duration
	s.counts = [len(sweepResults)]int{rep.Scanned, rep.Issued, rep.Failed, rep.Waiting, rep.Rewritten, rep.Deferred}
	s.ended = ended
}

func (s *Sweeps) Describe(ch chan<- *prometheus.Desc) {
	ch <- sweepDurationDesc
	ch <- sweepCertificatesDesc
	ch <- lastSuccessDesc
}

func (s *Sweeps) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done {
		return
	}
	ch <- prometheus.MustNewConstMetric(sweepDurationDesc, prometheus.GaugeValue, s.duration.Seconds())
	for i, result := range sweepResults {
		ch <- prometheus.MustNewConstMetric(sweepCertificatesDesc, prometheus.GaugeValue, float64(s.counts[i]), result)
	}
	ch <- prometheus.MustNewConstMetric(lastSuccessDesc, prometheus.GaugeValue, unixSeconds(s.ended))
}
