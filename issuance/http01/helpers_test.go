package http01

import (
	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	testDomain = "example.com"
	testToken  = "tok-123_ABC"
	testKey    = "tok-123_ABC.thumbprint"
)

// challenge is an HTTP-01 Challenge for testDomain with an ingress solver;
// edit tweaks the solver (or anything else) before it is returned.
func challenge(edit func(*cmacme.Challenge)) *cmacme.Challenge {
	ch := &cmacme.Challenge{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1-1234-5678", Namespace: "apps", UID: "uid-1"},
		Spec: cmacme.ChallengeSpec{
			Type:    cmacme.ACMEChallengeTypeHTTP01,
			DNSName: testDomain,
			Token:   testToken,
			Key:     testKey,
			Solver: cmacme.ACMEChallengeSolver{
				HTTP01: &cmacme.ACMEChallengeSolverHTTP01{Ingress: &cmacme.ACMEChallengeSolverHTTP01Ingress{}},
			},
		},
	}
	if edit != nil {
		edit(ch)
	}
	return ch
}

func ingressSolverOf(ch *cmacme.Challenge) *cmacme.ACMEChallengeSolverHTTP01Ingress {
	return ch.Spec.Solver.HTTP01.Ingress
}

// wantOwner is the controller reference every solver object carries.
func wantOwner() metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion:         "acme.cert-manager.io/v1",
		Kind:               "Challenge",
		Name:               "web-1-1234-5678",
		UID:                "uid-1",
		Controller:         new(true),
		BlockOwnerDeletion: new(true),
	}
}
