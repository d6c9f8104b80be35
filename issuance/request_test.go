package issuance

import (
	"bytes"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/certsweep/certsweep/issuance/pki"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestBuildCertificateRequest(t *testing.T) {
	crt := testCertificate()
	crt.Labels = map[string]string{"app": "web"}
	crt.Annotations = map[string]string{
		"example.com/team": "ops",
		"kubectl.kubernetes.io/last-applied-configuration": "{}",
		"fluxcd.io/sync-checksum":                          "x",
		"argocd.argoproj.io/tracking-id":                   "y",
		"certsweep.io/failed-attempts":                     "3",
		cmapi.CertificateRequestRevisionAnnotationKey:      "99", // overwritten
	}
	crt.Spec.Duration = &metav1.Duration{Duration: 48 * time.Hour}
	crt.Spec.IsCA = true
	crt.Spec.Usages = []cmapi.KeyUsage{cmapi.UsageServerAuth}
	crt.Spec.IssuerRef = cmmeta.IssuerReference{Name: "ext", Kind: "AWSPCAIssuer", Group: "awspca.cert-manager.io"}
	csr := []byte("-----BEGIN CERTIFICATE REQUEST-----\n")

	cr := BuildCertificateRequest(crt, 3, "web-next-key", csr)

	if cr.Name != "web-3" || cr.Namespace != "apps" {
		t.Errorf("name = %s/%s", cr.Namespace, cr.Name)
	}
	if cr.APIVersion != "cert-manager.io/v1" || cr.Kind != "CertificateRequest" {
		t.Errorf("type = %s %s", cr.APIVersion, cr.Kind)
	}
	if cr.Labels["app"] != "web" || len(cr.Labels) != 1 {
		t.Errorf("labels = %v", cr.Labels)
	}
	wantAnn := map[string]string{
		"example.com/team": "ops",
		cmapi.CertificateRequestRevisionAnnotationKey:   "3",
		cmapi.CertificateRequestPrivateKeyAnnotationKey: "web-next-key",
		cmapi.CertificateNameKey:                        "web",
	}
	if len(cr.Annotations) != len(wantAnn) {
		t.Errorf("annotations = %v, want %v", cr.Annotations, wantAnn)
	}
	for k, v := range wantAnn {
		if cr.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, cr.Annotations[k], v)
		}
	}
	if len(cr.OwnerReferences) != 1 {
		t.Fatalf("owner references = %v", cr.OwnerReferences)
	}
	ref := cr.OwnerReferences[0]
	if ref.APIVersion != "cert-manager.io/v1" || ref.Kind != "Certificate" || ref.Name != "web" || ref.UID != crt.UID ||
		ref.Controller == nil || !*ref.Controller || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Errorf("owner reference = %+v", ref)
	}
	if !bytes.Equal(cr.Spec.Request, csr) || cr.Spec.Duration.Duration != 48*time.Hour || !cr.Spec.IsCA ||
		cr.Spec.IssuerRef != crt.Spec.IssuerRef || len(cr.Spec.Usages) != 1 || cr.Spec.Usages[0] != cmapi.UsageServerAuth {
		t.Errorf("spec = %+v", cr.Spec)
	}

	// The request must not share memory with the Certificate.
	crt.Labels["app"] = "changed"
	crt.Spec.Duration.Duration = time.Hour
	crt.Spec.Usages[0] = cmapi.UsageClientAuth
	if cr.Labels["app"] != "web" || cr.Spec.Duration.Duration != 48*time.Hour || cr.Spec.Usages[0] != cmapi.UsageServerAuth {
		t.Errorf("request shares memory with the Certificate")
	}
}

func TestBuildCertificateRequestDefaults(t *testing.T) {
	crt := testCertificate()
	cr := BuildCertificateRequest(crt, 1, "k", nil)
	if cr.Spec.Duration != nil || cr.Spec.Usages != nil || cr.Labels != nil {
		t.Errorf("unset fields were defaulted: %+v %v", cr.Spec, cr.Labels)
	}
}

func TestApprove(t *testing.T) {
	cr := &cmapi.CertificateRequest{}
	Approve(cr, testNow)
	c := pki.RequestCondition(cr, cmapi.CertificateRequestConditionApproved)
	if c == nil || c.Status != cmmeta.ConditionTrue || c.Reason != "cert-manager.io" ||
		c.Message != "Certificate request has been approved by cert-manager.io" || !c.LastTransitionTime.Time.Equal(testNow) {
		t.Fatalf("approved condition = %+v", c)
	}
	if !pki.IsApproved(cr) {
		t.Errorf("IsApproved = false")
	}
}

func TestMarkIssuedAndFailed(t *testing.T) {
	cr := &cmapi.CertificateRequest{}
	MarkIssued(cr, Result{State: StateIssued, Certificate: []byte("chain"), CA: []byte("ca")}, testNow)
	if s := pki.ReadRequest(cr); s.Phase != pki.PhaseIssued || string(cr.Status.Certificate) != "chain" || string(cr.Status.CA) != "ca" {
		t.Errorf("after MarkIssued: %+v %+v", s, cr.Status)
	}
	cr = &cmapi.CertificateRequest{}
	MarkFailed(cr, "boom", testNow)
	if s := pki.ReadRequest(cr); s.Phase != pki.PhaseFailed || s.Message != "boom" || s.FailedAt == nil || !s.FailedAt.Time.Equal(testNow) {
		t.Errorf("after MarkFailed: %+v", s)
	}
}
