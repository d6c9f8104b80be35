package renew

import (
	"crypto"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/certsweep/certsweep/issuance/pki"
)

// KeySource is where the private key of an issuance comes from.
type KeySource string

const (
	// KeyGenerate: make a new key and store it in a next-key Secret first.
	KeyGenerate KeySource = "generate"
	// KeyAdopt: use the key an earlier run stored in a next-key Secret.
	KeyAdopt KeySource = "adopt"
	// KeyReuse: rotationPolicy Never; use the key already in the target
	// Secret (it is still stored in a next-key Secret first).
	KeyReuse KeySource = "reuse"
)

// KeyPlan is the key decision: which key an issuance uses, and which stored
// next keys are removed because nothing will use them.
type KeyPlan struct {
	Source KeySource
	// Key is the key to use for KeyAdopt and KeyReuse; nil for KeyGenerate.
	Key crypto.Signer
	// Secret is the next-key Secret holding Key, for KeyAdopt.
	Secret *corev1.Secret
	// Discard are next-key Secrets to delete: keys that do not fit the spec
	// or the request, extras, and all of them once a Certificate is up to
	// date.
	Discard []*corev1.Secret
	// DecodeWarning is set when rotationPolicy Never could not reuse the
	// Secret's key because it does not decode; a new key is made, and
	// job/ tells people once with a Warning event, as cert-manager does.
	DecodeWarning string
	// rotates is rotationPolicy Always: a failed attempt drops its key.
	rotates bool
}

// String names the plan's parts without the key itself, so that printing a
// Decision (in a log line or a failed test) never prints key material.
func (p KeyPlan) String() string {
	names := func(secrets []*corev1.Secret) []string {
		out := make([]string, len(secrets))
		for i, s := range secrets {
			out[i] = s.Name
		}
		return out
	}
	held := ""
	if p.Secret != nil {
		held = p.Secret.Name
	}
	return fmt.Sprintf("{source:%s key:%v secret:%q discard:%q decodeWarning:%q}", p.Source, p.Key != nil, held, names(p.Discard), p.DecodeWarning)
}

// GoString is String, so %#v does not print the key either.
func (p KeyPlan) GoString() string { return p.String() }

// planKey chooses the key for an issuance of in.Certificate whose next
// request is in the state req (docs/semantics.md §4.1). It returns the
// request state again, turned Stale when the request was made with a key
// that is no longer there (a failed attempt rotated it), and a Failure when
// rotationPolicy Never holds a key the spec no longer allows.
func planKey(in Input, req RequestAction) (KeyPlan, RequestAction, *Failure) {
	crt := in.Certificate
	plan := KeyPlan{Source: KeyGenerate, rotates: rotatesKey(crt)}
	var csrKey crypto.PublicKey
	if in.NextRequest != nil && (req == RequestPending || req == RequestIssued) {
		if csr, err := pki.DecodeCSR(in.NextRequest.Spec.Request); err == nil {
			csrKey = csr.PublicKey
		} else {
			req = RequestStale
		}
	}
	fitsRequest := func(key crypto.Signer) bool { return csrKey == nil || pki.KeyMatches(key, csrKey) }

	for _, sec := range in.NextKeys {
		key, err := pki.DecodePrivateKey(sec.Data[corev1.TLSPrivateKeyKey])
		if plan.Secret == nil && err == nil && len(pki.KeyMatchesSpec(key, crt.Spec)) == 0 && fitsRequest(key) {
			plan.Source, plan.Key, plan.Secret = KeyAdopt, key, sec
			continue
		}
		plan.Discard = append(plan.Discard, sec)
	}
	if plan.Secret == nil && !plan.rotates && in.Secret != nil && len(in.Secret.Data[corev1.TLSPrivateKeyKey]) > 0 {
		existing, err := pki.DecodePrivateKey(in.Secret.Data[corev1.TLSPrivateKeyKey])
		switch {
		case err != nil:
			plan.DecodeWarning = fmt.Sprintf("Failed to decode private key stored in Secret %q - generating new key", crt.Spec.SecretName)
		case len(pki.KeyMatchesSpec(existing, crt.Spec)) > 0:
			return plan, req, &Failure{Class: ClassIssuance, Reason: ReasonCannotRegenerateKey, Message: fmt.Sprintf(
				"User intervention required: existing private key in Secret %q does not match requirements on Certificate resource, mismatching fields: %v, but cert-manager cannot create new private key as the Certificate's .spec.privateKey.rotationPolicy is unset or set to Never. To allow cert-manager to create a new private key you can set .spec.privateKey.rotationPolicy to 'Always' (this will result in the private key being regenerated every time a cert is renewed) ",
				crt.Spec.SecretName, pki.KeyMatchesSpec(existing, crt.Spec))}
		default:
			plan.Source, plan.Key = KeyReuse, existing
		}
	}
	if csrKey != nil && (plan.Key == nil || !fitsRequest(plan.Key)) {
		// The request's key is gone: it cannot be finished, only replaced.
		req = RequestStale
	}
	return plan, req, nil
}
