package renew

import (
	"reflect"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmexp "github.com/cert-manager/cert-manager/pkg/apis/experimental/v1alpha1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestParseSignerName(t *testing.T) {
	cases := []struct {
		signerName string
		want       SignerRef
		ok         bool
	}{
		// The two forms cert-manager answers to.
		{"issuers.cert-manager.io/web.ca", SignerRef{Kind: "Issuer", Namespace: "web", Name: "ca"}, true},
		{"clusterissuers.cert-manager.io/root", SignerRef{Kind: "ClusterIssuer", Name: "root"}, true},
		// Names may hold dots; a namespace cannot, so it ends at the first.
		{"issuers.cert-manager.io/web.ca.internal", SignerRef{Kind: "Issuer", Namespace: "web", Name: "ca.internal"}, true},
		{"clusterissuers.cert-manager.io/root.example", SignerRef{Kind: "ClusterIssuer", Name: "root.example"}, true},
		// Not ours: Kubernetes' own signers, other groups, other types.
		{"kubernetes.io/kube-apiserver-client", SignerRef{}, false},
		{"example.com/signer", SignerRef{}, false},
		{"issuers.example.com/web.ca", SignerRef{}, false},
		{"issuers.cert-manager.io.evil/web.ca", SignerRef{}, false},
		{"certificates.cert-manager.io/web.ca", SignerRef{}, false},
		{"issuers/web.ca", SignerRef{}, false},
		// Malformed: no name, no namespace, a second slash.
		{"issuers.cert-manager.io/", SignerRef{}, false},
		{"issuers.cert-manager.io/ca", SignerRef{}, false},
		{"issuers.cert-manager.io/.ca", SignerRef{}, false},
		{"issuers.cert-manager.io/web.", SignerRef{}, false},
		{"clusterissuers.cert-manager.io/", SignerRef{}, false},
		{"clusterissuers.cert-manager.io/.root", SignerRef{}, false},
		{"clusterissuers.cert-manager.io/a/b", SignerRef{}, false},
		{"", SignerRef{}, false},
	}
	for _, tc := range cases {
		got, ok := ParseSignerName(tc.signerName)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseSignerName(%q) = %+v, %v; want %+v, %v", tc.signerName, got, ok, tc.want, tc.ok)
		}
		if ok && SignerName(got) != tc.signerName {
			t.Errorf("SignerName(%+v) = %q, want %q", got, SignerName(got), tc.signerName)
		}
	}
}

func csrInt32(v int32) *int32 { return &v }

func TestCSRDuration(t *testing.T) {
	cases := []struct {
		name        string
		annotations map[string]string
		expiration  *int32
		want        time.Duration
		reason      string
	}{
		{name: "neither: cert-manager's default of 90 days", want: cmapi.DefaultCertificateDuration},
		{name: "expirationSeconds", expiration: csrInt32(3600), want: time.Hour},
		{name: "the annotation wins over expirationSeconds",
			annotations: map[string]string{cmexp.CertificateSigningRequestDurationAnnotationKey: "2h"}, expiration: csrInt32(3600), want: 2 * time.Hour},
		{name: "exactly the minimum", expiration: csrInt32(600), want: 10 * time.Minute},
		{name: "expirationSeconds under the minimum", expiration: csrInt32(599), reason: ReasonCSRInvalidDuration},
		{name: "annotation under the minimum, whatever expirationSeconds says",
			annotations: map[string]string{cmexp.CertificateSigningRequestDurationAnnotationKey: "5m"}, expiration: csrInt32(86400), reason: ReasonCSRInvalidDuration},
		{name: "negative annotation", annotations: map[string]string{cmexp.CertificateSigningRequestDurationAnnotationKey: "-1h"}, reason: ReasonCSRInvalidDuration},
		{name: "annotation that is not a duration", annotations: map[string]string{cmexp.CertificateSigningRequestDurationAnnotationKey: "1 day"}, reason: ReasonCSRErrorParseDuration},
		{name: "empty annotation is present, and does not parse", annotations: map[string]string{cmexp.CertificateSigningRequestDurationAnnotationKey: ""}, reason: ReasonCSRErrorParseDuration},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, fail := CSRDuration(tc.annotations, tc.expiration)
			switch {
			case tc.reason == "" && fail != nil:
				t.Fatalf("failed %+v, want %s", fail, tc.want)
			case tc.reason != "" && (fail == nil || fail.Reason != tc.reason):
				t.Fatalf("got %s, %+v; want failure %s", got, fail, tc.reason)
			case tc.reason == "" && got != tc.want:
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
	_, fail := CSRDuration(nil, csrInt32(599))
	if want := "CertificateSigningRequest minimum allowed duration is 10m0s, requested 9m59s"; fail.Message != want {
		t.Errorf("message %q, want %q", fail.Message, want)
	}
}

// csrFor is an approved request to the Issuer web/ca unless mutated.
func csrFor(mutate ...func(*certificatesv1.CertificateSigningRequest)) *certificatesv1.CertificateSigningRequest {
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "client"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			SignerName: "issuers.cert-manager.io/web.ca",
			Request:    []byte("-----BEGIN CERTIFICATE REQUEST-----"),
		},
		Status: certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{
			{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue},
		}},
	}
	for _, m := range mutate {
		m(csr)
	}
	return csr
}

func csrWithCondition(t certificatesv1.RequestConditionType) func(*certificatesv1.CertificateSigningRequest) {
	return func(c *certificatesv1.CertificateSigningRequest) {
		c.Status.Conditions = append(c.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{Type: t, Status: corev1.ConditionTrue})
	}
}

func csrUnapproved(c *certificatesv1.CertificateSigningRequest) { c.Status.Conditions = nil }

func csrAnnotated(k, v string) func(*certificatesv1.CertificateSigningRequest) {
	return func(c *certificatesv1.CertificateSigningRequest) {
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations[k] = v
	}
}

func csrSigner(name string) func(*certificatesv1.CertificateSigningRequest) {
	return func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = name }
}

// One row per outcome, as the FAQ would list them: what is not ours, what
// is finished, what waits for approval, and what is signed with what.
func TestDecideCSR(t *testing.T) {
	issuerWebCA := SignerRef{Kind: "Issuer", Namespace: "web", Name: "ca"}
	everywhere := CSRScope{}
	cases := []struct {
		name  string
		csr   *certificatesv1.CertificateSigningRequest
		scope CSRScope
		want  CSRDecision
	}{
		{name: "another signer is left alone",
			csr: csrFor(csrSigner("kubernetes.io/kube-apiserver-client")), want: CSRDecision{Action: CSRIgnore}},
		{name: "a malformed signer of our group is left alone",
			csr: csrFor(csrSigner("issuers.cert-manager.io/ca")), want: CSRDecision{Action: CSRIgnore}},
		{name: "another namespace's Issuer is outside a namespaced sweep",
			csr: csrFor(), scope: CSRScope{Namespace: "shop", ClusterResourceNamespace: "cert-manager"}, want: CSRDecision{Action: CSRIgnore}},
		{name: "a ClusterIssuer is outside a sweep of another namespace than the cluster resource one",
			csr: csrFor(csrSigner("clusterissuers.cert-manager.io/root")), scope: CSRScope{Namespace: "web", ClusterResourceNamespace: "cert-manager"}, want: CSRDecision{Action: CSRIgnore}},
		{name: "a ClusterIssuer is inside a sweep of the cluster resource namespace",
			csr: csrFor(csrSigner("clusterissuers.cert-manager.io/root")), scope: CSRScope{Namespace: "cert-manager", ClusterResourceNamespace: "cert-manager"},
			want: CSRDecision{Action: CSRSign, Signer: SignerRef{Kind: "ClusterIssuer", Name: "root"}, Duration: cmapi.DefaultCertificateDuration}},
		{name: "its own namespace's Issuer is inside a namespaced sweep",
			csr: csrFor(), scope: CSRScope{Namespace: "web", ClusterResourceNamespace: "cert-manager"},
			want: CSRDecision{Action: CSRSign, Signer: issuerWebCA, CheckReference: true, Duration: cmapi.DefaultCertificateDuration}},
		{name: "not approved yet: wait, quietly",
			csr: csrFor(csrUnapproved), want: CSRDecision{Action: CSRAwaitApproval, Signer: issuerWebCA}},
		{name: "denied: done",
			csr: csrFor(csrUnapproved, csrWithCondition(certificatesv1.CertificateDenied)), want: CSRDecision{Action: CSRDone, Signer: issuerWebCA}},
		{name: "failed: done, never signed again",
			csr: csrFor(csrWithCondition(certificatesv1.CertificateFailed)), want: CSRDecision{Action: CSRDone, Signer: issuerWebCA}},
		{name: "signed: done, never signed again",
			csr: csrFor(func(c *certificatesv1.CertificateSigningRequest) { c.Status.Certificate = []byte("x") }), want: CSRDecision{Action: CSRDone, Signer: issuerWebCA}},
		{name: "our own Waiting condition does not stop a new attempt",
			csr: csrFor(csrWithCondition("certsweep.io/Waiting")), want: CSRDecision{Action: CSRSign, Signer: issuerWebCA, CheckReference: true, Duration: cmapi.DefaultCertificateDuration}},
		{name: "approved, to an Issuer: sign after the reference check",
			csr:  csrFor(),
			want: CSRDecision{Action: CSRSign, Signer: issuerWebCA, CheckReference: true, Duration: cmapi.DefaultCertificateDuration}},
		{name: "approved, to a ClusterIssuer: no reference check, as in cert-manager",
			csr:  csrFor(csrSigner("clusterissuers.cert-manager.io/root")),
			want: CSRDecision{Action: CSRSign, Signer: SignerRef{Kind: "ClusterIssuer", Name: "root"}, Duration: cmapi.DefaultCertificateDuration}},
		{name: "expirationSeconds, usages, is-ca and the private key annotation",
			csr: csrFor(csrAnnotated(cmexp.CertificateSigningRequestIsCAAnnotationKey, "true"),
				csrAnnotated(cmexp.CertificateSigningRequestPrivateKeyAnnotationKey, "my-key"),
				func(c *certificatesv1.CertificateSigningRequest) {
					c.Spec.ExpirationSeconds = csrInt32(7200)
					c.Spec.Usages = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageCertSign, certificatesv1.UsageClientAuth}
				}),
			want: CSRDecision{Action: CSRSign, Signer: issuerWebCA, CheckReference: true, Duration: 2 * time.Hour, IsCA: true,
				Usages: []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageCertSign, cmapi.UsageClientAuth}, PrivateKeySecretName: "my-key"}},
		{name: "is-ca other than \"true\" is not a CA",
			csr:  csrFor(csrAnnotated(cmexp.CertificateSigningRequestIsCAAnnotationKey, "True")),
			want: CSRDecision{Action: CSRSign, Signer: issuerWebCA, CheckReference: true, Duration: cmapi.DefaultCertificateDuration}},
		{name: "a duration under the minimum fails, after the reference check",
			csr: csrFor(func(c *certificatesv1.CertificateSigningRequest) { c.Spec.ExpirationSeconds = csrInt32(60) }),
			want: CSRDecision{Action: CSRSign, Signer: issuerWebCA, CheckReference: true,
				Failure: &CSRFailure{Reason: ReasonCSRInvalidDuration, Message: "CertificateSigningRequest minimum allowed duration is 10m0s, requested 1m0s"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			scope := tc.scope
			if scope == (CSRScope{}) {
				scope = everywhere
			}
			got := DecideCSR(tc.csr, scope)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestCSRMessages(t *testing.T) {
	if got, want := CSRDeniedReference(SignerRef{Kind: "Issuer", Namespace: "web", Name: "ca"}).Message, "Requester may not reference Namespaced Issuer web/ca"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if f := CSRSelfSignedKey(CSRDecision{}); f == nil || f.Reason != ReasonCSRMissingAnnotation || !strings.Contains(f.Message, cmexp.CertificateSigningRequestPrivateKeyAnnotationKey) {
		t.Errorf("missing key annotation: %+v", f)
	}
	if f := CSRSelfSignedKey(CSRDecision{PrivateKeySecretName: "k"}); f != nil {
		t.Errorf("key named, yet %+v", f)
	}
}

// FuzzParseSignerName: a signerName is anyone's input. Whatever it is,
// parsing must not panic, and what it accepts must name an Issuer with a
// namespace or a ClusterIssuer without one, and print back to itself.
func FuzzParseSignerName(f *testing.F) {
	for _, s := range []string{"issuers.cert-manager.io/web.ca", "clusterissuers.cert-manager.io/root", "issuers.cert-manager.io/a.b.c",
		"kubernetes.io/legacy-unknown", "issuers.cert-manager.io/", "/", ".", "issuers.cert-manager.io/.", "clusterissuers.cert-manager.io/a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		ref, ok := ParseSignerName(name)
		if !ok {
			return
		}
		switch ref.Kind {
		case cmapi.IssuerKind:
			if ref.Namespace == "" || ref.Name == "" || strings.Contains(ref.Namespace, ".") {
				t.Fatalf("%q: Issuer %+v", name, ref)
			}
		case cmapi.ClusterIssuerKind:
			if ref.Namespace != "" || ref.Name == "" {
				t.Fatalf("%q: ClusterIssuer %+v", name, ref)
			}
		default:
			t.Fatalf("%q: kind %q", name, ref.Kind)
		}
		if strings.Contains(ref.Name, "/") || SignerName(ref) != name {
			t.Fatalf("%q: parsed to %+v, prints as %q", name, ref, SignerName(ref))
		}
	})
}

// FuzzDecideCSR: the annotations and expirationSeconds of a request are
// anyone's input. Whatever they are, deciding must not panic, a request it
// signs asks for at least cert-manager's minimum, and a failure says why.
func FuzzDecideCSR(f *testing.F) {
	f.Add("2h", int32(0), "true", "key", true)
	f.Add("", int32(3600), "", "", false)
	f.Add("1 day", int32(-5), "yes", "", true)
	f.Add("-9223372036854775807ns", int32(2147483647), "true", "k", true)
	f.Fuzz(func(t *testing.T, duration string, expiration int32, isCA, key string, annotate bool) {
		csr := csrFor(func(c *certificatesv1.CertificateSigningRequest) { c.Spec.ExpirationSeconds = &expiration })
		if annotate {
			csr.Annotations = map[string]string{
				cmexp.CertificateSigningRequestDurationAnnotationKey:   duration,
				cmexp.CertificateSigningRequestIsCAAnnotationKey:       isCA,
				cmexp.CertificateSigningRequestPrivateKeyAnnotationKey: key,
			}
		}
		d := DecideCSR(csr, CSRScope{})
		if d.Action != CSRSign {
			t.Fatalf("an approved request to an Issuer: %s", d.Action)
		}
		if d.Failure == nil && d.Duration < cmexp.CertificateSigningRequestMinimumDuration {
			t.Fatalf("signs for %s", d.Duration)
		}
		if d.Failure != nil && (d.Failure.Reason == "" || d.Failure.Message == "") {
			t.Fatalf("a failure without reason or message: %+v", d.Failure)
		}
	})
}
