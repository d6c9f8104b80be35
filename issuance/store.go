package issuance

// The objects an issuance stores besides the CertificateRequest: the
// next-private-key Secret and the target Secret's apply configuration.
// They are built here and written by job/, the one place that calls the API.

import (
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
)

// NextKeySecret is the Secret that holds the private key of the issuance in
// progress, written before anything is requested with it so that a crash
// never loses it: named nextKeySecretName, labelled as cert-manager labels
// it, and controlled by the Certificate so that it goes with it.
func NextKeySecret(crt *cmapi.Certificate, keyPEM []byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      nextKeySecretName(crt.Name),
			Namespace: crt.Namespace,
			Labels: map[string]string{
				cmapi.IsNextPrivateKeySecretLabelKey:      "true",
				cmapi.PartOfCertManagerControllerLabelKey: "true",
			},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(crt, cmapi.SchemeGroupVersion.WithKind(cmapi.CertificateKind))},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{corev1.TLSPrivateKeyKey: keyPEM},
	}
}

// SecretWrite is the full desired content of a target Secret.
type SecretWrite struct {
	Namespace, Name string
	// ResourceVersion, when set, makes the write fail with a conflict if the
	// Secret changed since it was read, and takes over every field written.
	// Empty means the Secret was not read: it is created, or, if it exists,
	// the write fails with a conflict wherever another field manager owns a
	// field, so an unseen Secret's key and certificate are never replaced.
	ResourceVersion string
	Type            corev1.SecretType
	Data            map[string][]byte
	Labels          map[string]string
	Annotations     map[string]string
	// OwnerReferences are applied with the rest; one this field manager
	// applied before and leaves out now is removed.
	OwnerReferences []metav1.OwnerReference
}

// ApplyConfiguration is w as a server-side apply request, and whether it is
// to be forced.
//
// Server-side apply gives exactly the ownership semantics cert-manager has:
// keys, labels and annotations this manager applied before and leaves out
// now are removed, while anything other tools put on the Secret is kept.
func (w SecretWrite) ApplyConfiguration() (ac *corev1ac.SecretApplyConfiguration, force bool) {
	ac = corev1ac.Secret(w.Name, w.Namespace).
		WithType(w.Type).
		WithData(w.Data).
		WithLabels(w.Labels).
		WithAnnotations(w.Annotations)
	for _, ref := range w.OwnerReferences {
		r := metav1ac.OwnerReference().WithAPIVersion(ref.APIVersion).WithKind(ref.Kind).WithName(ref.Name).WithUID(ref.UID)
		if ref.Controller != nil {
			r.WithController(*ref.Controller)
		}
		if ref.BlockOwnerDeletion != nil {
			r.WithBlockOwnerDeletion(*ref.BlockOwnerDeletion)
		}
		ac.WithOwnerReferences(r)
	}
	// Server-side apply creates a missing object whatever resourceVersion it
	// is given, so "only if still absent" is expressed by not forcing.
	force = w.ResourceVersion != ""
	if force {
		ac.WithResourceVersion(w.ResourceVersion)
	}
	return ac, force
}
