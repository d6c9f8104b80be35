package renew

import (
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance/pki"
)

// unownedRequest is a request as `cmctl create certificaterequest` makes
// it: no owner, an Issuer in the request's namespace, no status.
func unownedRequest(edits ...func(*cmapi.CertificateRequest)) *cmapi.CertificateRequest {
	cr := &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "cmctl-req", Namespace: "apps"},
		Spec:       cmapi.CertificateRequestSpec{IssuerRef: cmmeta.IssuerReference{Name: "ca", Kind: cmapi.IssuerKind}},
	}
	for _, e := range edits {
		e(cr)
	}
	return cr
}

func withCondition(t cmapi.CertificateRequestConditionType, status cmmeta.ConditionStatus, reason string) func(*cmapi.CertificateRequest) {
	return func(cr *cmapi.CertificateRequest) {
		pki.SetRequestCondition(cr, t, status, reason, "set by the test", now.Add(-time.Hour))
	}
}

var (
	approved = withCondition(cmapi.CertificateRequestConditionApproved, cmmeta.ConditionTrue, "policy.cert-manager.io")
	denied   = withCondition(cmapi.CertificateRequestConditionDenied, cmmeta.ConditionTrue, "policy.cert-manager.io")
)

func groupOf(group string) func(*cmapi.CertificateRequest) {
	return func(cr *cmapi.CertificateRequest) { cr.Spec.IssuerRef.Group = group }
}

func failedAt(t time.Time) func(*cmapi.CertificateRequest) {
	return func(cr *cmapi.CertificateRequest) { cr.Status.FailureTime = pki.MetaTime(t) }
}

// TestDecideUnowned: one row per state an unowned request can be in, with
// and without the sweep's approver.
func TestDecideUnowned(t *testing.T) {
	tests := []struct {
		name     string
		cr       *cmapi.CertificateRequest
		approve  bool
		want     UnownedStep
		approves bool
	}{
		{"new request, sweep approves: approve and sign", unownedRequest(), true, UnownedSign, true},
		{"new request, explicit cert-manager.io group: approve and sign", unownedRequest(groupOf("cert-manager.io")), true, UnownedSign, true},
		{"new request, approver off: wait for another approver", unownedRequest(), false, UnownedAwaitApproval, false},
		{"approved by another approver, approver off: sign", unownedRequest(approved), false, UnownedSign, false},
		{"approved by another approver: sign, approval kept", unownedRequest(approved), true, UnownedSign, false},
		{"other group: left to its issuer", unownedRequest(groupOf("awspca.cert-manager.io")), true, UnownedLeave, false},
		{"other group, approved: still left", unownedRequest(groupOf("step.io"), approved), true, UnownedLeave, false},
		{"denied, not yet recorded: mark denied", unownedRequest(denied), true, UnownedMarkDenied, false},
		{"denied, Ready Denied but no failure time: mark denied", unownedRequest(denied,
			withCondition(cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonDenied)), true, UnownedMarkDenied, false},
		{"denied and recorded: done", unownedRequest(denied, failedAt(now),
			withCondition(cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonDenied)), true, UnownedDone, false},
		{"invalid request: done", unownedRequest(withCondition(cmapi.CertificateRequestConditionInvalidRequest, cmmeta.ConditionTrue, "BadCSR")), true, UnownedDone, false},
		{"failed: done, never retried", unownedRequest(approved, failedAt(now),
			withCondition(cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonFailed)), true, UnownedDone, false},
		{"issued: done, never signed twice", unownedRequest(approved,
			withCondition(cmapi.CertificateRequestConditionReady, cmmeta.ConditionTrue, cmapi.CertificateRequestReasonIssued)), true, UnownedDone, false},
		{"certificate stored but Ready not yet: done", unownedRequest(approved, func(cr *cmapi.CertificateRequest) {
			cr.Status.Certificate = []byte("-----BEGIN CERTIFICATE-----")
		}), true, UnownedDone, false},
		{"not approved but issued (approved elsewhere, then removed): done", unownedRequest(
			withCondition(cmapi.CertificateRequestConditionReady, cmmeta.ConditionTrue, cmapi.CertificateRequestReasonIssued)), true, UnownedDone, false},
		{"pending for a missing issuer: sign again", unownedRequest(approved,
			withCondition(cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonPending)), true, UnownedSign, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DecideUnowned(tt.cr, tt.approve)
			if got.Step != tt.want || got.Approve != tt.approves {
				t.Fatalf("DecideUnowned = %+v, want step %s approve %v", got, tt.want, tt.approves)
			}
		})
	}
}

// TestAnswerUnowned: the Ready condition, failure time and event for each
// answer, in cert-manager's words.
func TestAnswerUnowned(t *testing.T) {
	earlier := now.Add(-2 * time.Hour)
	pending := withCondition(cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonPending)
	tests := []struct {
		name        string
		cr          *cmapi.CertificateRequest
		answer      UnownedAnswer
		wantStatus  cmmeta.ConditionStatus
		wantReason  string
		wantMessage string
		wantFailed  *time.Time
		wantEvent   *RequestEvent
	}{
		{
			name: "issued", cr: unownedRequest(approved),
			answer:     UnownedAnswer{Phase: pki.PhaseIssued},
			wantStatus: cmmeta.ConditionTrue, wantReason: "Issued", wantMessage: "Certificate fetched from issuer successfully",
			wantEvent: &RequestEvent{Type: corev1.EventTypeNormal, Reason: "CertificateIssued", Message: "Certificate fetched from issuer successfully"},
		},
		{
			name: "issued after pending keeps no failure time", cr: unownedRequest(approved, pending),
			answer:     UnownedAnswer{Phase: pki.PhaseIssued},
			wantStatus: cmmeta.ConditionTrue, wantReason: "Issued", wantMessage: "Certificate fetched from issuer successfully",
			wantEvent: &RequestEvent{Type: corev1.EventTypeNormal, Reason: "CertificateIssued", Message: "Certificate fetched from issuer successfully"},
		},
		{
			name: "key does not match the CSR: Failed, failure time now, Warning named for the issuer's reason", cr: unownedRequest(approved),
			answer:     UnownedAnswer{Phase: pki.PhaseFailed, Reason: "ErrorKeyMatch", Message: "Error generating certificate template: CSR not signed by referenced private key"},
			wantStatus: cmmeta.ConditionFalse, wantReason: "Failed", wantMessage: "Error generating certificate template: CSR not signed by referenced private key",
			wantFailed: &now,
			wantEvent:  &RequestEvent{Type: corev1.EventTypeWarning, Reason: "ErrorKeyMatch", Message: "Error generating certificate template: CSR not signed by referenced private key"},
		},
		{
			name: "failed with a failure time already: kept", cr: unownedRequest(approved, failedAt(earlier)),
			answer:     UnownedAnswer{Phase: pki.PhaseFailed, Message: "no"},
			wantStatus: cmmeta.ConditionFalse, wantReason: "Failed", wantMessage: "no",
			wantFailed: &earlier,
			wantEvent:  &RequestEvent{Type: corev1.EventTypeWarning, Reason: "Failed", Message: "no"},
		},
		{
			name: "denied", cr: unownedRequest(denied),
			answer:     UnownedAnswer{Phase: pki.PhaseDenied},
			wantStatus: cmmeta.ConditionFalse, wantReason: "Denied", wantMessage: "The CertificateRequest was denied by an approval controller",
			wantFailed: &now,
			wantEvent:  &RequestEvent{Type: corev1.EventTypeWarning, Reason: "Denied", Message: "The CertificateRequest was denied by an approval controller"},
		},
		{
			name: "missing issuer, first time: Pending with a Warning", cr: unownedRequest(approved),
			answer:     UnownedAnswer{Phase: pki.PhasePending, Reason: "IssuerNotFound", Message: `Referenced "Issuer" not found`, Trouble: true},
			wantStatus: cmmeta.ConditionFalse, wantReason: "Pending", wantMessage: `Referenced "Issuer" not found`,
			wantEvent: &RequestEvent{Type: corev1.EventTypeWarning, Reason: "IssuerNotFound", Message: `Referenced "Issuer" not found`},
		},
		{
			name: "missing issuer, already pending: no second event", cr: unownedRequest(approved, pending),
			answer:     UnownedAnswer{Phase: pki.PhasePending, Reason: "IssuerNotFound", Message: `Referenced "Issuer" not found`, Trouble: true},
			wantStatus: cmmeta.ConditionFalse, wantReason: "Pending", wantMessage: `Referenced "Issuer" not found`,
		},
		{
			name: "issuer at work (ACME order pending): Normal event", cr: unownedRequest(approved),
			answer:     UnownedAnswer{Phase: pki.PhasePending, Reason: "Pending", Message: "Waiting on certificate issuance"},
			wantStatus: cmmeta.ConditionFalse, wantReason: "Pending", wantMessage: "Waiting on certificate issuance",
			wantEvent: &RequestEvent{Type: corev1.EventTypeNormal, Reason: "Pending", Message: "Waiting on certificate issuance"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AnswerUnowned(tt.cr, tt.answer, now)
			if got.Ready.Type != cmapi.CertificateRequestConditionReady || got.Ready.Status != tt.wantStatus ||
				got.Ready.Reason != tt.wantReason || got.Ready.Message != tt.wantMessage {
				t.Errorf("Ready = %+v, want %s %s %q", got.Ready, tt.wantStatus, tt.wantReason, tt.wantMessage)
			}
			switch {
			case tt.wantFailed == nil && got.FailureTime != nil:
				t.Errorf("failureTime = %v, want none", got.FailureTime)
			case tt.wantFailed != nil && (got.FailureTime == nil || !got.FailureTime.Time.Equal(*tt.wantFailed)):
				t.Errorf("failureTime = %v, want %v", got.FailureTime, *tt.wantFailed)
			}
			switch {
			case tt.wantEvent == nil && got.Event != nil:
				t.Errorf("event = %+v, want none", *got.Event)
			case tt.wantEvent != nil && (got.Event == nil || *got.Event != *tt.wantEvent):
				t.Errorf("event = %+v, want %+v", got.Event, *tt.wantEvent)
			}
		})
	}
}

// TestOwnedByCertificate: only a cert-manager Certificate as controller
// makes a request part of a Certificate's issuance.
func TestOwnedByCertificate(t *testing.T) {
	yes := true
	ref := func(apiVersion, kind string, controller bool) metav1.OwnerReference {
		r := metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: "x", UID: "u"}
		if controller {
			r.Controller = &yes
		}
		return r
	}
	tests := []struct {
		name string
		refs []metav1.OwnerReference
		want bool
	}{
		{"no owner (cmctl, istio-csr)", nil, false},
		{"Certificate controller", []metav1.OwnerReference{ref("cert-manager.io/v1", "Certificate", true)}, true},
		{"Certificate owner, not controller", []metav1.OwnerReference{ref("cert-manager.io/v1", "Certificate", false)}, false},
		{"Pod controller (csi-driver)", []metav1.OwnerReference{ref("v1", "Pod", true)}, false},
		{"another group's Certificate kind", []metav1.OwnerReference{ref("example.com/v1", "Certificate", true)}, false},
		{"malformed apiVersion", []metav1.OwnerReference{ref("a/b/c", "Certificate", true)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr := unownedRequest(func(cr *cmapi.CertificateRequest) { cr.OwnerReferences = tt.refs })
			if got := OwnedByCertificate(cr); got != tt.want {
				t.Fatalf("OwnedByCertificate = %v, want %v", got, tt.want)
			}
		})
	}
}

// FuzzDecideUnowned: whatever conditions a request carries (anyone with
// status access can write them), a request holding a certificate is never
// signed again, another group's is never touched, a denied one is never
// signed, and approval is only ever granted to an undecided request.
func FuzzDecideUnowned(f *testing.F) {
	f.Add("", "Approved", "True", "cert-manager.io", "Ready", "False", "Pending", false, true)
	f.Add("cert-manager.io", "Denied", "True", "x", "Ready", "True", "Issued", true, false)
	f.Add("example.com", "InvalidRequest", "True", "", "Ready", "False", "Failed", false, true)
	f.Fuzz(func(t *testing.T, group, type1, status1, reason1, type2, status2, reason2 string, hasCert, approve bool) {
		cr := unownedRequest(groupOf(group))
		cr.Status.Conditions = []cmapi.CertificateRequestCondition{
			{Type: cmapi.CertificateRequestConditionType(type1), Status: cmmeta.ConditionStatus(status1), Reason: reason1},
			{Type: cmapi.CertificateRequestConditionType(type2), Status: cmmeta.ConditionStatus(status2), Reason: reason2},
		}
		if hasCert {
			cr.Status.Certificate = []byte("x")
		}
		d := DecideUnowned(cr, approve)
		switch {
		case !CertManagerIssuer(cr.Spec.IssuerRef) && d.Step != UnownedLeave:
			t.Fatalf("another group's request: %+v", d)
		case hasCert && d.Step == UnownedSign:
			t.Fatalf("a request with a certificate is signed again: %+v", d)
		case pki.IsDenied(cr) && d.Step == UnownedSign:
			t.Fatalf("a denied request is signed: %+v", d)
		case d.Approve && (d.Step != UnownedSign || pki.IsApproved(cr) || pki.IsDenied(cr) || !approve):
			t.Fatalf("approval granted where it may not be: %+v", d)
		}
		for _, phase := range []pki.RequestPhase{pki.PhaseIssued, pki.PhasePending, pki.PhaseFailed, pki.PhaseDenied} {
			st := AnswerUnowned(cr, UnownedAnswer{Phase: phase, Reason: reason1, Message: reason2}, now)
			if (phase == pki.PhaseFailed || phase == pki.PhaseDenied) && st.FailureTime == nil {
				t.Fatalf("%s without a failure time", phase)
			}
		}
	})
}
