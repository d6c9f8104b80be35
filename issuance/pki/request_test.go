package pki

import (
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

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

	SetRequestCondition(cr, cmapi.CertificateRequestConditionApproved, cmmeta.ConditionTrue, "cert-manager.io", "approved", t0)
	c := RequestCondition(cr, cmapi.CertificateRequestConditionApproved)
	if c == nil || c.Status != cmmeta.ConditionTrue || !c.LastTransitionTime.Time.Equal(t0) {
		t.Fatalf("approved condition = %+v", c)
	}
	if !IsApproved(cr) || IsDenied(cr) {
		t.Errorf("IsApproved = false or IsDenied = true")
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

func TestReadRequest(t *testing.T) {
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
		wantState   RequestPhase
		wantReason  string
		wantMessage string
	}{
		{"no conditions", nil, PhasePending, "Pending", "Waiting for the CertificateRequest to be signed"},
		{"pending", []cmapi.CertificateRequestCondition{cond(ready, fals, "Pending", "waiting on ACME")}, PhasePending, "Pending", "waiting on ACME"},
		{"issued", []cmapi.CertificateRequestCondition{cond(ready, tru, "Issued", "ok")}, PhaseIssued, "Issued", "ok"},
		{"failed", []cmapi.CertificateRequestCondition{cond(ready, fals, "Failed", "boom")}, PhaseFailed, "Failed", "boom"},
		{"invalid request", []cmapi.CertificateRequestCondition{cond(invalid, tru, "BadCSR", "nope"), cond(ready, fals, "Pending", "")}, PhaseFailed, "BadCSR", "nope"},
		{"invalid request false is ignored", []cmapi.CertificateRequestCondition{cond(invalid, fals, "x", "y")}, PhasePending, "Pending", "Waiting for the CertificateRequest to be signed"},
		{"denied wins over everything", []cmapi.CertificateRequestCondition{cond(ready, tru, "Issued", ""), cond(denied, tru, "PolicyDenied", "not allowed")}, PhaseDenied, "PolicyDenied", "not allowed"},
		{"ready true with another reason is pending", []cmapi.CertificateRequestCondition{cond(ready, tru, "Something", "hm")}, PhasePending, "Something", "hm"},
		{"ready false with Denied reason but no Denied condition", []cmapi.CertificateRequestCondition{cond(ready, fals, "Denied", "d")}, PhasePending, "Denied", "d"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cr := &cmapi.CertificateRequest{Status: cmapi.CertificateRequestStatus{Conditions: tc.conds}}
			s := ReadRequest(cr)
			if s.Phase != tc.wantState || s.Reason != tc.wantReason || s.Message != tc.wantMessage {
				t.Errorf("ReadRequest = %s %q %q; want %s %q %q", s.Phase, s.Reason, s.Message, tc.wantState, tc.wantReason, tc.wantMessage)
			}
		})
	}
}

// A request whose status holds a certificate is finished even before its
// Ready condition says so: a run that stopped between the two writes must
// not sign the revision again.
func TestReadRequestCertificateMeansIssued(t *testing.T) {
	cr := &cmapi.CertificateRequest{Status: cmapi.CertificateRequestStatus{Certificate: []byte("pem")}}
	if s := ReadRequest(cr); s.Phase != PhaseIssued || !s.Final() {
		t.Errorf("ReadRequest = %+v, want Issued", s)
	}
	cr.Status.Conditions = []cmapi.CertificateRequestCondition{{Type: cmapi.CertificateRequestConditionDenied, Status: cmmeta.ConditionTrue, Reason: "No"}}
	if s := ReadRequest(cr); s.Phase != PhaseDenied {
		t.Errorf("denied with a certificate = %+v, want Denied", s)
	}
	if s := ReadRequest(nil); s.Phase != PhasePending || s.Final() {
		t.Errorf("nil request = %+v", s)
	}
}

func TestReadRequestFailedAt(t *testing.T) {
	t0 := testNow
	t1 := t0.Add(time.Hour)
	cr := &cmapi.CertificateRequest{}
	SetRequestCondition(cr, cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonFailed, "boom", t0)
	if s := ReadRequest(cr); s.FailedAt == nil || !s.FailedAt.Time.Equal(t0) {
		t.Errorf("without failureTime: %+v", s)
	}
	cr.Status.FailureTime = MetaTime(t1)
	if s := ReadRequest(cr); s.FailedAt == nil || !s.FailedAt.Time.Equal(t1) {
		t.Errorf("with failureTime: %+v", s)
	}
}
