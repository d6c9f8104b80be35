// Package dns01 is the DNS side of ACME DNS-01 challenges: a Solver that
// adds and removes the challenge TXT record (RFC 2136 dynamic updates, as
// cert-manager's rfc2136 solver), ChallengeFQDN, and Propagated, the
// self-check cert-manager runs before it tells the CA to look.
//
// Every call is one step: Present and CleanUp send one update (after
// finding the zone), Propagated asks once and reports; callers poll across
// runs, and nothing here keeps state between calls. DNS messages go through
// github.com/miekg/dns. Errors never carry the TSIG secret.
package dns01

import (
	"context"
	"strings"
)

// Solver adds and removes DNS-01 TXT records.
type Solver interface {
	// Present adds a TXT record fqdn (with the trailing dot) = value. It is
	// idempotent: adding a record that exists changes nothing.
	Present(ctx context.Context, fqdn, value string) error
	// CleanUp removes exactly that record, leaving other values of fqdn
	// alone. It is idempotent: removing a missing record is not an error.
	CleanUp(ctx context.Context, fqdn, value string) error
}

// ChallengeFQDN is the name of the TXT record for domain's DNS-01
// challenge: "_acme-challenge.<domain>." with a leading "*." (a wildcard's
// authorization uses the base domain's record) and any trailing dot
// dropped first. The name is lower-cased: DNS names compare without case,
// and a Present and a CleanUp computed from differently cased names stay
// the same record.
func ChallengeFQDN(domain string) string {
	domain = strings.ToLower(strings.TrimSpace(domain))
	domain = strings.TrimPrefix(domain, "*.")
	domain = strings.TrimSuffix(domain, ".")
	return "_acme-challenge." + domain + "."
}
