package renew

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
)
