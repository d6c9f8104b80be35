package job

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/certsweep/certsweep/renew"
)

// Sweeper runs sweeps. It is cheap to build and holds nothing between runs
// except its clients and options.
type Sweeper struct {
	kube kubernetes.Interface
	cm   cmclient.Interface
	opts Options

	// selfCheck fetches HTTP-01 answers (made once, on first use).
	selfCheckOnce sync.Once
	selfCheck     *http.Client
}

// New returns a Sweeper using the given clients.
func New(kube kubernetes.Interface, cm cmclient.Interface, opts Options) *Sweeper {
	opts.defaults()
	opts.Decide.ExternalApproval = !opts.Approve
	return &Sweeper{kube: kube, cm: cm, opts: opts}
}

// ErrRunImpossible wraps failures that stop the run itself (the API cannot
// be reached, or listing is forbidden), as opposed to one Certificate failing.
var ErrRunImpossible = errors.New("the sweep could not run")

// Run performs one sweep over every Certificate in scope. Certificates are
// decided while their Secrets stream in; those with nothing to issue are
// settled there and then, and the ones to issue or repair are collected and
// worked on once the listing is done, CA certificates first.
func (s *Sweeper) Run(ctx context.Context) (*Report, error) {
	started := s.opts.Now()
	// The certificate-shim goes first, so that the Certificates it creates
	// or changes are listed, decided and issued below, in this run.
	s.runShim(ctx)
	report := &Report{}
	b := s.newBudget(started)
	issuers := newIssuerCache(s, b)
	var mu sync.Mutex
	var pending []*workItem
	type lateKey struct {
		it  *workItem
		key *corev1.Secret
	}
	var late []lateKey
	var unowned []*cmapi.CertificateRequest
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Concurrency)
	err := s.scanWith(ctx, func(it *workItem) {
		g.Go(func() error {
			d, err := s.decide(s.input(it))
			if err != nil {
				mu.Lock()
				report.add(s.undecided(it, err))
				mu.Unlock()
				return nil
			}
			if d.Action == renew.ActionIssue || d.Action == renew.ActionRewriteSecret {
				mu.Lock()
				pending = append(pending, it)
				mu.Unlock()
				return nil
			}
			out := s.reconcile(gctx, it, issuers, b, &d)
			it.release()
			mu.Lock()
			report.add(out)
			mu.Unlock()
			return nil
		})
	}, func(it *workItem, key *corev1.Secret) {
		late = append(late, lateKey{it, key})
	}, func(cr *cmapi.CertificateRequest) {
		unowned = append(unowned, cr)
	})
	_ = g.Wait() // workers never return errors; failures are in the report
	issuers.flushStatus(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRunImpossible, err)
	}
	// Next keys that arrived after their Certificate was decided: an
	// issuance still to come adopts its key; an up-to-date Certificate's
	// leftover key is removed, as settle would have done.
	pendingSet := make(map[*workItem]bool, len(pending))
	for _, it := range pending {
		pendingSet[it] = true
	}
	for _, l := range late {
		switch {
		case pendingSet[l.it]:
			l.it.nextKeys = append(l.it.nextKeys, l.key)
		case l.it.discardLateKeys:
			if err := s.deleteNextKey(ctx, l.key); err != nil {
				s.opts.Logger.Warn("could not remove a leftover next private key", "secret", l.key.Namespace+"/"+l.key.Name, "error", err)
			}
		}
	}
	s.work(ctx, pending, b, report)
	// Requests no Certificate owns come last, so a CA its Certificate
	// issued in this run signs them (requests.go).
	s.handleUnowned(ctx, unowned, b, report)
	// Kubernetes CertificateSigningRequests, after every Certificate, for
	// the same reason (csr.go).
	s.sweepCSRs(ctx, b)
	report.Duration = s.opts.Now().Sub(started)
	return report, nil
}

// Reconcile works on the named Certificates only, reading each straight from
// the API. Event-driven triggers use it; a name that no longer exists is
// skipped, because a deleted Certificate leaves nothing to do.
func (s *Sweeper) Reconcile(ctx context.Context, names []ObjectRef) (*Report, error) {
	started := s.opts.Now()
	var items []*workItem
	for _, n := range names {
		it, found, err := s.reread(ctx, n.Namespace, n.Name)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRunImpossible, err)
		}
		if found {
			items = append(items, it)
		}
	}
	report := &Report{}
	s.work(ctx, items, s.newBudget(started), report)
	report.Duration = s.opts.Now().Sub(started)
	return report, nil
}

// ObjectRef names a Certificate to reconcile.
type ObjectRef struct{ Namespace, Name string }

// newBudget is this run's allowance of new issuances.
func (s *Sweeper) newBudget(started time.Time) *budget {
	var deadline time.Time
	if s.opts.Deadline > 0 {
		deadline = started.Add(s.opts.Deadline)
	}
	b := newBudget(s.opts.MaxIssuances, deadline, s.opts.Now)
	b.ordersLeft = -1
	if s.opts.ACMEMaxNewOrders > 0 {
		b.ordersLeft = s.opts.ACMEMaxNewOrders
	}
	return b
}

// work decides and acts on each item with bounded concurrency, adding the
// outcomes to report.
func (s *Sweeper) work(ctx context.Context, items []*workItem, b *budget, report *Report) {
	// CA certificates go first, and the rest then resolve their issuers
	// afresh, so a SelfSigned -> CA -> leaf chain completes in one run
	// instead of the leaves failing on a CA Secret that is about to exist.
	var cas, leaves []*workItem
	for _, it := range items {
		if it.cert.Spec.IsCA {
			cas = append(cas, it)
		} else {
			leaves = append(leaves, it)
		}
	}
	var mu sync.Mutex
	for _, phase := range [][]*workItem{cas, leaves} {
		if len(phase) == 0 {
			continue
		}
		issuers := newIssuerCache(s, b)
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(s.opts.Concurrency)
		for _, it := range phase {
			g.Go(func() error {
				out := s.reconcile(gctx, it, issuers, b, nil)
				it.release()
				mu.Lock()
				report.add(out)
				mu.Unlock()
				return nil
			})
		}
		_ = g.Wait() // workers never return errors; failures are in the report
		issuers.flushStatus(ctx)
	}
}

// budget limits how many issuances a run starts, by count and by deadline,
// and how many new ACME orders it places.
type budget struct {
	mu       sync.Mutex
	left     int // negative: unlimited
	deadline time.Time
	now      func() time.Time
	// ordersLeft is the run's allowance of new ACME orders; negative:
	// unlimited.
	ordersLeft int
}

// takeOrder reserves one new ACME order.
func (b *budget) takeOrder() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ordersLeft == 0 {
		return false
	}
	if b.ordersLeft > 0 {
		b.ordersLeft--
	}
	return true
}

func newBudget(max int, deadline time.Time, now func() time.Time) *budget {
	left := -1
	if max > 0 {
		left = max
	}
	return &budget{left: left, deadline: deadline, now: now, ordersLeft: -1}
}

// take reserves one issuance; it fails once the count or the time is spent.
func (b *budget) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.deadline.IsZero() && !b.now().Before(b.deadline) {
		return false
	}
	if b.left == 0 {
		return false
	}
	if b.left > 0 {
		b.left--
	}
	return true
}
