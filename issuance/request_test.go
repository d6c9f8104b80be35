package issuance

import (
	"bytes"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
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

func TestRequestRevision(t *testing.T) {
	tests := []struct {
		name   string
		ann    map[string]string
		want   int
		wantOK bool
	}{
		{"present", map[string]string{cmapi.CertificateRequestRevisionAnnotationKey: "7"}, 7, true},
		{"missing", nil, 0, false},
		{"not a number", map[string]string{cmapi.CertificateRequestRevisionAnnotationKey: "seven"}, 0, false},
		{"empty", map[string]string{cmapi.CertificateRequestRevisionAnnotationKey: ""}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cr := &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Annotations: tc.ann}}
			got, ok := RequestRevision(cr)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("RequestRevision = %d, %v; want %d, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
	if _, ok := RequestRevision(nil); ok {
		t.Errorf("nil request has a revision")
	}
}

func TestSetRequestCondition(t *testing.T) {
	t0 := testNow
	t1 := t0.Add(time.Minute)
	t2 := t1.Add(time.Minute)
	cr := &cmapi.CertificateRequest{}

	Approve(cr, t0)
	c := RequestCondition(cr, cmapi.CertificateRequestConditionApproved)
	if c == nil || c.Status != cmmeta.ConditionTrue || c.Reason != "cert-manager.io" ||
		c.Message != "Certificate request has been approved by cert-manager.io" || !c.LastTransitionTime.Time.Equal(t0) {
		t.Fatalf("approved condition = %+v", c)
	}
	if !IsApproved(cr) {
		t.Errorf("IsApproved = false")
	}

	SetRequestCondition(cr, cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, "Pending", "waiting", t0)
	// Same status: message changes, transition time stays.
	SetRequestCondition(cr, cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, "Pending", "still waiting", t1)
	c = RequestCondition(cr, cmapi.CertificateRequestConditionReady)
	if c.Message != "still waiting" || !c.LastTransitionTime.Time.Equal(t0) {
		t.Errorf("same-status update = %+v", c)
	}
	// Status change: transition time moves.
	SetRequestCondition(cr, cmapi.CertificateRequestConditionReady, cmmeta.ConditionTrue, "Issued", "done", t2)
	c = RequestCondition(cr, cmapi.CertificateRequestConditionReady)
	if c.Status != cmmeta.ConditionTrue || !c.LastTransitionTime.Time.Equal(t2) {
		t.Errorf("status change = %+v", c)
	}
	if len(cr.Status.Conditions) != 2 {
		t.Errorf("conditions = %v", cr.Status.Conditions)
	}
}

func TestRequestState(t *testing.T) {
	cond := func(typ cmapi.CertificateRequestConditionType, status cmmeta.ConditionStatus, reason, msg string) cmapi.CertificateRequestCondition {
		return cmapi.CertificateRequestCondition{Type: typ, Status: status, Reason: reason, Message: msg}
	}
	const (
		ready   = cmapi.CertificateRequestConditionReady
		denied  = cmapi.CertificateRequestConditionDenied
		invalid = cmapi.CertificateRequestConditionInvalidRequest
		tru     = cmmeta.ConditionTrue
		fals    = cmmeta.ConditionFalse
	)
	tests := []struct {
		name        string
		conds       []cmapi.CertificateRequestCondition
		wantState   State
		wantReason  string
		wantMessage string
	}{
		{"no conditions", nil, StatePending, "Pending", "Waiting for the CertificateRequest to be signed"},
		{"pending", []cmapi.CertificateRequestCondition{cond(ready, fals, "Pending", "waiting on ACME")}, StatePending, "Pending", "waiting on ACME"},
		{"issued", []cmapi.CertificateRequestCondition{cond(ready, tru, "Issued", "ok")}, StateIssued, "Issued", "ok"},
		{"failed", []cmapi.CertificateRequestCondition{cond(ready, fals, "Failed", "boom")}, StateFailed, "Failed", "boom"},
		{"invalid request", []cmapi.CertificateRequestCondition{cond(invalid, tru, "BadCSR", "nope"), cond(ready, fals, "Pending", "")}, StateFailed, "BadCSR", "nope"},
		{"invalid request false is ignored", []cmapi.CertificateRequestCondition{cond(invalid, fals, "x", "y")}, StatePending, "Pending", "Waiting for the CertificateRequest to be signed"},
		{"denied wins over everything", []cmapi.CertificateRequestCondition{cond(ready, tru, "Issued", ""), cond(denied, tru, "PolicyDenied", "not allowed")}, StateDenied, "PolicyDenied", "not allowed"},
		{"ready true with another reason is pending", []cmapi.CertificateRequestCondition{cond(ready, tru, "Something", "hm")}, StatePending, "Something", "hm"},
		{"ready false with Denied reason but no Denied condition", []cmapi.CertificateRequestCondition{cond(ready, fals, "Denied", "d")}, StatePending, "Denied", "d"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cr := &cmapi.CertificateRequest{Status: cmapi.CertificateRequestStatus{Conditions: tc.conds}}
			state, reason, message := RequestState(cr)
			if state != tc.wantState || reason != tc.wantReason || message != tc.wantMessage {
				t.Errorf("RequestState = %s %q %q; want %s %q %q", state, reason, message, tc.wantState, tc.wantReason, tc.wantMessage)
			}
		})
	}
}
