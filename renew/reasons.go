package renew

import "fmt"

// Reasons are the machine-readable half of every condition and Decision.
// The policy reasons are cert-manager's (internal/controller/certificates/
// policies/constants.go), so dashboards and alerts written for cert-manager
// keep working; the last block is certsweep's own.
const (
	ReasonDoesNotExist                  = "DoesNotExist"
	ReasonMissingData                   = "MissingData"
	ReasonInvalidKeyPair                = "InvalidKeyPair"
	ReasonInvalidCertificate            = "InvalidCertificate"
	ReasonInvalidCertificateRequest     = "InvalidCertificateRequest"
	ReasonSecretMismatch                = "SecretMismatch"
	ReasonIncorrectIssuer               = "IncorrectIssuer"
	ReasonIncorrectCertificate          = "IncorrectCertificate"
	ReasonRequestChanged                = "RequestChanged"
	ReasonRenewing                      = "Renewing"
	ReasonExpired                       = "Expired"
	ReasonWindowError                   = "WindowError"
	ReasonSecretTemplateMismatch        = "SecretTemplateMismatch"
	ReasonSecretManagedMetadataMismatch = "SecretManagedMetadataMismatch"

	// ReasonReady is the Ready=True reason.
	ReasonReady = "Ready"
	// ReasonManuallyTriggered is the Issuing reason `cmctl renew` (and
	// `certsweep renew`) set.
	ReasonManuallyTriggered = "ManuallyTriggered"

	// ReasonDuplicateSecretName: another Certificate owns spec.secretName.
	// cert-manager only logs this; certsweep says it on Ready.
	ReasonDuplicateSecretName = "DuplicateSecretName"
	// ReasonPending: waiting for an external issuer to sign.
	ReasonPending = "Pending"
	// ReasonBackoff: waiting out the retry window after a failure.
	ReasonBackoff = "Backoff"
	// ReasonSecretDataMismatch: the Secret holds data keys we wrote earlier
	// and no longer want.
	ReasonSecretDataMismatch = "SecretDataMismatch"
	// ReasonDuplicateRequests: two CertificateRequests claim one revision.
	ReasonDuplicateRequests = "DuplicateRequests"
	// ReasonWaitingForApproval: the request waits for another approver.
	ReasonWaitingForApproval = "WaitingForApproval"
	// ReasonCannotRegenerateKey: rotationPolicy Never and the Secret's key
	// no longer fits the spec (cert-manager's reason and message).
	ReasonCannotRegenerateKey = "CannotRegenerateKey"
	// ReasonInvalidPrivateKeySpec: no key can be made as spec.privateKey asks.
	ReasonInvalidPrivateKeySpec = "InvalidPrivateKeySpec"
	// ReasonInvalidCertificateSpec: the spec is one cert-manager's webhook
	// would refuse, or no CSR can be built from it.
	ReasonInvalidCertificateSpec = "InvalidCertificateSpec"
	// ReasonIssuerMisconfigured: the issuer sets more than one type, which
	// cert-manager's webhook would have refused.
	ReasonIssuerMisconfigured = "IssuerMisconfigured"
	// ReasonIssuerUnavailable: the issuer could not be reached.
	ReasonIssuerUnavailable = "IssuerUnavailable"
	// ReasonDecodeFailed: rotationPolicy Never, but the Secret's key does
	// not decode, so a new one is made (cert-manager's reason).
	ReasonDecodeFailed = "DecodeFailed"
	// ReasonContended: another sweep kept changing the Certificate while
	// this one worked on it; it continues there or in the next run.
	ReasonContended = "Contended"
	// ReasonSweepError: an API error this run could not get past; the
	// next run tries again.
	ReasonSweepError = "SweepError"
	// ReasonWriteRefused: the API server refused a write (invalid, too
	// large, forbidden); it is retried on the slow schedule, since only a
	// person can fix it.
	ReasonWriteRefused = "WriteRefused"
)

// MessageWaitingForApproval and MessageWaitingForIssuer say what a pending
// request waits for, with its name, so kubectl describe points at it.
func MessageWaitingForApproval(request string) string {
	return fmt.Sprintf("Waiting for CertificateRequest %q to be approved", request)
}

// MessageWaitingForIssuer: see MessageWaitingForApproval.
func MessageWaitingForIssuer(request string) string {
	return fmt.Sprintf("Waiting for CertificateRequest %q to be signed by its issuer", request)
}
