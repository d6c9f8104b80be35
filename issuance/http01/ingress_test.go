package http01

import (
	"maps"
	"reflect"
	"strings"
	"testing"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const testService = "cm-acme-http-solver-abcde"

func TestIngress(t *testing.T) {
	allowAll := map[string]string{"nginx.ingress.kubernetes.io/whitelist-source-range": "0.0.0.0/0,::/0"}
	withSolver := func(edit func(*cmacme.ACMEChallengeSolverHTTP01Ingress)) *cmacme.Challenge {
		return challenge(func(ch *cmacme.Challenge) { edit(ingressSolverOf(ch)) })
	}
	tests := []struct {
		name            string
		ch              *cmacme.Challenge
		wantErr         string // a part of the error; "" for none
		wantHost        string
		wantClassName   *string
		wantLabels      map[string]string // beyond Labels(ch)
		wantAnnotations map[string]string
	}{
		{
			name:            "no class: the default controller, open to all",
			ch:              challenge(nil),
			wantHost:        testDomain,
			wantAnnotations: allowAll,
		},
		{
			name:            "ingressClassName sets the field",
			ch:              withSolver(func(s *cmacme.ACMEChallengeSolverHTTP01Ingress) { s.IngressClassName = new("nginx") }),
			wantHost:        testDomain,
			wantClassName:   new("nginx"),
			wantAnnotations: allowAll,
		},
		{
			name:     "class sets the annotation",
			ch:       withSolver(func(s *cmacme.ACMEChallengeSolverHTTP01Ingress) { s.Class = new("gce") }),
			wantHost: testDomain,
			wantAnnotations: map[string]string{
				"kubernetes.io/ingress.class":                        "gce",
				"nginx.ingress.kubernetes.io/whitelist-source-range": "0.0.0.0/0,::/0",
			},
		},
		{
			name: "template labels and annotations are merged; identity labels stay",
			ch: withSolver(func(s *cmacme.ACMEChallengeSolverHTTP01Ingress) {
				s.IngressTemplate = &cmacme.ACMEChallengeSolverHTTP01IngressTemplate{
					ACMEChallengeSolverHTTP01IngressObjectMeta: cmacme.ACMEChallengeSolverHTTP01IngressObjectMeta{
						Labels:      map[string]string{"team": "web", cmacme.TokenLabelKey: "1"},
						Annotations: map[string]string{"cert-manager.io/note": "x"},
					},
				}
			}),
			wantHost:   testDomain,
			wantLabels: map[string]string{"team": "web"},
			wantAnnotations: map[string]string{
				"cert-manager.io/note":                               "x",
				"nginx.ingress.kubernetes.io/whitelist-source-range": "0.0.0.0/0,::/0",
			},
		},
		{
			name: "a template's own whitelist-source-range, under any prefix, replaces ours",
			ch: withSolver(func(s *cmacme.ACMEChallengeSolverHTTP01Ingress) {
				s.IngressTemplate = &cmacme.ACMEChallengeSolverHTTP01IngressTemplate{
					ACMEChallengeSolverHTTP01IngressObjectMeta: cmacme.ACMEChallengeSolverHTTP01IngressObjectMeta{
						Annotations: map[string]string{"custom.nginx.org/whitelist-source-range": "10.0.0.0/8"},
					},
				}
			}),
			wantHost:        testDomain,
			wantAnnotations: map[string]string{"custom.nginx.org/whitelist-source-range": "10.0.0.0/8"},
		},
		{
			name:            "an IP address identifier: a rule for every host",
			ch:              challenge(func(ch *cmacme.Challenge) { ch.Spec.DNSName = "2001:db8::1" }),
			wantHost:        "",
			wantAnnotations: allowAll,
		},
		{
			name:    "class and ingressClassName together",
			ch:      withSolver(func(s *cmacme.ACMEChallengeSolverHTTP01Ingress) { s.Class, s.IngressClassName = new("a"), new("b") }),
			wantErr: "both class and ingressClassName",
		},
		{
			name:    "a wildcard name",
			ch:      challenge(func(ch *cmacme.Challenge) { ch.Spec.DNSName = "*.example.com" }),
			wantErr: "wildcard",
		},
		{
			name:    "a wildcard Challenge",
			ch:      challenge(func(ch *cmacme.Challenge) { ch.Spec.Wildcard = true }),
			wantErr: "wildcard",
		},
		{
			name:    "no ingress solver",
			ch:      challenge(func(ch *cmacme.Challenge) { ch.Spec.Solver.HTTP01 = nil }),
			wantErr: "no http01.ingress",
		},
		{
			name:    "no token",
			ch:      challenge(func(ch *cmacme.Challenge) { ch.Spec.Token = "" }),
			wantErr: "spec.token is empty",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ing, err := Ingress(tc.ch, testService)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), "apps/web-1-1234-5678") {
					t.Errorf("error %q does not name the Challenge", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ing.GenerateName != "cm-acme-http-solver-" || ing.Namespace != "apps" {
				t.Errorf("generateName %q, namespace %q", ing.GenerateName, ing.Namespace)
			}
			wantLabels := Labels(tc.ch)
			maps.Copy(wantLabels, tc.wantLabels)
			if !maps.Equal(ing.Labels, wantLabels) {
				t.Errorf("labels %v, want %v", ing.Labels, wantLabels)
			}
			if !maps.Equal(ing.Annotations, tc.wantAnnotations) {
				t.Errorf("annotations %v, want %v", ing.Annotations, tc.wantAnnotations)
			}
			if want := []metav1.OwnerReference{wantOwner()}; !reflect.DeepEqual(ing.OwnerReferences, want) {
				t.Errorf("owner references %+v", ing.OwnerReferences)
			}
			if !reflect.DeepEqual(ing.Spec.IngressClassName, tc.wantClassName) {
				t.Errorf("ingressClassName %v, want %v", ing.Spec.IngressClassName, tc.wantClassName)
			}
			wantRules := []networkingv1.IngressRule{solverRule(tc.wantHost, testService)}
			if !reflect.DeepEqual(ing.Spec.Rules, wantRules) {
				t.Errorf("rules %+v, want %+v", ing.Spec.Rules, wantRules)
			}
		})
	}
}

// solverRule is the rule a solver routes through, written out in full.
func solverRule(host, service string) networkingv1.IngressRule {
	return networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{
		HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{solverPath(service)}},
	}}
}

func solverPath(service string) networkingv1.HTTPIngressPath {
	return networkingv1.HTTPIngressPath{
		Path:     "/.well-known/acme-challenge/tok-123_ABC",
		PathType: new(networkingv1.PathTypeExact),
		Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
			Name: service, Port: networkingv1.ServiceBackendPort{Number: 8089},
		}},
	}
}

func appPath(path string) networkingv1.HTTPIngressPath {
	return networkingv1.HTTPIngressPath{
		Path:     path,
		PathType: new(networkingv1.PathTypePrefix),
		Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
			Name: "app", Port: networkingv1.ServiceBackendPort{Name: "http"},
		}},
	}
}

func rule(host string, paths ...networkingv1.HTTPIngressPath) networkingv1.IngressRule {
	return networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{
		HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths},
	}}
}

func userIngress(rules ...networkingv1.IngressRule) *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "apps"},
		Spec:       networkingv1.IngressSpec{Rules: rules},
	}
}

func TestAddPathRemovePath(t *testing.T) {
	staleBackend := solverPath("cm-acme-http-solver-old")
	oldPathType := solverPath(testService)
	oldPathType.PathType = new(networkingv1.PathTypeImplementationSpecific)

	tests := []struct {
		name        string
		in          *networkingv1.Ingress
		wantAdded   []networkingv1.IngressRule
		wantChanged bool
		// roundTrip: RemovePath gives back the Ingress as it was before
		// AddPath. Not so when AddPath replaced a path of ours.
		roundTrip bool
	}{
		{
			name:        "no rules: a new rule",
			in:          userIngress(),
			wantAdded:   []networkingv1.IngressRule{solverRule(testDomain, testService)},
			wantChanged: true, roundTrip: true,
		},
		{
			name:        "only other hosts: a new rule after theirs",
			in:          userIngress(rule("other.example", appPath("/"))),
			wantAdded:   []networkingv1.IngressRule{rule("other.example", appPath("/")), solverRule(testDomain, testService)},
			wantChanged: true, roundTrip: true,
		},
		{
			name:        "a rule for the host: our path goes first, before its catch-all",
			in:          userIngress(rule(testDomain, appPath("/"))),
			wantAdded:   []networkingv1.IngressRule{rule(testDomain, solverPath(testService), appPath("/"))},
			wantChanged: true, roundTrip: true,
		},
		{
			name:        "the token's path to another Service is repointed",
			in:          userIngress(rule(testDomain, appPath("/"), staleBackend)),
			wantAdded:   []networkingv1.IngressRule{rule(testDomain, appPath("/"), solverPath(testService))},
			wantChanged: true,
		},
		{
			name:        "the token's path with another pathType is rewritten",
			in:          userIngress(rule(testDomain, oldPathType)),
			wantAdded:   []networkingv1.IngressRule{solverRule(testDomain, testService)},
			wantChanged: true,
		},
		{
			name:        "already there: nothing to do",
			in:          userIngress(rule(testDomain, appPath("/"), solverPath(testService))),
			wantAdded:   []networkingv1.IngressRule{rule(testDomain, appPath("/"), solverPath(testService))},
			wantChanged: false,
		},
		{
			name:        "a rule for the host without paths gets ours",
			in:          userIngress(networkingv1.IngressRule{Host: testDomain}),
			wantAdded:   []networkingv1.IngressRule{solverRule(testDomain, testService)},
			wantChanged: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch := challenge(func(ch *cmacme.Challenge) { ingressSolverOf(ch).Name = "web" })
			before := tc.in.DeepCopy()

			added, changed := AddPath(tc.in, ch, testService)
			if changed != tc.wantChanged {
				t.Errorf("AddPath changed = %v, want %v", changed, tc.wantChanged)
			}
			if !reflect.DeepEqual(added.Spec.Rules, tc.wantAdded) {
				t.Errorf("AddPath rules\n got %+v\nwant %+v", added.Spec.Rules, tc.wantAdded)
			}
			if !reflect.DeepEqual(tc.in, before) {
				t.Error("AddPath edited its argument")
			}
			again, changed := AddPath(added, ch, testService)
			if changed || !reflect.DeepEqual(again, added) {
				t.Errorf("a second AddPath changed = %v, rules %+v", changed, again.Spec.Rules)
			}

			removed, changed := RemovePath(added, ch)
			if !changed {
				t.Error("RemovePath found nothing to remove")
			}
			for _, r := range removed.Spec.Rules {
				if r.HTTP == nil {
					continue
				}
				for _, p := range r.HTTP.Paths {
					if p.Path == solverPath("").Path {
						t.Errorf("RemovePath left %s on host %q", p.Path, r.Host)
					}
				}
			}
			if tc.roundTrip && !reflect.DeepEqual(removed, before) {
				t.Errorf("RemovePath(AddPath(x)) != x:\n got %+v\nwant %+v", removed.Spec.Rules, before.Spec.Rules)
			}
			snapshot := removed.DeepCopy()
			again, changed = RemovePath(removed, ch)
			if changed || !reflect.DeepEqual(again, snapshot) {
				t.Errorf("a second RemovePath changed = %v, rules %+v", changed, again.Spec.Rules)
			}
			if !reflect.DeepEqual(removed, snapshot) {
				t.Error("RemovePath edited its argument")
			}
		})
	}
}

func TestRemovePathLeavesOthersAlone(t *testing.T) {
	ch := challenge(nil)
	otherToken := solverPath(testService)
	otherToken.Path = "/.well-known/acme-challenge/another"
	in := userIngress(
		rule("other.example", solverPath(testService)), // same token, another host
		networkingv1.IngressRule{Host: testDomain},     // no paths at all
		rule(testDomain, otherToken, solverPath(testService)),
	)
	got, changed := RemovePath(in, ch)
	if !changed {
		t.Fatal("nothing removed")
	}
	want := []networkingv1.IngressRule{
		rule("other.example", solverPath(testService)),
		{Host: testDomain},
		rule(testDomain, otherToken),
	}
	if !reflect.DeepEqual(got.Spec.Rules, want) {
		t.Errorf("rules\n got %+v\nwant %+v", got.Spec.Rules, want)
	}
}

func TestIPAddressRuleRoundTrip(t *testing.T) {
	ch := challenge(func(ch *cmacme.Challenge) { ch.Spec.DNSName = "192.0.2.7" })
	in := userIngress(rule("", appPath("/")))
	added, changed := AddPath(in, ch, testService)
	if !changed || !reflect.DeepEqual(added.Spec.Rules, []networkingv1.IngressRule{rule("", solverPath(testService), appPath("/"))}) {
		t.Fatalf("AddPath changed = %v, rules %+v", changed, added.Spec.Rules)
	}
	if removed, _ := RemovePath(added, ch); !reflect.DeepEqual(removed, in) {
		t.Errorf("RemovePath(AddPath(x)) != x: %+v", removed.Spec.Rules)
	}
}
