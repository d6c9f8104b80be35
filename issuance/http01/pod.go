package http01

import (
	"maps"
	"strconv"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The solver's resources when the pod template sets none: cert-manager's
// defaults for its --acme-http01-solver-resource-* flags.
var (
	defaultRequestCPU    = resource.MustParse("10m")
	defaultRequestMemory = resource.MustParse("64Mi")
	defaultLimitCPU      = resource.MustParse("100m")
	defaultLimitMemory   = resource.MustParse("64Mi")
)

// Pod is the solver Pod for ch: one container running image with
// `solve-http01`, labelled with Labels(ch) and controlled by ch, locked down
// as cert-manager locks its acmesolver down, then the solver's pod template
// merged in.
func Pod(ch *cmacme.Challenge, image string) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: generateName,
			Namespace:    ch.Namespace,
			Labels:       Labels(ch),
			Annotations: map[string]string{
				// An injected sidecar would intercept the CA's request.
				"sidecar.istio.io/inject": "false",
				// The Pod holds nothing that cannot be made again.
				"cluster-autoscaler.kubernetes.io/safe-to-evict": "true",
			},
			OwnerReferences: ownedBy(ch),
		},
		Spec: corev1.PodSpec{
			// The solver answers one URL; it never talks to the API server,
			// so it gets no credentials for it and no Service variables.
			AutomountServiceAccountToken: new(false),
			EnableServiceLinks:           new(false),
			NodeSelector:                 map[string]string{"kubernetes.io/os": "linux"},
			RestartPolicy:                corev1.RestartPolicyOnFailure,
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   new(true),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:            "acmesolver",
				Image:           image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Args: []string{
					"solve-http01",
					"--listen-port=" + strconv.Itoa(ListenPort),
					"--domain=" + ch.Spec.DNSName,
					"--token=" + ch.Spec.Token,
					"--key=" + ch.Spec.Key,
				},
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: ListenPort}},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{
						corev1.ResourceCPU:    defaultRequestCPU.DeepCopy(),
						corev1.ResourceMemory: defaultRequestMemory.DeepCopy(),
					},
					Limits: corev1.ResourceList{
						corev1.ResourceCPU:    defaultLimitCPU.DeepCopy(),
						corev1.ResourceMemory: defaultLimitMemory.DeepCopy(),
					},
				},
				SecurityContext: &corev1.SecurityContext{
					ReadOnlyRootFilesystem:   new(true),
					AllowPrivilegeEscalation: new(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
	// cert-manager applies the pod template of whichever HTTP-01 solver the
	// Challenge has; the Pod is the same for Ingress and Gateway solvers.
	if h := ch.Spec.Solver.HTTP01; h != nil {
		if h.Ingress != nil {
			mergePodTemplate(pod, h.Ingress.PodTemplate)
		}
		if h.GatewayHTTPRoute != nil {
			mergePodTemplate(pod, h.GatewayHTTPRoute.PodTemplate)
		}
	}
	return pod
}

// mergePodTemplate lays tmpl over pod field by field, as cert-manager does:
// maps are merged key by key, lists appended to, and a field the template
// sets replaces ours. The template's values are deep-copied, so the Pod
// never shares memory with the Challenge it came from.
func mergePodTemplate(pod *corev1.Pod, tmpl *cmacme.ACMEChallengeSolverHTTP01IngressPodTemplate) {
	if tmpl == nil {
		return
	}
	tmpl = tmpl.DeepCopy()
	mergeLabels(pod.Labels, tmpl.Labels)
	maps.Copy(pod.Annotations, tmpl.Annotations)

	spec, t := &pod.Spec, tmpl.Spec
	maps.Copy(spec.NodeSelector, t.NodeSelector)
	spec.Tolerations = append(spec.Tolerations, t.Tolerations...)
	if t.Affinity != nil {
		spec.Affinity = t.Affinity
	}
	if t.PriorityClassName != "" {
		spec.PriorityClassName = t.PriorityClassName
	}
	if t.ServiceAccountName != "" {
		spec.ServiceAccountName = t.ServiceAccountName
	}
	spec.ImagePullSecrets = append(spec.ImagePullSecrets, t.ImagePullSecrets...)
	// A template security context replaces ours whole, not field by field:
	// cert-manager does so, and a user who sets one (to run as a given UID,
	// say) means all of it.
	if sc := t.SecurityContext; sc != nil {
		spec.SecurityContext = &corev1.PodSecurityContext{
			SELinuxOptions:      sc.SELinuxOptions,
			RunAsUser:           sc.RunAsUser,
			RunAsGroup:          sc.RunAsGroup,
			RunAsNonRoot:        sc.RunAsNonRoot,
			SupplementalGroups:  sc.SupplementalGroups,
			FSGroup:             sc.FSGroup,
			Sysctls:             sc.Sysctls,
			FSGroupChangePolicy: sc.FSGroupChangePolicy,
			SeccompProfile:      sc.SeccompProfile,
		}
	}
	if r := t.Resources; r != nil {
		res := &spec.Containers[0].Resources
		maps.Copy(res.Requests, r.Requests)
		maps.Copy(res.Limits, r.Limits)
	}
}
