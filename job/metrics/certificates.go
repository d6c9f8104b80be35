// Package metrics turns what certsweep knows into Prometheus series:
// cert-manager's own certificate, issuer, ACME Challenge and ACME client
// metrics (same names, labels and meaning as cert-manager v1.21's
// collectors, ACME client transport and clock), and certsweep's own about
// its sweeps and its API requests.
//
// Nothing here starts a sweep or writes to the API. The series come from a
// sweep's job.Report (`run` pushes them to a Pushgateway, see Push), from
// LISTs of Issuers, ClusterIssuers and Challenges (ListResources), from
// counting requests (APIRequests, ACMERequests), or from LISTs at most
// every interval (`serve`'s /metrics, see Live).
package metrics

import (
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/certsweep/certsweep/job"
)

// Certificate is one Certificate as the metrics describe it.
type Certificate struct {
	Namespace, Name string
	job.CertificateSnapshot
}

// FromReport returns the Certificates a sweep left, as its report has them.
// A Certificate deleted during the run has no snapshot and is left out, so
// its series disappear. Should a report name one Certificate twice, the
// later outcome wins: one set of series per Certificate.
func FromReport(rep *job.Report) []Certificate {
	if rep == nil {
		return nil
	}
	index := make(map[[2]string]int, len(rep.Outcomes))
	out := make([]Certificate, 0, len(rep.Outcomes))
	for _, o := range rep.Outcomes {
		if o.Certificate == nil {
			continue
		}
		c := Certificate{Namespace: o.Namespace, Name: o.Name, CertificateSnapshot: *o.Certificate}
		key := [2]string{o.Namespace, o.Name}
		if i, ok := index[key]; ok {
			out[i] = c
			continue
		}
		index[key] = len(out)
		out = append(out, c)
	}
	return out
}

// cert-manager's certificate series, described as its collector describes
// them (internal/collectors/certificate_collector.go in cert-manager
// v1.21): the labels name the Certificate and its spec.issuerRef as
// written, an empty kind or group included.
var (
	certificateLabels = []string{"name", "namespace", "issuer_name", "issuer_kind", "issuer_group"}

	readyStatusDesc = prometheus.NewDesc("certmanager_certificate_ready_status",
		"The ready status of the certificate.",
		[]string{"name", "namespace", "condition", "issuer_name", "issuer_kind", "issuer_group"}, nil)
	notAfterDesc = prometheus.NewDesc("certmanager_certificate_not_after_timestamp_seconds",
		"The timestamp after which the certificate is invalid, expressed as a Unix Epoch Time.",
		certificateLabels, nil)
	notBeforeDesc = prometheus.NewDesc("certmanager_certificate_not_before_timestamp_seconds",
		"The timestamp before which the certificate is invalid, expressed as a Unix Epoch Time.",
		certificateLabels, nil)
	expirationDesc = prometheus.NewDesc("certmanager_certificate_expiration_timestamp_seconds",
		"The timestamp after which the certificate expires, expressed in Unix Epoch Time.",
		certificateLabels, nil)
	renewalDesc = prometheus.NewDesc("certmanager_certificate_renewal_timestamp_seconds",
		"The timestamp after which the certificate should be renewed, expressed in Unix Epoch Time.",
		certificateLabels, nil)
)

// readyConditions are the three ready_status series every Certificate has,
// in cert-manager's order.
var readyConditions = [...]cmmeta.ConditionStatus{cmmeta.ConditionTrue, cmmeta.ConditionFalse, cmmeta.ConditionUnknown}

// certificateCollector emits cert-manager's series for a fixed set of
// Certificates.
type certificateCollector []Certificate

// CertificateCollector returns a collector of cert-manager's certificate
// series for certs: per Certificate, the four timestamps and three
// ready_status series.
func CertificateCollector(certs []Certificate) prometheus.Collector {
	return certificateCollector(certs)
}

func (certificateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{readyStatusDesc, notAfterDesc, notBeforeDesc, expirationDesc, renewalDesc} {
		ch <- d
	}
}

func (cc certificateCollector) Collect(ch chan<- prometheus.Metric) {
	for i := range cc {
		collectCertificate(&cc[i], ch)
	}
}

func collectCertificate(c *Certificate, ch chan<- prometheus.Metric) {
	ref := c.IssuerRef
	// The condition that is 1: the Ready condition's status, or Unknown
	// when the Certificate has none yet.
	ready := c.Ready
	if ready == "" {
		ready = cmmeta.ConditionUnknown
	}
	for _, cond := range readyConditions {
		v := 0.0
		if cond == ready {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(readyStatusDesc, prometheus.GaugeValue, v,
			c.Name, c.Namespace, string(cond), ref.Name, ref.Kind, ref.Group)
	}
	// A time not set yet is 0, not absent, as in cert-manager; the
	// expiration series is the same value as not_after under its older name.
	for _, s := range []struct {
		desc *prometheus.Desc
		unix float64
	}{
		{notAfterDesc, unixSeconds(c.NotAfter)},
		{notBeforeDesc, unixSeconds(c.NotBefore)},
		{expirationDesc, unixSeconds(c.NotAfter)},
		{renewalDesc, unixSeconds(c.RenewalTime)},
	} {
		ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, s.unix,
			c.Name, c.Namespace, ref.Name, ref.Kind, ref.Group)
	}
}
