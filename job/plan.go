package job

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/certsweep/certsweep/renew"
)

// PlanRow is what `certsweep plan` shows for one Certificate: the decision a
// sweep would make now, without acting on it. The JSON field names are a
// stable interface; add fields, never rename them.
type PlanRow struct {
	Namespace   string       `json:"namespace"`
	Name        string       `json:"name"`
	Ready       string       `json:"ready"`
	NotAfter    *time.Time   `json:"notAfter,omitempty"`
	RenewalTime *time.Time   `json:"renewalTime,omitempty"`
	Action      renew.Action `json:"action"`
	Reason      string       `json:"reason,omitempty"`
	Message     string       `json:"message,omitempty"`
	NextAttempt *time.Time   `json:"nextAttempt,omitempty"`
	NextLook    *time.Time   `json:"nextLook,omitempty"`
	Issuer      string       `json:"issuer"`
	Attempts    int          `json:"failedAttempts,omitempty"`
	Warnings    []string     `json:"warnings,omitempty"`
	// Order is where the ACME order of the request in flight stands, when
	// there is one.
	Order *renew.OrderView `json:"order,omitempty"`
	// NotBefore is the start of the certificate's validity, so a reader
	// (the timeline page) can draw notBefore..notAfter.
	NotBefore *time.Time `json:"notBefore,omitempty"`
	// LastFailureTime and FailureClass are the recorded retry window's
	// start and schedule (the certsweep.io annotations): with NextAttempt
	// they say which window a failing Certificate is waiting out.
	LastFailureTime *time.Time `json:"lastFailureTime,omitempty"`
	FailureClass    string     `json:"failureClass,omitempty"`
	// FailureReason and FailureMessage say why the last attempt failed:
	// the Certificate's Issuing condition when it is False, which is where
	// cert-manager and the sweep put a failed attempt's reason.
	FailureReason  string `json:"failureReason,omitempty"`
	FailureMessage string `json:"failureMessage,omitempty"`
}

// Failing reports whether the row is a Certificate whose last attempt
// failed: a retry window is recorded, its Issuing condition is False, or
// the sweep could not decide it at all.
func (r PlanRow) Failing() bool {
	return r.Attempts > 0 || r.FailureReason != "" || r.Reason == renew.ReasonSweepError
}

// Plan gathers exactly what a sweep gathers and asks renew/ the same
// question, but writes nothing. For a request in flight it also shows
// where its ACME order stands.
func (s *Sweeper) Plan(ctx context.Context) ([]PlanRow, error) {
	var rows []PlanRow
	// The next revision's request, by row, for each Certificate whose
	// request is in flight with one of cert-manager's issuers: only those
	// can have an Order (the current revision's is done with), so a sweep
	// with nothing in flight lists no Orders at all.
	inFlight := map[int]*cmapi.CertificateRequest{}
	err := s.scan(ctx, func(it *workItem) {
		in := s.input(it)
		d, err := s.decide(in)
		if err != nil {
			// One object that cannot be decided is shown as such; the
			// others are planned as usual.
			d = renew.Decision{Action: renew.ActionWait, Reason: renew.ReasonSweepError, Message: err.Error()}
		}
		row := PlanRow{
			Namespace: it.cert.Namespace, Name: it.cert.Name,
			Ready:  string(d.Ready.Status),
			Action: d.Action, Reason: d.Reason, Message: d.Message,
			NotAfter: d.NotAfter, RenewalTime: d.RenewalTime,
			Issuer:   issuerName(it.cert),
			Attempts: d.Retry.FailedAttempts,
			Warnings: d.Warnings,
		}
		if !d.NextLook.IsZero() {
			t := d.NextLook
			row.NextLook = &t
		}
		if !d.Retry.IsZero() {
			t := d.Retry.NextAttempt
			row.NextAttempt = &t
			last := d.Retry.LastFailureTime
			row.LastFailureTime = &last
			row.FailureClass = string(d.Retry.Class)
		}
		row.NotBefore = d.NotBefore
		if c := issuingFailed(it.cert); c != nil {
			row.FailureReason, row.FailureMessage = c.Reason, c.Message
		}
		if s.opts.Decide.Schedule != nil && d.NotBefore != nil && d.NotAfter != nil {
			if w := renew.ScheduleWarning(it.cert, *d.NotBefore, *d.NotAfter, s.opts.Decide.Schedule, in.Now); w != "" {
				row.Warnings = append(row.Warnings, w)
			}
		}
		if it.next != nil && renew.CertManagerIssuer(it.next.Spec.IssuerRef) {
			inFlight[len(rows)] = it.next
		}
		rows = append(rows, row)
		it.release()
	}, func(*workItem, *corev1.Secret) {})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRunImpossible, err)
	}
	s.planOrders(ctx, rows, inFlight)
	// Secrets stream in their own order; show Certificates in a stable one.
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Namespace != rows[j].Namespace {
			return rows[i].Namespace < rows[j].Namespace
		}
		return rows[i].Name < rows[j].Name
	})
	return rows, nil
}

// planOrders adds to each row with a request in flight where its ACME
// order stands. Orders and Challenges are listed once for all rows. A
// listing that fails (a role that may list Certificates but not Orders)
// is a warning on the rows it concerns, not a failed plan: the decisions
// stand without it.
func (s *Sweeper) planOrders(ctx context.Context, rows []PlanRow, inFlight map[int]*cmapi.CertificateRequest) {
	requests := slices.Collect(maps.Values(inFlight))
	orders, challenges, err := s.listOrders(ctx, requests)
	for i, cr := range inFlight {
		if err != nil {
			rows[i].Warnings = append(rows[i].Warnings, fmt.Sprintf("where the ACME order of request %s stands could not be read: %v", cr.Name, err))
			continue
		}
		if view, ok := renew.ViewOrder(cr, orders, challenges); ok {
			rows[i].Order = &view
		}
	}
}

// issuingFailed returns the Certificate's Issuing condition when it is
// False, which is how a failed attempt is recorded on it.
func issuingFailed(crt *cmapi.Certificate) *cmapi.CertificateCondition {
	for i, c := range crt.Status.Conditions {
		if c.Type == cmapi.CertificateConditionIssuing && c.Status == cmmeta.ConditionFalse {
			return &crt.Status.Conditions[i]
		}
	}
	return nil
}

// issuerName renders a Certificate's issuerRef (see issuerRefName).
func issuerName(crt *cmapi.Certificate) string { return issuerRefName(crt.Spec.IssuerRef) }

// issuerRefName renders an issuerRef the way cert-manager's messages do:
// Kind.group/name, with the defaults spelled out.
func issuerRefName(ref cmmeta.IssuerReference) string {
	kind, group := ref.Kind, ref.Group
	if kind == "" {
		kind = cmapi.IssuerKind
	}
	if group == "" {
		group = "cert-manager.io"
	}
	return fmt.Sprintf("%s.%s/%s", kind, group, ref.Name)
}
