package renew

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestDecideChoices reads every choice a Decision makes for job/ besides the
// action: the key, approval, who signs, whether the attempt is counted
// first, the failure to record with its class and window, the Secret's
// owner, duplicate requests, and what an up-to-date Certificate tidies.
// job/ only carries these out, so each is settled here, row by row.
func TestDecideChoices(t *testing.T) {
	due := func(f *fixture) { f.secret = nil } // DoesNotExist: issue now
	never := func(f *fixture) {
		f.crt.Spec.PrivateKey = &cmapi.CertificatePrivateKey{RotationPolicy: cmapi.RotationPolicyNever}
	}
	pendingRequest := func(t *testing.T, f *fixture, key func() *corev1.Secret) {
		k := rsa2048()
		f.next = baseRequest(f.crt, csrPEM(t, k, nil))
		f.next.Name = "web-2"
		f.keys = []*corev1.Secret{key()}
		setIssuing(f.crt, "Renewing", now.Add(-time.Minute))
	}
	tests := []struct {
		name  string
		opts  Options
		edit  func(t *testing.T, f *fixture)
		check func(t *testing.T, f *fixture, d Decision)
	}{
		{
			name: "no stored key: generate one; we sign and approve",
			edit: func(_ *testing.T, f *fixture) { due(f) },
			check: func(t *testing.T, _ *fixture, d Decision) {
				want(t, d.Action == ActionIssue && d.Key.Source == KeyGenerate && d.Key.Key == nil && len(d.Key.Discard) == 0, "key %+v", d.Key)
				want(t, d.SignsHere && d.Approval == ApprovalGrant && !d.CountAttemptFirst && d.Failure == nil, "signs %v approval %v count %v failure %v", d.SignsHere, d.Approval, d.CountAttemptFirst, d.Failure)
			},
		},
		{
			name: "ARI on, renewing a leaf from spec.issuerRef: the order replaces it",
			opts: Options{ARI: true},
			edit: func(t *testing.T, f *fixture) {
				k := rsa2048()
				f.secret = baseSecret(t, f.crt, k, certPEM(t, k, func(c *x509.Certificate) {
					c.AuthorityKeyId = []byte{1, 2, 3}
					c.NotAfter = now.Add(time.Hour) // inside the last third: renew
				}))
			},
			check: func(t *testing.T, _ *fixture, d Decision) {
				want(t, d.Action == ActionIssue && d.Replaces == "AQID.Kg", "action %v replaces %q", d.Action, d.Replaces)
			},
		},
		{
			name: "ARI off: no replaces",
			edit: func(t *testing.T, f *fixture) {
				k := rsa2048()
				f.secret = baseSecret(t, f.crt, k, certPEM(t, k, func(c *x509.Certificate) { c.AuthorityKeyId = []byte{1, 2, 3}; c.NotAfter = now.Add(time.Hour) }))
			},
			check: func(t *testing.T, _ *fixture, d Decision) {
				want(t, d.Action == ActionIssue && d.Replaces == "", "action %v replaces %q", d.Action, d.Replaces)
			},
		},
		{
			name: "ARI on, the Secret's leaf came from another issuer: no replaces",
			opts: Options{ARI: true},
			edit: func(t *testing.T, f *fixture) {
				k := rsa2048()
				f.secret = baseSecret(t, f.crt, k, certPEM(t, k, func(c *x509.Certificate) { c.AuthorityKeyId = []byte{1, 2, 3} }))
				f.secret.Annotations[cmapi.IssuerNameAnnotationKey] = "old-ca"
			},
			check: func(t *testing.T, _ *fixture, d Decision) {
				want(t, d.Action == ActionIssue && d.Replaces == "", "action %v replaces %q", d.Action, d.Replaces)
			},
		},
		{
			name: "ARI on, first issuance: nothing to replace",
			opts: Options{ARI: true},
			edit: func(_ *testing.T, f *fixture) { due(f) },
			check: func(t *testing.T, _ *fixture, d Decision) {
				want(t, d.Action == ActionIssue && d.Replaces == "", "action %v replaces %q", d.Action, d.Replaces)
			},
		},
		{
			name: "a stored key that fits: adopt it",
			edit: func(t *testing.T, f *fixture) { due(f); f.keys = []*corev1.Secret{nextKeySecret(t, f.crt, otherRSA())} },
			check: func(t *testing.T, f *fixture, d Decision) {
				want(t, d.Key.Source == KeyAdopt && d.Key.Secret == f.keys[0] && d.Key.Key != nil && len(d.Key.Discard) == 0, "key %+v", d.Key)
			},
		},
		{
			name: "a stored key the spec no longer allows: discard it, generate",
			edit: func(t *testing.T, f *fixture) { due(f); f.keys = []*corev1.Secret{nextKeySecret(t, f.crt, ecP256())} },
			check: func(t *testing.T, f *fixture, d Decision) {
				want(t, d.Key.Source == KeyGenerate && len(d.Key.Discard) == 1 && d.Key.Discard[0] == f.keys[0], "key %+v", d.Key)
			},
		},
		{
			name: "two stored keys: adopt one, discard the other",
			edit: func(t *testing.T, f *fixture) {
				due(f)
				second := nextKeySecret(t, f.crt, rsa2048())
				second.Name, second.UID = "web-next-key-2", "second"
				f.keys = []*corev1.Secret{nextKeySecret(t, f.crt, otherRSA()), second}
			},
			check: func(t *testing.T, f *fixture, d Decision) {
				want(t, d.Key.Source == KeyAdopt && d.Key.Secret == f.keys[0] && len(d.Key.Discard) == 1 && d.Key.Discard[0] == f.keys[1], "key %+v", d.Key)
			},
		},
		{
			name: "rotationPolicy Never: reuse the Secret's key",
			edit: func(_ *testing.T, f *fixture) {
				never(f)
				setIssuing(f.crt, ReasonManuallyTriggered, now)
			},
			check: func(t *testing.T, _ *fixture, d Decision) {
				want(t, d.Action == ActionIssue && d.Key.Source == KeyReuse && d.Key.Key != nil && d.Failure == nil, "key %+v failure %v", d.Key, d.Failure)
			},
		},
		{
			name: "rotationPolicy Never with a key the spec no longer allows: an issuance failure, 1h window",
			edit: func(_ *testing.T, f *fixture) {
				never(f)
				f.crt.Spec.PrivateKey.Algorithm = cmapi.ECDSAKeyAlgorithm
			},
			check: func(t *testing.T, _ *fixture, d Decision) {
				want(t, d.Action == ActionIssue && d.Failure != nil, "failure %v", d.Failure)
				f := d.Failure
				want(t, f.Class == ClassIssuance && f.Reason == ReasonCannotRegenerateKey && f.Retry.FailedAttempts == 1, "failure %+v", f)
				want(t, f.Retry.NextAttempt.Sub(f.Retry.LastFailureTime) == time.Hour && !f.DropNextKeys, "window %v drop %v", f.Retry.NextAttempt.Sub(f.Retry.LastFailureTime), f.DropNextKeys)
			},
		},
		{
			name: "rotationPolicy Never with an undecodable key: generate, and say so",
			edit: func(_ *testing.T, f *fixture) {
				never(f)
				f.secret.Data[corev1.TLSPrivateKeyKey] = []byte("garbage")
			},
			check: func(t *testing.T, _ *fixture, d Decision) {
				want(t, d.Key.Source == KeyGenerate && d.Key.DecodeWarning != "", "key %+v", d.Key)
			},
		},
		{
			name: "a pending request whose key is gone: replace the request and its key",
			edit: func(t *testing.T, f *fixture) {
				pendingRequest(t, f, func() *corev1.Secret { return nextKeySecret(t, f.crt, otherRSA()) })
			},
			check: func(t *testing.T, _ *fixture, d Decision) {
				want(t, d.Request == RequestStale && d.Key.Source == KeyGenerate && len(d.Key.Discard) == 1, "request %q key %v", d.Request, d.Key)
			},
		},
		{
			name: "another approver: wait for it",
			opts: Options{ExternalApproval: true},
			edit: func(_ *testing.T, f *fixture) { due(f) },
			check: func(t *testing.T, _ *fixture, d Decision) {
				want(t, d.Approval == ApprovalAwait, "approval %v", d.Approval)
			},
		},
		{
			name: "external issuer, new attempt: count it before the request exists",
			edit: func(_ *testing.T, f *fixture) { due(f); f.signElsewhere() },
			check: func(t *testing.T, _ *fixture, d Decision) {
				want(t, !d.SignsHere && d.CountAttemptFirst, "signs %v count %v", d.SignsHere, d.CountAttemptFirst)
				before := d.Retry
				state := d.StartAttempt(now)
				want(t, state.FailedAttempts == before.FailedAttempts+1 && state.Class == ClassTemporary, "started %+v", state)
				// The failure of a counted attempt does not count it again.
				failed := d.Fail(ClassIssuance, "Failed", "boom", now)
				want(t, failed.Retry.FailedAttempts == state.FailedAttempts && failed.Retry.Class == ClassIssuance, "failed %+v", failed.Retry)
				want(t, failed.Message == "The certificate request has failed to complete and will be retried: boom" && failed.DropNextKeys, "failure %+v", failed)
			},
		},
		{
			name: "external issuer's request failed: recorded without counting the attempt twice",
			edit: func(t *testing.T, f *fixture) {
				f.signElsewhere()
				f.crt.Annotations = RecordFailure(RetryState{}, ClassTemporary, now.Add(-time.Minute), DefaultBackoff).Annotations()
				pendingRequest(t, f, func() *corev1.Secret { return nextKeySecret(t, f.crt, rsa2048()) })
				setCRCondition(f.next, cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonFailed, now)
			},
			check: func(t *testing.T, _ *fixture, d Decision) {
				want(t, d.Failure != nil && d.Failure.Class == ClassIssuance && d.Failure.Retry.FailedAttempts == 1 && d.Failure.Reason == "Failed", "failure %+v", d.Failure)
			},
		},
		{
			name: "in-process request failed: the failure counts",
			edit: func(t *testing.T, f *fixture) {
				f.crt.Annotations = RecordFailure(RetryState{}, ClassIssuance, now.Add(-2*time.Hour), DefaultBackoff).Annotations()
				pendingRequest(t, f, func() *corev1.Secret { return nextKeySecret(t, f.crt, rsa2048()) })
				setCRCondition(f.next, cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonFailed, now)
			},
			check: func(t *testing.T, _ *fixture, d Decision) {
				want(t, d.Failure != nil && d.Failure.Retry.FailedAttempts == 2 && d.Failure.Retry.NextAttempt.Sub(d.Failure.Retry.LastFailureTime) == 2*time.Hour, "failure %+v", d.Failure)
			},
		},
		{
			name: "shared secretName named in the Secret: the named Certificate owns it",
			edit: func(_ *testing.T, f *fixture) {
				f.secret.Annotations[cmapi.CertificateNameKey] = "zzz"
				f.peers = []Peer{{Name: "zzz", Created: now}}
			},
			check: func(t *testing.T, _ *fixture, d Decision) {
				want(t, d.SecretOwner == "zzz" && d.Reason == ReasonDuplicateSecretName && d.Action == ActionNone, "owner %q reason %q", d.SecretOwner, d.Reason)
			},
		},
		{
			name: "shared secretName, not named: the oldest owns it",
			edit: func(_ *testing.T, f *fixture) {
				delete(f.secret.Annotations, cmapi.CertificateNameKey)
				f.crt.CreationTimestamp = *mtime(now)
				f.peers = []Peer{{Name: "older", Created: now.Add(-time.Hour)}, {Name: "newer", Created: now.Add(time.Hour)}}
			},
			check: func(t *testing.T, _ *fixture, d Decision) {
				want(t, d.SecretOwner == "older", "owner %q", d.SecretOwner)
			},
		},
		{
			name: "shared secretName, we are named: we own it",
			edit: func(_ *testing.T, f *fixture) {
				f.peers = []Peer{{Name: "older", Created: now.Add(-time.Hour)}}
			},
			check: func(t *testing.T, _ *fixture, d Decision) {
				want(t, d.SecretOwner == "" && d.Action == ActionNone && d.Ready.Status == cmmeta.ConditionTrue, "owner %q %s", d.SecretOwner, d.Ready.Status)
			},
		},
		{
			name: "two requests claim one revision: stop and say so",
			edit: func(_ *testing.T, f *fixture) { due(f); setIssuing(f.crt, "Renewing", now) },
			check: func(t *testing.T, _ *fixture, d Decision) {
				want(t, d.Action == ActionWait && d.Reason == ReasonDuplicateRequests && d.Ready.Status == cmmeta.ConditionFalse && d.Ready.Reason == ReasonDuplicateRequests, "%s %q %+v", d.Action, d.Reason, d.Ready)
			},
		},
		{
			name: "up to date with retry state and a leftover key: clear both",
			edit: func(t *testing.T, f *fixture) {
				f.crt.Annotations = RecordFailure(RetryState{}, ClassIssuance, now.Add(-48*time.Hour), DefaultBackoff).Annotations()
				f.keys = []*corev1.Secret{nextKeySecret(t, f.crt, rsa2048())}
			},
			check: func(t *testing.T, f *fixture, d Decision) {
				want(t, d.Action == ActionNone && d.ClearRetry && len(d.Key.Discard) == 1 && d.RecordRevision == 0, "%s clear %v discard %d record %d", d.Action, d.ClearRetry, len(d.Key.Discard), d.RecordRevision)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.edit(t, f)
			in := f.input()
			if tt.name == "two requests claim one revision: stop and say so" {
				in.DuplicateRequests = []string{"web-2"}
			}
			tt.check(t, f, Decide(in, tt.opts))
		})
	}
}

// TestDecideRecordsRevisionInSecret: a run that wrote the Secret and stopped
// before the status left an issued next request whose certificate the
// Secret holds; the decision names its revision so it is recorded, not
// issued again.
func TestDecideRecordsRevisionInSecret(t *testing.T) {
	f := newFixture(t)
	key := rsa2048()
	cert := certPEM(t, key, nil)
	f.secret = baseSecret(t, f.crt, key, cert)
	f.next = baseRequest(f.crt, csrPEM(t, key, nil))
	f.next.Name = "web-2"
	f.next.Annotations = map[string]string{cmapi.CertificateRequestRevisionAnnotationKey: "2"}
	f.next.Status.Certificate = cert
	setCRCondition(f.next, cmapi.CertificateRequestConditionReady, cmmeta.ConditionTrue, cmapi.CertificateRequestReasonIssued, now)
	d := Decide(f.input(), Options{})
	if d.Action != ActionNone || d.RecordRevision != 2 {
		t.Fatalf("Decide() = %s, RecordRevision %d; want none and 2", d.Action, d.RecordRevision)
	}
}

func want(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
}

// TestDecisionPrintsNoKey: a Decision carries the key it chose; printing it,
// as a log line or a failing test might, must not print the key.
func TestDecisionPrintsNoKey(t *testing.T) {
	f := newFixture(t)
	f.secret = nil
	f.keys = []*corev1.Secret{nextKeySecret(t, f.crt, otherRSA())}
	d := Decide(f.input(), Options{})
	if d.Key.Source != KeyAdopt {
		t.Fatalf("want the stored key adopted, got %v", d.Key)
	}
	pemKey := string(f.keys[0].Data[corev1.TLSPrivateKeyKey])
	body := strings.Split(pemKey, "\n")[1][:24]
	secret := otherRSA().(*rsa.PrivateKey).D.String()[:24]
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, d)
		if strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, body) || strings.Contains(out, secret) {
			t.Fatalf("%s of a Decision prints key material", verb)
		}
	}
}

// TestDecideUpToDateClearsStaleRetryState: a run that cleared the retry
// annotations but lost the status write leaves cert-manager's status fields
// saying a failure; an up-to-date Certificate clears them instead of backing
// off on them (found by the fault suite: a hidden 1h window).
func TestDecideUpToDateClearsStaleRetryState(t *testing.T) {
	f := newFixture(t)
	two := 2
	f.crt.Status.FailedIssuanceAttempts = &two
	f.crt.Status.LastFailureTime = mtime(now.Add(-time.Minute))
	d := Decide(f.input(), Options{})
	if d.Action != ActionNone || !d.ClearRetry {
		t.Fatalf("Decide() = %s %q clear=%v, want none and the stale retry state cleared", d.Action, d.Message, d.ClearRetry)
	}
	// The same state on a Certificate that needs issuing still waits.
	f.secret = nil
	if d := Decide(f.input(), Options{}); d.Action != ActionWait || d.Reason != ReasonBackoff {
		t.Fatalf("due and backing off: %s %q", d.Action, d.Reason)
	}
}
