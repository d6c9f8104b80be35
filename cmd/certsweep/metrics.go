package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
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
	acme     *metrics.ACMERequests
	logger   *slog.Logger
	// readResources lists the Issuers, ClusterIssuers and Challenges for
	// each push; it is built on the first push (readResourcesOnce) from
	// cfg, so a run with no Pushgateway builds no client for it.
	cfg               *config
	readResourcesOnce sync.Once
	readResources     func(context.Context) (metrics.Resources, error)
}

// newPusher returns the run's pusher, nil when no Pushgateway is set. It
// counts the API and ACME requests of the clients cfg builds from then
// on, so call it before newSweeper; serve, which counts them already,
// passes its serveMetrics as mon instead (nil for run).
func newPusher(cfg *config, opts job.Options, mon *serveMetrics) (*pusher, error) {
	if cfg.PushgatewayURL == "" {
		return nil, nil
	}
	gw, err := metrics.ParsePushgatewayURL(cfg.PushgatewayURL)
	if err != nil {
		return nil, configError{fmt.Errorf("CERTSWEEP_PUSHGATEWAY_URL: %w", err)}
	}
	p := &pusher{gateway: gw, logger: opts.Logger, cfg: cfg}
	if mon != nil {
		p.requests, p.acme = mon.requests, mon.acme
	} else {
		p.requests, p.acme = metrics.NewAPIRequests(), metrics.NewACMERequests()
		cfg.wrapTransport = p.requests.Wrap
		cfg.wrapACMETransport = p.acme.Wrap
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
	reg.MustRegister(metrics.CertificateCollector(metrics.FromReport(rep)), sweeps, p.requests, p.acme,
		metrics.ResourceCollector(p.resources(ctx)))
	reg.MustRegister(metrics.ClockCollectors(time.Now)...)
	if err := p.gateway.Push(ctx, p.grouping, reg); err != nil {
		p.logger.Warn("could not push metrics to the Pushgateway; the sweep itself is done", "pushgateway", p.gateway.String(), "error", err)
		return
	}
	p.logger.Debug("metrics pushed", "pushgateway", p.gateway.String(), "certificates", len(rep.Outcomes))
}

// resources lists the Issuers, ClusterIssuers and Challenges after the
// sweep, for cert-manager's issuer and ACME series. A list that fails is
// one log line and leaves its series out of the push; the run is not
// failed for it.
func (p *pusher) resources(ctx context.Context) metrics.Resources {
	p.readResourcesOnce.Do(func() {
		if p.readResources != nil {
			return // serve's, set by withClient
		}
		_, cm, err := p.cfg.clients()
		if err != nil {
			p.readResources = func(context.Context) (metrics.Resources, error) { return metrics.Resources{}, err }
			return
		}
		p.readResources = listResources(p.cfg, cm)
	})
	res, err := p.readResources(ctx)
	if err != nil {
		p.logger.Warn("metrics: could not list some Issuers, ClusterIssuers or Challenges; the push leaves their series out", "error", err)
	}
	return res
}

// listResources is the read of the Issuers, ClusterIssuers and Challenges
// in cfg's scope. With CERTSWEEP_NAMESPACE there are no ClusterIssuer
// series: cert-manager limited to one namespace disables ClusterIssuers.
func listResources(cfg *config, cm cmclient.Interface) func(context.Context) (metrics.Resources, error) {
	return metrics.ListResources(cm, cfg.Namespace, cfg.Namespace == "", cfg.PageSize)
}

// serveMetrics is `serve`'s /metrics: cert-manager's certificate series
// from a LIST at most every CERTSWEEP_METRICS_INTERVAL (or from the last
// full sweep, when more recent), certsweep's own, and the process's.
type serveMetrics struct {
	live     *metrics.Live
	sweeps   *metrics.Sweeps
	requests *metrics.APIRequests
	acme     *metrics.ACMERequests
	handler  http.Handler
}

// newServeMetrics checks the settings and starts counting the API requests
// of the clients cfg builds from then on, so call it before newSweeper.
// Its reads need a client: call withClient once there is one.
func newServeMetrics(cfg *config) (*serveMetrics, error) {
	if cfg.MetricsInterval <= 0 {
		return nil, configError{fmt.Errorf("CERTSWEEP_METRICS_INTERVAL must be positive, got %s", cfg.MetricsInterval)}
	}
	m := &serveMetrics{sweeps: &metrics.Sweeps{}, requests: metrics.NewAPIRequests(), acme: metrics.NewACMERequests()}
	cfg.wrapTransport = m.requests.Wrap
	cfg.wrapACMETransport = m.acme.Wrap
	return m, nil
}

// withClient sets up the reads and the handler, and push's reads when
// push is not nil.
func (m *serveMetrics) withClient(cfg *config, cm cmclient.Interface, logger *slog.Logger, push *pusher) {
	m.live = &metrics.Live{
		Read:          metrics.ListCertificates(cm, cfg.Namespace, cfg.Selector, cfg.PageSize),
		ReadResources: listResources(cfg, cm),
		Interval:      cfg.MetricsInterval,
		Logger:        logger,
	}
	if push != nil {
		push.readResources = m.live.ReadResources
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.live, m.sweeps, m.requests, m.acme,
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
