package job

// The certificate-shim: every sweep first creates, updates and deletes the
// Certificates that annotated Ingresses (and Gateways, when the Gateway API
// is installed) ask for, as cert-manager's ingress-shim and gateway-shim
// do, so that the sweep that follows sees them and issues them in the same
// run. issuance/shim builds what each object asks for, renew/shim decides
// what to write, and this file lists, carries the plan out and reports.
//
// Everything is listed, never read one by one: Ingresses and Gateways once
// each, in pages, then (only when some object asks for Certificates) the
// Certificates of the namespaces concerned, of which only those the
// objects name or control are kept.

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/certsweep/certsweep/issuance/pki"
	ishim "github.com/certsweep/certsweep/issuance/shim"
	rshim "github.com/certsweep/certsweep/renew/shim"
)

// ShimOptions are the certificate-shim's settings.
type ShimOptions struct {
	// Enabled runs the shim at the start of every sweep
	// (CERTSWEEP_SHIM, on by default there).
	Enabled bool
	// DefaultIssuer is the issuer of an Ingress annotated
	// kubernetes.io/tls-acme: "true" without an issuer annotation; its group
	// also completes an issuer annotation without issuer-group
	// (cert-manager's --default-issuer-name, -kind and -group). Empty kind
	// and group mean Issuer and cert-manager.io.
	DefaultIssuer cmmeta.IssuerReference
	// Gateways reads Gateways (gateway.networking.k8s.io/v1); nil means
	// Ingresses only. Gateways are skipped quietly where the Gateway API's
	// CRDs are not installed.
	Gateways gwclient.Interface
}

// Event reasons on an Ingress or Gateway, as cert-manager's shim names them.
const (
	reasonCreateCertificate = "CreateCertificate"
	reasonUpdateCertificate = "UpdateCertificate"
	reasonDeleteCertificate = "DeleteCertificate"
)

// shimTally counts what the shim did in one run, for its log line.
type shimTally struct {
	mu                                        sync.Mutex
	objects, created, updated, deleted, fails int
}

func (t *shimTally) add(created, updated, deleted, fails int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.created += created
	t.updated += updated
	t.deleted += deleted
	t.fails += fails
}

// runShim is the shim's part of a sweep. It never stops the sweep: an
// object it cannot list or a write it cannot make is logged, and the next
// run tries again, while the Certificates that exist are swept as usual.
func (s *Sweeper) runShim(ctx context.Context) {
	if !s.opts.Shim.Enabled {
		return
	}
	log := s.opts.Logger.With("component", "certificate-shim")
	defaults := ishim.Defaults{
		IssuerName:  s.opts.Shim.DefaultIssuer.Name,
		IssuerKind:  s.opts.Shim.DefaultIssuer.Kind,
		IssuerGroup: s.opts.Shim.DefaultIssuer.Group,
	}
	// A LIST that fails part-way leaves its kind out of this run rather
	// than half in.
	built, err := s.shimIngresses(ctx, defaults)
	if err != nil {
		built = nil
		log.Error("Ingresses not looked at in this run", "error", err)
	}
	gateways, err := s.shimGateways(ctx, defaults)
	if err != nil {
		gateways = nil
		log.Error("Gateways not looked at in this run", "error", err)
	}
	built = append(built, gateways...)
	if len(built) == 0 {
		return
	}

	// Problems first: an object that stops gets its warnings and nothing
	// else; one whose entries were skipped goes on with the rest.
	var inputs []rshim.Input
	var acting []ishim.Built
	for _, b := range built {
		for _, p := range b.Problems {
			s.shimWarning(ctx, b.Object, p)
		}
		if b.Stop {
			continue
		}
		acting = append(acting, b)
		inputs = append(inputs, rshim.Input{
			Owner: b.Owner, Namespace: b.Object.Namespace,
			Desired: b.Certificates, SecretNames: b.SecretNames,
			ManagedAnnotations: ishim.SolverAnnotations,
		})
	}
	if len(acting) == 0 {
		return
	}
	existing, err := s.shimCertificates(ctx, acting)
	if err != nil {
		log.Error("Certificates of Ingresses and Gateways not written in this run", "error", err)
		return
	}
	plans := rshim.Decide(inputs, existing)
	tally := &shimTally{objects: len(acting)}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Concurrency)
	for i := range acting {
		g.Go(func() error {
			s.carryOutShim(gctx, acting[i], plans[i], tally)
			return nil
		})
	}
	_ = g.Wait() // workers never return errors; failures are logged
	if tally.created+tally.updated+tally.deleted+tally.fails > 0 {
		log.Info("certificate-shim done", "objects", tally.objects, "created", tally.created,
			"updated", tally.updated, "deleted", tally.deleted, "failed", tally.fails)
	}
}

// shimIngresses lists the Ingresses in scope, in pages, and keeps what
// those that ask for Certificates ask for. A LIST restarted after an
// expired continue token repeats items; each is taken once.
func (s *Sweeper) shimIngresses(ctx context.Context, d ishim.Defaults) ([]ishim.Built, error) {
	seen := map[types.UID]bool{}
	var out []ishim.Built
	opts := metav1.ListOptions{Limit: s.opts.PageSize}
	err := listPages(ctx, "ingresses", opts, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		list, err := s.kube.NetworkingV1().Ingresses(s.opts.Namespace).List(ctx, o)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			ing := &list.Items[i]
			if seen[ing.UID] || !s.opts.inShard(ing.Namespace, ing.Name) {
				continue
			}
			seen[ing.UID] = true
			if b, ok := ishim.Ingress(ing, d); ok {
				out = append(out, b)
			}
		}
		return list.Continue, nil
	})
	return out, err
}

// shimGateways lists the Gateways in scope as shimIngresses lists
// Ingresses. Without the Gateway API's CRDs the LIST is NotFound, which
// means there is nothing to do.
func (s *Sweeper) shimGateways(ctx context.Context, d ishim.Defaults) ([]ishim.Built, error) {
	gw := s.opts.Shim.Gateways
	if gw == nil {
		return nil, nil
	}
	seen := map[types.UID]bool{}
	var out []ishim.Built
	opts := metav1.ListOptions{Limit: s.opts.PageSize}
	err := listPages(ctx, "gateways", opts, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		list, err := gw.GatewayV1().Gateways(s.opts.Namespace).List(ctx, o)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			g := &list.Items[i]
			if seen[g.UID] || !s.opts.inShard(g.Namespace, g.Name) {
				continue
			}
			seen[g.UID] = true
			if b, ok := ishim.Gateway(g, d); ok {
				out = append(out, b)
			}
		}
		return list.Continue, nil
	})
	if apierrors.IsNotFound(err) {
		s.opts.Logger.Debug("the Gateway API is not installed; no Gateways to look at")
		return nil, nil
	}
	return out, err
}

// shimCertificates lists the Certificates the objects may concern: those
// named like one they ask for, and those one of them controls. One
// namespace is listed when the objects are all in it; otherwise the
// sweep's whole scope.
func (s *Sweeper) shimCertificates(ctx context.Context, built []ishim.Built) ([]*cmapi.Certificate, error) {
	named := map[objectKey]bool{}
	owners := map[types.UID]bool{}
	namespaces := map[string]bool{}
	for _, b := range built {
		owners[b.Owner.UID] = true
		namespaces[b.Object.Namespace] = true
		for _, c := range b.Certificates {
			named[objectKey{c.Namespace, c.Name}] = true
		}
	}
	ns := s.opts.Namespace
	if ns == "" && len(namespaces) == 1 {
		ns = built[0].Object.Namespace
	}
	byUID := map[types.UID]*cmapi.Certificate{}
	opts := metav1.ListOptions{Limit: s.opts.PageSize}
	err := listPages(ctx, "certificates", opts, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		list, err := s.cm.CertmanagerV1().Certificates(ns).List(ctx, o)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			crt := &list.Items[i]
			c := metav1.GetControllerOf(crt)
			if named[objectKey{crt.Namespace, crt.Name}] || (c != nil && owners[c.UID]) {
				byUID[crt.UID] = detachCertificate(crt)
			}
		}
		return list.Continue, nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]*cmapi.Certificate, 0, len(byUID))
	for _, crt := range byUID {
		out = append(out, crt)
	}
	return out, nil
}

// carryOutShim makes one object's writes: creates, updates, then deletes,
// each with a Normal event on the object as cert-manager records them. A
// write that fails is logged and left to the next run, which decides again
// from what it finds.
func (s *Sweeper) carryOutShim(ctx context.Context, b ishim.Built, p rshim.Plan, tally *shimTally) {
	obj := b.Object
	log := s.opts.Logger.With("component", "certificate-shim", strings.ToLower(obj.Kind), obj.Namespace+"/"+obj.Name)
	for _, n := range p.NotOwned {
		why := "it has no controller (made by hand)"
		if n.Controller != "" {
			why = "it is controlled by " + n.Controller
		}
		log.Info("leaving alone a Certificate this object asks for: "+why, "certificate", n.Name)
	}
	for _, r := range p.Refused {
		s.shimWarning(ctx, obj, fmt.Sprintf("Certificate %q not written: %s", r.Name, r.Message))
	}
	var created, updated, deleted, fails int
	for _, crt := range p.Create {
		if _, err := s.createShimCertificate(ctx, crt); err != nil {
			fails++
			log.Warn("Certificate not created; the next run decides again", "certificate", crt.Name, "error", err)
			continue
		}
		created++
		s.shimEvent(ctx, obj, reasonCreateCertificate, fmt.Sprintf("Successfully created Certificate %q", crt.Name))
	}
	for _, crt := range p.Update {
		if _, err := s.updateShimCertificate(ctx, crt); err != nil {
			fails++
			log.Warn("Certificate not updated; the next run decides again", "certificate", crt.Name, "error", err)
			continue
		}
		updated++
		s.shimEvent(ctx, obj, reasonUpdateCertificate, fmt.Sprintf("Successfully updated Certificate %q", crt.Name))
	}
	for _, crt := range p.Delete {
		if err := s.deleteShimCertificate(ctx, crt); err != nil {
			fails++
			log.Warn("Certificate not deleted; the next run decides again", "certificate", crt.Name, "error", err)
			continue
		}
		deleted++
		s.shimEvent(ctx, obj, reasonDeleteCertificate, fmt.Sprintf("Successfully deleted unrequired Certificate %q", crt.Name))
	}
	tally.add(created, updated, deleted, fails)
}

// shimEvent records a Normal event on an Ingress or Gateway.
func (s *Sweeper) shimEvent(ctx context.Context, obj corev1.ObjectReference, reason, message string) {
	meta := &metav1.ObjectMeta{Namespace: obj.Namespace, Name: obj.Name, UID: obj.UID, ResourceVersion: obj.ResourceVersion}
	s.event(ctx, meta, schema.FromAPIVersionAndKind(obj.APIVersion, obj.Kind), corev1.EventTypeNormal, reason, message)
}

// shimWarning says a problem with an object's configuration once, with a
// Warning event (BadConfig) and a log line. The event's name is made from
// the object's UID and the message, so the same problem on a later run is
// refused by the API server as AlreadyExists, and said again only once the
// event has expired (the API server's --event-ttl, an hour by default) or
// the problem changed.
func (s *Sweeper) shimWarning(ctx context.Context, obj corev1.ObjectReference, message string) {
	now := metav1.NewTime(s.opts.Now())
	ev := &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: shimWarningName(obj, message), Namespace: obj.Namespace},
		InvolvedObject:      obj,
		Reason:              ishim.ReasonBadConfig,
		Message:             pki.Truncate(message, 1024),
		Type:                corev1.EventTypeWarning,
		Source:              corev1.EventSource{Component: eventSource},
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
		ReportingController: "certsweep.io/certsweep",
		ReportingInstance:   s.opts.Identity,
	}
	err := s.createEvent(ctx, ev)
	switch {
	case apierrors.IsAlreadyExists(err):
		// Said before.
	case err != nil:
		s.opts.Logger.Warn("could not record event", "object", obj.Namespace+"/"+obj.Name, "reason", ishim.ReasonBadConfig, "error", err)
	default:
		s.opts.Logger.Warn(message, "component", "certificate-shim", strings.ToLower(obj.Kind), obj.Namespace+"/"+obj.Name)
	}
}

// shimWarningName is "<object>.shim-<hash>", the hash of the object's UID
// and the message; the object's name is cut so that the result stays a
// valid event name.
func shimWarningName(obj corev1.ObjectReference, message string) string {
	h := fnv.New64a()
	h.Write([]byte(obj.UID))
	h.Write([]byte{0})
	h.Write([]byte(message))
	name := obj.Name
	if len(name) > 200 {
		name = strings.TrimRight(name[:200], "-.")
	}
	return fmt.Sprintf("%s.shim-%016x", name, h.Sum64())
}

// ShimNamespace runs the shim over one namespace's Ingresses and Gateways,
// then sweeps that namespace's Certificates, so that what the shim wrote is
// issued at once: what an Ingress or Gateway event asks for. It returns a
// nil report when the shim is off or the namespace is out of scope.
func (s *Sweeper) ShimNamespace(ctx context.Context, namespace string) (*Report, error) {
	if !s.opts.Shim.Enabled || !s.inNamespace(namespace) {
		return nil, nil
	}
	opts := s.opts
	opts.Namespace = namespace
	return New(s.kube, s.cm, opts).Run(ctx)
}
