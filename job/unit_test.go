package job

// Unit tests of job/'s pure parts: no API server, no clients. Everything
// that crosses the API is tested end to end in test/e2e.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/certsweep/certsweep/issuance"
	"github.com/certsweep/certsweep/issuance/pki"
	"github.com/certsweep/certsweep/renew"
)

var unitNow = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

func unitCertificate(name string, revision *int) *cmapi.Certificate {
	return &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: "uid-" + "name", Generation: 3},
		Spec:       cmapi.CertificateSpec{SecretName: name + "-tls", IssuerRef: cmmeta.IssuerReference{Name: "ca"}},
		Status:     cmapi.CertificateStatus{Revision: revision},
	}
}

func unitRequest(name string, revision string) *cmapi.CertificateRequest {
	return &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: "ns",
		Annotations:   map[string]string{cmapi.CertificateRequestRevisionAnnotationKey: revision},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "x"}},
	}}
}

// TestAddRequestFilesByRevision: requests are filed as current, next or
// history by their revision annotation, and a second claim on the same
// revision is named for renew/ to refuse.
func TestAddRequestFilesByRevision(t *testing.T) {
	rev := 2
	it := &workItem{cert: unitCertificate("web", &rev)}
	it.addRequest(unitRequest("web-1", "1"))
	it.addRequest(unitRequest("web-2", "2"))
	it.addRequest(unitRequest("web-3", "3"))
	it.addRequest(unitRequest("web-x", "not-a-number"))
	if it.current == nil || it.current.name != "web-2" {
		t.Fatalf("current = %+v", it.current)
	}
	if it.next == nil || it.next.Name != "web-3" || it.next.ManagedFields != nil {
		t.Fatalf("next = %+v", it.next)
	}
	if len(it.owned) != 4 || it.owned[3].Revision != -1 || len(it.duplicates) != 0 {
		t.Fatalf("owned = %+v duplicates = %v", it.owned, it.duplicates)
	}
	it.addRequest(unitRequest("web-3b", "3"))
	it.addRequest(unitRequest("web-2b", "2"))
	if len(it.duplicates) != 2 || it.duplicates[0] != "web-3b" || it.duplicates[1] != "web-2b" {
		t.Fatalf("duplicates = %v", it.duplicates)
	}
}

// TestPeersOfCopiesTheGroup: the ownership rule gets copies of the other
// members' names and creation times, never the items themselves.
func TestPeersOfCopiesTheGroup(t *testing.T) {
	a, b, c := &workItem{cert: unitCertificate("a", nil)}, &workItem{cert: unitCertificate("b", nil)}, &workItem{cert: unitCertificate("c", nil)}
	b.cert.CreationTimestamp = metav1.NewTime(unitNow)
	group := []*workItem{a, b, c}
	peers := peersOf(b, group)
	if len(peers) != 2 || peers[0].Name != "a" || peers[1].Name != "c" {
		t.Fatalf("peers of b = %+v", peers)
	}
	a.cert = unitCertificate("renamed", nil)
	if peers[0].Name != "a" {
		t.Fatal("peers share state with the group")
	}
	if len(peersOf(a, []*workItem{a})) != 0 {
		t.Fatal("a Certificate alone has peers")
	}
}

// TestApplyDecisionToStatus: Ready, the validity times and the mirrored
// retry state are set from the Decision; the Ready transition time moves
// only when its status changes.
func TestApplyDecisionToStatus(t *testing.T) {
	crt := unitCertificate("web", nil)
	nb, na, rt := unitNow.Add(-time.Hour), unitNow.Add(90*24*time.Hour), unitNow.Add(60*24*time.Hour)
	d := renew.Decision{
		Ready:     cmapi.CertificateCondition{Status: cmmeta.ConditionTrue, Reason: renew.ReasonReady, Message: "ok"},
		NotBefore: &nb, NotAfter: &na, RenewalTime: &rt,
		Retry: renew.RecordFailure(renew.RetryState{}, renew.ClassIssuance, unitNow, renew.DefaultBackoff),
	}
	applyDecisionToStatus(crt, d, unitNow)
	c := crt.Status.Conditions[0]
	if c.Type != cmapi.CertificateConditionReady || c.Status != cmmeta.ConditionTrue || c.ObservedGeneration != 3 || !c.LastTransitionTime.Time.Equal(unitNow) {
		t.Fatalf("Ready = %+v", c)
	}
	if !crt.Status.NotAfter.Time.Equal(na) || !crt.Status.RenewalTime.Time.Equal(rt) || *crt.Status.FailedIssuanceAttempts != 1 || !crt.Status.LastFailureTime.Time.Equal(unitNow) {
		t.Fatalf("status = %+v", crt.Status)
	}
	later := unitNow.Add(time.Hour)
	d.Ready.Message = "still ok"
	d.Retry = renew.RetryState{}
	applyDecisionToStatus(crt, d, later)
	if c := crt.Status.Conditions[0]; !c.LastTransitionTime.Time.Equal(unitNow) || c.Message != "still ok" {
		t.Fatalf("same status moved the transition time: %+v", c)
	}
	if crt.Status.FailedIssuanceAttempts != nil || crt.Status.LastFailureTime != nil {
		t.Fatalf("cleared retry state still mirrored: %+v", crt.Status)
	}
}

// TestBudget: a run starts at most MaxIssuances issuances and none after its
// deadline.
func TestBudget(t *testing.T) {
	clock := unitNow
	b := newBudget(2, unitNow.Add(time.Minute), func() time.Time { return clock })
	first, second, third := b.take(), b.take(), b.take()
	if !first || !second || third {
		t.Fatalf("count cap not honoured: %v %v %v", first, second, third)
	}
	b = newBudget(0, unitNow.Add(time.Minute), func() time.Time { return clock })
	if !b.take() {
		t.Fatal("unlimited budget refused")
	}
	clock = unitNow.Add(time.Minute)
	if b.take() {
		t.Fatal("deadline not honoured")
	}
}

// TestListPagesRestartsOnExpiredToken: a 410 on a continue token restarts
// the LIST from the first page, a bounded number of times.
func TestListPagesRestartsOnExpiredToken(t *testing.T) {
	gone := apierrors.NewResourceExpired("continue token expired")
	var calls []string
	fails := 1
	err := listPages(context.Background(), "things", metav1.ListOptions{}, func(_ context.Context, o metav1.ListOptions) (string, error) {
		calls = append(calls, o.Continue)
		if o.Continue == "page2" && fails > 0 {
			fails--
			return "", gone
		}
		if o.Continue == "" {
			return "page2", nil
		}
		return "", nil
	})
	if err != nil || len(calls) != 4 || calls[2] != "" {
		t.Fatalf("err %v, calls %q; want a restart from the first page", err, calls)
	}
	err = listPages(context.Background(), "things", metav1.ListOptions{}, func(_ context.Context, o metav1.ListOptions) (string, error) {
		if o.Continue != "" {
			return "", gone
		}
		return "page2", nil
	})
	if err == nil || !apierrors.IsResourceExpired(errors.Unwrap(err)) {
		t.Fatalf("endless expiry: err = %v, want the 410 after bounded restarts", err)
	}
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "things"}, "", errors.New("no"))
	err = listPages(context.Background(), "things", metav1.ListOptions{}, func(context.Context, metav1.ListOptions) (string, error) { return "", forbidden })
	if !apierrors.IsForbidden(errors.Unwrap(err)) {
		t.Fatalf("forbidden: err = %v", err)
	}
}

func TestShardOfIsStableAndSpread(t *testing.T) {
	seen := map[int]int{}
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"} {
		s := ShardOf("ns", n, 3)
		if s != ShardOf("ns", n, 3) || s < 0 || s >= 3 {
			t.Fatalf("shard of %s unstable or out of range: %d", n, s)
		}
		seen[s]++
	}
	if len(seen) != 3 {
		t.Fatalf("12 names over 3 shards landed in %d", len(seen))
	}
}

// TestDecidePanicIsAnError: a bug met while deciding one object (here a nil
// next-key Secret, which gathering never produces) is that object's error,
// not the end of the run.
func TestDecidePanicIsAnError(t *testing.T) {
	s := New(nil, nil, Options{})
	crt := unitCertificate("web", nil)
	crt.Spec.DNSNames = []string{"web.example.test"}
	_, err := s.decide(renew.Input{Certificate: crt, NextKeys: []*corev1.Secret{nil}, Now: unitNow})
	if err == nil || !strings.Contains(err.Error(), "internal error while deciding") {
		t.Fatalf("err = %v, want the panic as an error", err)
	}
}

// TestARIPollAndMark: Retry-After is clamped to 1h–7d (6h when the CA says
// nothing); an ACME issuance leaves an empty status.acme.ari due now, any
// other issuer none, and a request signed by an earlier run keeps the mark.
func TestARIPollAndMark(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{0: 6 * time.Hour, time.Minute: time.Hour, 6 * time.Hour: 6 * time.Hour, 30 * 24 * time.Hour: 7 * 24 * time.Hour} {
		if got := ariPoll(in); got != want {
			t.Errorf("ariPoll(%s) = %s, want %s", in, got, want)
		}
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	old := &cmapi.CertificateACMEStatus{ARI: &cmapi.CertificateACMEARIStatus{LastError: "old"}}
	for _, tc := range []struct {
		name     string
		issuer   issuance.Issuer
		before   *cmapi.CertificateACMEStatus
		wantMark bool
	}{
		{"ACME issuer", &acmeIssuer{}, nil, true},
		{"other issuer clears", issuance.External{}, old, false},
		{"signed before, marked before", nil, old, true},
		{"signed before, never marked", nil, nil, false},
	} {
		crt := &cmapi.Certificate{}
		crt.Status.ACME = tc.before.DeepCopy()
		markACME(crt, tc.issuer, now)
		marked := crt.Status.ACME != nil && crt.Status.ACME.ARI != nil && crt.Status.ACME.ARI.NextCheck.Equal(pki.MetaTime(now)) && crt.Status.ACME.ARI.LastError == ""
		if marked != tc.wantMark || (!tc.wantMark && crt.Status.ACME != nil) {
			t.Errorf("%s: status.acme %+v", tc.name, crt.Status.ACME)
		}
	}
}
