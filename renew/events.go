package renew

// The Normal events of an issuance, in cert-manager's words
// (docs/semantics.md §6), so that event filters written for cert-manager
// (reason Issuing) keep working.
const (
	// ReasonIssuing is the reason of the Normal event a finished issuance
	// and a temporary certificate each record.
	ReasonIssuing = "Issuing"
	// MessageIssued is the message of a finished issuance's event.
	MessageIssued = "The certificate has been successfully issued"
	// MessageTemporaryIssued is the message of a temporary certificate's.
	MessageTemporaryIssued = "Issued temporary certificate"
)
