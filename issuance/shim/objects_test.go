package shim

import (
	"reflect"
	"strings"
	"testing"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwapi "sigs.k8s.io/gateway-api/apis/v1"
)

// Which issuer an object's annotations name, one row per annotation and
// per combination cert-manager refuses.
func TestIssuerAnnotations(t *testing.T) {
	acme := Defaults{IssuerName: "letsencrypt", IssuerKind: "ClusterIssuer", IssuerGroup: "cert-manager.io"}
	cases := []struct {
		name     string
		ann      map[string]string
		defaults Defaults
		asks     bool
		want     cmmeta.IssuerReference
		problem  string
	}{
		{name: "no annotation asks for nothing", ann: map[string]string{"team": "web"}},
		{name: "issuer", ann: map[string]string{"cert-manager.io/issuer": "ca"}, asks: true,
			want: cmmeta.IssuerReference{Name: "ca", Kind: "Issuer", Group: "cert-manager.io"}},
		{name: "cluster-issuer", ann: map[string]string{"cert-manager.io/cluster-issuer": "ca"}, asks: true,
			want: cmmeta.IssuerReference{Name: "ca", Kind: "ClusterIssuer", Group: "cert-manager.io"}},
		{name: "issuer with issuer-kind and issuer-group (an external issuer)",
			ann:  map[string]string{"cert-manager.io/issuer": "step", "cert-manager.io/issuer-kind": "StepClusterIssuer", "cert-manager.io/issuer-group": "certmanager.step.sm"},
			asks: true, want: cmmeta.IssuerReference{Name: "step", Kind: "StepClusterIssuer", Group: "certmanager.step.sm"}},
		{name: "issuer completed by the default kind and group", ann: map[string]string{"cert-manager.io/issuer": "ca"}, defaults: Defaults{IssuerGroup: "example.com"},
			asks: true, want: cmmeta.IssuerReference{Name: "ca", Kind: "Issuer", Group: "example.com"}},
		{name: "tls-acme uses the default issuer", ann: map[string]string{"kubernetes.io/tls-acme": "true"}, defaults: acme, asks: true,
			want: cmmeta.IssuerReference{Name: "letsencrypt", Kind: "ClusterIssuer", Group: "cert-manager.io"}},
		{name: "tls-acme accepts any true value", ann: map[string]string{"kubernetes.io/tls-acme": "1"}, defaults: acme, asks: true,
			want: cmmeta.IssuerReference{Name: "letsencrypt", Kind: "ClusterIssuer", Group: "cert-manager.io"}},
		{name: "tls-acme false asks for nothing", ann: map[string]string{"kubernetes.io/tls-acme": "false"}, defaults: acme},
		{name: "tls-acme not a boolean asks for nothing", ann: map[string]string{"kubernetes.io/tls-acme": "yes please"}, defaults: acme},
		{name: "tls-acme without a default issuer", ann: map[string]string{"kubernetes.io/tls-acme": "true"}, asks: true,
			problem: "Could not determine issuer for ingress due to bad annotations: failed to determine issuer name"},
		{name: "issuer annotation wins over the default", ann: map[string]string{"kubernetes.io/tls-acme": "true", "cert-manager.io/issuer": "ca"}, defaults: acme, asks: true,
			want: cmmeta.IssuerReference{Name: "ca", Kind: "Issuer", Group: "cert-manager.io"}},
		{name: "empty issuer name", ann: map[string]string{"cert-manager.io/issuer": ""}, asks: true, problem: "failed to determine issuer name"},
		{name: "issuer and cluster-issuer", ann: map[string]string{"cert-manager.io/issuer": "a", "cert-manager.io/cluster-issuer": "b"}, asks: true,
			problem: `both "cert-manager.io/issuer" and "cert-manager.io/cluster-issuer" may not be set`},
		{name: "cluster-issuer and issuer-group", ann: map[string]string{"cert-manager.io/cluster-issuer": "b", "cert-manager.io/issuer-group": "x.io"}, asks: true,
			problem: `both "cert-manager.io/cluster-issuer" and "cert-manager.io/issuer-group" may not be set`},
		{name: "cluster-issuer and issuer-kind", ann: map[string]string{"cert-manager.io/cluster-issuer": "b", "cert-manager.io/issuer-kind": "Issuer"}, asks: true,
			problem: `both "cert-manager.io/cluster-issuer" and "cert-manager.io/issuer-kind" may not be set`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ing := &networkingv1.Ingress{
				ObjectMeta: metav1.ObjectMeta{Name: "site", Namespace: "web", UID: "u", Annotations: tc.ann},
				Spec:       networkingv1.IngressSpec{TLS: []networkingv1.IngressTLS{tlsEntryFor("site-tls", "site.example.com")}},
			}
			b, ok := Ingress(ing, tc.defaults)
			if ok != tc.asks {
				t.Fatalf("asks %v, want %v", ok, tc.asks)
			}
			if !ok {
				return
			}
			if tc.problem != "" {
				if !b.Stop || len(b.Problems) != 1 || !strings.Contains(b.Problems[0], tc.problem) || len(b.Certificates) != 0 {
					t.Fatalf("stop %v, problems %q; want stopped on %q", b.Stop, b.Problems, tc.problem)
				}
				return
			}
			if len(b.Problems) != 0 || len(b.Certificates) != 1 {
				t.Fatalf("problems %q, %d certificates", b.Problems, len(b.Certificates))
			}
			if got := b.Certificates[0].Spec.IssuerRef; got != tc.want {
				t.Errorf("issuerRef %+v, want %+v", got, tc.want)
			}
		})
	}
}

// An Ingress gives one Certificate per TLS entry, named after its Secret,
// owned by the Ingress, for the entry's hosts split into DNS names and IP
// addresses.
func TestIngressCertificates(t *testing.T) {
	ing := ingress(nil,
		tlsEntryFor("www-tls", "www.example.com", "example.com", "www.example.com"),
		tlsEntryFor("api-tls", "api.example.com", "10.0.0.1"),
	)
	b, ok := Ingress(ing, Defaults{})
	if !ok || b.Stop || len(b.Problems) != 0 {
		t.Fatalf("ok %v, stop %v, problems %q", ok, b.Stop, b.Problems)
	}
	var names []string
	for _, c := range b.Certificates {
		names = append(names, c.Name)
	}
	if !reflect.DeepEqual(names, []string{"api-tls", "www-tls"}) {
		t.Fatalf("certificates %q, want api-tls and www-tls in order", names)
	}
	api, www := b.Certificates[0], b.Certificates[1]
	if !reflect.DeepEqual(api.Spec.DNSNames, []string{"api.example.com"}) || !reflect.DeepEqual(api.Spec.IPAddresses, []string{"10.0.0.1"}) {
		t.Errorf("api: dnsNames %q, ipAddresses %q", api.Spec.DNSNames, api.Spec.IPAddresses)
	}
	if !reflect.DeepEqual(www.Spec.DNSNames, []string{"www.example.com", "example.com"}) {
		t.Errorf("www: dnsNames %q, want each host once in order", www.Spec.DNSNames)
	}
	if www.Namespace != "web" || www.Spec.SecretName != "www-tls" {
		t.Errorf("www: namespace %q, secretName %q", www.Namespace, www.Spec.SecretName)
	}
	ref := metav1.GetControllerOf(www)
	if ref == nil || ref.APIVersion != "networking.k8s.io/v1" || ref.Kind != "Ingress" || ref.Name != "site" || ref.UID != "ing-uid" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Errorf("controller %+v, want the Ingress", ref)
	}
	if !reflect.DeepEqual(b.SecretNames, map[string]bool{"www-tls": true, "api-tls": true}) {
		t.Errorf("secret names %v", b.SecretNames)
	}
	if b.Object.Kind != "Ingress" || b.Object.ResourceVersion != "7" {
		t.Errorf("object %+v", b.Object)
	}
}

// What stops an Ingress, and what only skips one of its TLS entries.
func TestIngressProblems(t *testing.T) {
	cases := []struct {
		name     string
		tls      []networkingv1.IngressTLS
		stop     bool
		problems []string
		built    []string
	}{
		{name: "two entries naming one Secret stop the Ingress",
			tls:      []networkingv1.IngressTLS{tlsEntryFor("a", "a.example.com"), tlsEntryFor("b", "b.example.com"), tlsEntryFor("a", "c.example.com")},
			stop:     true,
			problems: []string{`spec.tls[0].secretName: Invalid value: "a": this secret name must only appear in a single TLS entry but is also used in spec.tls[2].secretName`}},
		{name: "an entry without hosts is skipped",
			tls:      []networkingv1.IngressTLS{tlsEntryFor("a"), tlsEntryFor("b", "b.example.com")},
			problems: []string{"Skipped a TLS block: spec.tls[0].hosts: Required value"}, built: []string{"b"}},
		{name: "an entry without secretName is skipped",
			tls:      []networkingv1.IngressTLS{tlsEntryFor("", "a.example.com"), tlsEntryFor("b", "b.example.com")},
			problems: []string{"Skipped a TLS block: spec.tls[0].secretName: Required value"}, built: []string{"b"}},
		{name: "no TLS at all builds nothing", tls: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, ok := Ingress(ingress(nil, tc.tls...), Defaults{})
			if !ok {
				t.Fatal("asks for nothing")
			}
			var built []string
			for _, c := range b.Certificates {
				built = append(built, c.Name)
			}
			if b.Stop != tc.stop || !reflect.DeepEqual(b.Problems, tc.problems) || !reflect.DeepEqual(built, tc.built) {
				t.Errorf("stop %v, problems %q, built %q; want %v, %q, %q", b.Stop, b.Problems, built, tc.stop, tc.problems, tc.built)
			}
		})
	}
}

// An Ingress being deleted, in the background or in the foreground, asks
// for nothing: its Certificates go with it.
func TestIngressBeingDeletedAsksForNothing(t *testing.T) {
	gone := ingress(nil, tlsEntryFor("a", "a.example.com"))
	now := metav1.Now()
	gone.DeletionTimestamp = &now
	foreground := ingress(nil, tlsEntryFor("a", "a.example.com"))
	foreground.Finalizers = []string{metav1.FinalizerDeleteDependents}
	for _, ing := range []*networkingv1.Ingress{gone, foreground} {
		if _, ok := Ingress(ing, Defaults{}); ok {
			t.Errorf("%+v asks for certificates", ing.ObjectMeta)
		}
	}
}

func hostname(h string) *gwapi.Hostname { v := gwapi.Hostname(h); return &v }

func mode(m gwapi.TLSModeType) *gwapi.TLSModeType { return &m }

func secretRef(name string) gwapi.SecretObjectReference {
	group, kind := gwapi.Group(""), gwapi.Kind("Secret")
	return gwapi.SecretObjectReference{Group: &group, Kind: &kind, Name: gwapi.ObjectName(name)}
}

// listener is an HTTPS listener terminating TLS for host with refs.
func listener(name, host string, refs ...gwapi.SecretObjectReference) gwapi.Listener {
	l := gwapi.Listener{Name: gwapi.SectionName(name), Protocol: gwapi.HTTPSProtocolType, Port: 443,
		TLS: &gwapi.ListenerTLSConfig{Mode: mode(gwapi.TLSModeTerminate), CertificateRefs: refs}}
	if host != "" {
		l.Hostname = hostname(host)
	}
	return l
}

func gateway(ann map[string]string, listeners ...gwapi.Listener) *gwapi.Gateway {
	all := map[string]string{cmapi.IngressClusterIssuerNameAnnotationKey: "ca"}
	for k, v := range ann {
		all[k] = v
	}
	return &gwapi.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: "edge", Namespace: "web", UID: "gw-uid", Annotations: all},
		Spec:       gwapi.GatewaySpec{GatewayClassName: "example", Listeners: listeners},
	}
}

// Which Gateway listeners give Certificates, one row per listener shape
// cert-manager takes, skips quietly, or skips with a problem.
func TestGatewayListeners(t *testing.T) {
	other := gwapi.Namespace("other")
	same := gwapi.Namespace("web")
	crossNS := secretRef("x-tls")
	crossNS.Namespace = &other
	sameNS := secretRef("s-tls")
	sameNS.Namespace = &same
	configMap := secretRef("cm-tls")
	*configMap.Kind = "ConfigMap"
	http := gwapi.Listener{Name: "http", Protocol: gwapi.HTTPProtocolType, Port: 80, Hostname: hostname("a.example.com")}
	passthrough := listener("pass", "p.example.com", secretRef("p-tls"))
	passthrough.TLS.Mode = mode(gwapi.TLSModePassthrough)
	tlsProto := listener("tls", "t.example.com", secretRef("t-tls"))
	tlsProto.Protocol = gwapi.TLSProtocolType
	noTLS := listener("notls", "n.example.com")
	noTLS.TLS = nil

	cases := []struct {
		name      string
		ann       map[string]string
		listeners []gwapi.Listener
		want      map[string][]string // certificate -> dnsNames
		problem   string
	}{
		{name: "an HTTPS listener", listeners: []gwapi.Listener{listener("https", "a.example.com", secretRef("a-tls"))},
			want: map[string][]string{"a-tls": {"a.example.com"}}},
		{name: "a TLS listener", listeners: []gwapi.Listener{tlsProto}, want: map[string][]string{"t-tls": {"t.example.com"}}},
		{name: "an HTTP listener gives nothing", listeners: []gwapi.Listener{http}, want: map[string][]string{}},
		{name: "a passthrough listener gives nothing", listeners: []gwapi.Listener{passthrough}, want: map[string][]string{}},
		{name: "listeners sharing a Secret share a Certificate",
			listeners: []gwapi.Listener{listener("a", "a.example.com", secretRef("shared")), listener("b", "b.example.com", secretRef("shared")), listener("c", "a.example.com", secretRef("shared"))},
			want:      map[string][]string{"shared": {"a.example.com", "b.example.com"}}},
		{name: "a listener named in ignore-tls-listeners gives nothing", ann: map[string]string{"cert-manager.io/ignore-tls-listeners": "other, https"},
			listeners: []gwapi.Listener{listener("https", "a.example.com", secretRef("a-tls"))}, want: map[string][]string{}},
		{name: "a reference naming the Gateway's own namespace", listeners: []gwapi.Listener{listener("https", "s.example.com", sameNS)},
			want: map[string][]string{"s-tls": {"s.example.com"}}},
		{name: "a cross-namespace reference skips the listener", listeners: []gwapi.Listener{listener("https", "x.example.com", crossNS)},
			want: map[string][]string{}, problem: `Skipped a listener block: spec.listeners[0].tls.certificateRef[0].namespace: Invalid value: "other": cross-namespace secret references are not allowed in listeners`},
		{name: "a reference to a ConfigMap skips the listener", listeners: []gwapi.Listener{listener("https", "c.example.com", configMap)},
			want: map[string][]string{}, problem: `spec.listeners[0].tls.certificateRef[0].kind: Unsupported value: "ConfigMap"`},
		{name: "a listener without hostname is skipped", listeners: []gwapi.Listener{listener("https", "", secretRef("a-tls"))},
			want: map[string][]string{}, problem: "spec.listeners[0].hostname: Required value: the hostname cannot be empty"},
		{name: "a listener without certificateRefs is skipped", listeners: []gwapi.Listener{listener("https", "a.example.com")},
			want: map[string][]string{}, problem: "listener has no certificateRefs"},
		{name: "an HTTPS listener without TLS is skipped", listeners: []gwapi.Listener{noTLS},
			want: map[string][]string{}, problem: "spec.listeners[0].tls: Required value: the TLS block cannot be empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, ok := Gateway(gateway(tc.ann, tc.listeners...), Defaults{})
			if !ok || b.Stop {
				t.Fatalf("ok %v, stop %v", ok, b.Stop)
			}
			got := map[string][]string{}
			for _, c := range b.Certificates {
				got[c.Name] = c.Spec.DNSNames
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("certificates %v, want %v", got, tc.want)
			}
			switch {
			case tc.problem == "" && len(b.Problems) > 0:
				t.Errorf("problems %q, want none", b.Problems)
			case tc.problem != "" && (len(b.Problems) != 1 || !strings.Contains(b.Problems[0], tc.problem)):
				t.Errorf("problems %q, want %q", b.Problems, tc.problem)
			}
		})
	}
}

// A Gateway's Certificate is owned by the Gateway and names it as the
// parent of the ACME solver's HTTPRoute; the Gateway still names every
// Secret of its listeners, HTTP or skipped alike.
func TestGatewayCertificate(t *testing.T) {
	http := gwapi.Listener{Name: "http", Protocol: gwapi.HTTPProtocolType, Port: 80}
	b, _ := Gateway(gateway(nil, listener("https", "a.example.com", secretRef("a-tls")), http, listener("bad", "", secretRef("kept-tls"))), Defaults{})
	if len(b.Certificates) != 1 {
		t.Fatalf("%d certificates", len(b.Certificates))
	}
	crt := b.Certificates[0]
	ref := metav1.GetControllerOf(crt)
	if ref == nil || ref.APIVersion != "gateway.networking.k8s.io/v1" || ref.Kind != "Gateway" || ref.Name != "edge" || ref.UID != "gw-uid" {
		t.Errorf("controller %+v, want the Gateway", ref)
	}
	want := map[string]string{cmacme.ACMECertificateHTTP01ParentRefKind: "Gateway", cmacme.ACMECertificateHTTP01ParentRefName: "edge"}
	if !reflect.DeepEqual(crt.Annotations, want) {
		t.Errorf("annotations %v, want %v", crt.Annotations, want)
	}
	if crt.Spec.IssuerRef != (cmmeta.IssuerReference{Name: "ca", Kind: "ClusterIssuer", Group: "cert-manager.io"}) {
		t.Errorf("issuerRef %+v", crt.Spec.IssuerRef)
	}
	if !reflect.DeepEqual(b.SecretNames, map[string]bool{"a-tls": true, "kept-tls": true}) {
		t.Errorf("secret names %v", b.SecretNames)
	}
}

// kubernetes.io/tls-acme is for Ingresses only.
func TestGatewayIgnoresTLSACME(t *testing.T) {
	gw := gateway(nil, listener("https", "a.example.com", secretRef("a-tls")))
	gw.Annotations = map[string]string{"kubernetes.io/tls-acme": "true"}
	if _, ok := Gateway(gw, Defaults{IssuerName: "le"}); ok {
		t.Error("a Gateway with only tls-acme asks for certificates")
	}
}
