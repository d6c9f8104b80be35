package renew

import (
	"reflect"
	"slices"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const crtUID types.UID = "0b1d3c6e-crt"

// ownerRefFields is FieldsV1 owning the owner reference to uid, as
// server-side apply records it.
func ownerRefFields(uid types.UID) string {
	return `{"f:metadata":{"f:ownerReferences":{".":{},"k:{\"uid\":\"` + string(uid) + `\"}":{".":{},"f:apiVersion":{},"f:blockOwnerDeletion":{},"f:controller":{},"f:kind":{},"f:name":{},"f:uid":{}}}},"f:data":{".":{},"f:tls.crt":{},"f:tls.key":{}}}`
}

func managedBy(manager, fields string) metav1.ManagedFieldsEntry {
	return metav1.ManagedFieldsEntry{Manager: manager, Operation: metav1.ManagedFieldsOperationApply, FieldsV1: metav1.NewFieldsV1(fields)}
}

// certificateRef is the owner reference a write sets with OwnerRef on.
func certificateRef(crt *cmapi.Certificate) metav1.OwnerReference {
	return *metav1.NewControllerRef(crt, cmapi.SchemeGroupVersion.WithKind(cmapi.CertificateKind))
}

// TestDecideOwnerReference: checks 8 and 9 of §1.11. With OwnerRef on the
// Secret must carry the Certificate as its controller, owned by our field
// manager; off, one our field manager owns (cert-manager left it, run with
// --enable-certificate-owner-ref) is removed by a rewrite, never a
// reissue, while one someone else set is theirs. Whatever the action, the
// Decision carries the owner reference every Secret write sets.
func TestDecideOwnerReference(t *testing.T) {
	const (
		valueOn    = "unexpected Secret Owner Reference value on Secret --enable-certificate-owner-ref=true"
		managedOn  = "unexpected managed Secret Owner Reference field on Secret --enable-certificate-owner-ref=true"
		managedOff = "unexpected managed Secret Owner Reference field on Secret --enable-certificate-owner-ref=false"
	)
	withRef := func(f *fixture, edit ...func(*metav1.OwnerReference)) {
		ref := certificateRef(f.crt)
		for _, e := range edit {
			e(&ref)
		}
		f.secret.OwnerReferences = append(f.secret.OwnerReferences, ref)
	}
	ours := func(f *fixture) {
		f.secret.ManagedFields = []metav1.ManagedFieldsEntry{managedBy(FieldManager, ownerRefFields(crtUID))}
	}
	theirs := func(f *fixture) {
		f.secret.ManagedFields = []metav1.ManagedFieldsEntry{
			managedBy(FieldManager, `{"f:data":{".":{},"f:tls.crt":{},"f:tls.key":{}}}`),
			managedBy("kubectl", ownerRefFields(crtUID)),
		}
	}
	tests := []struct {
		name       string
		on         bool
		edit       func(f *fixture)
		wantAction Action
		wantReason string
		wantMsg    string
		warned     bool
	}{
		{name: "off, no owner reference", edit: func(f *fixture) {}, wantAction: ActionNone},
		{name: "off, cert-manager's owner reference: removed in place", edit: func(f *fixture) { withRef(f); ours(f) },
			wantAction: ActionRewriteSecret, wantReason: ReasonSecretOwnerRefMismatch, wantMsg: managedOff},
		{name: "off, an owner reference someone else set: theirs", edit: func(f *fixture) { withRef(f); theirs(f) }, wantAction: ActionNone},
		{name: "off, an owner reference to another object we own: not ours to judge", edit: func(f *fixture) {
			f.secret.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "other"}}
			f.secret.ManagedFields = []metav1.ManagedFieldsEntry{managedBy(FieldManager, ownerRefFields("other"))}
		}, wantAction: ActionNone},
		{name: "on, no owner reference: set in place", on: true, edit: func(f *fixture) {},
			wantAction: ActionRewriteSecret, wantReason: ReasonSecretOwnerRefMismatch, wantMsg: valueOn},
		{name: "on, set and ours", on: true, edit: func(f *fixture) { withRef(f); ours(f) }, wantAction: ActionNone},
		{name: "on, set by someone else: taken over", on: true, edit: func(f *fixture) { withRef(f); theirs(f) },
			wantAction: ActionRewriteSecret, wantReason: ReasonSecretOwnerRefMismatch, wantMsg: managedOn},
		{name: "on, not the controller", on: true, edit: func(f *fixture) {
			withRef(f, func(r *metav1.OwnerReference) { r.Controller = ptr(false) })
			ours(f)
		}, wantAction: ActionRewriteSecret, wantReason: ReasonSecretOwnerRefMismatch, wantMsg: valueOn},
		{name: "on, no blockOwnerDeletion", on: true, edit: func(f *fixture) {
			withRef(f, func(r *metav1.OwnerReference) { r.BlockOwnerDeletion = nil })
			ours(f)
		}, wantAction: ActionRewriteSecret, wantReason: ReasonSecretOwnerRefMismatch, wantMsg: valueOn},
		{name: "on, the Certificate's old name", on: true, edit: func(f *fixture) {
			withRef(f, func(r *metav1.OwnerReference) { r.Name = "renamed" })
			ours(f)
		}, wantAction: ActionRewriteSecret, wantReason: ReasonSecretOwnerRefMismatch, wantMsg: valueOn},
		{name: "on, owned by another Certificate only", on: true, edit: func(f *fixture) {
			withRef(f, func(r *metav1.OwnerReference) { r.UID = "a-previous-certificate" })
			f.secret.ManagedFields = []metav1.ManagedFieldsEntry{managedBy(FieldManager, ownerRefFields("a-previous-certificate"))}
		}, wantAction: ActionRewriteSecret, wantReason: ReasonSecretOwnerRefMismatch, wantMsg: valueOn},
		{name: "on, managedFields unreadable: the value alone is judged", on: true, edit: func(f *fixture) {
			withRef(f)
			f.secret.ManagedFields = []metav1.ManagedFieldsEntry{managedBy(FieldManager, `{"f:metadata":`)}
		}, wantAction: ActionNone, warned: true},
		{name: "on, owner references unreadable in readable managedFields", on: true, edit: func(f *fixture) {
			withRef(f)
			f.secret.ManagedFields = []metav1.ManagedFieldsEntry{managedBy(FieldManager, `{"f:metadata":{"f:ownerReferences":{"k:{\"uid\":":{}}}}`)}
		}, wantAction: ActionNone, warned: true},
		{name: "output formats are reported first", on: true, edit: func(f *fixture) {
			f.crt.Spec.AdditionalOutputFormats = []cmapi.CertificateAdditionalOutputFormat{derFormat}
		}, wantAction: ActionRewriteSecret, wantReason: ReasonAdditionalOutputFormatsMismatch,
			wantMsg: "Certificate's AdditionalOutputFormats doesn't match Secret Data"},
		{name: "a trigger wins over the owner reference", on: true, edit: func(f *fixture) { f.secret = nil },
			wantAction: ActionIssue, wantReason: ReasonDoesNotExist, wantMsg: "Issuing certificate as Secret does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.crt.UID = crtUID
			tt.edit(f)
			d := Decide(f.input(), Options{OwnerRef: tt.on})
			if d.Action != tt.wantAction || d.Reason != tt.wantReason || d.Message != tt.wantMsg {
				t.Errorf("Decide() = %s %q %q, want %s %q %q", d.Action, d.Reason, d.Message, tt.wantAction, tt.wantReason, tt.wantMsg)
			}
			if warned := len(d.Warnings) > 0; warned != tt.warned {
				t.Errorf("warnings %q, want some: %v", d.Warnings, tt.warned)
			}
			switch {
			case !tt.on && d.OwnerReference != nil:
				t.Errorf("off, yet the Secret's writes would set %+v", *d.OwnerReference)
			case tt.on && (d.OwnerReference == nil || !reflect.DeepEqual(*d.OwnerReference, certificateRef(f.crt))):
				t.Errorf("on: writes would set %+v, want the Certificate as controller", d.OwnerReference)
			}
		})
	}
}

// TestOwnedOwnerReferences: the UIDs FieldManager's Apply entries own, and
// nothing from other managers or from Update entries.
func TestOwnedOwnerReferences(t *testing.T) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{
		managedBy(FieldManager, ownerRefFields("a")),
		managedBy("kubectl", ownerRefFields("b")),
		{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationUpdate, FieldsV1: metav1.NewFieldsV1(ownerRefFields("c"))},
		managedBy(FieldManager, `{"f:metadata":{"f:labels":{"f:x":{}}}}`),
	}}}
	got, err := ownedOwnerReferences(s)
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for uid := range got {
		uids = append(uids, string(uid))
	}
	if slices.Sort(uids); !slices.Equal(uids, []string{"a"}) {
		t.Errorf("owned owner references = %v, want [a]", uids)
	}
	for _, bad := range []string{`{`, `{"f:metadata":{"f:ownerReferences":[]}}`, `{"f:metadata":{"f:ownerReferences":{"k:{":{}}}}`} {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{managedBy(FieldManager, bad)}}}
		if _, err := ownedOwnerReferences(s); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}
