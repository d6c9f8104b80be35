package metrics

import (
	"context"
	"errors"
	"strconv"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	"github.com/certsweep/certsweep/job"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Issuer is one Issuer or ClusterIssuer as the ready_status series
// describe it; a ClusterIssuer's Namespace is "".
type Issuer struct {
	Namespace, Name string
	// Ready is the Ready condition's status, "" when there is none.
	Ready cmmeta.ConditionStatus
}

// Challenge is one ACME Challenge as certmanager_certificate_challenge_status
// describes it.
type Challenge struct {
	Namespace, Name string
	DNSName         string // spec.dnsName
	Type            string // spec.type: HTTP-01 or DNS-01
	State           cmacme.State
	Reason          string
	Processing      bool
}

// Kinds says which of the Issuers, ClusterIssuers and Challenges a read
// got.
type Kinds uint8

const (
	KindIssuers Kinds = 1 << iota
	KindClusterIssuers
	KindChallenges
)

// Resources are the Issuers, ClusterIssuers and ACME Challenges in scope,
// for cert-manager's issuer and ACME series.
type Resources struct {
	Issuers        []Issuer
	ClusterIssuers []Issuer
	Challenges     []Challenge
	// Read says which lists were read. A kind not read has no series in a
	// push, and keeps the previous read's in Live, as cert-manager's
	// collector emits nothing for a lister that fails.
	Read Kinds
}

// merge returns r with the kinds next read replaced by next's.
func (r Resources) merge(next Resources) Resources {
	if next.Read&KindIssuers != 0 {
		r.Issuers = next.Issuers
	}
	if next.Read&KindClusterIssuers != 0 {
		r.ClusterIssuers = next.ClusterIssuers
	}
	if next.Read&KindChallenges != 0 {
		r.Challenges = next.Challenges
	}
	r.Read |= next.Read
	return r
}

// cert-manager's issuer and ACME series, as its collectors describe them
// (internal/collectors/{issuer,clusterissuer,acme}_collector.go in
// cert-manager v1.21).
var (
	issuerReadyDesc = prometheus.NewDesc("certmanager_issuer_ready_status",
		"The ready status of the Issuer.", []string{"name", "namespace", "condition"}, nil)
	clusterIssuerReadyDesc = prometheus.NewDesc("certmanager_clusterissuer_ready_status",
		"The ready status of the ClusterIssuer.", []string{"name", "condition"}, nil)
	challengeStatusDesc = prometheus.NewDesc("certmanager_certificate_challenge_status",
		"The status of certificate challenges",
		[]string{"status", "domain", "reason", "processing", "name", "namespace", "type"}, nil)
)

// challengeStates are the series every Challenge has, one per state, in
// cert-manager's order; the one matching status.state is 1. cert-manager's
// Unknown state is "", so a Challenge with no state yet has 1 on
// status="".
var challengeStates = [...]cmacme.State{cmacme.Ready, cmacme.Valid, cmacme.Errored, cmacme.Expired,
	cmacme.Invalid, cmacme.Processing, cmacme.Unknown, cmacme.Pending}

type resourceCollector Resources

// ResourceCollector returns a collector of cert-manager's issuer and ACME
// series for r: three ready_status series per Issuer and per ClusterIssuer
// (True, False, Unknown; 1 on the Ready condition's status, Unknown when
// there is none), and eight challenge_status series per Challenge.
func ResourceCollector(r Resources) prometheus.Collector { return resourceCollector(r) }

func (resourceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- issuerReadyDesc
	ch <- clusterIssuerReadyDesc
	ch <- challengeStatusDesc
}

func (r resourceCollector) Collect(ch chan<- prometheus.Metric) {
	for _, is := range r.Issuers {
		for _, cond := range readyConditions {
			ch <- prometheus.MustNewConstMetric(issuerReadyDesc, prometheus.GaugeValue,
				oneIf(cond == readyOrUnknown(is.Ready)), is.Name, is.Namespace, string(cond))
		}
	}
	for _, is := range r.ClusterIssuers {
		for _, cond := range readyConditions {
			ch <- prometheus.MustNewConstMetric(clusterIssuerReadyDesc, prometheus.GaugeValue,
				oneIf(cond == readyOrUnknown(is.Ready)), is.Name, string(cond))
		}
	}
	for _, c := range r.Challenges {
		for _, state := range challengeStates {
			ch <- prometheus.MustNewConstMetric(challengeStatusDesc, prometheus.GaugeValue,
				oneIf(c.State == state), string(state), c.DNSName, c.Reason,
				strconv.FormatBool(c.Processing), c.Name, c.Namespace, c.Type)
		}
	}
}

func readyOrUnknown(s cmmeta.ConditionStatus) cmmeta.ConditionStatus {
	if s == "" {
		return cmmeta.ConditionUnknown
	}
	return s
}

func oneIf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// issuerReady is the status of the first Ready condition, "" without one.
func issuerReady(conds []cmapi.IssuerCondition) cmmeta.ConditionStatus {
	for _, c := range conds {
		if c.Type == cmapi.IssuerConditionReady {
			return c.Status
		}
	}
	return ""
}

// ListResources returns a read of the Resources: the Issuers and
// Challenges of namespace (all when empty) and, when clusterIssuers, the
// ClusterIssuers, each listed in pages of pageSize. A list that fails is
// left out of Read and its error joined to the others'; the lists that
// worked are still returned.
//
// cert-manager disables ClusterIssuers when limited to one namespace
// (--namespace); a caller in that mode passes clusterIssuers false, and
// there are no clusterissuer series.
func ListResources(cm cmclient.Interface, namespace string, clusterIssuers bool, pageSize int64) func(context.Context) (Resources, error) {
	return func(ctx context.Context) (Resources, error) {
		var r Resources
		var errs []error
		page := metav1.ListOptions{Limit: pageSize}
		if err := job.ListPages(ctx, "Issuers", page, func(ctx context.Context, opts metav1.ListOptions) (string, error) {
			list, err := cm.CertmanagerV1().Issuers(namespace).List(ctx, opts)
			if err != nil {
				return "", err
			}
			if opts.Continue == "" {
				r.Issuers = nil // a restarted LIST starts over
			}
			for i := range list.Items {
				is := &list.Items[i]
				r.Issuers = append(r.Issuers, Issuer{Namespace: is.Namespace, Name: is.Name, Ready: issuerReady(is.Status.Conditions)})
			}
			return list.Continue, nil
		}); err != nil {
			r.Issuers = nil          // a partial list would drop series
			errs = append(errs, err) // names the LIST
		} else {
			r.Read |= KindIssuers
		}
		if clusterIssuers {
			if err := job.ListPages(ctx, "ClusterIssuers", page, func(ctx context.Context, opts metav1.ListOptions) (string, error) {
				list, err := cm.CertmanagerV1().ClusterIssuers().List(ctx, opts)
				if err != nil {
					return "", err
				}
				if opts.Continue == "" {
					r.ClusterIssuers = nil
				}
				for i := range list.Items {
					is := &list.Items[i]
					r.ClusterIssuers = append(r.ClusterIssuers, Issuer{Name: is.Name, Ready: issuerReady(is.Status.Conditions)})
				}
				return list.Continue, nil
			}); err != nil {
				r.ClusterIssuers = nil
				errs = append(errs, err) // names the LIST
			} else {
				r.Read |= KindClusterIssuers
			}
		}
		if err := job.ListPages(ctx, "ACME Challenges", page, func(ctx context.Context, opts metav1.ListOptions) (string, error) {
			list, err := cm.AcmeV1().Challenges(namespace).List(ctx, opts)
			if err != nil {
				return "", err
			}
			if opts.Continue == "" {
				r.Challenges = nil
			}
			for i := range list.Items {
				c := &list.Items[i]
				r.Challenges = append(r.Challenges, Challenge{
					Namespace: c.Namespace, Name: c.Name, DNSName: c.Spec.DNSName, Type: string(c.Spec.Type),
					State: c.Status.State, Reason: c.Status.Reason, Processing: c.Status.Processing,
				})
			}
			return list.Continue, nil
		}); err != nil {
			r.Challenges = nil       // a partial list would drop series
			errs = append(errs, err) // names the LIST
		} else {
			r.Read |= KindChallenges
		}
		return r, errors.Join(errs...)
	}
}
