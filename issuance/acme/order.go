package acme

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	legoacme "github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/acme/api"
)

// Order is an ACME order as the CA last described it.
type Order struct {
	// URL is the order's URL: what a later process stores to look again.
	URL string
	// Status is pending, ready, processing, valid or invalid.
	Status         string
	FinalizeURL    string
	CertificateURL string
	// Identifiers are the DNS names and IP addresses as the CA lists them.
	Identifiers []string
	// Authorizations are the authorization URLs.
	Authorizations []string
	// Error is the order's error, when it is invalid.
	Error *Problem

	// Profile is the profile the CA says the order uses ("" if it says
	// none).
	Profile string
	// Replaces is the CertID of the certificate the CA says the order
	// replaces (RFC 9773), if it says so.
	Replaces string
	// Expires is when the CA will drop the order, zero if not said.
	Expires time.Time
	// ReplacesDropped is set by NewOrder when it was asked for a replaces
	// but placed the order without one: because the CA answered
	// alreadyReplaced (the predecessor was already replaced by another
	// order, RFC 9773 §5) and the order was placed again without it, or
	// because the CA does not offer ARI.
	ReplacesDropped bool
	// RetryAfter is the response's Retry-After (the CA's hint of when to
	// look again at a pending or processing order), 0 if none.
	RetryAfter time.Duration
}

// Err is nil unless the order is invalid; then it is an *Error wrapping
// ErrOrderInvalid with the order's problem, which Classify calls refused.
func (o Order) Err() error {
	if o.Status != legoacme.StatusInvalid {
		return nil
	}
	return &Error{Op: "order", URL: o.URL, Problem: o.Error, Err: ErrOrderInvalid}
}

// OrderOptions are newOrder's optional fields.
type OrderOptions struct {
	// Profile names one of the directory's profiles; "" for the CA's
	// default.
	Profile string
	// Replaces is the ARI CertID (see CertID) of the certificate the order
	// replaces; "" for none. Sent only when the CA offers ARI.
	Replaces string
	// NotBefore and NotAfter request the certificate's validity (what
	// cert-manager's enableDurationFeature sends); zero for none.
	NotBefore, NotAfter time.Time
}

// NewOrder places an order for names (DNS names or IP addresses) with an
// optional profile and replaces (see OrderOptions). See NewOrderOptions.
func (c *Client) NewOrder(ctx context.Context, names []string, profile, replaces string) (Order, error) {
	return c.NewOrderOptions(ctx, names, OrderOptions{Profile: profile, Replaces: replaces})
}

// NewOrderOptions places an order for names. IP addresses are sent as "ip"
// identifiers in their canonical form; duplicates are dropped. When the CA
// answers alreadyReplaced, the order is placed once more without replaces
// and the returned Order says ReplacesDropped. An order whose identifiers
// differ from those asked is an error.
func (c *Client) NewOrderOptions(ctx context.Context, names []string, opts OrderOptions) (Order, error) {
	const op = "new order"
	core := c.lego()
	url := core.GetDirectory().NewOrderURL
	if len(names) == 0 {
		return Order{}, invalidInput(op, "no names to order")
	}
	idents := make([]string, 0, len(names))
	for _, name := range names {
		name = strings.TrimSpace(name)
		if name == "" {
			return Order{}, invalidInput(op, "an empty name")
		}
		if addr, err := netip.ParseAddr(name); err == nil {
			name = addr.WithZone("").String()
		}
		idents = append(idents, name)
	}
	ctx, rec := record(ctx, op)
	ext, err := core.Orders.New(ctx, idents, &api.OrderOptions{
		Profile:        opts.Profile,
		ReplacesCertID: opts.Replaces,
		NotBefore:      opts.NotBefore,
		NotAfter:       opts.NotAfter,
	})
	if err != nil {
		return Order{}, wrap(op, url, rec, err)
	}
	if ext.Location == "" {
		return Order{}, &Error{Op: op, URL: url, Err: errors.New("the CA sent no order URL (Location)")}
	}
	o := orderFrom(ext.Location, ext.Order, rec)
	o.ReplacesDropped = opts.Replaces != "" && (!c.SupportsRenewalInfo() || rec.sawStatus(http.StatusConflict))
	return o, nil
}

// GetOrder fetches the order at url.
func (c *Client) GetOrder(ctx context.Context, url string) (Order, error) {
	const op = "get order"
	ctx, rec := record(ctx, op)
	ext, err := c.lego().Orders.Get(ctx, url)
	if err != nil {
		return Order{}, wrap(op, url, rec, err)
	}
	return orderFrom(url, ext.Order, rec), nil
}

// Finalize sends the CSR (DER) to the order's finalize URL and returns the
// order as the CA then describes it: processing or valid, usually. Its URL
// is the response's Location, which CAs normally send; "" otherwise (use
// the URL stored from NewOrder). When the CA answers with an invalid order
// (it refused the CSR after all), Finalize returns that order and an error
// wrapping ErrOrderInvalid.
func (c *Client) Finalize(ctx context.Context, finalizeURL string, csrDER []byte) (Order, error) {
	const op = "finalize order"
	if len(csrDER) == 0 {
		return Order{}, invalidInput(op, "no CSR")
	}
	ctx, rec := record(ctx, op)
	ext, err := c.lego().Orders.UpdateForCSR(ctx, finalizeURL, csrDER)
	if err != nil {
		// lego turns a 200 answer holding an invalid order into an error
		// and drops the order.
		if last, ok := rec.last(); ok && last.status < 400 && strings.HasPrefix(err.Error(), "invalid order") {
			o := Order{URL: last.location, Status: legoacme.StatusInvalid, FinalizeURL: finalizeURL}
			if pd, ok := errors.AsType[*legoacme.ProblemDetails](err); ok {
				o.Error = problemFrom(pd)
			}
			return o, &Error{Op: op, URL: finalizeURL, Problem: o.Error, Err: ErrOrderInvalid}
		}
		return Order{}, wrap(op, finalizeURL, rec, err)
	}
	var location string
	if last, ok := rec.last(); ok {
		location = last.location
	}
	return orderFrom(location, ext.Order, rec), nil
}

func orderFrom(url string, o legoacme.Order, rec *recorder) Order {
	out := Order{
		URL:            url,
		Status:         o.Status,
		FinalizeURL:    o.Finalize,
		CertificateURL: o.Certificate,
		Authorizations: o.Authorizations,
		Error:          problemFrom(o.Error),
		Profile:        o.Profile,
		Replaces:       o.Replaces,
		Expires:        parseTime(o.Expires),
	}
	for _, id := range o.Identifiers {
		out.Identifiers = append(out.Identifiers, id.Value)
	}
	out.RetryAfter = lastRetryAfter(rec)
	return out
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func lastRetryAfter(rec *recorder) time.Duration {
	if last, ok := rec.last(); ok {
		return last.retryAfter
	}
	return 0
}

// Authorization is an ACME authorization: proof of control of one
// identifier.
type Authorization struct {
	URL string
	// Status is pending, valid, invalid, deactivated, expired or revoked.
	Status string
	// Identifier is the identifier's value as the CA lists it: for a
	// wildcard name, without the "*." (and Wildcard is set).
	Identifier string
	Wildcard   bool
	Challenges []Challenge

	// IdentifierType is "dns" or "ip".
	IdentifierType string
	// Expires is when the authorization expires, zero if not said.
	Expires time.Time
	// RetryAfter is the response's Retry-After, 0 if none.
	RetryAfter time.Duration
}

// Challenge returns the authorization's first challenge of type typ
// ("dns-01", "http-01", ...).
func (a Authorization) Challenge(typ string) (Challenge, bool) {
	for _, ch := range a.Challenges {
		if ch.Type == typ {
			return ch, true
		}
	}
	return Challenge{}, false
}

// Challenge is one way to prove control of an authorization's identifier.
type Challenge struct {
	URL string
	// Type is "http-01", "dns-01", "tls-alpn-01", ...
	Type  string
	Token string
	// Status is pending, processing, valid or invalid.
	Status string
	// Error is why validation failed, when it did.
	Error *Problem

	// Validated is when the CA validated the challenge, zero if not said.
	Validated time.Time
	// RetryAfter is the response's Retry-After, 0 if none.
	RetryAfter time.Duration
}

// GetAuthorization fetches the authorization at url.
func (c *Client) GetAuthorization(ctx context.Context, url string) (Authorization, error) {
	const op = "get authorization"
	ctx, rec := record(ctx, op)
	authz, err := c.lego().Authorizations.Get(ctx, url)
	if err != nil {
		return Authorization{}, wrap(op, url, rec, err)
	}
	out := Authorization{
		URL:            url,
		Status:         authz.Status,
		Identifier:     authz.Identifier.Value,
		IdentifierType: authz.Identifier.Type,
		Wildcard:       authz.Wildcard,
		Expires:        authz.Expires,
		RetryAfter:     lastRetryAfter(rec),
	}
	for _, ch := range authz.Challenges {
		out.Challenges = append(out.Challenges, challengeFrom(ch, 0))
	}
	return out, nil
}

func challengeFrom(ch legoacme.Challenge, retryAfter time.Duration) Challenge {
	return Challenge{
		URL:        ch.URL,
		Type:       ch.Type,
		Token:      ch.Token,
		Status:     ch.Status,
		Error:      problemFrom(ch.Error),
		Validated:  ch.Validated,
		RetryAfter: retryAfter,
	}
}

// AcceptChallenge tells the CA the challenge at url is ready to be
// validated (POSTs {}), and returns the challenge as the CA then describes
// it. Accepting a challenge already processing or valid is harmless.
func (c *Client) AcceptChallenge(ctx context.Context, url string) (Challenge, error) {
	const op = "accept challenge"
	ctx, rec := record(ctx, op)
	ch, err := c.lego().Challenges.New(ctx, url)
	if err != nil {
		return Challenge{}, wrap(op, url, rec, err)
	}
	return challengeFrom(ch.Challenge, ch.RetryAfter), nil
}

// GetChallenge fetches the challenge at url.
func (c *Client) GetChallenge(ctx context.Context, url string) (Challenge, error) {
	const op = "get challenge"
	ctx, rec := record(ctx, op)
	ch, err := c.lego().Challenges.Get(ctx, url)
	if err != nil {
		return Challenge{}, wrap(op, url, rec, err)
	}
	return challengeFrom(ch.Challenge, ch.RetryAfter), nil
}

// KeyAuthorization returns token + "." + the account key's JWK thumbprint
// (RFC 8555 §8.1): what HTTP-01 serves, and what DNS01Value hashes.
func (c *Client) KeyAuthorization(token string) (string, error) {
	const op = "key authorization"
	if token == "" || strings.Trim(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return "", &Error{Op: op, Err: fmt.Errorf("challenge token %.64q is not base64url", token)}
	}
	ka, err := c.lego().GetKeyAuthorization(token)
	if err != nil {
		return "", &Error{Op: op, Err: err}
	}
	return ka, nil
}

// DNS01Value is the TXT record value for a DNS-01 challenge:
// base64url(SHA-256(keyAuthorization)), without padding (RFC 8555 §8.4).
func DNS01Value(keyAuthorization string) string {
	sum := sha256.Sum256([]byte(keyAuthorization))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
