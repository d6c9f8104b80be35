package issuance

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func acmeRequest(t *testing.T, name string) *cmapi.CertificateRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"web.example.test"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: "cr-uid", Labels: map[string]string{"team": "edge"}},
		Spec: cmapi.CertificateRequestSpec{
			Request:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			IssuerRef: cmmeta.IssuerReference{Name: "acme", Kind: "Issuer"},
		},
	}
}

// TestBuildOrderAndChallenge: the Order and Challenge are named from their
// spec (without the CSR or the key), so every run finds the same object;
// names stay valid however long the request's name; each is controlled by
// its parent; a Challenge carries its Order's name as a label, for the
// scoped LIST of a final order's leftovers.
func TestBuildOrderAndChallenge(t *testing.T) {
	cr := acmeRequest(t, "web-1")
	order, err := BuildOrder(cr, RequestOwner(cr), "shortlived", "aki.serial", false)
	if err != nil {
		t.Fatal(err)
	}
	again, err := BuildOrder(acmeRequest(t, "web-1"), RequestOwner(cr), "shortlived", "aki.serial", false)
	if err != nil {
		t.Fatal(err)
	}
	if order.Name != again.Name || !strings.HasPrefix(order.Name, "web-1-") {
		t.Fatalf("order names %q and %q: want one name, from the request's, whatever the CSR", order.Name, again.Name)
	}
	other, _ := BuildOrder(cr, RequestOwner(cr), "classic", "aki.serial", false)
	if other.Name == order.Name {
		t.Fatal("a different profile must give a different Order")
	}
	if ref := metav1.GetControllerOf(order); ref == nil || ref.UID != "cr-uid" || order.Spec.Profile != "shortlived" || order.Spec.Replaces != "aki.serial" || order.Labels["team"] != "edge" {
		t.Fatalf("order %+v", order)
	}
	longCR := acmeRequest(t, strings.Repeat("a", 60)+"-1")
	long, err := BuildOrder(longCR, RequestOwner(longCR), "", "", false)
	if err != nil || len(long.Name) > 63 {
		t.Fatalf("long request name gives %q (%d chars), %v", long.Name, len(long.Name), err)
	}

	order.UID = "order-uid"
	wildcard := false
	authz := cmacme.ACMEAuthorization{URL: "https://ca/authz/1", Identifier: "web.example.test", Wildcard: &wildcard}
	solver := cmacme.ACMEChallengeSolver{HTTP01: &cmacme.ACMEChallengeSolverHTTP01{Ingress: &cmacme.ACMEChallengeSolverHTTP01Ingress{}}}
	ch, err := BuildChallenge(order, authz, cmacme.ACMEChallenge{URL: "https://ca/chall/1", Token: "tok", Type: "http-01"}, solver, "tok.thumb")
	if err != nil {
		t.Fatal(err)
	}
	ch2, _ := BuildChallenge(order, authz, cmacme.ACMEChallenge{URL: "https://ca/chall/1", Token: "tok", Type: "http-01"}, solver, "another.key")
	if ch.Name != ch2.Name || !strings.HasPrefix(ch.Name, order.Name+"-") && len(order.Name) < 52 {
		t.Fatalf("challenge names %q and %q: want one, from the Order's, whatever the key", ch.Name, ch2.Name)
	}
	if ref := metav1.GetControllerOf(ch); ref == nil || ref.UID != "order-uid" || ref.Kind != "Order" {
		t.Fatalf("challenge owner %+v", ref)
	}
	if ch.Labels[ChallengeOrderLabel] != order.Name || ch.Spec.Type != cmacme.ACMEChallengeTypeHTTP01 || ch.Spec.Key != "tok.thumb" {
		t.Fatalf("challenge %+v", ch)
	}
}

// TestBuildOrderForCSR: an Order made for a Kubernetes
// CertificateSigningRequest is controlled by the CSR (certificates.k8s.io/v1,
// cluster-scoped), named from the CSR's name as cert-manager names it (a
// long name hashed under certificateSigningRequestName, so it differs from
// a CertificateRequest's of the same name), and carries the CSR's
// annotations but those of the tools that manage it.
func TestBuildOrderForCSR(t *testing.T) {
	csr := &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "client-1", UID: "csr-uid"}}
	owner := CSROwner(csr)
	if owner.APIVersion != "certificates.k8s.io/v1" || owner.Kind != "CertificateSigningRequest" || owner.Name != "client-1" || owner.UID != "csr-uid" ||
		owner.Controller == nil || !*owner.Controller || !IsCSROwner(&owner) {
		t.Fatalf("owner %+v", owner)
	}
	if crOwner := RequestOwner(acmeRequest(t, "web-1")); IsCSROwner(&crOwner) || IsCSROwner(nil) {
		t.Fatal("a CertificateRequest owner taken for a CSR")
	}
	cr := acmeRequest(t, "client-1")
	cr.UID = csr.UID
	order, err := BuildOrder(cr, owner, "", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if ref := metav1.GetControllerOf(order); ref == nil || ref.UID != owner.UID || ref.Kind != owner.Kind || !strings.HasPrefix(order.Name, "client-1-") {
		t.Fatalf("order %s controlled by %+v", order.Name, ref)
	}
	longName := strings.Repeat("c", 60)
	longCR := acmeRequest(t, longName)
	asCSR, _ := BuildOrder(longCR, owner, "", "", false)
	asCR, _ := BuildOrder(longCR, RequestOwner(longCR), "", "", false)
	if asCSR.Name == asCR.Name || len(asCSR.Name) > 63 {
		t.Fatalf("long names %q (CSR) and %q (request): want two valid, different names", asCSR.Name, asCR.Name)
	}

	got := CSROrderAnnotations(map[string]string{
		"experimental.cert-manager.io/request-duration":    "1h",
		"acme.cert-manager.io/http01-ingress-class":        "edge",
		"kubectl.kubernetes.io/last-applied-configuration": "{}",
		"fluxcd.io/sync-checksum":                          "x",
		"argocd.argoproj.io/tracking-id":                   "y",
	})
	if len(got) != 2 || got["acme.cert-manager.io/http01-ingress-class"] != "edge" || got["experimental.cert-manager.io/request-duration"] != "1h" {
		t.Fatalf("annotations %v", got)
	}
	if CSROrderAnnotations(map[string]string{"kubectl.kubernetes.io/x": ""}) != nil {
		t.Fatal("no annotation left must be nil")
	}
}
