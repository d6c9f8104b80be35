package job

// Reads a sweep makes besides its LISTs: objects it needs one at a time
// while carrying out a decision (an ACME Order, a solver's Secret).

import (
	"context"
	"fmt"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func (s *Sweeper) getSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	return s.kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
}

// secretValue reads one key of a Secret, as a SecretKeySelector names it.
func (s *Sweeper) secretValue(ctx context.Context, namespace string, sel cmmeta.SecretKeySelector) (string, error) {
	sec, err := s.getSecret(ctx, namespace, sel.Name)
	if err != nil {
		return "", fmt.Errorf("reading secret %s/%s: %w", namespace, sel.Name, err)
	}
	v, ok := sec.Data[sel.Key]
	if !ok {
		return "", fmt.Errorf("secret %s/%s has no key %q", namespace, sel.Name, sel.Key)
	}
	return string(v), nil
}

func (s *Sweeper) getOrder(ctx context.Context, namespace, name string) (*cmacme.Order, error) {
	return s.cm.AcmeV1().Orders(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (s *Sweeper) getChallenge(ctx context.Context, namespace, name string) (*cmacme.Challenge, error) {
	return s.cm.AcmeV1().Challenges(namespace).Get(ctx, name, metav1.GetOptions{})
}
