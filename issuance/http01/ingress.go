package http01

import (
	"fmt"
	"maps"
	"net"
	"strings"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// ingressClassAnnotation is how an Ingress chose its controller before
	// spec.ingressClassName; the solver's `class` field still sets it.
	ingressClassAnnotation = "kubernetes.io/ingress.class"
	// allowAllAnnotation opens the solver Ingress to every client on
	// ingress-nginx, where a ConfigMap-wide allow list would otherwise keep
	// the CA out. cert-manager sets it on every Ingress it creates and
	// leaves it off when the template brings its own.
	allowAllAnnotation = "nginx.ingress.kubernetes.io/whitelist-source-range"
	allowAllSuffix     = "whitelist-source-range"
)

// pathType is the solver path's pathType: Exact, cert-manager v1.21.2's
// default (feature gate ACMEHTTP01IngressPathTypeExact, on since v1.18), so
// an Ingress controller sees the same object it saw from cert-manager.
// ingress-nginx with strict path validation refuses the dot in
// ".well-known" on an Exact path; cert-manager's answer is to turn the gate
// off, which certsweep does not offer yet (README, HTTP-01).
const pathType = networkingv1.PathTypeExact

// Validate reports why ch cannot be solved through an Ingress: no
// http01.ingress solver, no name or token, a wildcard name (RFC 8555 section
// 7.1.3 allows only DNS-01 for those), or both ways of naming the ingress
// class (the API server refuses an Ingress with both). Ingress checks it;
// call it before AddPath too.
func Validate(ch *cmacme.Challenge) error {
	s := ingressSolver(ch)
	switch {
	case s == nil:
		return fmt.Errorf("challenge %s/%s: the solver has no http01.ingress", ch.Namespace, ch.Name)
	case ch.Spec.DNSName == "":
		return fmt.Errorf("challenge %s/%s: spec.dnsName is empty", ch.Namespace, ch.Name)
	case ch.Spec.Token == "":
		return fmt.Errorf("challenge %s/%s: spec.token is empty", ch.Namespace, ch.Name)
	case ch.Spec.Wildcard || strings.HasPrefix(ch.Spec.DNSName, "*."):
		return fmt.Errorf("challenge %s/%s: %q is a wildcard name, which HTTP-01 cannot validate; use a DNS-01 solver",
			ch.Namespace, ch.Name, ch.Spec.DNSName)
	case s.Class != nil && s.IngressClassName != nil:
		return fmt.Errorf("challenge %s/%s: the http01.ingress solver sets both class and ingressClassName; set one",
			ch.Namespace, ch.Name)
	}
	return nil
}

// Ingress is a new solver Ingress: one rule sending the challenge URL to
// serviceName, labelled with Labels(ch) and controlled by ch, with the
// solver's class and ingress template applied. When the solver names an
// existing Ingress instead, use AddPath.
func Ingress(ch *cmacme.Challenge, serviceName string) (*networkingv1.Ingress, error) {
	if err := Validate(ch); err != nil {
		return nil, err
	}
	solver := ingressSolver(ch)
	annotations := map[string]string{allowAllAnnotation: "0.0.0.0/0,::/0"}
	if solver.Class != nil {
		annotations[ingressClassAnnotation] = *solver.Class
	}
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    generateName,
			Namespace:       ch.Namespace,
			Labels:          Labels(ch),
			Annotations:     annotations,
			OwnerReferences: ownedBy(ch),
		},
		Spec: networkingv1.IngressSpec{
			IngressClassName: solver.IngressClassName,
			Rules:            []networkingv1.IngressRule{challengeRule(ch, serviceName)},
		},
	}
	if t := solver.IngressTemplate; t != nil {
		mergeLabels(ing.Labels, t.Labels)
		for k := range t.Annotations {
			// Any controller's whitelist-source-range (a custom
			// ingress-nginx prefix, say) means the user chose who may
			// connect; ours would undo that.
			if k[strings.LastIndex(k, "/")+1:] == allowAllSuffix {
				delete(ing.Annotations, allowAllAnnotation)
			}
		}
		maps.Copy(ing.Annotations, t.Annotations)
	}
	// The class name is the solver's pointer: the Ingress must not share
	// memory with the Challenge that job/ may still edit.
	return ing.DeepCopy(), nil
}

// AddPath adds the challenge's path to ing, the Ingress the solver names,
// and returns the edited copy; ing itself is left alone. The path goes first
// in the rule for the challenge's host, so controllers that match paths in
// order reach it before a catch-all, or into a new rule when ing has none
// for that host. A path already there for the token is pointed at
// serviceName if it points elsewhere. changed is false when ing already
// routes the challenge to serviceName.
func AddPath(ing *networkingv1.Ingress, ch *cmacme.Challenge, serviceName string) (*networkingv1.Ingress, bool) {
	out := ing.DeepCopy()
	want := challengePath(ch.Spec.Token, serviceName)
	host := ruleHost(ch)
	for i := range out.Spec.Rules {
		rule := &out.Spec.Rules[i]
		if rule.Host != host {
			continue
		}
		if rule.HTTP == nil {
			rule.HTTP = &networkingv1.HTTPIngressRuleValue{}
		}
		for j, p := range rule.HTTP.Paths {
			if p.Path != want.Path {
				continue
			}
			if samePath(p, want) {
				return out, false
			}
			// Two paths for one URL would leave the controller to pick.
			rule.HTTP.Paths[j] = want
			return out, true
		}
		rule.HTTP.Paths = append([]networkingv1.HTTPIngressPath{want}, rule.HTTP.Paths...)
		return out, true
	}
	out.Spec.Rules = append(out.Spec.Rules, challengeRule(ch, serviceName))
	return out, true
}

// RemovePath undoes AddPath: it removes the token's path from the rule for
// the challenge's host, and the rule if that leaves it no paths. Whatever
// else is in ing stays as it was.
func RemovePath(ing *networkingv1.Ingress, ch *cmacme.Challenge) (*networkingv1.Ingress, bool) {
	out := ing.DeepCopy()
	path := ChallengePath + "/" + ch.Spec.Token
	host := ruleHost(ch)
	changed := false
	rules := out.Spec.Rules[:0]
	for _, rule := range out.Spec.Rules {
		if rule.Host != host || rule.HTTP == nil {
			rules = append(rules, rule)
			continue
		}
		paths := rule.HTTP.Paths[:0]
		for _, p := range rule.HTTP.Paths {
			if p.Path != path {
				paths = append(paths, p)
			}
		}
		if len(paths) == len(rule.HTTP.Paths) {
			rules = append(rules, rule)
			continue
		}
		changed = true
		if len(paths) == 0 {
			continue
		}
		rule.HTTP.Paths = paths
		rules = append(rules, rule)
	}
	if !changed {
		return out, false
	}
	if len(rules) == 0 {
		rules = nil
	}
	out.Spec.Rules = rules
	return out, true
}

// ruleHost is the host the challenge's rule matches. An IP address
// identifier (RFC 8738) gets a rule for every host: an Ingress host cannot
// be an IP address, and the CA connects to the address itself.
func ruleHost(ch *cmacme.Challenge) string {
	if net.ParseIP(ch.Spec.DNSName) != nil {
		return ""
	}
	return ch.Spec.DNSName
}

func challengeRule(ch *cmacme.Challenge, serviceName string) networkingv1.IngressRule {
	return networkingv1.IngressRule{
		Host: ruleHost(ch),
		IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{challengePath(ch.Spec.Token, serviceName)},
			},
		},
	}
}

func challengePath(token, serviceName string) networkingv1.HTTPIngressPath {
	return networkingv1.HTTPIngressPath{
		Path:     ChallengePath + "/" + token,
		PathType: new(pathType),
		Backend: networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{
				Name: serviceName,
				Port: networkingv1.ServiceBackendPort{Number: ListenPort},
			},
		},
	}
}

// samePath says whether p already routes as want does.
func samePath(p, want networkingv1.HTTPIngressPath) bool {
	if p.PathType == nil || *p.PathType != *want.PathType {
		return false
	}
	s, w := p.Backend.Service, want.Backend.Service
	return p.Backend.Resource == nil && s != nil && s.Name == w.Name && s.Port == w.Port
}
