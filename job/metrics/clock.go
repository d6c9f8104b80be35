package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ClockCollectors returns cert-manager's two clock series, read from now
// when collected: certmanager_clock_time_seconds, a counter that
// cert-manager keeps for compatibility, and certmanager_clock_time_seconds_gauge,
// the same time as a gauge (time can go backwards). Alerts written against
// cert-manager compare certificate timestamps with them.
func ClockCollectors(now func() time.Time) []prometheus.Collector {
	seconds := func() float64 { return float64(now().Unix()) }
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "certmanager_clock_time_seconds",
			Help: "DEPRECATED: use clock_time_seconds_gauge instead. The clock time given in seconds (from 1970/01/01 UTC).",
		}, seconds),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "certmanager_clock_time_seconds_gauge",
			Help: "The clock time given in seconds (from 1970/01/01 UTC). Gauge form of the deprecated clock_time_seconds counter. No labels.",
		}, seconds),
	}
}

// unixSeconds is t in whole seconds since the epoch, as cert-manager
// reports its timestamps, and 0 for a time not set.
func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.Unix())
}
