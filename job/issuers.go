package job

import (
	"context"
	"fmt"
	"strings"
	"sync"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance"
	"github.com/certsweep/certsweep/issuance/pki"
	"github.com/certsweep/certsweep/renew"
)

// issuerCache resolves each issuerRef once per run: one GET per Issuer, not
// one per Certificate, and one readiness check per CA Secret.
type issuerCache struct {
	s       *Sweeper
	b       *budget
	mu      sync.Mutex
	entries map[string]*issuerEntry
}

type issuerEntry struct {
	once   sync.Once
	issuer issuance.Issuer
	err    error
	// obj and ready are set for cert-manager.io issuers whose Ready
	// condition this run should write.
	obj   cmapi.GenericIssuer
	ready *cmapi.IssuerCondition
	// acmeStatus is an ACME issuer's account as this run registered it.
	acmeStatus *cmacme.ACMEIssuerStatus
}

func newIssuerCache(s *Sweeper, b *budget) *issuerCache {
	return &issuerCache{s: s, b: b, entries: map[string]*issuerEntry{}}
}

// resolve returns the Issuer to sign with for crt. The error is a
// *issuance.NotReadyError when the issuer is missing or cannot sign yet.
func (c *issuerCache) resolve(ctx context.Context, crt *cmapi.Certificate) (issuance.Issuer, error) {
	return c.resolveRef(ctx, crt.Namespace, crt.Spec.IssuerRef)
}

// resolveRef returns the Issuer to sign with for ref, as seen from an object
// in namespace: a Certificate, a CertificateRequest no Certificate owns, or
// (with namespace taken from the signerName) a CertificateSigningRequest.
func (c *issuerCache) resolveRef(ctx context.Context, namespace string, ref cmmeta.IssuerReference) (issuance.Issuer, error) {
	if !renew.SignsInProcess(ref) {
		return issuance.External{}, nil
	}
	kind := ref.Kind
	if kind == "" {
		kind = cmapi.IssuerKind
	}
	key := kind + "/" + ref.Name
	if kind == cmapi.IssuerKind {
		key = kind + "/" + namespace + "/" + ref.Name
	}
	c.mu.Lock()
	e, ok := c.entries[key]
	if !ok {
		e = &issuerEntry{}
		c.entries[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { c.load(ctx, e, kind, namespace, ref.Name) })
	return e.issuer, e.err
}

func (c *issuerCache) load(ctx context.Context, e *issuerEntry, kind, namespace, name string) {
	var obj cmapi.GenericIssuer
	var err error
	secretNamespace := namespace
	switch kind {
	case cmapi.IssuerKind:
		obj, err = c.s.cm.CertmanagerV1().Issuers(namespace).Get(ctx, name, metav1.GetOptions{})
	case cmapi.ClusterIssuerKind:
		obj, err = c.s.cm.CertmanagerV1().ClusterIssuers().Get(ctx, name, metav1.GetOptions{})
		secretNamespace = c.s.opts.ClusterResourceNamespace
	default:
		e.err = &issuance.NotReadyError{Reason: "IssuerKindUnknown", Message: fmt.Sprintf("issuerRef.kind %q must be one of Issuer or ClusterIssuer", kind)}
		return
	}
	if apierrors.IsNotFound(err) {
		e.err = &issuance.NotReadyError{Reason: "IssuerNotFound", Message: fmt.Sprintf("Referenced %q not found: %s %q does not exist", kind, kind, name)}
		return
	}
	if err != nil {
		e.err = fmt.Errorf("reading %s %q: %w", kind, name, err)
		return
	}
	e.obj = obj
	spec := obj.GetSpec()
	getSecret := issuance.SecretGetter(c.s.getSecret)
	if types := issuance.ConfiguredTypes(spec); len(types) > 1 {
		// cert-manager's webhook refuses such an Issuer; without it the
		// sweep must not pick one of the types by itself.
		msg := fmt.Sprintf("%s %q may not specify more than one issuer type (it sets %s)", kind, name, strings.Join(types, ", "))
		e.ready = &cmapi.IssuerCondition{Type: cmapi.IssuerConditionReady, Status: cmmeta.ConditionFalse, Reason: renew.ReasonIssuerMisconfigured, Message: msg}
		e.err = &issuance.NotReadyError{Reason: renew.ReasonIssuerMisconfigured, Message: msg}
		return
	}
	switch {
	case spec.SelfSigned != nil:
		signer := issuance.NewSelfSigned(spec.SelfSigned)
		signer.Clock = c.s.opts.Now
		e.issuer = signer
		e.ready = &cmapi.IssuerCondition{Type: cmapi.IssuerConditionReady, Status: cmmeta.ConditionTrue, Reason: "IsReady"}
	case spec.CA != nil:
		signer := issuance.NewCA(getSecret, secretNamespace, *spec.CA)
		signer.Clock = c.s.opts.Now
		ready, reason, message, err := signer.Ready(ctx)
		if err != nil {
			e.err = fmt.Errorf("checking CA of %s %q: %w", kind, name, err)
			return
		}
		status := cmmeta.ConditionFalse
		if ready {
			status = cmmeta.ConditionTrue
		}
		e.ready = &cmapi.IssuerCondition{Type: cmapi.IssuerConditionReady, Status: status, Reason: reason, Message: message}
		e.issuer = signer
		if !ready {
			// Like cert-manager's signers, do not sign for an issuer that is
			// not Ready; and unlike them, make no request that would only sit
			// Pending until the CA Secret is fixed.
			e.err = &issuance.NotReadyError{Reason: "IssuerNotReady", Message: fmt.Sprintf("%s %q is not ready: %s", kind, name, message)}
		}
	case spec.ACME != nil:
		c.loadACME(ctx, e, obj, secretNamespace)
	case spec.Vault != nil:
		c.loadVault(ctx, e, obj, secretNamespace)
	default:
		e.err = &issuance.NotReadyError{Reason: "IssuerTypeUnsupported", Message: fmt.Sprintf("%s %q is of a type certsweep cannot sign for yet; only SelfSigned, CA, ACME, Vault and external issuers are supported", kind, name)}
	}
}

// flushStatus writes each used issuer's Ready condition when it changed, as
// cert-manager's issuer controllers would. Failures are logged, not fatal.
func (c *issuerCache) flushStatus(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.s.opts.Now()
	for _, e := range c.entries {
		if e.obj == nil || e.ready == nil {
			continue
		}
		cond := *e.ready
		cond.ObservedGeneration = e.obj.GetGeneration()
		upd := e.obj.DeepCopyObject().(cmapi.GenericIssuer)
		conds, changed := pki.SetIssuerCondition(upd.GetStatus().Conditions, cond, now)
		if a := e.acmeStatus; a != nil {
			if st := upd.GetStatus(); st.ACME == nil || st.ACME.URI != a.URI || st.ACME.LastRegisteredEmail != a.LastRegisteredEmail {
				st.ACME = a
				changed = true
			}
		}
		if !changed {
			continue
		}
		upd.GetStatus().Conditions = conds
		if err := c.s.updateIssuerStatus(ctx, upd); err != nil && !apierrors.IsConflict(err) {
			c.s.opts.Logger.Warn("could not update issuer status", "issuer", e.obj.GetName(), "error", err)
		}
	}
}
