package harness

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

func request(method, path, query string) *Request {
	return classify(&http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: query}})
}

func TestFaultRuleMatches(t *testing.T) {
	const (
		certs     = "/apis/cert-manager.io/v1/namespaces/ns/certificates"
		crtStatus = "/apis/cert-manager.io/v1/namespaces/ns/certificates/web/status"
		secrets   = "/api/v1/namespaces/ns/secrets"
	)
	for _, tc := range []struct {
		name             string
		rule             FaultRule
		method, path, qs string
		want             bool
	}{
		{"any rule, list", FaultRule{Kind: FaultInternalError}, "GET", certs, "", true},
		{"never watch", FaultRule{Kind: FaultInternalError}, "GET", certs, "watch=true", false},
		{"never discovery", FaultRule{Kind: FaultInternalError}, "GET", "/apis", "", false},
		{"verb list", FaultRule{Kind: FaultInternalError, Verbs: []string{VerbList}}, "GET", certs, "", true},
		{"verb get is not list", FaultRule{Kind: FaultInternalError, Verbs: []string{VerbGet}}, "GET", certs, "", false},
		{"verb case-insensitive", FaultRule{Kind: FaultInternalError, Verbs: []string{"create"}}, "POST", secrets, "", true},
		{"plain resource", FaultRule{Kind: FaultInternalError, Resources: []string{"certificates"}}, "GET", certs, "", true},
		{"qualified resource", FaultRule{Kind: FaultInternalError, Resources: []string{"certificates.cert-manager.io"}}, "GET", certs, "", true},
		{"other group", FaultRule{Kind: FaultInternalError, Resources: []string{"certificates.example.com"}}, "GET", certs, "", false},
		{"main resource excludes status", FaultRule{Kind: FaultInternalError, Resources: []string{"certificates"}}, "PUT", crtStatus, "", false},
		{"status subresource", FaultRule{Kind: FaultInternalError, Resources: []string{"certificates/status"}}, "PUT", crtStatus, "", true},
		{"status excludes main", FaultRule{Kind: FaultInternalError, Resources: []string{"certificates/status"}}, "GET", certs, "", false},
		{"resource wildcard subresource", FaultRule{Kind: FaultInternalError, Resources: []string{"certificates/*"}}, "PUT", crtStatus, "", true},
		{"star", FaultRule{Kind: FaultInternalError, Resources: []string{"*"}}, "PUT", crtStatus, "", true},
		{"other resource", FaultRule{Kind: FaultInternalError, Resources: []string{"secrets"}}, "GET", certs, "", false},
		{"conflict on write", FaultRule{Kind: FaultConflict}, "PATCH", crtStatus, "", true},
		{"conflict never on read", FaultRule{Kind: FaultConflict}, "GET", certs, "", false},
		{"expired needs continue", FaultRule{Kind: FaultExpiredContinue}, "GET", certs, "limit=1", false},
		{"expired on continue", FaultRule{Kind: FaultExpiredContinue}, "GET", certs, "limit=1&continue=abc", true},
		{"expired only on list", FaultRule{Kind: FaultExpiredContinue}, "DELETE", certs, "continue=abc", false},
	} {
		req := request(tc.method, tc.path, tc.qs)
		hasContinue := (&url.URL{RawQuery: tc.qs}).Query().Get("continue") != ""
		if got := tc.rule.matches(req, hasContinue); got != tc.want {
			t.Errorf("%s: %s %s?%s: got %v, want %v", tc.name, tc.method, tc.path, tc.qs, got, tc.want)
		}
	}
}

func TestFaultRuleValidate(t *testing.T) {
	for _, r := range []FaultRule{
		{Kind: "Nope", Rate: 1},
		{Kind: FaultInternalError}, // Rate 0 would never fire
		{Kind: FaultInternalError, Rate: 1.5},
		{Kind: FaultInternalError, Rate: 1, Max: -1},
	} {
		if err := r.validate(); err == nil {
			t.Errorf("%+v: want a validation error", r)
		}
	}
	if err := (FaultRule{Kind: FaultSlow, Rate: 0.5}).validate(); err != nil {
		t.Errorf("valid rule: %v", err)
	}
}

// decisions feeds the same request sequence to a proxy's decision logic (no
// network involved) and returns which requests were faulted.
func decisions(seed uint64, rules ...FaultRule) []int {
	p := &FaultProxy{stats: FaultStats{Faults: map[FaultKind]int{}}}
	p.SetSeed(seed)
	p.SetRules(rules...)
	var faulted []int
	for i := range 200 {
		req := request("POST", "/api/v1/namespaces/ns/secrets", "")
		if _, _, ok := p.decide(req, false); ok {
			faulted = append(faulted, i)
		}
	}
	return faulted
}

// TestFaultProxyDecisionsDeterministic checks that Rate decisions depend only
// on the seed and the request order, and that Max caps a rule.
func TestFaultProxyDecisionsDeterministic(t *testing.T) {
	rule := FaultRule{Kind: FaultResetAfterForward, Rate: 0.3}
	a, b := decisions(42, rule), decisions(42, rule)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different decisions:\n%v\n%v", a, b)
	}
	if len(a) == 0 || len(a) == 200 {
		t.Errorf("rate 0.3 faulted %d of 200 requests", len(a))
	}
	if c := decisions(43, rule); slices.Equal(a, c) {
		t.Errorf("seeds 42 and 43 gave identical decisions %v", a)
	}
	capped := rule
	capped.Max = 3
	if got := decisions(42, capped); !slices.Equal(got, a[:3]) {
		t.Errorf("Max 3: got %v, want the first three of %v", got, a)
	}
	// A rate-1 rule in front takes request 0 without a draw, so the
	// fractional rule sees the same draws, one request later.
	first := FaultRule{Kind: FaultInternalError, Rate: 1, Max: 1}
	want := []int{0}
	for _, i := range a {
		if i+1 < 200 {
			want = append(want, i+1)
		}
	}
	if got := decisions(42, first, rule); !slices.Equal(got, want) {
		t.Errorf("rate-1 rule first: got %v, want %v", got, want)
	}
}
