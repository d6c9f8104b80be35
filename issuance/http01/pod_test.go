package http01

import (
	"maps"
	"reflect"
	"slices"
	"testing"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const testImage = "ghcr.io/certsweep/certsweep:v1"

func TestPodDefaults(t *testing.T) {
	pod := Pod(challenge(nil), testImage)

	if pod.GenerateName != "cm-acme-http-solver-" || pod.Name != "" || pod.Namespace != "apps" {
		t.Errorf("generateName %q, name %q, namespace %q", pod.GenerateName, pod.Name, pod.Namespace)
	}
	if !maps.Equal(pod.Labels, Labels(challenge(nil))) {
		t.Errorf("labels %v, want exactly Labels(ch)", pod.Labels)
	}
	wantAnnotations := map[string]string{
		"sidecar.istio.io/inject":                        "false",
		"cluster-autoscaler.kubernetes.io/safe-to-evict": "true",
	}
	if !maps.Equal(pod.Annotations, wantAnnotations) {
		t.Errorf("annotations %v, want %v", pod.Annotations, wantAnnotations)
	}
	if want := []metav1.OwnerReference{wantOwner()}; !reflect.DeepEqual(pod.OwnerReferences, want) {
		t.Errorf("owner references %+v, want %+v", pod.OwnerReferences, want)
	}

	spec := pod.Spec
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("the service account token is mounted")
	}
	if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
		t.Error("service links are enabled")
	}
	if !maps.Equal(spec.NodeSelector, map[string]string{"kubernetes.io/os": "linux"}) {
		t.Errorf("node selector %v", spec.NodeSelector)
	}
	if spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("restart policy %q", spec.RestartPolicy)
	}
	wantPodSC := &corev1.PodSecurityContext{
		RunAsNonRoot:   new(true),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	if !reflect.DeepEqual(spec.SecurityContext, wantPodSC) {
		t.Errorf("pod security context %+v", spec.SecurityContext)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}

	c := spec.Containers[0]
	if c.Name != "acmesolver" || c.Image != testImage || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("container %q image %q pull policy %q", c.Name, c.Image, c.ImagePullPolicy)
	}
	wantArgs := []string{"solve-http01", "--listen-port=8089", "--domain=example.com", "--token=tok-123_ABC", "--key=tok-123_ABC.thumbprint"}
	if !slices.Equal(c.Args, wantArgs) {
		t.Errorf("args %q, want %q", c.Args, wantArgs)
	}
	if want := []corev1.ContainerPort{{Name: "http", ContainerPort: 8089}}; !reflect.DeepEqual(c.Ports, want) {
		t.Errorf("ports %+v", c.Ports)
	}
	checkQuantity(t, c.Resources.Requests, corev1.ResourceCPU, "10m")
	checkQuantity(t, c.Resources.Requests, corev1.ResourceMemory, "64Mi")
	checkQuantity(t, c.Resources.Limits, corev1.ResourceCPU, "100m")
	checkQuantity(t, c.Resources.Limits, corev1.ResourceMemory, "64Mi")
	wantSC := &corev1.SecurityContext{
		ReadOnlyRootFilesystem:   new(true),
		AllowPrivilegeEscalation: new(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
	if !reflect.DeepEqual(c.SecurityContext, wantSC) {
		t.Errorf("container security context %+v", c.SecurityContext)
	}
}

func checkQuantity(t *testing.T, list corev1.ResourceList, name corev1.ResourceName, want string) {
	t.Helper()
	got, ok := list[name]
	if !ok || got.Cmp(resource.MustParse(want)) != 0 {
		t.Errorf("%s = %s (set: %v), want %s", name, got.String(), ok, want)
	}
}

func TestPodTemplate(t *testing.T) {
	withTemplate := func(tmpl cmacme.ACMEChallengeSolverHTTP01IngressPodTemplate) *cmacme.Challenge {
		return challenge(func(ch *cmacme.Challenge) { ingressSolverOf(ch).PodTemplate = &tmpl })
	}
	affinity := &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}},
		}}},
	}}
	toleration := corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "edge", Effect: corev1.TaintEffectNoSchedule}

	tests := []struct {
		name  string
		ch    *cmacme.Challenge
		check func(t *testing.T, pod *corev1.Pod)
	}{
		{
			name: "labels and annotations are added; cert-manager's annotations can be overridden",
			ch: withTemplate(cmacme.ACMEChallengeSolverHTTP01IngressPodTemplate{
				ACMEChallengeSolverHTTP01IngressPodObjectMeta: cmacme.ACMEChallengeSolverHTTP01IngressPodObjectMeta{
					Labels:      map[string]string{"team": "web"},
					Annotations: map[string]string{"sidecar.istio.io/inject": "true", "note": "x"},
				},
			}),
			check: func(t *testing.T, pod *corev1.Pod) {
				want := Labels(challenge(nil))
				want["team"] = "web"
				if !maps.Equal(pod.Labels, want) {
					t.Errorf("labels %v, want %v", pod.Labels, want)
				}
				if pod.Annotations["sidecar.istio.io/inject"] != "true" || pod.Annotations["note"] != "x" ||
					pod.Annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"] != "true" {
					t.Errorf("annotations %v", pod.Annotations)
				}
			},
		},
		{
			name: "the identity labels cannot be overridden",
			ch: withTemplate(cmacme.ACMEChallengeSolverHTTP01IngressPodTemplate{
				ACMEChallengeSolverHTTP01IngressPodObjectMeta: cmacme.ACMEChallengeSolverHTTP01IngressPodObjectMeta{
					Labels: map[string]string{
						cmacme.DomainLabelKey:               "1",
						cmacme.TokenLabelKey:                "2",
						cmacme.SolverIdentificationLabelKey: "false",
					},
				},
			}),
			check: func(t *testing.T, pod *corev1.Pod) {
				if !maps.Equal(pod.Labels, Labels(challenge(nil))) {
					t.Errorf("labels %v, want exactly Labels(ch)", pod.Labels)
				}
			},
		},
		{
			name: "scheduling: node selector merged, tolerations appended, affinity and priority class set",
			ch: withTemplate(cmacme.ACMEChallengeSolverHTTP01IngressPodTemplate{Spec: cmacme.ACMEChallengeSolverHTTP01IngressPodSpec{
				NodeSelector:      map[string]string{"pool": "edge"},
				Tolerations:       []corev1.Toleration{toleration},
				Affinity:          affinity,
				PriorityClassName: "high",
			}}),
			check: func(t *testing.T, pod *corev1.Pod) {
				if !maps.Equal(pod.Spec.NodeSelector, map[string]string{"kubernetes.io/os": "linux", "pool": "edge"}) {
					t.Errorf("node selector %v", pod.Spec.NodeSelector)
				}
				if !reflect.DeepEqual(pod.Spec.Tolerations, []corev1.Toleration{toleration}) {
					t.Errorf("tolerations %+v", pod.Spec.Tolerations)
				}
				if !reflect.DeepEqual(pod.Spec.Affinity, affinity) {
					t.Errorf("affinity %+v", pod.Spec.Affinity)
				}
				if pod.Spec.PriorityClassName != "high" {
					t.Errorf("priority class %q", pod.Spec.PriorityClassName)
				}
			},
		},
		{
			name: "service account and image pull secrets",
			ch: withTemplate(cmacme.ACMEChallengeSolverHTTP01IngressPodTemplate{Spec: cmacme.ACMEChallengeSolverHTTP01IngressPodSpec{
				ServiceAccountName: "solver",
				ImagePullSecrets:   []corev1.LocalObjectReference{{Name: "registry"}},
			}}),
			check: func(t *testing.T, pod *corev1.Pod) {
				if pod.Spec.ServiceAccountName != "solver" {
					t.Errorf("service account %q", pod.Spec.ServiceAccountName)
				}
				if !reflect.DeepEqual(pod.Spec.ImagePullSecrets, []corev1.LocalObjectReference{{Name: "registry"}}) {
					t.Errorf("image pull secrets %+v", pod.Spec.ImagePullSecrets)
				}
				if *pod.Spec.AutomountServiceAccountToken {
					t.Error("a service account name turned token mounting on")
				}
			},
		},
		{
			name: "a security context replaces ours whole, as cert-manager's does",
			ch: withTemplate(cmacme.ACMEChallengeSolverHTTP01IngressPodTemplate{Spec: cmacme.ACMEChallengeSolverHTTP01IngressPodSpec{
				SecurityContext: &cmacme.ACMEChallengeSolverHTTP01IngressPodSecurityContext{RunAsUser: new(int64(1000)), FSGroup: new(int64(2000))},
			}}),
			check: func(t *testing.T, pod *corev1.Pod) {
				want := &corev1.PodSecurityContext{RunAsUser: new(int64(1000)), FSGroup: new(int64(2000))}
				if !reflect.DeepEqual(pod.Spec.SecurityContext, want) {
					t.Errorf("pod security context %+v, want %+v", pod.Spec.SecurityContext, want)
				}
				if pod.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem == nil {
					t.Error("the container's security context was touched")
				}
			},
		},
		{
			name: "resources are merged key by key",
			ch: withTemplate(cmacme.ACMEChallengeSolverHTTP01IngressPodTemplate{Spec: cmacme.ACMEChallengeSolverHTTP01IngressPodSpec{
				Resources: &cmacme.ACMEChallengeSolverHTTP01IngressPodResources{
					Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
				},
			}}),
			check: func(t *testing.T, pod *corev1.Pod) {
				r := pod.Spec.Containers[0].Resources
				checkQuantity(t, r.Limits, corev1.ResourceMemory, "128Mi")
				checkQuantity(t, r.Limits, corev1.ResourceCPU, "100m")
				checkQuantity(t, r.Requests, corev1.ResourceMemory, "64Mi")
				checkQuantity(t, r.Requests, corev1.ResourceCPU, "10m")
			},
		},
		{
			name: "a Gateway solver's pod template applies too",
			ch: challenge(func(ch *cmacme.Challenge) {
				ch.Spec.Solver.HTTP01 = &cmacme.ACMEChallengeSolverHTTP01{GatewayHTTPRoute: &cmacme.ACMEChallengeSolverHTTP01GatewayHTTPRoute{
					PodTemplate: &cmacme.ACMEChallengeSolverHTTP01IngressPodTemplate{Spec: cmacme.ACMEChallengeSolverHTTP01IngressPodSpec{PriorityClassName: "gw"}},
				}}
			}),
			check: func(t *testing.T, pod *corev1.Pod) {
				if pod.Spec.PriorityClassName != "gw" {
					t.Errorf("priority class %q", pod.Spec.PriorityClassName)
				}
			},
		},
		{
			name: "a solver without HTTP-01 config gets the defaults",
			ch:   challenge(func(ch *cmacme.Challenge) { ch.Spec.Solver.HTTP01 = nil }),
			check: func(t *testing.T, pod *corev1.Pod) {
				if !reflect.DeepEqual(pod, Pod(challenge(nil), testImage)) {
					t.Error("differs from the Pod for an empty ingress solver")
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.ch.DeepCopy()
			pod := Pod(tc.ch, testImage)
			tc.check(t, pod)
			// The Pod must not share memory with the Challenge: editing
			// one may not edit the other.
			pod.Spec.NodeSelector["x"] = "y"
			for i := range pod.Spec.Tolerations {
				pod.Spec.Tolerations[i].Key = "edited"
			}
			for i := range pod.Spec.ImagePullSecrets {
				pod.Spec.ImagePullSecrets[i].Name = "edited"
			}
			if pod.Spec.Affinity != nil {
				pod.Spec.Affinity.NodeAffinity = nil
			}
			if !reflect.DeepEqual(tc.ch, before) {
				t.Error("Pod or an edit of it changed the Challenge")
			}
		})
	}
}
