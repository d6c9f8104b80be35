package job

import (
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance/pki"
	"github.com/certsweep/certsweep/renew"
)

// Outcome is what happened to one Certificate in a run.
type Outcome struct {
	Namespace, Name string
	// Action is what renew/ decided.
	Action renew.Action
	// Result is what the sweep did about it.
	Result Result
	// Reason and Message explain a failure or a wait.
	Reason, Message string
	// NextLook is when this Certificate next needs looking at.
	NextLook time.Time
	// Certificate is the Certificate as the run left it, after its writes,
	// reduced to what monitoring reports; nil when it was deleted meanwhile.
	Certificate *CertificateSnapshot
}

// CertificateSnapshot is what monitoring reports of a Certificate, as
// cert-manager's certificate metrics do: its issuer, its readiness and its
// validity. A report keeps this rather than the object, so that the
// Certificates a run has settled are freed before it ends.
type CertificateSnapshot struct {
	IssuerRef cmmeta.IssuerReference
	// Ready is the status of the Ready condition; empty when there is none.
	Ready cmmeta.ConditionStatus
	// NotBefore, NotAfter and RenewalTime are the status fields of those
	// names; zero when not set.
	NotBefore, NotAfter, RenewalTime time.Time
}

// SnapshotOf reduces crt to what monitoring reports of it.
func SnapshotOf(crt *cmapi.Certificate) *CertificateSnapshot {
	s := &CertificateSnapshot{IssuerRef: crt.Spec.IssuerRef}
	if c := pki.CertificateCondition(crt, cmapi.CertificateConditionReady); c != nil {
		s.Ready = c.Status
	}
	if t := crt.Status.NotBefore; t != nil {
		s.NotBefore = t.Time
	}
	if t := crt.Status.NotAfter; t != nil {
		s.NotAfter = t.Time
	}
	if t := crt.Status.RenewalTime; t != nil {
		s.RenewalTime = t.Time
	}
	return s
}

// Result classifies the end state of one Certificate in one run.
type Result string

const (
	ResultUnchanged Result = "unchanged"
	ResultIssued    Result = "issued"
	ResultRewritten Result = "rewritten"
	ResultWaiting   Result = "waiting"
	ResultFailed    Result = "failed"
	// ResultDeferred: an issuance was due but the run's budget (count or
	// deadline) was spent; the next run picks it up.
	ResultDeferred Result = "deferred"
)

// Report sums up a run.
type Report struct {
	Scanned, Issued, Rewritten, Waiting, Failed, Deferred int
	// NextDue is the earliest NextLook over all Certificates; zero if none.
	NextDue  time.Time
	Duration time.Duration
	Outcomes []Outcome
	// Requests counts the CertificateRequests no Certificate owns that the
	// run worked on (requests.go); they are not in Scanned or Outcomes.
	Requests RequestCounts
}

func (r *Report) add(o Outcome) {
	r.Scanned++
	switch o.Result {
	case ResultIssued:
		r.Issued++
	case ResultRewritten:
		r.Rewritten++
	case ResultWaiting:
		r.Waiting++
	case ResultFailed:
		r.Failed++
	case ResultDeferred:
		r.Deferred++
	}
	if !o.NextLook.IsZero() && (r.NextDue.IsZero() || o.NextLook.Before(r.NextDue)) {
		r.NextDue = o.NextLook
	}
	r.Outcomes = append(r.Outcomes, o)
}

// Summary is the one-line summary printed at the end of a run.
func (r *Report) Summary() string {
	next := "none"
	if !r.NextDue.IsZero() {
		next = r.NextDue.UTC().Format(time.RFC3339)
	}
	line := fmt.Sprintf("scanned=%d issued=%d failed=%d waiting=%d rewritten=%d", r.Scanned, r.Issued, r.Failed, r.Waiting, r.Rewritten)
	if r.Deferred > 0 {
		line += fmt.Sprintf(" deferred=%d", r.Deferred)
	}
	if c := r.Requests; c.Total() > 0 {
		line += fmt.Sprintf(" requests-signed=%d requests-failed=%d requests-pending=%d requests-deferred=%d", c.Signed, c.Failed, c.Pending, c.Deferred)
	}
	return line + fmt.Sprintf(" next-due=%s duration=%s", next, r.Duration.Round(time.Millisecond))
}
