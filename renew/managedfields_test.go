package renew

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestOwnedSecretFields(t *testing.T) {
	entry := func(manager string, op metav1.ManagedFieldsOperationType, raw string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, FieldsV1: metav1.NewFieldsV1(raw)}
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{
		entry(FieldManager, metav1.ManagedFieldsOperationApply,
			`{"f:metadata":{"f:labels":{".":{},"f:team":{},"f:controller.cert-manager.io/fao":{}},"f:annotations":{"f:cert-manager.io/common-name":{}}},"f:data":{".":{},"f:tls.crt":{},"f:tls.key":{}},"f:type":{}}`),
		entry(FieldManager, metav1.ManagedFieldsOperationUpdate, `{"f:metadata":{"f:labels":{"f:edited":{}}}}`),
		entry("kubectl", metav1.ManagedFieldsOperationApply, `{"f:metadata":{"f:labels":{"f:theirs":{}}}}`),
		{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply}, // no FieldsV1
	}}}
	labels, annotations, data, err := ownedSecretFields(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := sortedKeys(labels); !slices.Equal(got, []string{"controller.cert-manager.io/fao", "team"}) {
		t.Errorf("labels = %v", got)
	}
	if got := sortedKeys(annotations); !slices.Equal(got, []string{"cert-manager.io/common-name"}) {
		t.Errorf("annotations = %v", got)
	}
	if got := sortedKeys(data); !slices.Equal(got, []string{"tls.crt", "tls.key"}) {
		t.Errorf("data = %v", got)
	}

	for _, bad := range []string{`{`, `[]`, `{"f:metadata":[]}`, `{"f:metadata":{"f:labels":"x"}}`, `{"f:data":1}`} {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{entry(FieldManager, metav1.ManagedFieldsOperationApply, bad)}}}
		if _, _, _, err := ownedSecretFields(s); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
	if l, a, d, err := ownedSecretFields(nil); err != nil || len(l)+len(a)+len(d) != 0 {
		t.Errorf("nil Secret: %v %v %v %v", l, a, d, err)
	}
}

// FuzzOwnedSecretFields: arbitrary FieldsV1 never panics, and on success
// every returned key came from an "f:" field of the input.
func FuzzOwnedSecretFields(f *testing.F) {
	f.Add([]byte(`{"f:metadata":{"f:labels":{".":{},"f:a":{}},"f:annotations":{"f:b":{}}},"f:data":{"f:tls.crt":{}}}`))
	f.Add([]byte(`{"f:metadata":{"f:labels":{"k:{\"x\":1}":{},"v:\"y\"":{}}}}`))
	f.Add([]byte(`{"f:metadata":null}`))
	f.Add([]byte(`{"f:data":{"f:\u0000":{}}}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{{
			Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply, FieldsV1: metav1.NewFieldsV1(string(raw)),
		}}}}
		labels, annotations, data, err := ownedSecretFields(s)
		if err != nil {
			if labels != nil || annotations != nil || data != nil {
				t.Fatal("partial result with an error")
			}
			return
		}
		if labels == nil || annotations == nil || data == nil {
			t.Fatal("nil set without an error")
		}
	})
}
