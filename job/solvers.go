package job

// The two ways certsweep answers an ACME challenge, behind one small
// interface so that acme.go drives a Challenge the same way whatever
// answers it: DNS-01 through an RFC 2136 update, and HTTP-01 through a
// solver Pod, Service and Ingress in cert-manager's shape. What to build
// comes from issuance/dns01 and issuance/http01; every write is in
// writes.go.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/certsweep/certsweep/issuance/acme"
	"github.com/certsweep/certsweep/issuance/dns01"
	"github.com/certsweep/certsweep/issuance/http01"
)

// challengeSolver publishes one Challenge's answer, tells whether it can be
// seen from outside yet, and removes it. Each step may be repeated after a
// crash, so each is idempotent.
type challengeSolver interface {
	// present publishes the answer.
	present(ctx context.Context, ch *cmacme.Challenge) error
	// visible is the self-check before the CA is asked to validate:
	// false means not yet (the next pause, or the next run, looks again).
	visible(ctx context.Context, ch *cmacme.Challenge) bool
	// cleanUp removes what present published.
	cleanUp(ctx context.Context, ch *cmacme.Challenge) error
	// waitingReason is the Challenge's status.reason once presented.
	waitingReason() string
}

// solverFor is the solver answering ch, as the Challenge's spec.solver says.
func (a *acmeIssuer) solverFor(ctx context.Context, ch *cmacme.Challenge) (challengeSolver, error) {
	switch {
	case ch.Spec.Type == cmacme.ACMEChallengeTypeDNS01 && ch.Spec.Solver.DNS01 != nil && ch.Spec.Solver.DNS01.RFC2136 != nil:
		return a.dnsSolver(ctx, ch)
	case ch.Spec.Type == cmacme.ACMEChallengeTypeHTTP01 && ch.Spec.Solver.HTTP01 != nil && ch.Spec.Solver.HTTP01.Ingress != nil:
		return &httpSolver{s: a.s, ensured: &a.ensured}, nil
	}
	return nil, &refusedError{fmt.Errorf("the solver of challenge %s/%s is not supported by certsweep yet; DNS-01 with rfc2136 and HTTP-01 with ingress are", ch.Namespace, ch.Name)}
}

// dnsSolver builds the RFC 2136 solver of a Challenge, with its TSIG secret.
func (a *acmeIssuer) dnsSolver(ctx context.Context, ch *cmacme.Challenge) (challengeSolver, error) {
	cfg := ch.Spec.Solver.DNS01.RFC2136
	secret := ""
	if cfg.TSIGSecret.Name != "" {
		var err error
		if secret, err = a.s.secretValue(ctx, a.secretNamespace, cfg.TSIGSecret); err != nil {
			return nil, fmt.Errorf("reading the TSIG secret of the rfc2136 solver: %w", err)
		}
	}
	solver, err := dns01.NewRFC2136(*cfg, secret)
	if err != nil {
		return nil, &refusedError{fmt.Errorf("the rfc2136 solver is misconfigured: %w", err)}
	}
	return &dnsSolver{solver: solver, s: a.s}, nil
}

// dnsSolver answers DNS-01 with a TXT record.
type dnsSolver struct {
	solver dns01.Solver
	s      *Sweeper
}

func (d *dnsSolver) present(ctx context.Context, ch *cmacme.Challenge) error {
	if err := d.solver.Present(ctx, dns01.ChallengeFQDN(ch.Spec.DNSName), acme.DNS01Value(ch.Spec.Key)); err != nil {
		return fmt.Errorf("presenting the DNS-01 record for %q: %w", ch.Spec.DNSName, err)
	}
	return nil
}

func (d *dnsSolver) visible(ctx context.Context, ch *cmacme.Challenge) bool {
	seen, err := dns01.Propagated(ctx, dns01.ChallengeFQDN(ch.Spec.DNSName), acme.DNS01Value(ch.Spec.Key), d.s.opts.DNS01Nameservers, d.s.opts.DNS01RecursiveOnly)
	return err == nil && seen
}

func (d *dnsSolver) cleanUp(ctx context.Context, ch *cmacme.Challenge) error {
	if err := d.solver.CleanUp(ctx, dns01.ChallengeFQDN(ch.Spec.DNSName), acme.DNS01Value(ch.Spec.Key)); err != nil {
		return fmt.Errorf("removing the DNS-01 record for %q: %w", ch.Spec.DNSName, err)
	}
	return nil
}

func (d *dnsSolver) waitingReason() string { return "Waiting for DNS-01 challenge propagation" }

// httpSolver answers HTTP-01 with a solver Pod running `certsweep
// solve-http01`, a Service in front of it and an Ingress routing the
// challenge path to it (or a path added to the user's Ingress, when the
// solver names one). The objects are found by their labels and owner, so a
// create the client never heard back from is not repeated.
type httpSolver struct {
	s *Sweeper
	// ensured holds the Challenges whose objects were checked in this run:
	// a self-check that fails finds a deleted Pod or Ingress once, without
	// three LISTs on every pause.
	ensured *sync.Map
}

// selfCheckTimeout bounds one fetch of the answer.
const selfCheckTimeout = 10 * time.Second

func (h *httpSolver) present(ctx context.Context, ch *cmacme.Challenge) error {
	if err := http01.Validate(ch); err != nil {
		return &refusedError{err}
	}
	objs, err := h.s.listSolverObjects(ctx, ch, selectorFor(ch))
	if err != nil {
		return err
	}
	// More than one of a kind is a leftover of overlapping runs: remove
	// them all and make one afresh, as cert-manager does.
	if len(objs.pods) > 1 || len(objs.services) > 1 || len(objs.ingresses) > 1 {
		if err := h.cleanUp(ctx, ch); err != nil {
			return err
		}
		objs = solverObjects{}
	}
	if len(objs.pods) == 0 {
		if _, err := h.s.createSolverPod(ctx, http01.Pod(ch, h.s.opts.HTTP01SolverImage)); err != nil {
			return err
		}
	}
	var serviceName string
	if len(objs.services) == 1 {
		serviceName = objs.services[0].Name
	} else {
		svc, err := h.s.createSolverService(ctx, http01.Service(ch))
		if err != nil {
			return err
		}
		serviceName = svc.Name
	}
	if name := ch.Spec.Solver.HTTP01.Ingress.Name; name != "" {
		return h.editIngress(ctx, ch, name, func(ing *networkingv1.Ingress) (*networkingv1.Ingress, bool) {
			return http01.AddPath(ing, ch, serviceName)
		})
	}
	if len(objs.ingresses) == 1 {
		// Ours already; it must still route to the Service (one made
		// afresh gets a new generated name).
		if upd, changed := http01.AddPath(&objs.ingresses[0], ch, serviceName); changed {
			_, err := h.s.updateIngress(ctx, upd)
			return err
		}
		return nil
	}
	ing, err := http01.Ingress(ch, serviceName)
	if err != nil {
		return &refusedError{err}
	}
	_, err = h.s.createSolverIngress(ctx, ing)
	return err
}

// errIngressMissing: the Ingress a solver names (to edit in place) is not
// there; a person must create it or fix the name.
var errIngressMissing = errors.New("it does not exist")

// editIngress changes the user's Ingress a solver names, retrying once on a
// conflict with another writer.
func (h *httpSolver) editIngress(ctx context.Context, ch *cmacme.Challenge, name string, edit func(*networkingv1.Ingress) (*networkingv1.Ingress, bool)) error {
	for attempt := 0; ; attempt++ {
		ing, err := h.s.getIngress(ctx, ch.Namespace, name)
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("the HTTP-01 solver names ingress %s/%s: %w", ch.Namespace, name, errIngressMissing)
		}
		if err != nil {
			return fmt.Errorf("reading ingress %s/%s: %w", ch.Namespace, name, err)
		}
		upd, changed := edit(ing)
		if !changed {
			return nil
		}
		_, err = h.s.updateIngress(ctx, upd)
		if apierrors.IsConflict(err) && attempt == 0 {
			continue
		}
		return err
	}
}

func (h *httpSolver) visible(ctx context.Context, ch *cmacme.Challenge) bool {
	if ok, err := h.fetch(ctx, ch); err == nil && ok {
		return true
	}
	// Not answering: once per run, make sure nothing was removed under us.
	if _, checked := h.ensured.LoadOrStore(ch.UID, true); !checked {
		if err := h.present(ctx, ch); err != nil {
			h.s.opts.Logger.Warn("could not restore the HTTP-01 solver", "challenge", ch.Namespace+"/"+ch.Name, "error", err)
		}
	}
	return false
}

// fetch is cert-manager's self-check: the answer at
// http://<name>/.well-known/acme-challenge/<token>, as the CA will fetch
// it, must be the key authorization.
func (h *httpSolver) fetch(ctx context.Context, ch *cmacme.Challenge) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, selfCheckTimeout)
	defer cancel()
	host := ch.Spec.DNSName
	if port := h.s.opts.HTTP01SelfCheckPort; port != 80 {
		host = net.JoinHostPort(host, strconv.Itoa(port))
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	url := "http://" + host + http01.ChallengePath + "/" + ch.Spec.Token
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	resp, err := h.s.selfCheckClient().Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("self-check %s: status %d", url, resp.StatusCode)
	}
	return strings.TrimSpace(string(body)) == ch.Spec.Key, nil
}

func (h *httpSolver) cleanUp(ctx context.Context, ch *cmacme.Challenge) error {
	objs, err := h.s.listSolverObjects(ctx, ch, selectorFor(ch))
	if err != nil {
		return err
	}
	var errs []error
	for i := range objs.ingresses {
		errs = append(errs, h.s.deleteSolverObject(ctx, &objs.ingresses[i], "Ingress"))
	}
	for i := range objs.services {
		errs = append(errs, h.s.deleteSolverObject(ctx, &objs.services[i], "Service"))
	}
	for i := range objs.pods {
		errs = append(errs, h.s.deleteSolverObject(ctx, &objs.pods[i], "Pod"))
	}
	if name := ch.Spec.Solver.HTTP01.Ingress.Name; name != "" {
		err := h.editIngress(ctx, ch, name, func(ing *networkingv1.Ingress) (*networkingv1.Ingress, bool) {
			return http01.RemovePath(ing, ch)
		})
		// A user's Ingress that is gone holds no path of ours.
		if err != nil && !errors.Is(err, errIngressMissing) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (h *httpSolver) waitingReason() string { return "Waiting for HTTP-01 challenge propagation" }

func selectorFor(ch *cmacme.Challenge) string {
	return labels.SelectorFromSet(http01.Labels(ch)).String()
}

// selfCheckClient fetches HTTP-01 answers: no proxy from the environment
// (the CA does not use ours), the configured resolver, and no keep-alives
// across runs' worth of different hosts.
func (s *Sweeper) selfCheckClient() *http.Client {
	s.selfCheckOnce.Do(func() {
		dialer := &net.Dialer{Timeout: 5 * time.Second, Resolver: s.opts.HTTP01SelfCheckResolver}
		s.selfCheck = &http.Client{
			Transport: &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true},
			Timeout:   selfCheckTimeout,
		}
	})
	return s.selfCheck
}
