// Package http01 holds the pieces of an HTTP-01 challenge that live in the
// cluster, in the shape cert-manager gives them
// (pkg/issuer/acme/http in cert-manager v1.21.2): the solver Pod, its
// Service, the Ingress (new, or a path added to a named one), and the small
// server the Pod runs. It builds objects and serves the answer; creating,
// finding and deleting the objects is job/'s.
//
// Building them as cert-manager does means a Challenge half-solved by one of
// us is finished by the other: both find a Challenge's objects by the same
// labels and owner reference.
package http01

import (
	"hash/adler32"
	"strconv"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// ListenPort is the port the solver listens on inside its Pod
	// (cert-manager's 8089); the Service targets it.
	ListenPort = 8089
	// ChallengePath is where RFC 8555 section 8.3 has the CA look for the
	// key authorization.
	ChallengePath = "/.well-known/acme-challenge"

	// generateName is cert-manager's prefix for every solver object, so
	// people who grep for it find ours too.
	generateName = "cm-acme-http-solver-"
)

// Labels are the labels that find a Challenge's Pod, Service and Ingress.
// The name and token are hashed because a label value holds at most 63
// characters; cert-manager hashes them with adler32 and so do we, or
// neither would find the other's objects.
func Labels(ch *cmacme.Challenge) map[string]string {
	return map[string]string{
		cmacme.DomainLabelKey:               checksum(ch.Spec.DNSName),
		cmacme.TokenLabelKey:                checksum(ch.Spec.Token),
		cmacme.SolverIdentificationLabelKey: "true",
	}
}

func checksum(s string) string {
	return strconv.FormatUint(uint64(adler32.Checksum([]byte(s))), 10)
}

// mergeLabels adds extra to labels, except the identity labels: a template
// that set one would hide the object from the lookup that finds it, and
// the Service would stop selecting the Pod.
func mergeLabels(labels, extra map[string]string) {
	for k, v := range extra {
		switch k {
		case cmacme.DomainLabelKey, cmacme.TokenLabelKey, cmacme.SolverIdentificationLabelKey:
			continue
		}
		labels[k] = v
	}
}

// ownedBy makes ch the controller of a solver object, so that deleting the
// Challenge deletes its Pod, Service and Ingress.
func ownedBy(ch *cmacme.Challenge) []metav1.OwnerReference {
	return []metav1.OwnerReference{*metav1.NewControllerRef(ch, cmacme.SchemeGroupVersion.WithKind("Challenge"))}
}

// ingressSolver is the Challenge's http01.ingress solver, or nil.
func ingressSolver(ch *cmacme.Challenge) *cmacme.ACMEChallengeSolverHTTP01Ingress {
	if ch.Spec.Solver.HTTP01 == nil {
		return nil
	}
	return ch.Spec.Solver.HTTP01.Ingress
}
