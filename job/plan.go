package job

import (
	"context"
	"fmt"
	"sort"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
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
}

// Plan gathers exactly what a sweep gathers and asks renew/ the same
// question, but writes nothing.
func (s *Sweeper) Plan(ctx context.Context) ([]PlanRow, error) {
	var rows []PlanRow
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
		}
		if s.opts.Decide.Schedule != nil && d.NotBefore != nil && d.NotAfter != nil {
			if w := renew.ScheduleWarning(it.cert, *d.NotBefore, *d.NotAfter, s.opts.Decide.Schedule, in.Now); w != "" {
				row.Warnings = append(row.Warnings, w)
			}
		}
		rows = append(rows, row)
		it.release()
	}, func(*workItem, *corev1.Secret) {})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRunImpossible, err)
	}
	// Secrets stream in their own order; show Certificates in a stable one.
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Namespace != rows[j].Namespace {
			return rows[i].Namespace < rows[j].Namespace
		}
		return rows[i].Name < rows[j].Name
	})
	return rows, nil
}

// issuerName renders an issuerRef the way cert-manager's messages do:
// Kind.group/name, with the defaults spelled out.
func issuerName(crt *cmapi.Certificate) string {
	ref := crt.Spec.IssuerRef
	kind, group := ref.Kind, ref.Group
	if kind == "" {
		kind = cmapi.IssuerKind
	}
	if group == "" {
		group = "cert-manager.io"
	}
	return fmt.Sprintf("%s.%s/%s", kind, group, ref.Name)
}
