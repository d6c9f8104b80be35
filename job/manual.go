package job

import (
	"context"
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/sethvargo/go-retry"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance/pki"
	"github.com/certsweep/certsweep/renew"
)

// Selected lists the Certificates in scope (namespace, selector), for
// `certsweep renew --all`.
func (s *Sweeper) Selected(ctx context.Context) ([]ObjectRef, error) {
	var refs []ObjectRef
	opts := metav1.ListOptions{Limit: s.opts.PageSize, LabelSelector: s.opts.Selector}
	err := listPages(ctx, "certificates", opts, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		list, err := s.cm.CertmanagerV1().Certificates(s.opts.Namespace).List(ctx, o)
		if err != nil {
			return "", err
		}
		for _, c := range list.Items {
			refs = append(refs, ObjectRef{Namespace: c.Namespace, Name: c.Name})
		}
		return list.Continue, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRunImpossible, err)
	}
	return refs, nil
}

// MarkForRenewal does what `cmctl renew` does: it sets Issuing=True with
// reason ManuallyTriggered, so the next sweep reissues the Certificate even
// inside a backoff window. A Certificate already marked keeps its
// transition time, as with cmctl.
func (s *Sweeper) MarkForRenewal(ctx context.Context, ref ObjectRef) error {
	backoff := retry.WithMaxRetries(5, retry.NewExponential(50*time.Millisecond))
	return retry.Do(ctx, backoff, func(ctx context.Context) error {
		crt, err := s.cm.CertmanagerV1().Certificates(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("certificate %s/%s not found", ref.Namespace, ref.Name)
		}
		if err != nil {
			return fmt.Errorf("reading certificate %s/%s: %w", ref.Namespace, ref.Name, err)
		}
		upd := crt.DeepCopy()
		pki.SetCertificateCondition(upd, cmapi.CertificateCondition{
			Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionTrue,
			Reason: renew.ReasonManuallyTriggered, Message: "Certificate re-issuance manually triggered",
		}, s.opts.Now())
		_, err = s.updateCertificateStatus(ctx, upd)
		if apierrors.IsConflict(err) {
			return retry.RetryableError(err)
		}
		if err != nil {
			return fmt.Errorf("marking certificate %s/%s for renewal: %w", ref.Namespace, ref.Name, err)
		}
		return nil
	})
}
