package acme

import (
	"errors"
	"strings"
	"time"

	legoacme "github.com/go-acme/lego/v5/acme"
)

// Problem is an RFC 7807 problem document as the CA sent it, either as an
// error response or inside an order, authorization or challenge.
type Problem struct {
	// Type is e.g. "urn:ietf:params:acme:error:rejectedIdentifier".
	Type   string
	Detail string
	// Status is the HTTP status the document carries (or the response's,
	// when it carries none); 0 inside objects that had none.
	Status int
	// Instance is a URL for a person to visit (userActionRequired).
	Instance string
	// Subproblems are the per-identifier problems of a compound problem
	// (RFC 8555 §6.7.1).
	Subproblems []Subproblem
}

// Subproblem is one entry of a problem's "subproblems".
type Subproblem struct {
	Type, Detail string
	// Identifier is the identifier value the subproblem is about, if any.
	Identifier string
}

// ACME error types, as in the IANA registry (RFC 8555 §6.7, RFC 9773, the
// profiles draft).
const (
	errNS = "urn:ietf:params:acme:error:"

	ProblemAccountDoesNotExist     = errNS + "accountDoesNotExist"
	ProblemAlreadyReplaced         = errNS + "alreadyReplaced"
	ProblemAlreadyRevoked          = errNS + "alreadyRevoked"
	ProblemBadCSR                  = errNS + "badCSR"
	ProblemBadNonce                = errNS + "badNonce"
	ProblemBadPublicKey            = errNS + "badPublicKey"
	ProblemBadRevocationReason     = errNS + "badRevocationReason"
	ProblemBadSignatureAlgorithm   = errNS + "badSignatureAlgorithm"
	ProblemCAA                     = errNS + "caa"
	ProblemCompound                = errNS + "compound"
	ProblemConnection              = errNS + "connection"
	ProblemDNS                     = errNS + "dns"
	ProblemExternalAccountRequired = errNS + "externalAccountRequired"
	ProblemIncorrectResponse       = errNS + "incorrectResponse"
	ProblemInvalidContact          = errNS + "invalidContact"
	ProblemInvalidProfile          = errNS + "invalidProfile"
	ProblemMalformed               = errNS + "malformed"
	ProblemOrderNotReady           = errNS + "orderNotReady"
	ProblemRateLimited             = errNS + "rateLimited"
	ProblemRejectedIdentifier      = errNS + "rejectedIdentifier"
	ProblemServerInternal          = errNS + "serverInternal"
	ProblemTLS                     = errNS + "tls"
	ProblemUnauthorized            = errNS + "unauthorized"
	ProblemUnsupportedContact      = errNS + "unsupportedContact"
	ProblemUnsupportedIdentifier   = errNS + "unsupportedIdentifier"
	ProblemUserActionRequired      = errNS + "userActionRequired"
)

// refusals are the problem types retrying the same request cannot fix soon:
// the CA will not issue for the names, the request or account is wrong, or
// a person must act.
var refusals = map[string]bool{
	ProblemAccountDoesNotExist:     true,
	ProblemAlreadyRevoked:          true,
	ProblemBadCSR:                  true,
	ProblemBadPublicKey:            true,
	ProblemBadRevocationReason:     true,
	ProblemBadSignatureAlgorithm:   true,
	ProblemCAA:                     true,
	ProblemExternalAccountRequired: true,
	ProblemInvalidContact:          true,
	ProblemInvalidProfile:          true,
	ProblemMalformed:               true,
	ProblemRejectedIdentifier:      true,
	ProblemUnauthorized:            true,
	ProblemUnsupportedContact:      true,
	ProblemUnsupportedIdentifier:   true,
	ProblemUserActionRequired:      true,
}

// Sentinels a Client's errors wrap (test with errors.Is).
var (
	// ErrOrderInvalid: the order is invalid (an authorization failed, or
	// finalization did); it can never be finalized and a new order is
	// needed. Order.Err and Finalize return it; Classify calls it refused.
	ErrOrderInvalid = errors.New("order is invalid")
	// ErrInvalidInput: the call or the configuration is wrong before
	// anything is asked of the CA (an unsupported account key, a caBundle
	// with no certificate, an EAB key that is not base64url, no account
	// URL yet). Classify calls it refused: retrying cannot fix it.
	ErrInvalidInput = errors.New("invalid input")
	// ErrNoRenewalInfo: the CA's directory has no renewalInfo (ARI).
	ErrNoRenewalInfo = errors.New("the ACME server does not offer renewal information (ARI)")
)

// Error is the error every Client call returns: what was being done, the
// URL, and what the CA answered. It never holds key material.
type Error struct {
	// Op names the step, e.g. "new order", "finalize".
	Op string
	// URL is the URL asked, when there was one.
	URL string
	// Status is the HTTP status of the CA's error response; 0 when there
	// was none (network error, decoding error, invalid order).
	Status int
	// Problem is the CA's problem document, if it sent one; for
	// ErrOrderInvalid, the order's error.
	Problem *Problem
	// RetryAfter is the Retry-After of the CA's error response, 0 if none.
	RetryAfter time.Duration
	// Err is the underlying error.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("acme: ")
	b.WriteString(e.Op)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if errors.Is(e.Err, ErrOrderInvalid) && e.Problem != nil {
		b.WriteString(": ")
		b.WriteString(e.Problem.Type)
		if e.Problem.Detail != "" {
			b.WriteString(": ")
			b.WriteString(e.Problem.Detail)
		}
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// wrap makes err an *Error for op on url, adding what rec saw of the CA's
// answer (its status and Retry-After) and the problem document lego parsed.
func wrap(op, url string, rec *recorder, err error) error {
	if err == nil {
		return nil
	}
	e := &Error{Op: op, URL: url, Err: err}
	if pd, ok := errors.AsType[*legoacme.ProblemDetails](err); ok {
		e.Problem = problemFrom(pd)
		e.Status = pd.HTTPStatus
	}
	if rec != nil {
		if ex, ok := rec.last(); ok && ex.status >= 400 {
			if e.Status == 0 {
				e.Status = ex.status
			}
			e.RetryAfter = ex.retryAfter
		}
	}
	if rl, ok := errors.AsType[*legoacme.RateLimitedError](err); ok && rl.RetryAfter > e.RetryAfter {
		e.RetryAfter = min(rl.RetryAfter, maxRetryAfter)
	}
	return e
}

// invalidInput is an *Error wrapping ErrInvalidInput.
func invalidInput(op, msg string) error {
	return &Error{Op: op, Err: errors.Join(ErrInvalidInput, errors.New(msg))}
}

func problemFrom(pd *legoacme.ProblemDetails) *Problem {
	if pd == nil {
		return nil
	}
	p := &Problem{Type: pd.Type, Detail: pd.Detail, Status: pd.HTTPStatus, Instance: pd.Instance}
	for _, sub := range pd.SubProblems {
		p.Subproblems = append(p.Subproblems, Subproblem{Type: sub.Type, Detail: sub.Detail, Identifier: sub.Identifier.Value})
	}
	return p
}

// Classify says what an error from this client means for retrying.
//
// refused is true for CA refusals retrying cannot fix soon: the problem
// types rejectedIdentifier, unauthorized, caa, badCSR, malformed,
// badPublicKey, badSignatureAlgorithm, accountDoesNotExist,
// externalAccountRequired, userActionRequired, unsupportedIdentifier,
// unsupportedContact, invalidContact, invalidProfile, badRevocationReason
// and alreadyRevoked; a compound problem with any such subproblem; an
// invalid order (ErrOrderInvalid); and ErrInvalidInput. It is false for
// everything else: network errors, timeouts, 5xx, rateLimited,
// serverInternal, badNonce (after lego's own retries), orderNotReady,
// unknown problem types, and answers that did not decode.
//
// retryAfter is the server's Retry-After when it sent one with the error
// (rateLimited always gets at least that), else 0. problem is the CA's
// problem document, if there was one.
func Classify(err error) (refused bool, retryAfter time.Duration, problem *Problem) {
	if err == nil {
		return false, 0, nil
	}
	if e, ok := errors.AsType[*Error](err); ok {
		problem, retryAfter = e.Problem, e.RetryAfter
	} else if pd, ok := errors.AsType[*legoacme.ProblemDetails](err); ok {
		problem = problemFrom(pd)
	}
	if rl, ok := errors.AsType[*legoacme.RateLimitedError](err); ok && rl.RetryAfter > retryAfter {
		retryAfter = min(rl.RetryAfter, maxRetryAfter)
	}
	switch {
	case errors.Is(err, ErrOrderInvalid), errors.Is(err, ErrInvalidInput):
		refused = true
	case problem != nil:
		refused = problem.refusal()
	}
	return refused, retryAfter, problem
}

// refusal reports whether p is one of the refusals, or a compound problem
// holding one.
func (p *Problem) refusal() bool {
	if refusals[p.Type] {
		return true
	}
	if p.Type == ProblemCompound {
		for _, sub := range p.Subproblems {
			if refusals[sub.Type] {
				return true
			}
		}
	}
	return false
}
