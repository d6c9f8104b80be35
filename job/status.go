package job

import (
	"context"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance/pki"
	"github.com/certsweep/certsweep/renew"
)

func optionalTime(t *time.Time) *metav1.Time {
	if t == nil {
		return nil
	}
	return pki.MetaTime(*t)
}

// applyDecisionToStatus sets what readiness owns: the Ready condition, the
// validity times and the renewal time, plus the mirrored retry state.
func applyDecisionToStatus(crt *cmapi.Certificate, d renew.Decision, now time.Time) {
	ready := d.Ready
	ready.Type = cmapi.CertificateConditionReady
	pki.SetCertificateCondition(crt, ready, now)
	crt.Status.NotBefore = optionalTime(d.NotBefore)
	crt.Status.NotAfter = optionalTime(d.NotAfter)
	crt.Status.RenewalTime = optionalTime(d.RenewalTime)
	mirrorRetry(crt, d.Retry)
}

// mirrorRetry copies the annotation-kept retry state into the status fields
// cmctl and kubectl show.
func mirrorRetry(crt *cmapi.Certificate, r renew.RetryState) {
	if r.FailedAttempts == 0 && r.LastFailureTime.IsZero() {
		crt.Status.FailedIssuanceAttempts = nil
		crt.Status.LastFailureTime = nil
		return
	}
	n := r.FailedAttempts
	crt.Status.FailedIssuanceAttempts = &n
	if r.LastFailureTime.IsZero() {
		crt.Status.LastFailureTime = nil
	} else {
		crt.Status.LastFailureTime = pki.MetaTime(r.LastFailureTime)
	}
}

// writeStatus updates the status subresource when desired differs from what
// was read, carrying the resourceVersion it read. It returns the stored
// object (or the input when nothing was written).
func (s *Sweeper) writeStatus(ctx context.Context, read, desired *cmapi.Certificate) (*cmapi.Certificate, bool, error) {
	if equality.Semantic.DeepEqual(read.Status, desired.Status) {
		return read, false, nil
	}
	out, err := s.updateCertificateStatus(ctx, desired)
	if err != nil {
		return read, false, err
	}
	return out, true, nil
}

// writeRetryAnnotations replaces the certsweep.io retry annotations with
// state, carrying the resourceVersion read. Nothing is written when the
// annotations already say the same.
func (s *Sweeper) writeRetryAnnotations(ctx context.Context, crt *cmapi.Certificate, state renew.RetryState) (*cmapi.Certificate, error) {
	want := state.Annotations()
	changed := false
	for _, k := range renew.RetryAnnotationKeys {
		v, ok := want[k]
		old, had := crt.Annotations[k]
		if ok != had || v != old {
			changed = true
		}
	}
	if !changed {
		return crt, nil
	}
	upd := crt.DeepCopy()
	if upd.Annotations == nil {
		upd.Annotations = map[string]string{}
	}
	for _, k := range renew.RetryAnnotationKeys {
		delete(upd.Annotations, k)
	}
	for k, v := range want {
		upd.Annotations[k] = v
	}
	out, err := s.updateCertificate(ctx, upd)
	if err != nil {
		return crt, err
	}
	return out, nil
}

// issuingCondition builds an Issuing condition.
func issuingCondition(status cmmeta.ConditionStatus, reason, message string) cmapi.CertificateCondition {
	return cmapi.CertificateCondition{Type: cmapi.CertificateConditionIssuing, Status: status, Reason: reason, Message: message}
}
