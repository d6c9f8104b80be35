package renew

import (
	"testing"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
)

func TestNextOrderStep(t *testing.T) {
	order := func(url string, state cmacme.State, cert string) *cmacme.Order {
		return &cmacme.Order{Status: cmacme.OrderStatus{URL: url, State: state, Certificate: []byte(cert)}}
	}
	tests := []struct {
		name  string
		order *cmacme.Order
		want  OrderStep
	}{
		{"no Order object yet", nil, OrderCreate},
		{"not placed at the CA yet", order("", "", ""), OrderPlace},
		{"placed, pending", order("u", cmacme.Pending, ""), OrderAuthorize},
		{"placed, state not read yet", order("u", "", ""), OrderAuthorize},
		{"every authorization valid", order("u", cmacme.Ready, ""), OrderFinalize},
		{"CA issuing", order("u", cmacme.Processing, ""), OrderPoll},
		{"valid, certificate not fetched", order("u", cmacme.Valid, ""), OrderDownload},
		{"valid, certificate kept", order("u", cmacme.Valid, "pem"), OrderIssued},
		{"invalid", order("u", cmacme.Invalid, ""), OrderFailed},
		{"expired", order("u", cmacme.Expired, ""), OrderFailed},
		{"errored before it was placed", order("", cmacme.Errored, ""), OrderFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NextOrderStep(tt.order); got != tt.want {
				t.Errorf("NextOrderStep = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestNextChallengeStep(t *testing.T) {
	tests := []struct {
		name   string
		status cmacme.ChallengeStatus
		want   ChallengeStep
	}{
		{"new", cmacme.ChallengeStatus{}, ChallengePresent},
		{"presented", cmacme.ChallengeStatus{Presented: true, State: cmacme.Pending}, ChallengeAccept},
		{"accepted", cmacme.ChallengeStatus{Presented: true, Processing: true}, ChallengePoll},
		{"valid", cmacme.ChallengeStatus{Presented: true, State: cmacme.Valid}, ChallengeCleanUp},
		{"invalid", cmacme.ChallengeStatus{Presented: true, State: cmacme.Invalid}, ChallengeCleanUp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NextChallengeStep(&cmacme.Challenge{Status: tt.status}); got != tt.want {
				t.Errorf("NextChallengeStep = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestPickSolver follows cert-manager's solver selection: the most specific
// matching selector wins (dnsNames, then the longest dnsZone, then the most
// matchLabels), ties go to the first listed, and a solver whose type the CA
// does not offer is never picked.
func TestPickSolver(t *testing.T) {
	dns := &cmacme.ACMEChallengeSolverDNS01{}
	http := &cmacme.ACMEChallengeSolverHTTP01{}
	sel := func(names, zones []string, labels map[string]string) *cmacme.CertificateDNSNameSelector {
		return &cmacme.CertificateDNSNameSelector{DNSNames: names, DNSZones: zones, MatchLabels: labels}
	}
	both := []string{"http-01", "dns-01"}
	tests := []struct {
		name     string
		solvers  []cmacme.ACMEChallengeSolver
		domain   string
		offered  []string
		labels   map[string]string
		want     int
		wantType string
	}{
		{"no solvers", nil, "a.example.com", both, nil, -1, ""},
		{"catch-all", []cmacme.ACMEChallengeSolver{{HTTP01: http}}, "a.example.com", both, nil, 0, "http-01"},
		{"type not offered", []cmacme.ACMEChallengeSolver{{HTTP01: http}}, "*.example.com", []string{"dns-01"}, nil, -1, ""},
		{"first catch-all wins a tie", []cmacme.ACMEChallengeSolver{{HTTP01: http}, {DNS01: dns}}, "a.example.com", both, nil, 0, "http-01"},
		{"a zone beats a catch-all", []cmacme.ACMEChallengeSolver{{HTTP01: http}, {DNS01: dns, Selector: sel(nil, []string{"example.com"}, nil)}}, "a.example.com", both, nil, 1, "dns-01"},
		{"the longer zone wins", []cmacme.ACMEChallengeSolver{
			{HTTP01: http, Selector: sel(nil, []string{"example.com"}, nil)},
			{DNS01: dns, Selector: sel(nil, []string{"sub.example.com"}, nil)},
		}, "a.sub.example.com", both, nil, 1, "dns-01"},
		{"a zone must match", []cmacme.ACMEChallengeSolver{{DNS01: dns, Selector: sel(nil, []string{"example.org"}, nil)}}, "a.example.com", both, nil, -1, ""},
		{"a zone does not match a longer label", []cmacme.ACMEChallengeSolver{{DNS01: dns, Selector: sel(nil, []string{"ample.com"}, nil)}}, "a.example.com", both, nil, -1, ""},
		{"a dnsName beats the longest zone", []cmacme.ACMEChallengeSolver{
			{DNS01: dns, Selector: sel(nil, []string{"a.example.com"}, nil)},
			{HTTP01: http, Selector: sel([]string{"a.example.com"}, nil, nil)},
		}, "a.example.com", both, nil, 1, "http-01"},
		{"wildcards are matched with their *.", []cmacme.ACMEChallengeSolver{
			{HTTP01: http, Selector: sel([]string{"example.com"}, nil, nil)},
			{DNS01: dns, Selector: sel([]string{"*.example.com"}, nil, nil)},
		}, "*.example.com", []string{"dns-01"}, nil, 1, "dns-01"},
		{"labels must all match", []cmacme.ACMEChallengeSolver{{DNS01: dns, Selector: sel(nil, nil, map[string]string{"team": "a", "env": "prod"})}}, "a.example.com", both, map[string]string{"team": "a"}, -1, ""},
		{"more labels win among equals", []cmacme.ACMEChallengeSolver{
			{HTTP01: http, Selector: sel(nil, nil, map[string]string{"team": "a"})},
			{DNS01: dns, Selector: sel(nil, nil, map[string]string{"team": "a", "env": "prod"})},
		}, "a.example.com", both, map[string]string{"team": "a", "env": "prod"}, 1, "dns-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, typ := PickSolver(tt.solvers, tt.domain, tt.offered, tt.labels)
			if got != tt.want || typ != tt.wantType {
				t.Errorf("PickSolver = %d %q, want %d %q", got, typ, tt.want, tt.wantType)
			}
		})
	}
}

// TestPlacementClaimed: a fresh claim on an Order without a URL holds off
// a second placement; an old, garbage or far-future claim, or an Order
// already placed, does not.
func TestPlacementClaimed(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	order := func(claim, url string) *cmacme.Order {
		o := &cmacme.Order{}
		if claim != "" {
			o.Annotations = map[string]string{AnnotationPlacing: claim}
		}
		o.Status.URL = url
		return o
	}
	tests := []struct {
		name  string
		order *cmacme.Order
		want  bool
	}{
		{"no order", nil, false},
		{"no claim", order("", ""), false},
		{"fresh claim", order(now.Add(-30*time.Second).Format(time.RFC3339), ""), true},
		{"claim just now", order(now.Format(time.RFC3339), ""), true},
		{"stale claim: the claimer stopped", order(now.Add(-PlacingClaimTTL).Format(time.RFC3339), ""), false},
		{"garbage claim", order("soon", ""), false},
		{"far-future claim", order(now.Add(time.Hour).Format(time.RFC3339), ""), false},
		{"already placed", order(now.Format(time.RFC3339), "https://ca/order/1"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PlacementClaimed(tt.order, now); got != tt.want {
				t.Fatalf("PlacementClaimed = %v, want %v", got, tt.want)
			}
		})
	}
}
