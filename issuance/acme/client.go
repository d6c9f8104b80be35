package acme

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	legoacme "github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/acme/api"
)

// Config is how to reach the ACME server: an Issuer's spec.acme.server,
// caBundle and skipTLSVerify.
type Config struct {
	DirectoryURL string
	// CABundle is the PEM roots to trust for the ACME server's HTTPS
	// (spec.acme.caBundle); nil means the system roots. When set, only
	// these roots are trusted, and a bundle without a certificate is an
	// error (cert-manager would fall back to the system roots).
	CABundle      []byte
	SkipTLSVerify bool
	// UserAgent goes first in every request's User-Agent (lego appends its
	// own); Pebble rejects requests without one. Default "certsweep".
	UserAgent string
	// Timeout bounds each HTTP request; default 30s.
	Timeout time.Duration
	// WrapTransport, when set, wraps the transport every request to the CA
	// goes through, retries and nonce fetches included (metrics count
	// there; see Action). nil leaves it as it is.
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

// EAB is an external account binding: the key ID and the HMAC key, base64url
// encoded as in the Issuer's Secret (padding optional).
type EAB struct{ KeyID, HMACKey string }

// Client is one account's view of one ACME server. Every method is one step
// (one request, plus lego's nonce fetches and badNonce retries); nothing
// waits for the CA. A Client is safe for concurrent use.
type Client struct {
	core      atomic.Pointer[api.Core]
	cfg       Config
	key       crypto.Signer
	transport *recordingTransport
}

// lego returns the lego core the client signs with.
func (c *Client) lego() *api.Core { return c.core.Load() }

// newCore fetches the directory and makes a lego core signing as kid
// ("" = with the JWK). Each core gets its own http.Client around the shared
// transport: lego wraps the client's Transport in place.
func newCore(ctx context.Context, cfg Config, transport *recordingTransport, key crypto.Signer, kid string) (*api.Core, error) {
	type result struct {
		core *api.Core
		err  error
	}
	done := make(chan result, 1)
	go func() {
		hc := &http.Client{Transport: transport, Timeout: cfg.Timeout}
		core, err := api.New(hc, cfg.UserAgent, cfg.DirectoryURL, kid, key)
		done <- result{core, err}
	}()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-done:
		return r.core, r.err
	}
}

// New fetches the directory at cfg.DirectoryURL and returns a client that
// signs with accountKey (RSA, or ECDSA P-256 or P-384) as the account at
// accountURL ("" when not known yet: Register finds it).
//
// lego fetches the directory without a context; New returns as soon as ctx
// is done, and the abandoned fetch ends within cfg.Timeout.
func New(ctx context.Context, cfg Config, accountKey crypto.Signer, accountURL string) (*Client, error) {
	const op = "new client"
	if cfg.DirectoryURL == "" {
		return nil, invalidInput(op, "no directory URL")
	}
	if err := checkAccountKey(accountKey); err != nil {
		return nil, invalidInput(op, err.Error())
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "certsweep"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	httpClient, err := newHTTPClient(cfg)
	if err != nil {
		return nil, invalidInput(op, err.Error())
	}
	transport := httpClient.Transport.(*recordingTransport)
	core, err := newCore(ctx, cfg, transport, accountKey, accountURL)
	if err != nil {
		transport.CloseIdleConnections()
		return nil, wrap(op, cfg.DirectoryURL, nil, err)
	}
	c := &Client{cfg: cfg, key: accountKey, transport: transport}
	c.core.Store(core)
	return c, nil
}

// checkAccountKey accepts the keys lego can sign a JWS with.
func checkAccountKey(key crypto.Signer) error {
	if key == nil {
		return fmt.Errorf("no account key")
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("RSA account key of %d bits is too short (2048 at least)", k.N.BitLen())
		}
		return nil
	case *ecdsa.PrivateKey:
		if k.Curve == elliptic.P256() || k.Curve == elliptic.P384() {
			return nil
		}
		return fmt.Errorf("ECDSA account key on curve %s is not supported (P-256 or P-384)", k.Curve.Params().Name)
	}
	return fmt.Errorf("account key of type %T is not supported (RSA or ECDSA P-256/P-384)", key)
}

// Close releases the client's idle connections.
func (c *Client) Close() { c.transport.CloseIdleConnections() }

// AccountURL returns the account URL the client signs as ("" before
// Register when New was given none).
func (c *Client) AccountURL() string { return c.lego().GetKID() }

// Register sends newAccount with termsOfServiceAgreed, the email as a
// mailto: contact (lower-cased, as cert-manager does; none when email is
// "") and the external account binding when eab is not nil. The CA answers
// with the existing account for a known key (and leaves its contact
// alone: see UpdateEmail), so Register is idempotent. It returns the
// account URL and makes the client sign as that account from then on.
//
// newAccount must be signed with the key itself, not an account URL; a
// client made with an account URL fetches the directory once more for it.
func (c *Client) Register(ctx context.Context, email string, eab *EAB) (accountURL string, err error) {
	const op = "register account"
	core := c.lego()
	url := core.GetDirectory().NewAccountURL
	if core.GetKID() != "" {
		if core, err = newCore(ctx, c.cfg, c.transport, c.key, ""); err != nil {
			return "", wrap(op, c.cfg.DirectoryURL, nil, err)
		}
	}
	req := legoacme.Account{TermsOfServiceAgreed: true, Contact: contact(email)}
	ctx, rec := record(ctx, op)
	var acct legoacme.ExtendedAccount
	if eab != nil {
		if eab.KeyID == "" || eab.HMACKey == "" {
			return "", invalidInput(op, "external account binding needs a key ID and an HMAC key")
		}
		acct, err = core.Accounts.NewEAB(ctx, req, eab.KeyID, eab.HMACKey)
		if err != nil && strings.Contains(err.Error(), "could not decode hmac key") {
			// lego's message names the failing position only, never the key.
			return "", invalidInput(op, "the EAB HMAC key is not base64url")
		}
	} else {
		acct, err = core.Accounts.New(ctx, req)
	}
	if err != nil {
		return "", wrap(op, url, rec, err)
	}
	if acct.Location == "" {
		return "", &Error{Op: op, URL: url, Err: fmt.Errorf("the CA sent no account URL (Location)")}
	}
	// core now signs as the account (lego set its kid from Location).
	c.core.Store(core)
	return acct.Location, nil
}

// UpdateEmail sets the account's contact to email (lower-cased). For ""
// it sends an update without a contact, as cert-manager does (its client
// and lego both omit an empty contact list), which leaves the CA's contact
// as it was.
func (c *Client) UpdateEmail(ctx context.Context, email string) error {
	const op = "update account"
	kid := c.lego().GetKID()
	if kid == "" {
		return invalidInput(op, "no account URL: call Register first")
	}
	ctx, rec := record(ctx, op)
	_, err := c.lego().Accounts.Update(ctx, kid, legoacme.Account{Contact: contact(email)})
	return wrap(op, kid, rec, err)
}

func contact(email string) []string {
	if email == "" {
		return nil
	}
	return []string{"mailto:" + strings.ToLower(email)}
}

// SupportsRenewalInfo reports whether the directory offers ARI
// (renewalInfo, RFC 9773).
func (c *Client) SupportsRenewalInfo() bool { return c.lego().GetDirectory().RenewalInfo != "" }

// Profiles returns the directory's meta.profiles: profile name to
// description. It is nil when the CA offers none.
func (c *Client) Profiles() map[string]string {
	return maps.Clone(c.lego().GetDirectory().Meta.Profiles)
}

// TermsOfService returns the directory's meta.termsOfService URL, if any.
func (c *Client) TermsOfService() string { return c.lego().GetDirectory().Meta.TermsOfService }

// ExternalAccountRequired reports whether the directory says newAccount
// needs an external account binding.
func (c *Client) ExternalAccountRequired() bool {
	return c.lego().GetDirectory().Meta.ExternalAccountRequired
}
