package issuance

// CertificateRequests: building the request for one revision of a
// Certificate, as cert-manager's request manager does (behaviour reference
// §4.2), approving it (§4.3), and reading where it stands (§4.5 step 5).

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Approval written by the built-in approver (§4.3).
const (
	ApprovedReason  = "cert-manager.io"
	ApprovedMessage = "Certificate request has been approved by cert-manager.io"
)

// ReasonPending is the reason reported while a request has no answer yet.
const ReasonPending = cmapi.CertificateRequestReasonPending

// nonCopiedAnnotationPrefixes are the Certificate annotations that are not
// copied to its CertificateRequests: cert-manager's default exclusions, plus
// our own certsweep.io/ state, which belongs to the Certificate alone.
var nonCopiedAnnotationPrefixes = []string{
	"kubectl.kubernetes.io/",
	"fluxcd.io/",
	"argocd.argoproj.io/",
	"certsweep.io/",
}

// BuildCertificateRequest makes the CertificateRequest for revision of crt,
// carrying csrPEM and naming keySecretName as the Secret with its private key:
//   - name RequestName(crt.Name, revision) in the Certificate's namespace;
//   - the Certificate's labels, and its annotations minus the excluded
//     prefixes, plus the revision, private-key Secret and Certificate name
//     annotations;
//   - a controller owner reference to the Certificate;
//   - spec.duration, issuerRef, isCA and usages copied verbatim (usages are
//     not defaulted here; signers default them).
func BuildCertificateRequest(crt *cmapi.Certificate, revision int, keySecretName string, csrPEM []byte) *cmapi.CertificateRequest {
	annotations := make(map[string]string, len(crt.Annotations)+3)
	for k, v := range crt.Annotations {
		if !hasAnyPrefix(k, nonCopiedAnnotationPrefixes) {
			annotations[k] = v
		}
	}
	annotations[cmapi.CertificateRequestRevisionAnnotationKey] = strconv.Itoa(revision)
	annotations[cmapi.CertificateRequestPrivateKeyAnnotationKey] = keySecretName
	annotations[cmapi.CertificateNameKey] = crt.Name

	var duration *metav1.Duration
	if crt.Spec.Duration != nil {
		d := *crt.Spec.Duration
		duration = &d
	}

	return &cmapi.CertificateRequest{
		TypeMeta: metav1.TypeMeta{
			APIVersion: cmapi.SchemeGroupVersion.String(),
			Kind:       cmapi.CertificateRequestKind,
		},
		ObjectMeta: metav1.ObjectMeta{
			Name:        RequestName(crt.Name, revision),
			Namespace:   crt.Namespace,
			Labels:      maps.Clone(crt.Labels),
			Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{
				*metav1.NewControllerRef(crt, cmapi.SchemeGroupVersion.WithKind(cmapi.CertificateKind)),
			},
		},
		Spec: cmapi.CertificateRequestSpec{
			Request:   slices.Clone(csrPEM),
			Duration:  duration,
			IssuerRef: crt.Spec.IssuerRef,
			IsCA:      crt.Spec.IsCA,
			Usages:    slices.Clone(crt.Spec.Usages),
		},
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// RequestRevision reads the revision annotation of a CertificateRequest. ok
// is false when it is missing or not an integer; cert-manager deletes such
// requests (§4.2 step 1).
func RequestRevision(cr *cmapi.CertificateRequest) (revision int, ok bool) {
	if cr == nil {
		return 0, false
	}
	v, found := cr.Annotations[cmapi.CertificateRequestRevisionAnnotationKey]
	if !found {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false
	}
	return n, true
}

// ApprovedCondition is the condition the built-in approver sets. Its
// LastTransitionTime is left for SetRequestCondition to fill in.
func ApprovedCondition() cmapi.CertificateRequestCondition {
	return cmapi.CertificateRequestCondition{
		Type:    cmapi.CertificateRequestConditionApproved,
		Status:  cmmeta.ConditionTrue,
		Reason:  ApprovedReason,
		Message: ApprovedMessage,
	}
}

// Approve marks cr approved, as cert-manager's approver does.
func Approve(cr *cmapi.CertificateRequest, now time.Time) {
	c := ApprovedCondition()
	SetRequestCondition(cr, c.Type, c.Status, c.Reason, c.Message, now)
}

// SetRequestCondition sets a condition on cr the way cert-manager does: a
// condition of the same type is replaced; its lastTransitionTime moves to now
// only when the status changes (or the condition is new).
func SetRequestCondition(cr *cmapi.CertificateRequest, conditionType cmapi.CertificateRequestConditionType, status cmmeta.ConditionStatus, reason, message string, now time.Time) {
	t := metav1.NewTime(now)
	cond := cmapi.CertificateRequestCondition{
		Type:               conditionType,
		Status:             status,
		Reason:             reason,
		Message:            message,
		LastTransitionTime: &t,
	}
	for i, existing := range cr.Status.Conditions {
		if existing.Type != conditionType {
			continue
		}
		if existing.Status == status {
			cond.LastTransitionTime = existing.LastTransitionTime
		}
		cr.Status.Conditions[i] = cond
		return
	}
	cr.Status.Conditions = append(cr.Status.Conditions, cond)
}

// RequestCondition returns cr's condition of the given type, or nil.
func RequestCondition(cr *cmapi.CertificateRequest, conditionType cmapi.CertificateRequestConditionType) *cmapi.CertificateRequestCondition {
	if cr == nil {
		return nil
	}
	for i := range cr.Status.Conditions {
		if cr.Status.Conditions[i].Type == conditionType {
			return &cr.Status.Conditions[i]
		}
	}
	return nil
}

// IsApproved reports whether cr carries Approved=True.
func IsApproved(cr *cmapi.CertificateRequest) bool {
	c := RequestCondition(cr, cmapi.CertificateRequestConditionApproved)
	return c != nil && c.Status == cmmeta.ConditionTrue
}

// RequestState reads where a CertificateRequest stands from its conditions,
// in the order the issuing controller checks them (§4.5 step 5):
//   - Denied=True: StateDenied with the Denied condition's reason and message;
//   - InvalidRequest=True: StateFailed with that condition's reason and message;
//   - Ready=False reason Failed: StateFailed with the Ready reason and message;
//   - Ready=True reason Issued: StateIssued;
//   - anything else: StatePending, with the Ready condition's reason and
//     message when there is one and "Pending" otherwise.
func RequestState(cr *cmapi.CertificateRequest) (state State, reason, message string) {
	if c := RequestCondition(cr, cmapi.CertificateRequestConditionDenied); c != nil && c.Status == cmmeta.ConditionTrue {
		return StateDenied, orDefault(c.Reason, cmapi.CertificateRequestReasonDenied), c.Message
	}
	if c := RequestCondition(cr, cmapi.CertificateRequestConditionInvalidRequest); c != nil && c.Status == cmmeta.ConditionTrue {
		return StateFailed, orDefault(c.Reason, cmapi.CertificateRequestReasonFailed), c.Message
	}
	ready := RequestCondition(cr, cmapi.CertificateRequestConditionReady)
	switch {
	case ready == nil:
		return StatePending, ReasonPending, "Waiting for the CertificateRequest to be signed"
	case ready.Status == cmmeta.ConditionFalse && ready.Reason == cmapi.CertificateRequestReasonFailed:
		return StateFailed, ready.Reason, ready.Message
	case ready.Status == cmmeta.ConditionTrue && ready.Reason == cmapi.CertificateRequestReasonIssued:
		return StateIssued, ready.Reason, ready.Message
	default:
		return StatePending, orDefault(ready.Reason, ReasonPending), ready.Message
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
