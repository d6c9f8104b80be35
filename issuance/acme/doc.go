// Package acme is certsweep's client of ACME CAs (RFC 8555): accounts,
// orders, authorizations, challenges, finalization, certificate download,
// and renewal information (ARI, RFC 9773). It talks to CAs only; it never
// calls the Kubernetes API (job/ does) and never decides anything (renew/
// does).
//
// # One step per call
//
// certsweep is a stateless job: a run may end at any point and the next
// run, in another process, carries on. So every method here is one step
// (one request to the CA, plus nonce fetches and badNonce retries) and
// nothing waits for the CA to finish anything. All a later process needs is
// a URL or a value the caller stores: the account URL (Register), the order
// URL (Order.URL), authorization and challenge URLs, the finalize and
// certificate URLs, and the account key, which the caller keeps.
// Polling — when to look at a pending order again — is the caller's, with
// the CA's Retry-After hints (Order.RetryAfter, Authorization.RetryAfter,
// Challenge.RetryAfter, RenewalWindow.RetryAfter) to go by.
//
// # Why lego's acme/api
//
// The protocol is spoken by github.com/go-acme/lego/v5/acme/api, which does
// exactly one HTTP exchange per call, signs JWS with the account key
// (JWK for newAccount, kid afterwards), manages nonces and retries badNonce
// itself, and has ARI (GetRenewalInfo, MakeARICertID, newOrder's replaces)
// and profiles (OrderOptions.Profile). The alternatives fall short:
// golang.org/x/crypto/acme (and cert-manager's fork of it) has neither ARI
// nor profiles; github.com/mholt/acmez's FinalizeOrder blocks, polling
// until the certificate is issued, which a job that may be stopped at any
// time cannot use. Only lego's acme and acme/api packages are imported
// (lego's module root pulls in DNS provider dependencies certsweep does
// not want).
//
// lego's API hides a few things a resumable client needs; this package
// gets them back:
//
//   - Response headers: lego drops Retry-After (except on rateLimited),
//     the Location of a finalize answer and the Link headers of a
//     certificate. The client's HTTP transport records them for the call
//     that made the request (through the request's context).
//   - alreadyReplaced: lego places the order again without replaces and
//     says nothing; NewOrder reports it in Order.ReplacesDropped.
//   - An invalid order in finalize's answer: lego returns an error and
//     drops the order; Finalize returns it with ErrOrderInvalid.
//   - The directory is fetched without a context; New returns when its
//     context is done (the fetch itself ends within Config.Timeout).
//   - Response bodies are read whole; the transport caps them at 4 MiB.
//
// # Errors
//
// Every error a Client returns is an *Error: the step, the URL, the CA's
// HTTP status, problem document and Retry-After. Classify says whether
// retrying can help. No error carries key material: lego's messages name
// the request and the CA's answer, and the EAB key is never quoted.
package acme
