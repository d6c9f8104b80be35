package renew

import (
	"fmt"
	"strings"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
)

// PickSolver chooses the Issuer's solver for one ACME authorization the way
// cert-manager does (pkg/util/solverpicker): among the solvers whose type
// the CA offers and whose selector matches, the most specific wins. A
// matching dnsNames entry beats any zone; then the longest matching
// dnsZones entry (in labels); then the most matchLabels; and on a tie the
// first listed. A solver without a selector matches anything with the
// lowest specificity. domain is the identifier, "*."-prefixed for a
// wildcard; offered are the challenge types the CA offers ("http-01",
// "dns-01"); labels are the Order's (the Certificate's) labels.
//
// It returns the solver's index in solvers and the challenge type to use,
// or -1 when none can be used.
func PickSolver(solvers []cmacme.ACMEChallengeSolver, domain string, offered []string, labels map[string]string) (int, string) {
	best, bestType := -1, ""
	var bestScore solverScore
	for i, s := range solvers {
		typ := solverType(s, offered)
		if typ == "" {
			continue
		}
		score, ok := selectorScore(s.Selector, domain, labels)
		if !ok {
			continue
		}
		if best < 0 || score.beats(bestScore) {
			best, bestType, bestScore = i, typ, score
		}
	}
	return best, bestType
}

// solverType is the offered challenge type a solver can answer, or "".
func solverType(s cmacme.ACMEChallengeSolver, offered []string) string {
	for _, typ := range offered {
		if (typ == "http-01" && s.HTTP01 != nil) || (typ == "dns-01" && s.DNS01 != nil) {
			return typ
		}
	}
	return ""
}

// solverScore is how specifically a selector matched, in order of weight.
type solverScore struct {
	dnsName      bool
	zoneSegments int
	labels       int
}

func (a solverScore) beats(b solverScore) bool {
	if a.dnsName != b.dnsName {
		return a.dnsName
	}
	if a.zoneSegments != b.zoneSegments {
		return a.zoneSegments > b.zoneSegments
	}
	return a.labels > b.labels
}

// selectorScore reports whether sel matches domain and labels, and how
// specifically. Each part of a selector that is set must match.
func selectorScore(sel *cmacme.CertificateDNSNameSelector, domain string, labels map[string]string) (solverScore, bool) {
	var score solverScore
	if sel == nil {
		return score, true
	}
	for k, v := range sel.MatchLabels {
		if got, ok := labels[k]; !ok || got != v {
			return score, false
		}
	}
	score.labels = len(sel.MatchLabels)
	if len(sel.DNSNames) > 0 {
		for _, n := range sel.DNSNames {
			if n == domain {
				score.dnsName = true
			}
		}
		if !score.dnsName {
			return score, false
		}
	}
	if len(sel.DNSZones) > 0 {
		for _, z := range sel.DNSZones {
			if domain == z || strings.HasSuffix(domain, "."+z) {
				score.zoneSegments = max(score.zoneSegments, strings.Count(z, ".")+1)
			}
		}
		if score.zoneSegments == 0 {
			return score, false
		}
	}
	return score, true
}

// ApplyIngressOverrides returns solver with the HTTP-01 ingress overrides
// an Order's annotations carry (copied from its Certificate, where the
// ingress-shim puts them): acme.cert-manager.io/http01-override-ingress-name
// (edit that Ingress in place), -ingress-class and
// -ingress-ingressclassname. Any one of them replaces all three of the
// solver's own choices, as in cert-manager; more than one is an error.
// The Issuer's solver is never modified: the result is a copy.
func ApplyIngressOverrides(solver cmacme.ACMEChallengeSolver, annotations map[string]string) (cmacme.ACMEChallengeSolver, error) {
	if solver.HTTP01 == nil || solver.HTTP01.Ingress == nil {
		return solver, nil
	}
	name, hasName := annotations[cmacme.ACMECertificateHTTP01IngressNameOverride]
	class, hasClass := annotations[cmacme.ACMECertificateHTTP01IngressClassOverride]
	className, hasClassName := annotations[cmacme.ACMECertificateHTTP01IngressClassNameOverride]
	set := 0
	for _, has := range []bool{hasName, hasClass, hasClassName} {
		if has {
			set++
		}
	}
	switch {
	case set == 0:
		return solver, nil
	case set > 1:
		return solver, fmt.Errorf("may not specify more than one of: name, class, ingressClassName override annotations")
	}
	out := *solver.DeepCopy()
	ing := out.HTTP01.Ingress
	ing.Name, ing.Class, ing.IngressClassName = "", nil, nil
	switch {
	case hasName:
		ing.Name = name
	case hasClass:
		ing.Class = &class
	default:
		ing.IngressClassName = &className
	}
	return out, nil
}
