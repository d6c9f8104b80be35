package renew

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ownedSecretFields lists the labels, annotations and data keys that
// FieldManager owns on a Secret through server-side apply. Server-side apply
// removes exactly those owned keys that a new apply leaves out, so comparing
// them with what we want now tells whether a rewrite would drop something
// (a removed secretTemplate key, an output format no longer asked for).
//
// Only Apply entries count: an Update entry under the same name (a kubectl
// edit impersonating us) does not make server-side apply remove anything.
// FieldsV1 is JSON such as
//
//	{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:data":{"f:tls.crt":{}}}
//
// where "f:<name>" is a field and "." the map itself.
func ownedSecretFields(secret *corev1.Secret) (labels, annotations, dataKeys map[string]bool, err error) {
	labels, annotations, dataKeys = map[string]bool{}, map[string]bool{}, map[string]bool{}
	if secret == nil {
		return labels, annotations, dataKeys, nil
	}
	for i, mf := range secret.ManagedFields {
		if mf.Manager != FieldManager || mf.Operation != metav1.ManagedFieldsOperationApply || mf.FieldsV1 == nil {
			continue
		}
		var root fieldSet
		if err := json.Unmarshal(mf.FieldsV1.GetRawBytes(), &root); err != nil {
			return nil, nil, nil, fmt.Errorf("decoding managedFields[%d] of Secret %s/%s: %w", i, secret.Namespace, secret.Name, err)
		}
		meta, err := root.child("metadata")
		if err != nil {
			return nil, nil, nil, fmt.Errorf("decoding managedFields[%d] of Secret %s/%s: %w", i, secret.Namespace, secret.Name, err)
		}
		for _, part := range []struct {
			parent fieldSet
			name   string
			into   map[string]bool
		}{
			{meta, "labels", labels},
			{meta, "annotations", annotations},
			{root, "data", dataKeys},
		} {
			set, err := part.parent.child(part.name)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("decoding managedFields[%d] of Secret %s/%s: %w", i, secret.Namespace, secret.Name, err)
			}
			for k := range set {
				if name, ok := strings.CutPrefix(k, "f:"); ok {
					part.into[name] = true
				}
			}
		}
	}
	return labels, annotations, dataKeys, nil
}

// fieldSet is one level of a FieldsV1 tree, its children still undecoded.
type fieldSet map[string]json.RawMessage

// child decodes the field "f:<name>"; a missing field is an empty set.
func (s fieldSet) child(name string) (fieldSet, error) {
	raw, ok := s["f:"+name]
	if !ok {
		return nil, nil
	}
	var c fieldSet
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("field %s: %w", name, err)
	}
	return c, nil
}
