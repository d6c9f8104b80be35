package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/job"
)

// Live is cert-manager's certificate series for a long-running process
// (`serve`): the Certificates as last read, read again by Refresh when
// that read is older than Interval. A scrape therefore costs at most one
// paginated LIST per Interval, and never starts a sweep. It is safe for
// concurrent use.
type Live struct {
	// Read lists the Certificates in scope (ListCertificates).
	Read func(ctx context.Context) ([]Certificate, error)
	// ReadResources lists the Issuers, ClusterIssuers and Challenges in
	// scope (ListResources), on the same pace as Read; nil reads none,
	// and there are no issuer or challenge series.
	ReadResources func(ctx context.Context) (Resources, error)
	// Interval is the least time between two reads.
	Interval time.Duration
	// Now returns the current time; tests move it.
	Now func() time.Time
	// Logger receives a line when a read fails.
	Logger *slog.Logger

	// reading serialises reads: scrapes that arrive during one wait for
	// it and use its result.
	reading sync.Mutex

	mu     sync.Mutex
	readAt time.Time // when the last read started, failed or not; zero before the first
	certs  []Certificate
	// resourcesAt is when the last ReadResources started: a sweep's Set
	// brings no Resources, so it has its own pace.
	resourcesAt time.Time
	resources   Resources
}

// Refresh reads the Certificates again if the last read is Interval old.
// A failed read is logged and keeps the previous Certificates (a flapping
// API server does not make the series flap); the next read is then
// Interval later too, so a failing API server is not asked on every scrape.
func (l *Live) Refresh(ctx context.Context) {
	l.reading.Lock()
	defer l.reading.Unlock()
	now := l.now()
	l.mu.Lock()
	fresh := !l.readAt.IsZero() && now.Sub(l.readAt) < l.Interval
	if !fresh {
		l.readAt = now
	}
	readResources := l.ReadResources != nil && (l.resourcesAt.IsZero() || now.Sub(l.resourcesAt) >= l.Interval)
	if readResources {
		l.resourcesAt = now
	}
	l.mu.Unlock()
	if readResources {
		l.refreshResources(ctx)
	}
	if fresh {
		return
	}
	certs, err := l.Read(ctx)
	if err != nil {
		if l.Logger != nil {
			l.Logger.Warn("metrics: could not read the Certificates; serving the last read", "error", err)
		}
		return
	}
	l.mu.Lock()
	if l.readAt.Equal(now) { // not overtaken by a sweep's Set meanwhile
		l.certs = certs
	}
	l.mu.Unlock()
}

// refreshResources reads the Resources; a list that fails is logged and
// keeps its previous read, the others are replaced.
func (l *Live) refreshResources(ctx context.Context) {
	res, err := l.ReadResources(ctx)
	if err != nil && l.Logger != nil {
		l.Logger.Warn("metrics: could not read some Issuers, ClusterIssuers or Challenges; serving the last read of those", "error", err)
	}
	l.mu.Lock()
	l.resources = l.resources.merge(res)
	l.mu.Unlock()
}

// Set replaces the Certificates with those a full sweep left, as read at
// at, so a scrape within Interval of a sweep reads nothing.
func (l *Live) Set(certs []Certificate, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if at.Before(l.readAt) {
		return // a read that started after the sweep ended knows better
	}
	l.certs, l.readAt = certs, at
}

func (l *Live) now() time.Time {
	if l.Now == nil {
		return time.Now()
	}
	return l.Now()
}

func (l *Live) Describe(ch chan<- *prometheus.Desc) {
	certificateCollector(nil).Describe(ch)
	resourceCollector{}.Describe(ch)
}

func (l *Live) Collect(ch chan<- prometheus.Metric) {
	l.mu.Lock()
	certs, res := l.certs, l.resources
	l.mu.Unlock()
	certificateCollector(certs).Collect(ch)
	resourceCollector(res).Collect(ch)
}

// Handler serves g in Prometheus's exposition formats, refreshing live
// first (at most every live.Interval).
func Handler(live *Live, g prometheus.Gatherer) http.Handler {
	gather := promhttp.HandlerFor(g, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		live.Refresh(r.Context())
		gather.ServeHTTP(w, r)
	})
}

// ListCertificates returns a Read for Live: the Certificates of namespace
// (all when empty) matching selector, listed in pages of pageSize.
func ListCertificates(cm cmclient.Interface, namespace, selector string, pageSize int64) func(context.Context) ([]Certificate, error) {
	return func(ctx context.Context) ([]Certificate, error) {
		var out []Certificate
		err := job.ListPages(ctx, "certificates", metav1.ListOptions{LabelSelector: selector, Limit: pageSize}, func(ctx context.Context, opts metav1.ListOptions) (string, error) {
			list, err := cm.CertmanagerV1().Certificates(namespace).List(ctx, opts)
			if err != nil {
				return "", err
			}
			if opts.Continue == "" {
				out = out[:0] // a restarted LIST starts over
			}
			for i := range list.Items {
				c := &list.Items[i]
				out = append(out, Certificate{Namespace: c.Namespace, Name: c.Name, CertificateSnapshot: *job.SnapshotOf(c)})
			}
			return list.Continue, nil
		})
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}
