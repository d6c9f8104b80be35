package dns01

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/miekg/dns"
)

// resolvConf is where the system's recursive nameservers are listed.
const resolvConf = "/etc/resolv.conf"

// fallbackNameservers are asked when resolv.conf lists none, as
// cert-manager does.
var fallbackNameservers = []string{"8.8.8.8:53", "8.8.4.4:53"}

// maxCNAMEs bounds how many CNAMEs Propagated follows from fqdn.
const maxCNAMEs = 8

// SystemNameservers returns the recursive nameservers of /etc/resolv.conf
// as host:port, or cert-manager's fallback (8.8.8.8:53, 8.8.4.4:53) when
// it lists none.
func SystemNameservers() []string {
	cfg, err := dns.ClientConfigFromFile(resolvConf)
	if err != nil || len(cfg.Servers) == 0 {
		return append([]string(nil), fallbackNameservers...)
	}
	port := cfg.Port
	if port == "" {
		port = "53"
	}
	out := make([]string, 0, len(cfg.Servers))
	for _, s := range cfg.Servers {
		out = append(out, net.JoinHostPort(s, port))
	}
	return out
}

// Propagated reports whether every authoritative nameserver of fqdn's zone
// answers the TXT value for fqdn: cert-manager's DNS-01 self-check, asked
// once.
//
// nameservers are recursive nameservers as host:port (port 53 when not
// given; default SystemNameservers). CNAMEs at fqdn are followed through
// them first, as cert-manager does. Then:
//
//   - recursiveOnly (cert-manager's --dns01-recursive-nameservers-only):
//     each of nameservers is asked for the TXT records and must answer the
//     value;
//   - otherwise the zone is found by walking SOA queries up from fqdn
//     against nameservers, its NS records are read through them, each NS
//     host's addresses are taken from the glue or resolved through them,
//     and each NS is asked (on port 53, without recursion; its addresses in
//     turn until one answers) and must answer the value.
//
// NXDOMAIN or an answer without the value is (false, nil): not yet. An
// error means the check could not be made (no answer, SERVFAIL, REFUSED,
// no NS records); callers retry either way.
func Propagated(ctx context.Context, fqdn, value string, nameservers []string, recursiveOnly bool) (bool, error) {
	fqdn = dns.CanonicalName(strings.TrimSpace(fqdn))
	if _, ok := dns.IsDomainName(fqdn); !ok || fqdn == "." {
		return false, fmt.Errorf("dns01: %q is not a domain name", fqdn)
	}
	servers, err := normalize(nameservers)
	if err != nil {
		return false, err
	}
	target, err := followCNAMEs(ctx, fqdn, servers)
	if err != nil {
		return false, err
	}
	if recursiveOnly {
		for _, s := range servers {
			ok, err := hasTXT(ctx, target, value, s, true)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	}

	zone, err := findZone(ctx, target, servers, true, 0)
	if err != nil {
		return false, fmt.Errorf("dns01: %w", err)
	}
	authoritative, err := zoneNameservers(ctx, zone, servers)
	if err != nil {
		return false, err
	}
	for _, ns := range authoritative {
		ok, err := askAuthoritative(ctx, target, value, ns, servers)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// normalize adds default ports, or returns the system's nameservers when
// there are none.
func normalize(nameservers []string) ([]string, error) {
	if len(nameservers) == 0 {
		return SystemNameservers(), nil
	}
	out := make([]string, 0, len(nameservers))
	for _, s := range nameservers {
		hp, err := hostPort(s)
		if err != nil {
			return nil, fmt.Errorf("dns01: %w", err)
		}
		out = append(out, hp)
	}
	return out, nil
}

// followCNAMEs returns the name fqdn's CNAME chain ends at (fqdn itself
// when it has no CNAME).
func followCNAMEs(ctx context.Context, fqdn string, servers []string) (string, error) {
	seen := map[string]bool{fqdn: true}
	name := fqdn
	for range maxCNAMEs {
		in, err := query(ctx, name, dns.TypeCNAME, servers, true, 0)
		if err != nil {
			return "", fmt.Errorf("dns01: following CNAMEs from %s: %w", fqdn, err)
		}
		if in.Rcode != dns.RcodeSuccess {
			return name, nil
		}
		next := ""
		for _, rr := range in.Answer {
			if cn, ok := rr.(*dns.CNAME); ok && dns.CanonicalName(cn.Hdr.Name) == name {
				next = dns.CanonicalName(cn.Target)
				break
			}
		}
		if next == "" {
			return name, nil
		}
		if seen[next] {
			return "", fmt.Errorf("dns01: CNAME loop from %s at %s", fqdn, next)
		}
		seen[next] = true
		name = next
	}
	return "", fmt.Errorf("dns01: more than %d CNAMEs from %s", maxCNAMEs, fqdn)
}

// hasTXT asks server for name's TXT records and reports whether one is
// value.
func hasTXT(ctx context.Context, name, value, server string, recursive bool) (bool, error) {
	in, err := query(ctx, name, dns.TypeTXT, []string{server}, recursive, 0)
	if err != nil {
		return false, fmt.Errorf("dns01: %w", err)
	}
	switch in.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return false, nil // not there (yet)
	default:
		return false, fmt.Errorf("dns01: TXT %s at %s: %s", name, server, dns.RcodeToString[in.Rcode])
	}
	for _, rr := range in.Answer {
		if txt, ok := rr.(*dns.TXT); ok && strings.Join(txt.Txt, "") == value {
			return true, nil
		}
	}
	return false, nil
}

// nameserver is one NS of a zone and the addresses the glue gave for it.
type nameserver struct {
	host  string
	addrs []string
}

// zoneNameservers reads zone's NS records through servers.
func zoneNameservers(ctx context.Context, zone string, servers []string) ([]nameserver, error) {
	in, err := query(ctx, zone, dns.TypeNS, servers, true, 0)
	if err != nil {
		return nil, fmt.Errorf("dns01: nameservers of %s: %w", zone, err)
	}
	if in.Rcode != dns.RcodeSuccess {
		return nil, fmt.Errorf("dns01: nameservers of %s: %s", zone, dns.RcodeToString[in.Rcode])
	}
	glue := map[string][]string{}
	for _, rr := range in.Extra {
		switch rr := rr.(type) {
		case *dns.A:
			name := dns.CanonicalName(rr.Hdr.Name)
			glue[name] = append(glue[name], rr.A.String())
		case *dns.AAAA:
			name := dns.CanonicalName(rr.Hdr.Name)
			glue[name] = append(glue[name], rr.AAAA.String())
		}
	}
	var out []nameserver
	seen := map[string]bool{}
	for _, rr := range in.Answer {
		if ns, ok := rr.(*dns.NS); ok {
			host := dns.CanonicalName(ns.Ns)
			if !seen[host] {
				seen[host] = true
				out = append(out, nameserver{host: host, addrs: glue[host]})
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dns01: no NS records for %s", zone)
	}
	return out, nil
}

// askAuthoritative asks ns (its glue addresses, or those resolved through
// servers) for name's TXT records, address by address until one answers.
func askAuthoritative(ctx context.Context, name, value string, ns nameserver, servers []string) (bool, error) {
	addrs := ns.addrs
	if len(addrs) == 0 {
		var err error
		if addrs, err = resolveHost(ctx, ns.host, servers); err != nil {
			return false, err
		}
	}
	var lastErr error
	for _, addr := range addrs {
		ok, err := hasTXT(ctx, name, value, net.JoinHostPort(addr, "53"), false)
		if err == nil {
			return ok, nil
		}
		lastErr = err
	}
	return false, fmt.Errorf("dns01: no address of nameserver %s answered: %w", ns.host, lastErr)
}

// resolveHost returns host's IPv4 and IPv6 addresses, asked of servers.
func resolveHost(ctx context.Context, host string, servers []string) ([]string, error) {
	var addrs []string
	var lastErr error
	for _, rtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		in, err := query(ctx, host, rtype, servers, true, 0)
		if err != nil {
			lastErr = err
			continue
		}
		for _, rr := range in.Answer {
			switch rr := rr.(type) {
			case *dns.A:
				addrs = append(addrs, rr.A.String())
			case *dns.AAAA:
				addrs = append(addrs, rr.AAAA.String())
			}
		}
	}
	if len(addrs) == 0 {
		if lastErr != nil {
			return nil, fmt.Errorf("dns01: addresses of nameserver %s: %w", host, lastErr)
		}
		return nil, fmt.Errorf("dns01: nameserver %s has no address", host)
	}
	return addrs, nil
}
