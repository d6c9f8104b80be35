package issuance

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
)

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
}

// ApplySecret writes a Secret with server-side apply under fieldManager.
//
// Server-side apply gives exactly the ownership semantics cert-manager has:
// keys, labels and annotations this manager applied before and leaves out
// now are removed, while anything other tools put on the Secret is kept.
func ApplySecret(ctx context.Context, kube kubernetes.Interface, w SecretWrite, fieldManager string) (*corev1.Secret, error) {
	ac := corev1ac.Secret(w.Name, w.Namespace).
		WithType(w.Type).
		WithData(w.Data).
		WithLabels(w.Labels).
		WithAnnotations(w.Annotations)
	// Server-side apply creates a missing object whatever resourceVersion it
	// is given, so "only if still absent" is expressed by not forcing.
	force := w.ResourceVersion != ""
	if force {
		ac.WithResourceVersion(w.ResourceVersion)
	}
	out, err := kube.CoreV1().Secrets(w.Namespace).Apply(ctx, ac, metav1.ApplyOptions{FieldManager: fieldManager, Force: force})
	if err != nil {
		return nil, fmt.Errorf("writing secret %s/%s: %w", w.Namespace, w.Name, err)
	}
	return out, nil
}
