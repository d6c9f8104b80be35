package http01

import (
	"maps"
	"reflect"
	"testing"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestService(t *testing.T) {
	tests := []struct {
		name string
		ch   *cmacme.Challenge
		want corev1.ServiceType
	}{
		{"NodePort by default, as cert-manager", challenge(nil), corev1.ServiceTypeNodePort},
		{"the ingress solver's serviceType", challenge(func(ch *cmacme.Challenge) {
			ingressSolverOf(ch).ServiceType = corev1.ServiceTypeClusterIP
		}), corev1.ServiceTypeClusterIP},
		{"the Gateway solver's serviceType", challenge(func(ch *cmacme.Challenge) {
			ch.Spec.Solver.HTTP01 = &cmacme.ACMEChallengeSolverHTTP01{GatewayHTTPRoute: &cmacme.ACMEChallengeSolverHTTP01GatewayHTTPRoute{
				ServiceType: corev1.ServiceTypeClusterIP,
			}}
		}), corev1.ServiceTypeClusterIP},
		{"no HTTP-01 config: NodePort", challenge(func(ch *cmacme.Challenge) { ch.Spec.Solver.HTTP01 = nil }), corev1.ServiceTypeNodePort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := Service(tc.ch)
			if svc.Spec.Type != tc.want {
				t.Errorf("type %q, want %q", svc.Spec.Type, tc.want)
			}
			if svc.GenerateName != "cm-acme-http-solver-" || svc.Namespace != "apps" {
				t.Errorf("generateName %q, namespace %q", svc.GenerateName, svc.Namespace)
			}
			labels := Labels(tc.ch)
			if !maps.Equal(svc.Labels, labels) || !maps.Equal(svc.Spec.Selector, labels) {
				t.Errorf("labels %v, selector %v, want both %v", svc.Labels, svc.Spec.Selector, labels)
			}
			if !maps.Equal(svc.Annotations, map[string]string{"auth.istio.io/8089": "NONE"}) {
				t.Errorf("annotations %v", svc.Annotations)
			}
			if want := []metav1.OwnerReference{wantOwner()}; !reflect.DeepEqual(svc.OwnerReferences, want) {
				t.Errorf("owner references %+v", svc.OwnerReferences)
			}
			wantPorts := []corev1.ServicePort{{Name: "http", Port: 8089, TargetPort: intstr.FromInt32(8089)}}
			if !reflect.DeepEqual(svc.Spec.Ports, wantPorts) {
				t.Errorf("ports %+v", svc.Spec.Ports)
			}
			// Labels and selector are separate maps: adding a label must
			// not narrow the selector.
			svc.Labels["extra"] = "x"
			if _, ok := svc.Spec.Selector["extra"]; ok {
				t.Error("labels and selector share a map")
			}
		})
	}
}
