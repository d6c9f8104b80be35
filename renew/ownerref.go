package renew

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Owner references (docs/semantics.md §1.11 checks 8 and 9, §4.6). With
// Options.OwnerRef, as with cert-manager's --enable-certificate-owner-ref,
// every write of the target Secret makes the Certificate its controller,
// so that deleting the Certificate deletes the Secret. cert-manager v1.21
// has no per-Certificate setting: the flag alone decides, and so does the
// option here.
//
// Off (the default), a Secret whose owner reference to the Certificate
// FieldManager set (cert-manager did, run with the flag) is rewritten
// without it, which server-side apply turns into removing it. An owner
// reference some other field manager set is left alone, as cert-manager
// leaves it: a rewrite could not remove it, and would repeat on every run.

// ReasonSecretOwnerRefMismatch: the Secret's owner reference to its
// Certificate is not what Options.OwnerRef asks for (cert-manager's reason).
const ReasonSecretOwnerRefMismatch = "SecretOwnerRefMismatch"

// secretOwnerReference is the owner reference every write of crt's Secret
// carries: the Certificate as controller when on, else none.
func secretOwnerReference(crt *cmapi.Certificate, on bool) *metav1.OwnerReference {
	if !on {
		return nil
	}
	return metav1.NewControllerRef(crt, cmapi.SchemeGroupVersion.WithKind(cmapi.CertificateKind))
}

// ownerRefDrift is checks 8 and 9 of §1.11, with cert-manager's messages
// (which name its flag): when on, the Secret carries exactly the owner
// reference a write would set; and FieldManager owns an owner reference to
// the Certificate exactly when on. The second half needs managedFields:
// it is skipped when they could not be read (ownershipKnown false, the
// warning given already), or with a warning when only the owner
// references in them cannot be.
func ownerRefDrift(e *evaluation, ownershipKnown bool) (reason, message string, drifted bool, warning string) {
	crt, s := e.crt, e.secret
	if want := secretOwnerReference(crt, e.ownerRef); want != nil && !hasOwnerReference(s.OwnerReferences, *want) {
		return ReasonSecretOwnerRefMismatch, fmt.Sprintf("unexpected Secret Owner Reference value on Secret --enable-certificate-owner-ref=%t", e.ownerRef), true, ""
	}
	if !ownershipKnown {
		return "", "", false, ""
	}
	if !e.ownerRef && !slices.ContainsFunc(s.OwnerReferences, func(r metav1.OwnerReference) bool { return r.UID == crt.UID }) {
		// Nothing to remove: a field manager owns only what is there.
		// This keeps the common case (off, no owner reference) from
		// decoding managedFields a second time.
		return "", "", false, ""
	}
	owned, err := ownedOwnerReferences(s)
	if err != nil {
		return "", "", false, fmt.Sprintf("failed to decode managed owner references on Secret: %v", err)
	}
	if owned[crt.UID] != e.ownerRef {
		return ReasonSecretOwnerRefMismatch, fmt.Sprintf("unexpected managed Secret Owner Reference field on Secret --enable-certificate-owner-ref=%t", e.ownerRef), true, ""
	}
	return "", "", false, ""
}

// hasOwnerReference reports whether refs holds want exactly: an owner
// reference with its UID whose every field is want's.
func hasOwnerReference(refs []metav1.OwnerReference, want metav1.OwnerReference) bool {
	for _, r := range refs {
		if r.UID != want.UID {
			continue
		}
		// UIDs are unique in the list, so this is the one.
		return r.APIVersion == want.APIVersion && r.Kind == want.Kind && r.Name == want.Name &&
			sameBool(r.Controller, want.Controller) && sameBool(r.BlockOwnerDeletion, want.BlockOwnerDeletion)
	}
	return false
}

func sameBool(a, b *bool) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// ownedOwnerReferences lists the UIDs of the owner references FieldManager
// owns on secret through server-side apply. In FieldsV1 an owner reference
// is keyed by its UID:
//
//	{"f:metadata":{"f:ownerReferences":{".":{},"k:{\"uid\":\"…\"}":{…}}}}
//
// Only Apply entries count, as for ownedSecretFields.
func ownedOwnerReferences(secret *corev1.Secret) (map[types.UID]bool, error) {
	uids := map[types.UID]bool{}
	for i, mf := range secret.ManagedFields {
		if mf.Manager != FieldManager || mf.Operation != metav1.ManagedFieldsOperationApply || mf.FieldsV1 == nil {
			continue
		}
		fail := func(err error) (map[types.UID]bool, error) {
			return nil, fmt.Errorf("decoding managedFields[%d] of Secret %s/%s: %w", i, secret.Namespace, secret.Name, err)
		}
		var root fieldSet
		if err := json.Unmarshal(mf.FieldsV1.GetRawBytes(), &root); err != nil {
			return fail(err)
		}
		meta, err := root.child("metadata")
		if err != nil {
			return fail(err)
		}
		refs, err := meta.child("ownerReferences")
		if err != nil {
			return fail(err)
		}
		for k := range refs {
			raw, ok := strings.CutPrefix(k, "k:")
			if !ok {
				continue
			}
			var key struct {
				UID types.UID `json:"uid"`
			}
			if err := json.Unmarshal([]byte(raw), &key); err != nil {
				return fail(fmt.Errorf("owner reference key %q: %w", k, err))
			}
			if key.UID != "" {
				uids[key.UID] = true
			}
		}
	}
	return uids, nil
}
