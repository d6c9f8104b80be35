package dns01

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	"github.com/miekg/dns"
)

// challengeTTL is the TTL of the records Present adds, as cert-manager's.
const challengeTTL = 60

// tsigFudge is the TSIG time fudge, in seconds, as cert-manager's.
const tsigFudge = 300

// RFC2136 is a Solver that adds and removes records with RFC 2136 dynamic
// updates sent to one nameserver (normally the zone's primary), optionally
// signed with TSIG: cert-manager's rfc2136 DNS-01 provider.
type RFC2136 struct {
	// Nameserver is host:port (port 53 when not given).
	Nameserver string
	// TSIGKeyName, TSIGAlgorithm and TSIGSecret sign the updates; all
	// empty for unsigned updates. TSIGAlgorithm is spelled as in
	// cert-manager (HMACMD5, HMACSHA1, HMACSHA256, HMACSHA512; any case)
	// or as a DNS algorithm name ("hmac-sha256."); TSIGSecret is base64.
	TSIGKeyName, TSIGAlgorithm, TSIGSecret string
	// Timeout bounds each DNS exchange; 0 means 10s.
	Timeout time.Duration

	// Network is "udp" (the default, as cert-manager's) or "tcp": the
	// solver's protocol field.
	Network string
	// Zone is the zone to update, with or without the trailing dot. When
	// empty (cert-manager's solver has no such field) each update first
	// finds the zone by asking Nameserver for the SOA of the record's name
	// and its parents.
	Zone string
}

var _ Solver = (*RFC2136)(nil)

// NewRFC2136 makes the solver of an Issuer's rfc2136 configuration, with
// tsigSecret the value of the Secret key its tsigSecretSecretRef names
// (base64, as cert-manager reads it; surrounding white space is dropped).
// It checks what cert-manager checks, with cert-manager's defaults: port
// 53, TSIG algorithm HMACMD5, protocol UDP. Unlike cert-manager, a TSIG
// key name without a secret (or a secret without a key name) is an error
// rather than silently unsigned updates.
func NewRFC2136(cfg cmacme.ACMEIssuerDNS01ProviderRFC2136, tsigSecret string) (*RFC2136, error) {
	if strings.TrimSpace(cfg.Nameserver) == "" {
		return nil, errors.New("rfc2136: nameserver missing")
	}
	ns, err := hostPort(cfg.Nameserver)
	if err != nil {
		return nil, fmt.Errorf("rfc2136: %w", err)
	}
	r := &RFC2136{Nameserver: ns, Timeout: defaultTimeout, Network: "udp"}

	switch cfg.Protocol {
	case "", cmacme.RFC2136UpdateProtocolUDP:
	case cmacme.RFC2136UpdateProtocolTCP:
		r.Network = "tcp"
	default:
		return nil, fmt.Errorf("rfc2136: protocol %q is not supported (TCP or UDP)", cfg.Protocol)
	}

	r.TSIGAlgorithm = strings.ToUpper(cfg.TSIGAlgorithm)
	if r.TSIGAlgorithm == "" {
		r.TSIGAlgorithm = "HMACMD5"
	}
	if _, ok := tsigAlgorithms[r.TSIGAlgorithm]; !ok {
		return nil, fmt.Errorf("rfc2136: TSIG algorithm %q is not supported (HMACMD5, HMACSHA1, HMACSHA256 or HMACSHA512)", cfg.TSIGAlgorithm)
	}

	keyName, secret := strings.TrimSpace(cfg.TSIGKeyName), strings.TrimSpace(tsigSecret)
	switch {
	case keyName == "" && secret == "":
	case keyName == "":
		return nil, errors.New("rfc2136: a TSIG secret is given but no tsigKeyName")
	case secret == "":
		return nil, fmt.Errorf("rfc2136: tsigKeyName %q is set but the TSIG secret is empty", keyName)
	default:
		if _, err := decodeSecret(secret); err != nil {
			return nil, err
		}
		r.TSIGKeyName, r.TSIGSecret = keyName, secret
	}
	return r, nil
}

// decodeSecret decodes a base64 TSIG secret. Its error never quotes the
// secret.
func decodeSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(secret)
	if err != nil {
		return nil, errors.New("rfc2136: the TSIG secret is not valid base64")
	}
	if len(key) == 0 {
		return nil, errors.New("rfc2136: the TSIG secret is empty")
	}
	return key, nil
}

// String describes the solver without its secret (on the value, so that
// printing an RFC2136 or a pointer to one never shows the secret).
func (r RFC2136) String() string {
	signed := "unsigned"
	if r.TSIGKeyName != "" {
		signed = fmt.Sprintf("TSIG key %q (%s)", r.TSIGKeyName, r.TSIGAlgorithm)
	}
	return fmt.Sprintf("rfc2136 nameserver %s over %s, %s", r.Nameserver, r.network(), signed)
}

// GoString is String, so %#v does not print the secret either.
func (r RFC2136) GoString() string { return r.String() }

// Present adds the TXT record fqdn = value (TTL 60s). Adding a record that
// exists is a no-op for the server (RFC 2136 §3.4.2.2).
func (r *RFC2136) Present(ctx context.Context, fqdn, value string) error {
	return r.update(ctx, true, fqdn, value)
}

// CleanUp deletes the TXT record fqdn = value and no other value of fqdn
// (RFC 2136 §2.5.4); deleting a record that does not exist is a no-op.
func (r *RFC2136) CleanUp(ctx context.Context, fqdn, value string) error {
	return r.update(ctx, false, fqdn, value)
}

func (r *RFC2136) network() string {
	if strings.EqualFold(r.Network, "tcp") {
		return "tcp"
	}
	return "udp"
}

func (r *RFC2136) update(ctx context.Context, add bool, fqdn, value string) error {
	verb := "adding"
	if !add {
		verb = "removing"
	}
	fqdn = dns.CanonicalName(strings.TrimSpace(fqdn))
	if _, ok := dns.IsDomainName(fqdn); !ok || fqdn == "." {
		return fmt.Errorf("rfc2136: %s TXT %q: not a domain name", verb, fqdn)
	}
	if err := checkValue(value); err != nil {
		return fmt.Errorf("rfc2136: %s TXT %s: %w", verb, fqdn, err)
	}
	server, err := hostPort(r.Nameserver)
	if err != nil {
		return fmt.Errorf("rfc2136: %w", err)
	}
	var tsig dns.TsigProvider
	var algorithm string
	if r.TSIGKeyName != "" {
		algorithm, err = dnsAlgorithm(r.TSIGAlgorithm)
		if err != nil {
			return err
		}
		key, err := decodeSecret(r.TSIGSecret)
		if err != nil {
			return err
		}
		tsig = tsigHMAC(key)
	}

	zone := r.Zone
	if zone == "" {
		if zone, err = findZone(ctx, fqdn, []string{server}, false, r.Timeout); err != nil {
			return fmt.Errorf("rfc2136: %s TXT %s: %w", verb, fqdn, err)
		}
	}
	zone = dns.CanonicalName(zone)
	if !dns.IsSubDomain(zone, fqdn) {
		return fmt.Errorf("rfc2136: %s TXT %s: the name is not in zone %s", verb, fqdn, zone)
	}

	rr := &dns.TXT{
		Hdr: dns.RR_Header{Name: fqdn, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: challengeTTL},
		Txt: splitTXT(value),
	}
	m := new(dns.Msg)
	m.SetUpdate(zone)
	if add {
		m.Insert([]dns.RR{rr})
	} else {
		m.Remove([]dns.RR{rr})
	}
	if tsig != nil {
		m.SetTsig(dns.CanonicalName(r.TSIGKeyName), algorithm, tsigFudge, time.Now().Unix())
	}
	in, err := exchange(ctx, m, server, r.network(), timeoutOr(r.Timeout), tsig)
	if err != nil {
		return fmt.Errorf("rfc2136: %s TXT %s in zone %s at %s: %w", verb, fqdn, zone, server, err)
	}
	if in.Rcode != dns.RcodeSuccess {
		return fmt.Errorf("rfc2136: %s TXT %s in zone %s at %s: the server answered %s", verb, fqdn, zone, server, dns.RcodeToString[in.Rcode])
	}
	return nil
}

// dnsAlgorithm maps a TSIG algorithm, in cert-manager's spelling or as a
// DNS name, to its DNS name.
func dnsAlgorithm(name string) (string, error) {
	if alg, ok := tsigAlgorithms[strings.ToUpper(name)]; ok {
		return alg, nil
	}
	canonical := dns.CanonicalName(name)
	for _, alg := range tsigAlgorithms {
		if canonical == alg {
			return alg, nil
		}
	}
	return "", fmt.Errorf("rfc2136: TSIG algorithm %q is not supported", name)
}

func timeoutOr(d time.Duration) time.Duration {
	if d <= 0 {
		return defaultTimeout
	}
	return d
}

// checkValue accepts printable ASCII without a quote or a backslash, which
// miekg/dns would read as escapes: a DNS-01 value is base64url.
func checkValue(value string) error {
	if value == "" {
		return errors.New("empty value")
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return fmt.Errorf("the value has a byte (%#x) a DNS-01 value never has", c)
		}
	}
	return nil
}

// splitTXT cuts value into the 255-byte character-strings a TXT record is
// made of (a DNS-01 value, 43 bytes, is one).
func splitTXT(value string) []string {
	var out []string
	for len(value) > 255 {
		out = append(out, value[:255])
		value = value[255:]
	}
	return append(out, value)
}
