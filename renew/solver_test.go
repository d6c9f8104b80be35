package renew

import (
	"testing"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

// TestApplyIngressOverrides: the ingress-shim's override annotations,
// carried by the Order, replace the solver's ingress choices as in
// cert-manager: one of name, class or ingressClassName, clearing the
// others; more than one is refused; a DNS-01 solver is untouched; the
// Issuer's solver is never modified.
func TestApplyIngressOverrides(t *testing.T) {
	nginx := "nginx"
	base := func() cmacme.ACMEChallengeSolver {
		return cmacme.ACMEChallengeSolver{HTTP01: &cmacme.ACMEChallengeSolverHTTP01{Ingress: &cmacme.ACMEChallengeSolverHTTP01Ingress{IngressClassName: &nginx}}}
	}
	tests := []struct {
		name        string
		solver      cmacme.ACMEChallengeSolver
		annotations map[string]string
		want        func(*cmacme.ACMEChallengeSolverHTTP01Ingress) bool
		wantErr     bool
	}{
		{name: "no annotation: as configured", solver: base(), want: func(i *cmacme.ACMEChallengeSolverHTTP01Ingress) bool {
			return i.IngressClassName != nil && *i.IngressClassName == "nginx" && i.Name == "" && i.Class == nil
		}},
		{name: "edit in place", solver: base(), annotations: map[string]string{cmacme.ACMECertificateHTTP01IngressNameOverride: "web"}, want: func(i *cmacme.ACMEChallengeSolverHTTP01Ingress) bool {
			return i.Name == "web" && i.IngressClassName == nil && i.Class == nil
		}},
		{name: "class", solver: base(), annotations: map[string]string{cmacme.ACMECertificateHTTP01IngressClassOverride: "traefik"}, want: func(i *cmacme.ACMEChallengeSolverHTTP01Ingress) bool {
			return i.Class != nil && *i.Class == "traefik" && i.IngressClassName == nil && i.Name == ""
		}},
		{name: "ingressClassName", solver: base(), annotations: map[string]string{cmacme.ACMECertificateHTTP01IngressClassNameOverride: "haproxy"}, want: func(i *cmacme.ACMEChallengeSolverHTTP01Ingress) bool {
			return i.IngressClassName != nil && *i.IngressClassName == "haproxy" && i.Class == nil && i.Name == ""
		}},
		{name: "two overrides: refused", solver: base(), annotations: map[string]string{cmacme.ACMECertificateHTTP01IngressNameOverride: "web", cmacme.ACMECertificateHTTP01IngressClassOverride: "traefik"}, wantErr: true},
		{name: "DNS-01 solver: untouched", solver: cmacme.ACMEChallengeSolver{DNS01: &cmacme.ACMEChallengeSolverDNS01{}}, annotations: map[string]string{cmacme.ACMECertificateHTTP01IngressNameOverride: "web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.solver.DeepCopy()
			got, err := ApplyIngressOverrides(tt.solver, tt.annotations)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.want != nil && !tt.want(got.HTTP01.Ingress) {
				t.Fatalf("ingress solver %+v", got.HTTP01.Ingress)
			}
			if !equality.Semantic.DeepEqual(&tt.solver, before) {
				t.Fatal("the Issuer's solver was modified")
			}
		})
	}
}
