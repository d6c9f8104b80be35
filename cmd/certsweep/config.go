package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	"github.com/kelseyhightower/envconfig"
	"github.com/robfig/cron/v3"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/renew"
)

// config is every CERTSWEEP_* variable, read by envconfig.
type config struct {
	Namespace                string        `envconfig:"NAMESPACE" desc:"sweep only this namespace (default: all namespaces)"`
	Selector                 string        `envconfig:"SELECTOR" desc:"label selector for Certificates, e.g. team=web"`
	ClusterResourceNamespace string        `envconfig:"CLUSTER_RESOURCE_NAMESPACE" default:"cert-manager" desc:"namespace of ClusterIssuers' CA Secrets"`
	Approve                  bool          `envconfig:"APPROVE" default:"true" desc:"approve the CertificateRequests certsweep creates; false leaves it to an external approver"`
	Concurrency              int           `envconfig:"CONCURRENCY" desc:"Certificates worked on at once (default: 8 x GOMAXPROCS)"`
	PageSize                 int64         `envconfig:"PAGE_SIZE" default:"500" desc:"LIST page size"`
	Schedule                 string        `envconfig:"SCHEDULE" desc:"the CronJob's cron schedule; certificates due before the next run are renewed now"`
	RenewJitter              time.Duration `envconfig:"RENEW_JITTER" default:"0s" desc:"spread renewals earlier by a stable per-certificate offset up to this duration"`
	BackoffTemporaryMin      time.Duration `envconfig:"BACKOFF_TEMPORARY_MIN" default:"5s" desc:"first retry delay after a temporary failure"`
	BackoffTemporaryMax      time.Duration `envconfig:"BACKOFF_TEMPORARY_MAX" default:"5m" desc:"longest retry delay after temporary failures"`
	BackoffIssuanceMin       time.Duration `envconfig:"BACKOFF_ISSUANCE_MIN" default:"1h" desc:"first retry delay after a failed or denied request"`
	BackoffIssuanceMax       time.Duration `envconfig:"BACKOFF_ISSUANCE_MAX" default:"32h" desc:"longest retry delay after failed or denied requests"`
	Deadline                 time.Duration `envconfig:"DEADLINE" default:"0s" desc:"stop starting new issuances this long after the run starts (0: no deadline)"`
	MaxIssuances             int           `envconfig:"MAX_ISSUANCES" default:"0" desc:"cap on issuances started per run (0: no cap)"`
	Shards                   int           `envconfig:"SHARDS" default:"1" desc:"number of shards of an Indexed Job; this instance takes JOB_COMPLETION_INDEX"`
	KubeQPS                  float32       `envconfig:"KUBE_QPS" default:"1000" desc:"client-side request rate to the API server (API Priority and Fairness governs the server side)"`
	KubeBurst                int           `envconfig:"KUBE_BURST" default:"2000" desc:"client-side request burst"`
	EventFile                string        `envconfig:"EVENT_FILE" desc:"run: reconcile what the CloudEvent in this file names (Knative JobSink mounts it at /etc/jobsink-event/event), or sweep for a ping"`
	RequestTimeout           time.Duration `envconfig:"REQUEST_TIMEOUT" default:"240s" desc:"serve: time allowed per event; new issuances stop at three quarters of it (match the Knative Service's timeoutSeconds)"`
	Port                     int           `envconfig:"PORT" default:"8080" desc:"serve: HTTP port (plain PORT, as Knative sets it, is read too)"`
	LogFormat                string        `envconfig:"LOG_FORMAT" desc:"text or json (default: text on a terminal, json otherwise)"`
	LogLevel                 string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	ACMEWait                 time.Duration `envconfig:"ACME_WAIT" default:"60s" desc:"how long one run waits on an ACME order (DNS propagation, validation, issuance) before leaving it to the next run; keep it below the CronJob's deadline"`
	ACMEMaxNewOrders         int           `envconfig:"ACME_MAX_NEW_ORDERS" default:"0" desc:"cap on new ACME orders placed per run (0: no cap)"`
	DNS01Nameservers         []string      `envconfig:"DNS01_RECURSIVE_NAMESERVERS" desc:"comma-separated host:port recursive nameservers for DNS-01 checks (default: the system's), as cert-manager's --dns01-recursive-nameservers"`
	DNS01RecursiveOnly       bool          `envconfig:"DNS01_RECURSIVE_NAMESERVERS_ONLY" default:"false" desc:"check DNS-01 propagation through the recursive nameservers only, as cert-manager's --dns01-recursive-nameservers-only"`
	ACMEARI                  bool          `envconfig:"ACME_ARI" default:"true" desc:"renew ACME certificates in the CA's suggested window (ARI, RFC 9773), kept in status.acme.ari; false: the normal renewal time only"`
	HTTP01SolverImage        string        `envconfig:"ACME_HTTP01_SOLVER_IMAGE" desc:"image of HTTP-01 solver Pods, which run certsweep solve-http01 (default: this release's image), as cert-manager's --acme-http01-solver-image"`
	Shim                     bool          `envconfig:"SHIM" default:"true" desc:"each sweep first creates, updates and deletes the Certificates that Ingresses and Gateways ask for with cert-manager's annotations, as cert-manager's certificate-shim"`
	CSR                      bool          `envconfig:"CSR" default:"true" desc:"each sweep also signs the approved Kubernetes CertificateSigningRequests whose signerName names a cert-manager issuer (issuers.cert-manager.io/<namespace>.<name>, clusterissuers.cert-manager.io/<name>), as cert-manager's CSR controllers"`
	DefaultIssuerName        string        `envconfig:"DEFAULT_ISSUER_NAME" desc:"issuer of Ingresses annotated kubernetes.io/tls-acme: \"true\", as cert-manager's --default-issuer-name"`
	DefaultIssuerKind        string        `envconfig:"DEFAULT_ISSUER_KIND" default:"Issuer" desc:"kind of the default issuer, as cert-manager's --default-issuer-kind"`
	DefaultIssuerGroup       string        `envconfig:"DEFAULT_ISSUER_GROUP" default:"cert-manager.io" desc:"API group of the default issuer, as cert-manager's --default-issuer-group"`
	CertificateOwnerRef      bool          `envconfig:"ENABLE_CERTIFICATE_OWNER_REF" default:"false" desc:"make each Certificate the controller owner of its Secret, so deleting the Certificate deletes the Secret, as cert-manager's --enable-certificate-owner-ref; false also removes such an owner reference cert-manager set"`
	MemoryLimitRatio         float64       `envconfig:"MEMORY_LIMIT_RATIO" default:"0.9" desc:"run, serve: set the Go memory limit to this fraction of the container's cgroup memory limit, so the GC works harder before an OOM kill (0: off; an explicit GOMEMLIMIT wins)"`
	PushgatewayURL           string        `envconfig:"PUSHGATEWAY_URL" desc:"run, and serve's ping sweeps: after each full sweep, push cert-manager's certificate metrics and certsweep's own to this Prometheus Pushgateway (e.g. http://pushgateway.monitoring:9091), replacing the previous push; a failed push is logged, the run still succeeds"`
	MetricsInterval          time.Duration `envconfig:"METRICS_INTERVAL" default:"60s" desc:"serve: /metrics reads the Certificates again at most this often"`

	// wrapTransport, when set, wraps the API clients' transport (to count
	// requests for the metrics); it is not a setting.
	wrapTransport func(http.RoundTripper) http.RoundTripper
	// wrapACMETransport, when set, becomes the sweep's
	// job.Options.ACMETransport (to count ACME requests); not a setting.
	wrapACMETransport func(http.RoundTripper) http.RoundTripper
}

// configError marks bad configuration: exit code 2.
type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

func loadConfig() (*config, error) {
	var c config
	if err := envconfig.Process("CERTSWEEP", &c); err != nil {
		return nil, configError{fmt.Errorf("reading CERTSWEEP_* settings: %w", err)}
	}
	if c.BackoffTemporaryMin < 0 || c.BackoffTemporaryMax < c.BackoffTemporaryMin ||
		c.BackoffIssuanceMin < 0 || c.BackoffIssuanceMax < c.BackoffIssuanceMin {
		return nil, configError{fmt.Errorf("backoff bounds must be >= 0 with max >= min")}
	}
	if c.Shards < 1 {
		return nil, configError{fmt.Errorf("CERTSWEEP_SHARDS must be at least 1, got %d", c.Shards)}
	}
	if c.RequestTimeout <= 0 {
		return nil, configError{fmt.Errorf("CERTSWEEP_REQUEST_TIMEOUT must be positive, got %s", c.RequestTimeout)}
	}
	if c.Port < 0 || c.Port > 65535 {
		return nil, configError{fmt.Errorf("PORT must be a TCP port number, got %d", c.Port)}
	}
	// The negated test also rejects NaN.
	if !(c.MemoryLimitRatio >= 0 && c.MemoryLimitRatio <= 1) {
		return nil, configError{fmt.Errorf("CERTSWEEP_MEMORY_LIMIT_RATIO must be in [0,1] (0: off), got %v", c.MemoryLimitRatio)}
	}
	// An ACME wait as long as the deadline would let one slow order hold
	// the run past the point where the CronJob kills it.
	if c.ACMEWait <= 0 {
		return nil, configError{fmt.Errorf("CERTSWEEP_ACME_WAIT must be positive, got %s", c.ACMEWait)}
	}
	if c.Deadline > 0 && c.ACMEWait >= c.Deadline {
		return nil, configError{fmt.Errorf("CERTSWEEP_ACME_WAIT (%s) must be below CERTSWEEP_DEADLINE (%s)", c.ACMEWait, c.Deadline)}
	}
	switch c.LogFormat {
	case "", "text", "json":
	default:
		return nil, configError{fmt.Errorf("CERTSWEEP_LOG_FORMAT must be text or json, got %q", c.LogFormat)}
	}
	return &c, nil
}

// sweepOptions turns the configuration into job options, logging to logs.
func (c *config) sweepOptions(logs io.Writer) (job.Options, error) {
	opts := job.Options{
		Logger:                   newLogger(logs, c.LogFormat, c.LogLevel),
		Namespace:                c.Namespace,
		Selector:                 c.Selector,
		ClusterResourceNamespace: c.ClusterResourceNamespace,
		Approve:                  c.Approve,
		Concurrency:              c.Concurrency,
		PageSize:                 c.PageSize,
		MaxIssuances:             c.MaxIssuances,
		Deadline:                 c.Deadline,
		Shards:                   c.Shards,
		ACMEWait:                 c.ACMEWait,
		ACMEMaxNewOrders:         c.ACMEMaxNewOrders,
		DNS01Nameservers:         c.DNS01Nameservers,
		DNS01RecursiveOnly:       c.DNS01RecursiveOnly,
		ACMEARI:                  c.ACMEARI,
		HTTP01SolverImage:        c.HTTP01SolverImage,
		CSR:                      c.CSR,
		Shim: job.ShimOptions{
			Enabled:       c.Shim,
			DefaultIssuer: cmmeta.IssuerReference{Name: c.DefaultIssuerName, Kind: c.DefaultIssuerKind, Group: c.DefaultIssuerGroup},
		},
		Decide: renew.Options{
			Jitter:   c.RenewJitter,
			OwnerRef: c.CertificateOwnerRef,
			Backoff: renew.BackoffPolicy{
				TemporaryMin: c.BackoffTemporaryMin, TemporaryMax: c.BackoffTemporaryMax,
				IssuanceMin: c.BackoffIssuanceMin, IssuanceMax: c.BackoffIssuanceMax,
			},
		},
	}
	if c.Schedule != "" {
		sched, err := cron.ParseStandard(c.Schedule)
		if err != nil {
			return opts, configError{fmt.Errorf("CERTSWEEP_SCHEDULE %q is not a valid cron schedule: %w", c.Schedule, err)}
		}
		opts.Decide.Schedule = sched
	}
	if c.Shards > 1 {
		idx := os.Getenv("JOB_COMPLETION_INDEX")
		var n int
		if _, err := fmt.Sscanf(idx, "%d", &n); err != nil || n < 0 || n >= c.Shards {
			return opts, configError{fmt.Errorf("CERTSWEEP_SHARDS=%d needs JOB_COMPLETION_INDEX in [0,%d), got %q", c.Shards, c.Shards, idx)}
		}
		opts.Shard = n
	}
	if host, err := os.Hostname(); err == nil {
		opts.Identity = host
	}
	return opts, nil
}

// clients builds the Kubernetes and cert-manager clients by the standard
// rules: KUBECONFIG (or ~/.kube/config), then the in-cluster service account.
func (c *config) clients() (kubernetes.Interface, cmclient.Interface, error) {
	cfg, err := c.restConfig()
	if err != nil {
		return nil, nil, err
	}
	// Built-in types travel as protobuf, which is smaller and cheaper to
	// decode; cert-manager's custom resources only speak JSON.
	kubeCfg := rest.CopyConfig(cfg)
	kubeCfg.ContentType = "application/vnd.kubernetes.protobuf"
	kubeCfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	kube, err := kubernetes.NewForConfig(kubeCfg)
	if err != nil {
		return nil, nil, fmt.Errorf("building Kubernetes client: %w", err)
	}
	cm, err := cmclient.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("building cert-manager client: %w", err)
	}
	return kube, cm, nil
}

// restConfig is the API server's address and credentials by the standard
// rules: KUBECONFIG (or ~/.kube/config), then the in-cluster service
// account; with certsweep's rate limits and user agent.
func (c *config) restConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		inCluster, icErr := rest.InClusterConfig()
		if icErr != nil {
			return nil, configError{fmt.Errorf("no Kubernetes configuration: set KUBECONFIG or run in a cluster (%v; %v)", err, icErr)}
		}
		cfg = inCluster
	}
	cfg.QPS, cfg.Burst = c.KubeQPS, c.KubeBurst
	cfg.UserAgent = "certsweep"
	if c.wrapTransport != nil {
		cfg.Wrap(c.wrapTransport)
	}
	return cfg, nil
}

// newSweeper connects to the API server and returns a Sweeper with opts.
// With the certificate-shim on, it can also read Gateways (JSON, as for
// every custom resource).
func (c *config) newSweeper(opts job.Options) (*job.Sweeper, error) {
	kube, cm, err := c.clients()
	if err != nil {
		return nil, err
	}
	if opts.Shim.Enabled {
		cfg, err := c.restConfig()
		if err != nil {
			return nil, err
		}
		if opts.Shim.Gateways, err = gwclient.NewForConfig(cfg); err != nil {
			return nil, fmt.Errorf("building Gateway API client: %w", err)
		}
	}
	if c.wrapACMETransport != nil && opts.ACMETransport == nil {
		opts.ACMETransport = c.wrapACMETransport
	}
	return job.New(kube, cm, opts), nil
}

func printEnvUsage() {
	var c config
	_ = envconfig.Usagef("CERTSWEEP", &c, os.Stderr, envconfig.DefaultTableFormat)
}
