package issuance

// CertificateRequests: building the request for one revision of a
// Certificate, as cert-manager's request manager does (docs/semantics.md
// §4.2) and approving it (§4.3). Where a request stands is read by
// pki.ReadRequest.

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/certsweep/certsweep/issuance/pki"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Approval written by the built-in approver (§4.3).
const (
	ApprovedReason  = "cert-manager.io"
	ApprovedMessage = "Certificate request has been approved by cert-manager.io"
)

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
//   - name requestName(crt.Name, revision) in the Certificate's namespace;
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
			Name:        requestName(crt.Name, revision),
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

// approvedCondition is the condition the built-in approver sets. Its
// LastTransitionTime is left for pki.SetRequestCondition to fill in.
func approvedCondition() cmapi.CertificateRequestCondition {
	return cmapi.CertificateRequestCondition{
		Type:    cmapi.CertificateRequestConditionApproved,
		Status:  cmmeta.ConditionTrue,
		Reason:  ApprovedReason,
		Message: ApprovedMessage,
	}
}

// Approve marks cr approved, as cert-manager's approver does.
func Approve(cr *cmapi.CertificateRequest, now time.Time) {
	c := approvedCondition()
	pki.SetRequestCondition(cr, c.Type, c.Status, c.Reason, c.Message, now)
}

// MarkIssued stores an in-process signature on cr: the chain, the CA and
// Ready=True with reason Issued. Stored before the Secret is written, it is
// the record that this revision is signed, so no later run signs it again.
func MarkIssued(cr *cmapi.CertificateRequest, res Result, now time.Time) {
	cr.Status.Certificate = res.Certificate
	cr.Status.CA = res.CA
	pki.SetRequestCondition(cr, cmapi.CertificateRequestConditionReady, cmmeta.ConditionTrue, cmapi.CertificateRequestReasonIssued, "Certificate fetched from issuer successfully", now)
}

// MarkFailed records an in-process signer's refusal on cr: Ready=False with
// reason Failed and the failure time, as cert-manager's signers do.
func MarkFailed(cr *cmapi.CertificateRequest, message string, now time.Time) {
	pki.SetRequestCondition(cr, cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonFailed, message, now)
	cr.Status.FailureTime = pki.MetaTime(now)
}
