package acme_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	legoacme "github.com/go-acme/lego/v5/acme"

	"github.com/certsweep/certsweep/issuance/acme"
)

func TestClassify(t *testing.T) {
	caError := func(typ string, status int, retryAfter time.Duration) error {
		return &acme.Error{Op: "new order", Status: status, Problem: &acme.Problem{Type: typ, Detail: "d", Status: status}, RetryAfter: retryAfter, Err: errors.New("CA said no")}
	}
	compound := func(subs ...string) error {
		p := &acme.Problem{Type: acme.ProblemCompound, Status: 403}
		for _, s := range subs {
			p.Subproblems = append(p.Subproblems, acme.Subproblem{Type: s, Identifier: "a.example.com"})
		}
		return &acme.Error{Op: "new order", Status: 403, Problem: p, Err: errors.New("compound")}
	}
	tests := []struct {
		name       string
		err        error
		refused    bool
		retryAfter time.Duration
		problem    string // the problem's type, "" for none
	}{
		{"nil", nil, false, 0, ""},
		{"rejectedIdentifier", caError(acme.ProblemRejectedIdentifier, 400, 0), true, 0, acme.ProblemRejectedIdentifier},
		{"unauthorized", caError(acme.ProblemUnauthorized, 403, 0), true, 0, acme.ProblemUnauthorized},
		{"caa", caError(acme.ProblemCAA, 403, 0), true, 0, acme.ProblemCAA},
		{"badCSR", caError(acme.ProblemBadCSR, 400, 0), true, 0, acme.ProblemBadCSR},
		{"malformed", caError(acme.ProblemMalformed, 400, 0), true, 0, acme.ProblemMalformed},
		{"badPublicKey", caError(acme.ProblemBadPublicKey, 400, 0), true, 0, acme.ProblemBadPublicKey},
		{"badSignatureAlgorithm", caError(acme.ProblemBadSignatureAlgorithm, 400, 0), true, 0, acme.ProblemBadSignatureAlgorithm},
		{"accountDoesNotExist", caError(acme.ProblemAccountDoesNotExist, 400, 0), true, 0, acme.ProblemAccountDoesNotExist},
		{"externalAccountRequired", caError(acme.ProblemExternalAccountRequired, 400, 0), true, 0, acme.ProblemExternalAccountRequired},
		{"userActionRequired", caError(acme.ProblemUserActionRequired, 403, 0), true, 0, acme.ProblemUserActionRequired},
		{"unsupportedIdentifier", caError(acme.ProblemUnsupportedIdentifier, 400, 0), true, 0, acme.ProblemUnsupportedIdentifier},
		{"badRevocationReason", caError(acme.ProblemBadRevocationReason, 400, 0), true, 0, acme.ProblemBadRevocationReason},
		{"invalidProfile", caError(acme.ProblemInvalidProfile, 400, 0), true, 0, acme.ProblemInvalidProfile},
		{"invalidContact", caError(acme.ProblemInvalidContact, 400, 0), true, 0, acme.ProblemInvalidContact},
		{"unsupportedContact", caError(acme.ProblemUnsupportedContact, 400, 0), true, 0, acme.ProblemUnsupportedContact},
		{"alreadyRevoked", caError(acme.ProblemAlreadyRevoked, 400, 0), true, 0, acme.ProblemAlreadyRevoked},
		{"refusal with Retry-After keeps it", caError(acme.ProblemRejectedIdentifier, 400, time.Minute), true, time.Minute, acme.ProblemRejectedIdentifier},

		{"rateLimited", caError(acme.ProblemRateLimited, 429, 3*time.Hour), false, 3 * time.Hour, acme.ProblemRateLimited},
		{"rateLimited without Retry-After", caError(acme.ProblemRateLimited, 429, 0), false, 0, acme.ProblemRateLimited},
		{"serverInternal", caError(acme.ProblemServerInternal, 500, 0), false, 0, acme.ProblemServerInternal},
		{"503 with Retry-After", caError(acme.ProblemServerInternal, 503, 30*time.Second), false, 30 * time.Second, acme.ProblemServerInternal},
		{"badNonce", caError(acme.ProblemBadNonce, 400, 0), false, 0, acme.ProblemBadNonce},
		{"orderNotReady", caError(acme.ProblemOrderNotReady, 403, 0), false, 0, acme.ProblemOrderNotReady},
		{"alreadyReplaced", caError(acme.ProblemAlreadyReplaced, 409, 0), false, 0, acme.ProblemAlreadyReplaced},
		{"connection", caError(acme.ProblemConnection, 400, 0), false, 0, acme.ProblemConnection},
		{"unknown type", caError("urn:example:something", 400, 0), false, 0, "urn:example:something"},

		{"compound with a refusal", compound(acme.ProblemDNS, acme.ProblemCAA), true, 0, acme.ProblemCompound},
		{"compound without one", compound(acme.ProblemDNS, acme.ProblemConnection), false, 0, acme.ProblemCompound},

		{"invalid order", acme.Order{URL: "https://ca/order/1", Status: "invalid", Error: &acme.Problem{Type: acme.ProblemIncorrectResponse}}.Err(), true, 0, acme.ProblemIncorrectResponse},
		{"invalid order without a problem", acme.Order{Status: "invalid"}.Err(), true, 0, ""},
		{"invalid input", fmt.Errorf("setting up: %w", acme.ErrInvalidInput), true, 0, ""},
		{"no ARI", &acme.Error{Op: "get renewal info", Err: acme.ErrNoRenewalInfo}, false, 0, ""},

		{"wrapped twice", fmt.Errorf("job: %w", fmt.Errorf("issuer: %w", caError(acme.ProblemCAA, 403, 0))), true, 0, acme.ProblemCAA},
		{"lego problem, unwrapped", &legoacme.ProblemDetails{Type: acme.ProblemRejectedIdentifier, HTTPStatus: 400}, true, 0, acme.ProblemRejectedIdentifier},
		{"lego rate limit, unwrapped", &legoacme.RateLimitedError{ProblemDetails: &legoacme.ProblemDetails{Type: acme.ProblemRateLimited, HTTPStatus: 429}, RetryAfter: time.Hour}, false, time.Hour, acme.ProblemRateLimited},
		{"lego rate limit inside ours", &acme.Error{Op: "x", Status: 429, Problem: &acme.Problem{Type: acme.ProblemRateLimited}, Err: &legoacme.RateLimitedError{ProblemDetails: &legoacme.ProblemDetails{Type: acme.ProblemRateLimited}, RetryAfter: 2 * time.Hour}}, false, 2 * time.Hour, acme.ProblemRateLimited},

		{"network", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, false, 0, ""},
		{"timeout", &acme.Error{Op: "get order", Err: context.DeadlineExceeded}, false, 0, ""},
		{"cancelled", context.Canceled, false, 0, ""},
		{"plain", errors.New("something"), false, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			refused, retryAfter, problem := acme.Classify(tc.err)
			typ := ""
			if problem != nil {
				typ = problem.Type
			}
			if refused != tc.refused || retryAfter != tc.retryAfter || typ != tc.problem {
				t.Errorf("Classify(%v) = %v, %s, %q; want %v, %s, %q", tc.err, refused, retryAfter, typ, tc.refused, tc.retryAfter, tc.problem)
			}
		})
	}
}

func TestOrderErr(t *testing.T) {
	for _, status := range []string{"pending", "ready", "processing", "valid"} {
		if err := (acme.Order{Status: status}).Err(); err != nil {
			t.Errorf("Order{Status: %s}.Err() = %v, want nil", status, err)
		}
	}
	err := acme.Order{URL: "https://ca/order/1", Status: "invalid", Error: &acme.Problem{Type: acme.ProblemDNS, Detail: "no TXT record"}}.Err()
	if !errors.Is(err, acme.ErrOrderInvalid) {
		t.Fatalf("Err() = %v, want ErrOrderInvalid", err)
	}
	if want := "acme: order: order is invalid: " + acme.ProblemDNS + ": no TXT record"; err.Error() != want {
		t.Errorf("Err() = %q, want %q", err, want)
	}
}
