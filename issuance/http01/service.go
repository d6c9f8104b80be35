package http01

import (
	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Service is the solver Service: it selects the Pod by Labels(ch) and
// carries ListenPort, for the Ingress (or HTTPRoute) to route to.
func Service(ch *cmacme.Challenge) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: generateName,
			Namespace:    ch.Namespace,
			Labels:       Labels(ch),
			Annotations: map[string]string{
				// The CA's request comes in as plain HTTP, from outside the
				// mesh: Istio must not demand mutual TLS on this port.
				"auth.istio.io/8089": "NONE",
			},
			OwnerReferences: ownedBy(ch),
		},
		Spec: corev1.ServiceSpec{
			Type: serviceType(ch),
			Ports: []corev1.ServicePort{{
				Name:       "http",
				Port:       ListenPort,
				TargetPort: intstr.FromInt32(ListenPort),
			}},
			Selector: Labels(ch),
		},
	}
}

// serviceType is the solver's serviceType, or NodePort when unset: the
// default cert-manager keeps for ingress controllers (GCE's among them)
// that route only to NodePort Services.
func serviceType(ch *cmacme.Challenge) corev1.ServiceType {
	var t corev1.ServiceType
	if h := ch.Spec.Solver.HTTP01; h != nil {
		switch {
		case h.Ingress != nil:
			t = h.Ingress.ServiceType
		case h.GatewayHTTPRoute != nil:
			t = h.GatewayHTTPRoute.ServiceType
		}
	}
	if t == "" {
		return corev1.ServiceTypeNodePort
	}
	return t
}
