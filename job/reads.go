package job

// Reads a sweep makes besides its LISTs: objects it needs one at a time
// while carrying out a decision (an ACME Order, a solver's Secret).

import (
	"context"
	"fmt"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/certsweep/certsweep/issuance"
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

// solverObjects are the HTTP-01 solver Pod, Service and Ingress objects
// made for one Challenge: those carrying its labels and controlled by it
// (an object with the labels but another owner is not ours to touch).
type solverObjects struct {
	pods      []corev1.Pod
	services  []corev1.Service
	ingresses []networkingv1.Ingress
}

// listSolverObjects finds a Challenge's solver objects by their labels, in
// three LISTs scoped to its namespace and label selector.
func (s *Sweeper) listSolverObjects(ctx context.Context, ch *cmacme.Challenge, selector string) (solverObjects, error) {
	var out solverObjects
	opts := metav1.ListOptions{LabelSelector: selector}
	pods, err := s.kube.CoreV1().Pods(ch.Namespace).List(ctx, opts)
	if err != nil {
		return out, fmt.Errorf("listing HTTP-01 solver pods in %s: %w", ch.Namespace, err)
	}
	svcs, err := s.kube.CoreV1().Services(ch.Namespace).List(ctx, opts)
	if err != nil {
		return out, fmt.Errorf("listing HTTP-01 solver services in %s: %w", ch.Namespace, err)
	}
	ings, err := s.kube.NetworkingV1().Ingresses(ch.Namespace).List(ctx, opts)
	if err != nil {
		return out, fmt.Errorf("listing HTTP-01 solver ingresses in %s: %w", ch.Namespace, err)
	}
	for _, p := range pods.Items {
		if metav1.IsControlledBy(&p, ch) {
			out.pods = append(out.pods, p)
		}
	}
	for _, v := range svcs.Items {
		if metav1.IsControlledBy(&v, ch) {
			out.services = append(out.services, v)
		}
	}
	for _, i := range ings.Items {
		if metav1.IsControlledBy(&i, ch) {
			out.ingresses = append(out.ingresses, i)
		}
	}
	return out, nil
}

func (s *Sweeper) getIngress(ctx context.Context, namespace, name string) (*networkingv1.Ingress, error) {
	return s.kube.NetworkingV1().Ingresses(namespace).Get(ctx, name, metav1.GetOptions{})
}

// listChallenges is the Challenges controlled by order, from one LIST
// scoped by its label (only when an order is final, so once per issuance).
func (s *Sweeper) listChallenges(ctx context.Context, order *cmacme.Order) ([]cmacme.Challenge, error) {
	sel := labels.SelectorFromSet(labels.Set{issuance.ChallengeOrderLabel: order.Name}).String()
	list, err := s.cm.AcmeV1().Challenges(order.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("listing challenges in %s: %w", order.Namespace, err)
	}
	var out []cmacme.Challenge
	for _, ch := range list.Items {
		if metav1.IsControlledBy(&ch, order) {
			out = append(out, ch)
		}
	}
	return out, nil
}
