package renew

import (
	"testing"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestCSRACMECommonName: a common name must be one of the request's DNS
// names or IP addresses for an ACME issuer, as cert-manager requires; no
// common name is fine.
func TestCSRACMECommonName(t *testing.T) {
	tests := []struct {
		name      string
		cn        string
		dns, ips  []string
		wantFails bool
	}{
		{"no common name", "", []string{"a.example.test"}, nil, false},
		{"common name among the DNS names", "a.example.test", []string{"b.example.test", "a.example.test"}, nil, false},
		{"common name among the IP addresses", "192.0.2.1", nil, []string{"192.0.2.1"}, false},
		{"common name nowhere else", "client", []string{"a.example.test"}, nil, true},
		{"common name but no SANs at all", "a.example.test", nil, nil, true},
		{"DNS names compared exactly", "A.example.test", []string{"a.example.test"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CSRACMECommonName(tt.cn, tt.dns, tt.ips)
			if (got != nil) != tt.wantFails {
				t.Fatalf("CSRACMECommonName(%q, %v, %v) = %+v, want failure %v", tt.cn, tt.dns, tt.ips, got, tt.wantFails)
			}
			if got != nil && got.Reason != ReasonCSRInvalidOrder {
				t.Fatalf("reason %q", got.Reason)
			}
		})
	}
}

// TestCSROrderFailed: a failed Order fails the request with cert-manager's
// reason and message.
func TestCSROrderFailed(t *testing.T) {
	tests := []struct {
		name, namespace, order, detail string
		want                           CSRFailure
	}{
		{"invalid order", "cert-manager", "client-1-123", `order is in "invalid" state: rejected`,
			CSRFailure{ReasonCSROrderFailed, `Failed to wait for order resource cert-manager/client-1-123 to become ready: order is in "invalid" state: rejected`}},
		{"refused by the CA", "team-a", "c-9", "The ACME server refused it",
			CSRFailure{ReasonCSROrderFailed, "Failed to wait for order resource team-a/c-9 to become ready: The ACME server refused it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CSROrderFailed(tt.namespace, tt.order, tt.detail); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestCSROrderHeldUntil: the CA's Retry-After recorded on a CSR's Order
// holds it until then, never longer than MaxRetryAfter; a past, missing or
// unreadable value holds nothing.
func TestCSROrderHeldUntil(t *testing.T) {
	now := time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)
	order := func(v string) *cmacme.Order {
		o := &cmacme.Order{}
		if v != "" {
			o.ObjectMeta = metav1.ObjectMeta{Annotations: map[string]string{AnnotationRetryAfter: v}}
		}
		return o
	}
	tests := []struct {
		name     string
		value    string
		wantHeld bool
		want     time.Time
	}{
		{"no annotation", "", false, time.Time{}},
		{"in the future", "2026-11-30T06:00:00Z", true, now.Add(2 * time.Hour)},
		{"exactly now", "2026-11-30T04:00:00Z", false, time.Time{}},
		{"in the past", "2026-11-30T03:00:00Z", false, time.Time{}},
		{"unreadable", "in two hours", false, time.Time{}},
		{"too far ahead is cut to the limit", "2027-06-01T00:00:00Z", true, now.Add(MaxRetryAfter)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, held := CSROrderHeldUntil(order(tt.value), now)
			if held != tt.wantHeld || !got.Equal(tt.want) {
				t.Fatalf("CSROrderHeldUntil(%q) = %s, %v; want %s, %v", tt.value, got, held, tt.want, tt.wantHeld)
			}
		})
	}
}

// TestCSROrderRetryAt: the recorded end of a CA's wait.
func TestCSROrderRetryAt(t *testing.T) {
	now := time.Date(2026, 11, 30, 4, 0, 0, 500, time.UTC)
	tests := []struct {
		name  string
		after time.Duration
		want  time.Time
	}{
		{"two hours, rounded up to a second", 2 * time.Hour, time.Date(2026, 11, 30, 6, 0, 1, 0, time.UTC)},
		{"none", 0, time.Date(2026, 11, 30, 4, 0, 1, 0, time.UTC)},
		{"negative is none", -time.Hour, time.Date(2026, 11, 30, 4, 0, 1, 0, time.UTC)},
		{"a year is cut to the limit", 365 * 24 * time.Hour, now.Add(MaxRetryAfter + time.Second - 1).Truncate(time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CSROrderRetryAt(now, tt.after); !got.Equal(tt.want) {
				t.Fatalf("CSROrderRetryAt(%s) = %s, want %s", tt.after, got, tt.want)
			}
		})
	}
}
