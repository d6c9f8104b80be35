package job

// Every write a sweep makes to the API is in this file, so that "what does
// a sweep write?" has one answer. Each function makes exactly one request,
// wraps its error with what was being written, and carries the
// preconditions that keep concurrent sweeps from overwriting each other:
// the resourceVersion read for updates, the UID (and resourceVersion) for
// deletes, deterministic names for creates.
//
// Nothing here decides anything: what to write comes from renew/'s Decision
// and from issuance/'s builders.

import (
	"context"
	"fmt"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance"
	"github.com/certsweep/certsweep/renew"
)

// fieldManager names certsweep in managedFields of the objects it updates.
// Target Secrets are the exception: they are applied under cert-manager's
// own manager (renew.FieldManager) so ownership carries over both ways.
const fieldManager = "certsweep"

// createNextKey stores the next private key; AlreadyExists means another
// sweep stored one first.
func (s *Sweeper) createNextKey(ctx context.Context, sec *corev1.Secret) (*corev1.Secret, error) {
	out, err := s.kube.CoreV1().Secrets(sec.Namespace).Create(ctx, sec, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, fmt.Errorf("storing next private key %s/%s: %w", sec.Namespace, sec.Name, err)
	}
	return out, nil
}

// deleteNextKey removes a next private key Secret, only if it is still the
// one read (by UID).
func (s *Sweeper) deleteNextKey(ctx context.Context, sec *corev1.Secret) error {
	uid := sec.UID
	err := s.kube.CoreV1().Secrets(sec.Namespace).Delete(ctx, sec.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting next private key Secret %s/%s: %w", sec.Namespace, sec.Name, err)
	}
	return nil
}

// applySecret writes the target Secret with server-side apply.
func (s *Sweeper) applySecret(ctx context.Context, w issuance.SecretWrite) (*corev1.Secret, error) {
	ac, force := w.ApplyConfiguration()
	out, err := s.kube.CoreV1().Secrets(w.Namespace).Apply(ctx, ac, metav1.ApplyOptions{FieldManager: renew.FieldManager, Force: force})
	if err != nil {
		return nil, fmt.Errorf("writing secret %s/%s: %w", w.Namespace, w.Name, err)
	}
	return out, nil
}

// createRequest creates the CertificateRequest of one revision. Its name is
// deterministic, so a concurrent sweep's create fails with AlreadyExists.
func (s *Sweeper) createRequest(ctx context.Context, cr *cmapi.CertificateRequest) (*cmapi.CertificateRequest, error) {
	out, err := s.cm.CertmanagerV1().CertificateRequests(cr.Namespace).Create(ctx, cr, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, fmt.Errorf("creating CertificateRequest %s/%s: %w", cr.Namespace, cr.Name, err)
	}
	return out, nil
}

// updateRequestStatus writes a request's status (approval, signature or
// failure), carrying the resourceVersion read.
func (s *Sweeper) updateRequestStatus(ctx context.Context, cr *cmapi.CertificateRequest) (*cmapi.CertificateRequest, error) {
	out, err := s.cm.CertmanagerV1().CertificateRequests(cr.Namespace).UpdateStatus(ctx, cr, metav1.UpdateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, fmt.Errorf("updating status of CertificateRequest %s/%s: %w", cr.Namespace, cr.Name, err)
	}
	return out, nil
}

// updateCSRStatus writes a CertificateSigningRequest's status (its
// certificate, a Failed or Waiting condition), carrying the resourceVersion
// read, so a request two sweeps sign at once is stored once.
func (s *Sweeper) updateCSRStatus(ctx context.Context, csr *certificatesv1.CertificateSigningRequest) (*certificatesv1.CertificateSigningRequest, error) {
	out, err := s.kube.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, csr, metav1.UpdateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, fmt.Errorf("updating status of CertificateSigningRequest %s: %w", csr.Name, err)
	}
	return out, nil
}

// deleteRequest removes a stale request, only if it is still the one read.
func (s *Sweeper) deleteRequest(ctx context.Context, cr *cmapi.CertificateRequest) error {
	uid, rv := cr.UID, cr.ResourceVersion
	err := s.cm.CertmanagerV1().CertificateRequests(cr.Namespace).Delete(ctx, cr.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting stale CertificateRequest %s/%s: %w", cr.Namespace, cr.Name, err)
	}
	return nil
}

// pruneRequest removes a request of an old revision beyond the history limit.
func (s *Sweeper) pruneRequest(ctx context.Context, namespace, name string) error {
	err := s.cm.CertmanagerV1().CertificateRequests(namespace).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("pruning CertificateRequest %s/%s: %w", namespace, name, err)
	}
	return nil
}

// updateCertificateStatus writes a Certificate's status subresource,
// carrying the resourceVersion read.
func (s *Sweeper) updateCertificateStatus(ctx context.Context, crt *cmapi.Certificate) (*cmapi.Certificate, error) {
	out, err := s.cm.CertmanagerV1().Certificates(crt.Namespace).UpdateStatus(ctx, crt, metav1.UpdateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, fmt.Errorf("updating status of certificate %s/%s: %w", crt.Namespace, crt.Name, err)
	}
	return out, nil
}

// updateCertificate writes a Certificate's metadata (the retry
// annotations), carrying the resourceVersion read.
func (s *Sweeper) updateCertificate(ctx context.Context, crt *cmapi.Certificate) (*cmapi.Certificate, error) {
	out, err := s.cm.CertmanagerV1().Certificates(crt.Namespace).Update(ctx, crt, metav1.UpdateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, fmt.Errorf("recording retry state on certificate %s/%s: %w", crt.Namespace, crt.Name, err)
	}
	return out, nil
}

// updateIssuerStatus writes an Issuer's or ClusterIssuer's status.
func (s *Sweeper) updateIssuerStatus(ctx context.Context, obj cmapi.GenericIssuer) error {
	var err error
	switch o := obj.(type) {
	case *cmapi.Issuer:
		_, err = s.cm.CertmanagerV1().Issuers(o.Namespace).UpdateStatus(ctx, o, metav1.UpdateOptions{FieldManager: fieldManager})
	case *cmapi.ClusterIssuer:
		_, err = s.cm.CertmanagerV1().ClusterIssuers().UpdateStatus(ctx, o, metav1.UpdateOptions{FieldManager: fieldManager})
	default:
		return fmt.Errorf("updating status of issuer %s: unknown kind %T", obj.GetName(), obj)
	}
	if err != nil {
		return fmt.Errorf("updating status of issuer %s: %w", obj.GetName(), err)
	}
	return nil
}

// createServiceAccountToken mints a short-lived token for a ServiceAccount
// (a TokenRequest), which a Vault issuer's Kubernetes auth presents to
// Vault once and forgets. It is a write, made only when a Certificate of
// that issuer is due. The token is never logged.
func (s *Sweeper) createServiceAccountToken(ctx context.Context, namespace, name string, audiences []string, expirationSeconds int64) (string, error) {
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: &expirationSeconds}}
	out, err := s.kube.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, req, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil {
		return "", fmt.Errorf("requesting a token for ServiceAccount %s/%s: %w", namespace, name, err)
	}
	return out.Status.Token, nil
}

// createEvent records an Event. Events are written directly, not through
// client-go's broadcaster, because a run is short: a buffered broadcaster
// would either lose events at exit or need a flush, and the direct write
// keeps the count of requests per run exact.
func (s *Sweeper) createEvent(ctx context.Context, ev *corev1.Event) error {
	if _, err := s.kube.CoreV1().Events(ev.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("recording event %s on %s/%s: %w", ev.Reason, ev.Namespace, ev.InvolvedObject.Name, err)
	}
	return nil
}

// createSecret creates a Secret certsweep owns outright (an ACME account
// key); AlreadyExists means another sweep made it first.
func (s *Sweeper) createSecret(ctx context.Context, sec *corev1.Secret) (*corev1.Secret, error) {
	out, err := s.kube.CoreV1().Secrets(sec.Namespace).Create(ctx, sec, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, fmt.Errorf("creating secret %s/%s: %w", sec.Namespace, sec.Name, err)
	}
	return out, nil
}

// createOrder creates a request's ACME Order; its name is deterministic, so
// a concurrent sweep's create fails with AlreadyExists.
func (s *Sweeper) createOrder(ctx context.Context, o *cmacme.Order) (*cmacme.Order, error) {
	out, err := s.cm.AcmeV1().Orders(o.Namespace).Create(ctx, o, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, fmt.Errorf("creating Order %s/%s: %w", o.Namespace, o.Name, err)
	}
	return out, nil
}

// updateOrderStatus records an order's progress, carrying the
// resourceVersion read, so two sweeps never both record a placed order.
// claimOrder writes the claim (renew.AnnotationPlacing) on an Order before
// it is placed at the CA, at the resourceVersion read: a run that loses the
// race gets a Conflict and leaves the placing to the winner.
func (s *Sweeper) claimOrder(ctx context.Context, o *cmacme.Order) (*cmacme.Order, error) {
	out, err := s.cm.AcmeV1().Orders(o.Namespace).Update(ctx, o, metav1.UpdateOptions{FieldManager: fieldManager})
	if err != nil {
		return o, fmt.Errorf("claiming Order %s/%s for placing: %w", o.Namespace, o.Name, err)
	}
	return out, nil
}

// holdOrder records on a CertificateSigningRequest's Order when the ACME
// CA allows it to be worked on again (renew.AnnotationRetryAfter), at the
// resourceVersion read.
func (s *Sweeper) holdOrder(ctx context.Context, o *cmacme.Order) (*cmacme.Order, error) {
	out, err := s.cm.AcmeV1().Orders(o.Namespace).Update(ctx, o, metav1.UpdateOptions{FieldManager: fieldManager})
	if err != nil {
		return o, fmt.Errorf("recording the ACME server's Retry-After on Order %s/%s: %w", o.Namespace, o.Name, err)
	}
	return out, nil
}

func (s *Sweeper) updateOrderStatus(ctx context.Context, o *cmacme.Order) (*cmacme.Order, error) {
	out, err := s.cm.AcmeV1().Orders(o.Namespace).UpdateStatus(ctx, o, metav1.UpdateOptions{FieldManager: fieldManager})
	if err != nil {
		return o, fmt.Errorf("updating status of Order %s/%s: %w", o.Namespace, o.Name, err)
	}
	return out, nil
}

func (s *Sweeper) createChallenge(ctx context.Context, ch *cmacme.Challenge) (*cmacme.Challenge, error) {
	out, err := s.cm.AcmeV1().Challenges(ch.Namespace).Create(ctx, ch, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, fmt.Errorf("creating Challenge %s/%s: %w", ch.Namespace, ch.Name, err)
	}
	return out, nil
}

func (s *Sweeper) updateChallengeStatus(ctx context.Context, ch *cmacme.Challenge) (*cmacme.Challenge, error) {
	out, err := s.cm.AcmeV1().Challenges(ch.Namespace).UpdateStatus(ctx, ch, metav1.UpdateOptions{FieldManager: fieldManager})
	if err != nil {
		return ch, fmt.Errorf("updating status of Challenge %s/%s: %w", ch.Namespace, ch.Name, err)
	}
	return out, nil
}

// deleteChallenge removes a finished Challenge, only if it is still the one
// read.
func (s *Sweeper) deleteChallenge(ctx context.Context, ch *cmacme.Challenge) error {
	uid := ch.UID
	err := s.cm.AcmeV1().Challenges(ch.Namespace).Delete(ctx, ch.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Challenge %s/%s: %w", ch.Namespace, ch.Name, err)
	}
	return nil
}

// deleteOrder removes an Order left by a request that was replaced under the
// same name, only if it is still the one read.
func (s *Sweeper) deleteOrder(ctx context.Context, o *cmacme.Order) error {
	uid, rv := o.UID, o.ResourceVersion
	err := s.cm.AcmeV1().Orders(o.Namespace).Delete(ctx, o.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting stale Order %s/%s: %w", o.Namespace, o.Name, err)
	}
	return nil
}

// createSolverPod, createSolverService and createSolverIngress make an
// HTTP-01 solver's objects. Their names are generated, as cert-manager's
// are; a create that reached the server but failed at the client is found
// by its labels on the next pass (listSolverObjects), never made twice.
func (s *Sweeper) createSolverPod(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	out, err := s.kube.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, fmt.Errorf("creating HTTP-01 solver pod in %s: %w", pod.Namespace, err)
	}
	return out, nil
}

func (s *Sweeper) createSolverService(ctx context.Context, svc *corev1.Service) (*corev1.Service, error) {
	out, err := s.kube.CoreV1().Services(svc.Namespace).Create(ctx, svc, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, fmt.Errorf("creating HTTP-01 solver service in %s: %w", svc.Namespace, err)
	}
	return out, nil
}

func (s *Sweeper) createSolverIngress(ctx context.Context, ing *networkingv1.Ingress) (*networkingv1.Ingress, error) {
	out, err := s.kube.NetworkingV1().Ingresses(ing.Namespace).Create(ctx, ing, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, fmt.Errorf("creating HTTP-01 solver ingress in %s: %w", ing.Namespace, err)
	}
	return out, nil
}

// updateIngress writes a user's Ingress that a solver with `name` edits in
// place (adding or removing the challenge path), at the resourceVersion read.
func (s *Sweeper) updateIngress(ctx context.Context, ing *networkingv1.Ingress) (*networkingv1.Ingress, error) {
	out, err := s.kube.NetworkingV1().Ingresses(ing.Namespace).Update(ctx, ing, metav1.UpdateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, fmt.Errorf("updating ingress %s/%s for an HTTP-01 challenge: %w", ing.Namespace, ing.Name, err)
	}
	return out, nil
}

// deleteSolverObject removes one HTTP-01 solver Pod, Service or Ingress,
// only if it is still the one read (by UID); gone already is fine.
func (s *Sweeper) deleteSolverObject(ctx context.Context, obj metav1.Object, kind string) error {
	uid := obj.GetUID()
	opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}
	var err error
	switch kind {
	case "Pod":
		err = s.kube.CoreV1().Pods(obj.GetNamespace()).Delete(ctx, obj.GetName(), opts)
	case "Service":
		err = s.kube.CoreV1().Services(obj.GetNamespace()).Delete(ctx, obj.GetName(), opts)
	case "Ingress":
		err = s.kube.NetworkingV1().Ingresses(obj.GetNamespace()).Delete(ctx, obj.GetName(), opts)
	default:
		return fmt.Errorf("deleting HTTP-01 solver %s %s/%s: unknown kind", kind, obj.GetNamespace(), obj.GetName())
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting HTTP-01 solver %s %s/%s: %w", kind, obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

// The certificate-shim's writes (shim.go): the Certificates that Ingresses
// and Gateways ask for.

// createShimCertificate creates a Certificate an Ingress or Gateway asks
// for. Its name is its Secret's, so a concurrent sweep's create fails with
// AlreadyExists.
func (s *Sweeper) createShimCertificate(ctx context.Context, crt *cmapi.Certificate) (*cmapi.Certificate, error) {
	out, err := s.cm.CertmanagerV1().Certificates(crt.Namespace).Create(ctx, crt, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, fmt.Errorf("creating certificate %s/%s for its %s: %w", crt.Namespace, crt.Name, controllerKind(crt), err)
	}
	return out, nil
}

// updateShimCertificate writes the fields the shim manages on a
// Certificate its Ingress or Gateway controls, carrying the
// resourceVersion read.
func (s *Sweeper) updateShimCertificate(ctx context.Context, crt *cmapi.Certificate) (*cmapi.Certificate, error) {
	out, err := s.cm.CertmanagerV1().Certificates(crt.Namespace).Update(ctx, crt, metav1.UpdateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, fmt.Errorf("updating certificate %s/%s from its %s: %w", crt.Namespace, crt.Name, controllerKind(crt), err)
	}
	return out, nil
}

// deleteShimCertificate removes a Certificate its Ingress or Gateway no
// longer names, only if it is still the one read (UID and resourceVersion);
// gone already is fine.
func (s *Sweeper) deleteShimCertificate(ctx context.Context, crt *cmapi.Certificate) error {
	uid, rv := crt.UID, crt.ResourceVersion
	err := s.cm.CertmanagerV1().Certificates(crt.Namespace).Delete(ctx, crt.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting certificate %s/%s its %s no longer names: %w", crt.Namespace, crt.Name, controllerKind(crt), err)
	}
	return nil
}

// controllerKind is the kind of crt's controller ("Ingress", "Gateway"),
// for error messages.
func controllerKind(crt *cmapi.Certificate) string {
	if c := metav1.GetControllerOf(crt); c != nil {
		return c.Kind
	}
	return "owner"
}
