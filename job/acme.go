package job

// ACME: an Issuer with spec.acme signs through a CA that answers in its own
// time. A sweep drives each order as far as it can within a bounded wait,
// keeping its progress in cert-manager's own Order and Challenge objects,
// so that the next run (or a concurrent one) continues the same order:
// renew/ says what the next step is from those objects alone
// (NextOrderStep, NextChallengeStep, PickSolver), issuance/acme talks to the
// CA, issuance/dns01 publishes the answers, and every write goes through
// writes.go.

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance"
	"github.com/certsweep/certsweep/issuance/acme"
	"github.com/certsweep/certsweep/issuance/pki"
	"github.com/certsweep/certsweep/renew"
)

// acmeIssuer signs for one ACME Issuer or ClusterIssuer in one run.
type acmeIssuer struct {
	s      *Sweeper
	orders *budget
	spec   *cmacme.ACMEIssuer
	client *acme.Client
	// secretNamespace holds the solvers' Secrets (the Issuer's namespace, or
	// the cluster resource namespace for a ClusterIssuer).
	secretNamespace string
	// ensured is httpSolver's record of the Challenges it re-checked in
	// this run (UIDs).
	ensured sync.Map
}

var _ issuance.Issuer = (*acmeIssuer)(nil)

// acmePollInterval is how long to wait between reads of an order or an
// authorization the CA is still working on.
const acmePollInterval = time.Second

// loadACME sets up the account for an ACME issuer: its key from
// privateKeySecretRef (made once and stored there unless the issuer
// forbids it), then the registration, which the CA answers with the
// existing account for a known key, so it is never made twice.
func (c *issuerCache) loadACME(ctx context.Context, e *issuerEntry, obj cmapi.GenericIssuer, secretNamespace string) {
	spec := obj.GetSpec().ACME
	status := obj.GetStatus()
	notReady := func(reason, message string) {
		e.ready = &cmapi.IssuerCondition{Type: cmapi.IssuerConditionReady, Status: cmmeta.ConditionFalse, Reason: reason, Message: message}
		e.err = &issuance.NotReadyError{Reason: "IssuerNotReady", Message: fmt.Sprintf("%s %q is not ready: %s", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), message)}
	}
	key, err := c.s.accountKey(ctx, secretNamespace, spec)
	if err != nil {
		var nr *issuance.NotReadyError
		if errors.As(err, &nr) {
			notReady(nr.Reason, nr.Message)
			return
		}
		e.err = err
		return
	}
	accountURL := ""
	if status.ACME != nil {
		accountURL = status.ACME.URI
	}
	client, err := acme.New(ctx, acme.Config{
		DirectoryURL: spec.Server, CABundle: spec.CABundle, SkipTLSVerify: spec.SkipTLSVerify, UserAgent: c.s.opts.UserAgent,
		WrapTransport: c.s.opts.ACMETransport,
	}, key, accountURL)
	if err != nil {
		notReady("ErrRegisterACMEAccount", fmt.Sprintf("Failed to reach the ACME server: %v", err))
		return
	}
	var eab *acme.EAB
	if b := spec.ExternalAccountBinding; b != nil {
		hmac, err := c.s.secretValue(ctx, secretNamespace, b.Key)
		if err != nil {
			notReady("ErrRegisterACMEAccount", fmt.Sprintf("Failed to read the external account binding key: %v", err))
			return
		}
		eab = &acme.EAB{KeyID: b.KeyID, HMACKey: hmac}
	}
	uri, err := client.Register(ctx, spec.Email, eab)
	if err != nil {
		notReady("ErrRegisterACMEAccount", fmt.Sprintf("Failed to register ACME account: %v", err))
		return
	}
	if status.ACME != nil && status.ACME.URI == uri && status.ACME.LastRegisteredEmail != spec.Email {
		if err := client.UpdateEmail(ctx, spec.Email); err != nil {
			notReady("ErrUpdateACMEAccount", fmt.Sprintf("Failed to update ACME account email: %v", err))
			return
		}
	}
	e.acmeStatus = &cmacme.ACMEIssuerStatus{URI: uri, LastRegisteredEmail: spec.Email}
	e.ready = &cmapi.IssuerCondition{Type: cmapi.IssuerConditionReady, Status: cmmeta.ConditionTrue, Reason: "ACMEAccountRegistered", Message: "The ACME account was registered with the ACME server"}
	e.issuer = &acmeIssuer{s: c.s, orders: c.b, spec: spec, client: client, secretNamespace: secretNamespace}
}

// accountKey reads the ACME account key, making and storing it the first
// time. Two sweeps that both make one race on the create; the loser reads
// the winner's.
func (s *Sweeper) accountKey(ctx context.Context, namespace string, spec *cmacme.ACMEIssuer) (crypto.Signer, error) {
	ref := spec.PrivateKey
	dataKey := ref.Key
	if dataKey == "" {
		dataKey = corev1.TLSPrivateKeyKey
	}
	for range 2 {
		sec, err := s.getSecret(ctx, namespace, ref.Name)
		if err == nil {
			key, err := pki.DecodePrivateKey(sec.Data[dataKey])
			if err != nil {
				return nil, &issuance.NotReadyError{Reason: "ErrInvalidPrivateKey", Message: fmt.Sprintf("Secret %s/%s does not hold a usable ACME account key: %v", namespace, ref.Name, err)}
			}
			return key, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, err
		}
		if spec.DisableAccountKeyGeneration {
			return nil, &issuance.NotReadyError{Reason: "ErrGetKeyPair", Message: fmt.Sprintf("Secret %s/%s with the ACME account key does not exist and disableAccountKeyGeneration is set", namespace, ref.Name)}
		}
		key, err := pki.GeneratePrivateKey(&cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm, Size: 2048})
		if err != nil {
			return nil, fmt.Errorf("generating ACME account key: %w", err)
		}
		keyPEM, err := pki.EncodePrivateKey(key, cmapi.PKCS1)
		if err != nil {
			return nil, fmt.Errorf("encoding ACME account key: %w", err)
		}
		_, err = s.createSecret(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: ref.Name, Namespace: namespace},
			Data:       map[string][]byte{dataKey: keyPEM},
		})
		if err == nil {
			return key, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("ACME account key Secret %s/%s keeps changing", namespace, ref.Name)
}

// Sign advances the request's Order as far as it goes within the run's
// ACME wait: Pending while the CA works, Issued with the chain, Failed when
// the CA refused. A returned error is temporary (the CA could not be
// reached) and takes the short backoff, at least the CA's Retry-After.
func (a *acmeIssuer) Sign(ctx context.Context, req issuance.Request) (issuance.Result, error) {
	cr := req.CertificateRequest
	built, err := issuance.BuildOrder(cr, issuance.RequestOwner(cr), a.spec.Profile, req.Replaces, a.spec.EnableDurationFeature)
	if err != nil {
		return issuance.Result{State: issuance.StateFailed, Reason: "InvalidOrder", Message: err.Error()}, nil
	}
	res, _, err := a.driveOrder(ctx, cr, built)
	return res, err
}

// driveOrder advances built, the Order of the request cr stands for (a
// stored CertificateRequest, or a Kubernetes CertificateSigningRequest as
// its in-memory CertificateRequest, whose UID is the CSR's), as Sign says.
// It also returns the Order as last read or written (nil if there is none),
// for the caller's messages.
func (a *acmeIssuer) driveOrder(ctx context.Context, cr *cmapi.CertificateRequest, built *cmacme.Order) (issuance.Result, *cmacme.Order, error) {
	order, err := a.s.getOrder(ctx, built.Namespace, built.Name)
	if err != nil && !apierrors.IsNotFound(err) {
		return issuance.Result{}, nil, err
	}
	if apierrors.IsNotFound(err) {
		order = nil
	}
	if order != nil && !renew.OrderIsFor(order, cr) {
		if err := a.s.deleteOrder(ctx, order); err != nil {
			return issuance.Result{}, order, err
		}
		order = nil
	}
	// The wait is real time spent on the CA and DNS, whatever the sweep's
	// clock says (tests move that clock).
	deadline := time.Now().Add(a.s.opts.ACMEWait)
	for {
		step := renew.NextOrderStep(order)
		switch step {
		case renew.OrderCreate:
			if order, err = a.s.createOrder(ctx, built); apierrors.IsAlreadyExists(err) {
				order, err = a.s.getOrder(ctx, built.Namespace, built.Name)
			}
		case renew.OrderPlace:
			order, err = a.place(ctx, order)
		case renew.OrderAuthorize:
			var waiting bool
			if order, waiting, err = a.authorize(ctx, order, cr); err == nil && waiting {
				if !a.pause(ctx, deadline) {
					return pendingOrder(order), order, nil
				}
			}
		case renew.OrderFinalize:
			order, err = a.finalize(ctx, order)
		case renew.OrderPoll:
			// Read first: a later run must see what the CA did meanwhile.
			before := order.Status.State
			if order, err = a.sync(ctx, order); err == nil && order.Status.State == before && !a.pause(ctx, deadline) {
				return pendingOrder(order), order, nil
			}
		case renew.OrderDownload:
			order, err = a.download(ctx, order)
		case renew.OrderIssued:
			if err = a.cleanUpChallenges(ctx, order); err != nil {
				break
			}
			return issuance.StoredResult(&cmapi.CertificateRequest{Status: cmapi.CertificateRequestStatus{Certificate: order.Status.Certificate}}), order, nil
		case renew.OrderFailed:
			if err = a.cleanUpChallenges(ctx, order); err != nil {
				break
			}
			return issuance.Result{State: issuance.StateFailed, Reason: "Failed",
				Message: fmt.Sprintf("Failed to wait for order resource %q to become ready: order is in %q state: %s", order.Name, order.Status.State, order.Status.Reason)}, order, nil
		}
		if err != nil {
			res, err := a.caError(order, err)
			return res, order, err
		}
	}
}

// caError turns an error met at the CA into the request's answer: a CA
// refusal retrying cannot fix fails the request (the issuance backoff);
// anything else is temporary.
func (a *acmeIssuer) caError(order *cmacme.Order, err error) (issuance.Result, error) {
	if errors.Is(err, errOrderBudget) || errors.Is(err, errPlacingElsewhere) {
		return issuance.Result{State: issuance.StatePending, Reason: cmapi.CertificateRequestReasonPending, Message: err.Error()}, nil
	}
	var ours *refusedError
	if errors.As(err, &ours) {
		return issuance.Result{State: issuance.StateFailed, Reason: "Failed", Message: err.Error()}, nil
	}
	refused, retryAfter, problem := acme.Classify(err)
	if refused {
		reason := "Failed"
		if problem != nil {
			reason = "ACME: " + problem.Type
		}
		name := ""
		if order != nil {
			name = order.Name
		}
		return issuance.Result{State: issuance.StateFailed, Reason: "Failed", Message: fmt.Sprintf("The ACME server refused order %q (%s): %v", name, reason, err)}, nil
	}
	if retryAfter > 0 {
		// rateLimited, or a 503 with Retry-After: the CA said when to come
		// back, and the window honours it across runs.
		return issuance.Result{}, &issuance.RetryAfterError{Err: err, After: retryAfter}
	}
	return issuance.Result{}, err
}

func pendingOrder(order *cmacme.Order) issuance.Result {
	return issuance.Result{State: issuance.StatePending, Reason: cmapi.CertificateRequestReasonPending,
		Message: fmt.Sprintf("Waiting on certificate issuance from order %s/%s: %q", order.Namespace, order.Name, order.Status.State)}
}

// pause waits one poll interval, unless the run's ACME wait is spent.
func (a *acmeIssuer) pause(ctx context.Context, deadline time.Time) bool {
	if !time.Now().Add(acmePollInterval).Before(deadline) {
		return false
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(acmePollInterval):
		return true
	}
}

// solverSupported reports whether certsweep can answer a challenge of
// type typ ("http-01", "dns-01") with solver.
func solverSupported(solver cmacme.ACMEChallengeSolver, typ string) bool {
	switch typ {
	case "dns-01":
		return solver.DNS01 != nil && solver.DNS01.RFC2136 != nil
	case "http-01":
		return solver.HTTP01 != nil && solver.HTTP01.Ingress != nil
	}
	return false
}

// unsolvable checks, before an order is placed, that each of its names has
// a solver certsweep supports, picked as it will be once the CA offers its
// challenges (every CA offers DNS-01, and HTTP-01 for a name that is not a
// wildcard). An Issuer whose only fitting solver is one certsweep cannot
// run (a DNS provider other than rfc2136, gatewayHTTPRoute) is refused
// without an order the CA would hold for nothing.
func (a *acmeIssuer) unsolvable(order *cmacme.Order) error {
	for _, name := range issuance.OrderNames(order) {
		offered := []string{"http-01", "dns-01"}
		if strings.HasPrefix(name, "*.") {
			offered = []string{"dns-01"}
		}
		idx, typ := renew.PickSolver(a.spec.Solvers, name, offered, order.Labels)
		if idx < 0 {
			return &refusedError{fmt.Errorf("no configured challenge solvers can be used for %q", name)}
		}
		if !solverSupported(a.spec.Solvers[idx], typ) {
			return &refusedError{fmt.Errorf("the solver that fits %q is not supported by certsweep yet (DNS-01 with rfc2136 and HTTP-01 with ingress are); no order was placed", name)}
		}
	}
	return nil
}

// place asks the CA for the order, within the run's cap on new orders, and
// records its URL at once: a crash between the two leaves at most one
// orphaned order at the CA, never finalized.
func (a *acmeIssuer) place(ctx context.Context, order *cmacme.Order) (*cmacme.Order, error) {
	if err := a.unsolvable(order); err != nil {
		return order, err
	}
	now := a.s.opts.Now()
	if renew.PlacementClaimed(order, now) {
		return order, errPlacingElsewhere
	}
	if !a.orders.takeOrder() {
		return order, errOrderBudget
	}
	// Claim first: of two runs that both read the Order without a URL,
	// only the one whose claim is written asks the CA.
	claim := order.DeepCopy()
	if claim.Annotations == nil {
		claim.Annotations = map[string]string{}
	}
	claim.Annotations[renew.AnnotationPlacing] = now.UTC().Format(time.RFC3339)
	claimed, err := a.s.claimOrder(ctx, claim)
	if apierrors.IsConflict(err) {
		return order, errPlacingElsewhere
	}
	if err != nil {
		return order, err
	}
	order = claimed
	placed, err := a.client.NewOrder(ctx, issuance.OrderNames(order), order.Spec.Profile, order.Spec.Replaces)
	// On alreadyReplaced (RFC 9773 §5: an order the CA still holds, or one
	// a crash left behind, already replaces this certificate) the client
	// places it once more without the hint, as cert-manager does;
	// spec.replaces keeps what was asked.
	if err != nil {
		return order, fmt.Errorf("placing order %s/%s: %w", order.Namespace, order.Name, err)
	}
	upd := order.DeepCopy()
	a.applyOrder(upd, placed)
	return a.s.updateOrderStatus(ctx, upd)
}

// errOrderBudget stops a request whose order may not be placed in this run.
var errOrderBudget = errors.New("the run's cap on new ACME orders is reached; the next run places it")

// errPlacingElsewhere stops a request whose order another run is placing
// at the CA right now; that run records it, and the next one continues.
var errPlacingElsewhere = errors.New("another run is placing this order at the ACME server; the next run continues it")

// sync reads the order from the CA and records where it stands.
func (a *acmeIssuer) sync(ctx context.Context, order *cmacme.Order) (*cmacme.Order, error) {
	got, err := a.client.GetOrder(ctx, order.Status.URL)
	if err != nil {
		return order, fmt.Errorf("reading order %s/%s: %w", order.Namespace, order.Name, err)
	}
	upd := order.DeepCopy()
	a.applyOrder(upd, got)
	if upd.Status.State == order.Status.State && upd.Status.Reason == order.Status.Reason {
		return order, nil
	}
	return a.s.updateOrderStatus(ctx, upd)
}

// applyOrder copies the CA's view of an order into the Order's status.
func (a *acmeIssuer) applyOrder(o *cmacme.Order, got acme.Order) {
	o.Status.URL = got.URL
	o.Status.FinalizeURL = got.FinalizeURL
	o.Status.State = cmacme.State(got.Status)
	if got.Error != nil {
		o.Status.Reason = got.Error.Detail
	}
	if len(o.Status.Authorizations) == 0 {
		for _, u := range got.Authorizations {
			o.Status.Authorizations = append(o.Status.Authorizations, cmacme.ACMEAuthorization{URL: u})
		}
	}
	if o.Status.State == cmacme.Invalid && o.Status.FailureTime == nil {
		o.Status.FailureTime = pki.MetaTime(a.s.opts.Now())
	}
}

// authorize works on every authorization of a pending order: one
// Challenge each, presented, checked, accepted and polled. waiting is true
// while the CA or DNS still has to catch up.
func (a *acmeIssuer) authorize(ctx context.Context, order *cmacme.Order, cr *cmapi.CertificateRequest) (*cmacme.Order, bool, error) {
	waiting := false
	for i := range order.Status.Authorizations {
		authz, err := a.client.GetAuthorization(ctx, order.Status.Authorizations[i].URL)
		if err != nil {
			return order, false, fmt.Errorf("reading authorization of %s/%s: %w", order.Namespace, order.Name, err)
		}
		if authz.Status == "valid" {
			continue
		}
		if authz.Status != "pending" {
			// invalid, deactivated, expired: the order fails with it.
			synced, err := a.sync(ctx, order)
			return synced, false, err
		}
		ch, err := a.ensureChallenge(ctx, order, authz)
		if err != nil {
			return order, false, err
		}
		more, err := a.advanceChallenge(ctx, ch)
		if err != nil {
			return order, false, err
		}
		waiting = waiting || more
	}
	synced, err := a.sync(ctx, order)
	return synced, waiting, err
}

// ensureChallenge finds or makes the Challenge for a pending authorization,
// answered by the solver renew/ picks.
func (a *acmeIssuer) ensureChallenge(ctx context.Context, order *cmacme.Order, authz acme.Authorization) (*cmacme.Challenge, error) {
	domain := authz.Identifier
	if authz.Wildcard {
		domain = "*." + domain
	}
	var offered []string
	for _, c := range authz.Challenges {
		offered = append(offered, c.Type)
	}
	idx, typ := renew.PickSolver(a.spec.Solvers, domain, offered, order.Labels)
	if idx < 0 {
		return nil, &refusedError{fmt.Errorf("no configured challenge solvers can be used for %q (the CA offers %v)", domain, offered)}
	}
	if !solverSupported(a.spec.Solvers[idx], typ) {
		return nil, &refusedError{fmt.Errorf("the solver picked for %q is not supported by certsweep yet; DNS-01 with rfc2136 and HTTP-01 with ingress are", domain)}
	}
	var picked acme.Challenge
	for _, c := range authz.Challenges {
		if c.Type == typ {
			picked = c
		}
	}
	keyAuth, err := a.client.KeyAuthorization(picked.Token)
	if err != nil {
		return nil, fmt.Errorf("key authorization for %q: %w", domain, err)
	}
	solver, err := renew.ApplyIngressOverrides(a.spec.Solvers[idx], order.Annotations)
	if err != nil {
		return nil, &refusedError{fmt.Errorf("the HTTP-01 override annotations of %s/%s: %w", order.Namespace, order.Name, err)}
	}
	wildcard := authz.Wildcard
	built, err := issuance.BuildChallenge(order,
		cmacme.ACMEAuthorization{URL: authz.URL, Identifier: authz.Identifier, Wildcard: &wildcard},
		cmacme.ACMEChallenge{URL: picked.URL, Token: picked.Token, Type: picked.Type},
		solver, keyAuth)
	if err != nil {
		return nil, err
	}
	ch, err := a.s.getChallenge(ctx, built.Namespace, built.Name)
	if apierrors.IsNotFound(err) {
		ch, err = a.s.createChallenge(ctx, built)
		if apierrors.IsAlreadyExists(err) {
			ch, err = a.s.getChallenge(ctx, built.Namespace, built.Name)
		}
	}
	return ch, err
}

// advanceChallenge takes one Challenge as far as it goes now. more is true
// while it waits on DNS, on the solver, or on the CA.
func (a *acmeIssuer) advanceChallenge(ctx context.Context, ch *cmacme.Challenge) (bool, error) {
	solver, err := a.solverFor(ctx, ch)
	if err != nil {
		return false, err
	}
	for {
		switch renew.NextChallengeStep(ch) {
		case renew.ChallengePresent:
			if err := solver.present(ctx, ch); err != nil {
				return false, err
			}
			upd := ch.DeepCopy()
			upd.Status.Presented = true
			upd.Status.PresentedAt = pki.MetaTime(a.s.opts.Now())
			upd.Status.State = cmacme.Pending
			upd.Status.Reason = solver.waitingReason()
			if ch, err = a.s.updateChallengeStatus(ctx, upd); err != nil {
				return false, err
			}
		case renew.ChallengeAccept:
			if !solver.visible(ctx, ch) {
				// Not visible yet: the next pause (or the next run) looks again.
				return true, nil
			}
			if _, err := a.client.AcceptChallenge(ctx, ch.Spec.URL); err != nil {
				// A run going at the same time may have accepted it first;
				// the CA refuses a second accept (malformed, "only status
				// pending"), which is no refusal of the name. Only a
				// challenge still pending at the CA makes this an error.
				got, gerr := a.client.GetChallenge(ctx, ch.Spec.URL)
				if gerr != nil || got.Status == "pending" {
					return false, fmt.Errorf("accepting the challenge for %q: %w", ch.Spec.DNSName, err)
				}
			}
			upd := ch.DeepCopy()
			upd.Status.Processing = true
			upd.Status.Reason = "Waiting for the ACME server to validate"
			if ch, err = a.s.updateChallengeStatus(ctx, upd); err != nil {
				return false, err
			}
		case renew.ChallengePoll:
			got, err := a.client.GetChallenge(ctx, ch.Spec.URL)
			if err != nil {
				return false, fmt.Errorf("reading the challenge for %q: %w", ch.Spec.DNSName, err)
			}
			if got.Status != "valid" && got.Status != "invalid" {
				return true, nil
			}
			upd := ch.DeepCopy()
			upd.Status.State = cmacme.State(got.Status)
			upd.Status.Processing = false
			upd.Status.Reason = "Successfully authorized domain"
			if got.Error != nil {
				upd.Status.Reason = got.Error.Detail
			}
			if ch, err = a.s.updateChallengeStatus(ctx, upd); err != nil {
				return false, err
			}
		case renew.ChallengeCleanUp:
			if err := solver.cleanUp(ctx, ch); err != nil {
				return false, err
			}
			return false, a.s.deleteChallenge(ctx, ch)
		}
	}
}

// cleanUpChallenges removes what is left of a final order's Challenges: a
// run cut short after a challenge was decided, but before its solver was
// cleaned up, leaves one that no pending authorization leads back to.
func (a *acmeIssuer) cleanUpChallenges(ctx context.Context, order *cmacme.Order) error {
	chs, err := a.s.listChallenges(ctx, order)
	if err != nil {
		return err
	}
	for i := range chs {
		ch := &chs[i]
		solver, err := a.solverFor(ctx, ch)
		if err != nil {
			return err
		}
		if ch.Status.Presented {
			if err := solver.cleanUp(ctx, ch); err != nil {
				return err
			}
		}
		if err := a.s.deleteChallenge(ctx, ch); err != nil {
			return err
		}
	}
	return nil
}

// finalize sends the CSR once every authorization is valid.
func (a *acmeIssuer) finalize(ctx context.Context, order *cmacme.Order) (*cmacme.Order, error) {
	csr, err := pki.DecodeCSR(order.Spec.Request)
	if err != nil {
		return order, &refusedError{fmt.Errorf("the Order's CSR: %w", err)}
	}
	got, err := a.client.Finalize(ctx, order.Status.FinalizeURL, csr.Raw)
	if err != nil {
		return order, fmt.Errorf("finalizing order %s/%s: %w", order.Namespace, order.Name, err)
	}
	upd := order.DeepCopy()
	a.applyOrder(upd, got)
	upd.Status.URL = order.Status.URL // Pebble answers finalize without the order's URL
	return a.s.updateOrderStatus(ctx, upd)
}

// download fetches the certificate of a valid order and keeps it on the
// Order, so that a crash from here on never needs the CA again.
func (a *acmeIssuer) download(ctx context.Context, order *cmacme.Order) (*cmacme.Order, error) {
	got, err := a.client.GetOrder(ctx, order.Status.URL)
	if err != nil {
		return order, fmt.Errorf("reading order %s/%s: %w", order.Namespace, order.Name, err)
	}
	chain, err := a.client.Certificate(ctx, got.CertificateURL, a.spec.PreferredChain)
	if err != nil {
		return order, fmt.Errorf("downloading the certificate of %s/%s: %w", order.Namespace, order.Name, err)
	}
	upd := order.DeepCopy()
	upd.Status.Certificate = chain
	upd.Status.State = cmacme.Valid
	return a.s.updateOrderStatus(ctx, upd)
}

// refusedError is a problem on our side of an order that retrying soon
// cannot fix (no usable solver, a bad solver config).
type refusedError struct{ err error }

func (e *refusedError) Error() string { return e.err.Error() }
func (e *refusedError) Unwrap() error { return e.err }
