package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/job/metrics"
)

// pusher pushes each full sweep's metrics to the Pushgateway
// (CERTSWEEP_PUSHGATEWAY_URL): `run`'s, and `serve`'s ping sweeps, since a
// Knative Service that scales to zero is not there to be scraped for the
// ten minutes a `for: 10m` alert needs. A nil pusher pushes nothing.
type pusher struct {
	gateway  *metrics.Pushgateway
	grouping map[string]string
	requests *metrics.APIRequests
	logger   *slog.Logger
}

// newPusher returns the run's pusher, nil when no Pushgateway is set. It
// counts the API requests of the clients cfg builds from then on, so call
// it before newSweeper; serve, which counts them already, passes its
// counter as requests instead.
func newPusher(cfg *config, opts job.Options, requests *metrics.APIRequests) (*pusher, error) {
	if cfg.PushgatewayURL == "" {
		return nil, nil
	}
	gw, err := metrics.ParsePushgatewayURL(cfg.PushgatewayURL)
	if err != nil {
		return nil, configError{fmt.Errorf("CERTSWEEP_PUSHGATEWAY_URL: %w", err)}
	}
	p := &pusher{gateway: gw, requests: requests, logger: opts.Logger}
	if requests == nil {
		p.requests = metrics.NewAPIRequests()
		cfg.wrapTransport = p.requests.Wrap
	}
	if cfg.Shards > 1 {
		// Each shard replaces its own group only, so the shards' pushes
		// add up instead of overwriting each other.
		p.grouping = map[string]string{"shard": strconv.Itoa(opts.Shard)}
	}
	return p, nil
}

// push sends what rep, a full sweep, found, replacing the previous push.
// A failure is one log line: the run itself succeeded, and its exit code
// says so.
func (p *pusher) push(ctx context.Context, rep *job.Report) {
	if p == nil || rep == nil {
		return
	}
	sweeps := &metrics.Sweeps{}
	sweeps.Observe(rep, time.Now())
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.CertificateCollector(metrics.FromReport(rep)), sweeps, p.requests)
	reg.MustRegister(metrics.ClockCollectors(time.Now)...)
	if err := p.gateway.Push(ctx, p.grouping, reg); err != nil {
		p.logger.Warn("could not push metrics to the Pushgateway; the sweep itself is done", "pushgateway", p.gateway.String(), "error", err)
		return
	}
	p.logger.Debug("metrics pushed", "pushgateway", p.gateway.String(), "certificates", len(rep.Outcomes))
}

// serveMetrics is `serve`'s /metrics: cert-manager's certificate series
// from a LIST at most every CERTSWEEP_METRICS_INTERVAL (or from the last
// full sweep, when more recent), certsweep's own, and the process's.
type serveMetrics struct {
	live     *metrics.Live
	sweeps   *metrics.Sweeps
	requests *metrics.APIRequests
	handler  http.Handler
}

// newServeMetrics checks the settings and starts counting the API requests
// of the clients cfg builds from then on, so call it before newSweeper.
// Its reads need a client: call withClient once there is one.
func newServeMetrics(cfg *config) (*serveMetrics, error) {
	if cfg.MetricsInterval <= 0 {
		return nil, configError{fmt.Errorf("CERTSWEEP_METRICS_INTERVAL must be positive, got %s", cfg.MetricsInterval)}
	}
	m := &serveMetrics{sweeps: &metrics.Sweeps{}, requests: metrics.NewAPIRequests()}
	cfg.wrapTransport = m.requests.Wrap
	return m, nil
}

// withClient sets up the reads and the handler.
func (m *serveMetrics) withClient(cfg *config, cm cmclient.Interface, logger *slog.Logger) {
	m.live = &metrics.Live{
		Read:     metrics.ListCertificates(cm, cfg.Namespace, cfg.Selector, cfg.PageSize),
		Interval: cfg.MetricsInterval,
		Logger:   logger,
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.live, m.sweeps, m.requests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(metrics.ClockCollectors(time.Now)...)
	m.handler = metrics.Handler(m.live, reg)
}

// observed is the Sweeper serve hands events to: a full sweep's report
// updates the metrics, and is pushed when a Pushgateway is set (a
// reconcile of a few Certificates is not: it is not the whole picture).
type observed struct {
	*job.Sweeper
	m    *serveMetrics
	push *pusher
}

func (o observed) Run(ctx context.Context) (*job.Report, error) {
	rep, err := o.Sweeper.Run(ctx)
	if err == nil {
		now := time.Now()
		o.m.sweeps.Observe(rep, now)
		o.m.live.Set(metrics.FromReport(rep), now)
		o.push.push(ctx, rep)
	}
	return rep, err
}
