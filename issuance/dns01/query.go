package dns01

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// defaultTimeout bounds one DNS exchange when the caller sets none, as
// cert-manager's DNSTimeout does.
const defaultTimeout = 10 * time.Second

// query asks each server in turn for name's rtype records until one
// answers: over UDP, again over TCP when the answer is truncated or UDP
// fails. recursive sets the RD bit (off for authoritative servers). The
// first server that answers at all (any rcode) wins; when none does, the
// last error is returned.
func query(ctx context.Context, name string, rtype uint16, servers []string, recursive bool, timeout time.Duration) (*dns.Msg, error) {
	if len(servers) == 0 {
		return nil, errors.New("no nameservers to ask")
	}
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), rtype)
	m.RecursionDesired = recursive
	m.SetEdns0(4096, false)
	var lastErr error
	for _, server := range servers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		in, err := exchange(ctx, m, server, "udp", timeout, nil)
		if err != nil || in.Truncated {
			in, err = exchange(ctx, m, server, "tcp", timeout, nil)
		}
		if err == nil {
			return in, nil
		}
		lastErr = fmt.Errorf("%s %s at %s: %w", dns.TypeToString[rtype], name, server, err)
	}
	return nil, lastErr
}

// exchange sends m to server over network ("udp" or "tcp") and checks the
// answer is an answer to m.
func exchange(ctx context.Context, m *dns.Msg, server, network string, timeout time.Duration, tsig dns.TsigProvider) (*dns.Msg, error) {
	c := &dns.Client{Net: network, Timeout: timeout, TsigProvider: tsig}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	in, _, err := c.ExchangeContext(ctx, m, server)
	if err != nil {
		return nil, err
	}
	if in == nil {
		return nil, errors.New("no answer")
	}
	return in, nil
}

// findZone returns the zone fqdn is in, lower case with the trailing dot:
// walking up from fqdn, the first name for which the servers answer a SOA
// query with that name's SOA record, or with an authoritative denial
// (NXDOMAIN or no data) carrying the SOA of a zone that contains fqdn.
func findZone(ctx context.Context, fqdn string, servers []string, recursive bool, timeout time.Duration) (string, error) {
	fqdn = dns.CanonicalName(fqdn)
	for _, i := range dns.Split(fqdn) {
		name := fqdn[i:]
		in, err := query(ctx, name, dns.TypeSOA, servers, recursive, timeout)
		if err != nil {
			return "", fmt.Errorf("finding the zone of %s: %w", fqdn, err)
		}
		if in.Rcode != dns.RcodeSuccess && in.Rcode != dns.RcodeNameError {
			return "", fmt.Errorf("finding the zone of %s: SOA %s at %v: %s", fqdn, name, servers, dns.RcodeToString[in.Rcode])
		}
		cname := false
		for _, rr := range in.Answer {
			switch rr := rr.(type) {
			case *dns.SOA:
				if dns.CanonicalName(rr.Hdr.Name) == name {
					return name, nil
				}
			case *dns.CNAME:
				cname = true
			}
		}
		if cname {
			// A CNAME cannot sit at a zone apex (RFC 2181 §10.1); go up.
			continue
		}
		for _, rr := range in.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				zone := dns.CanonicalName(soa.Hdr.Name)
				if dns.IsSubDomain(zone, fqdn) {
					return zone, nil
				}
			}
		}
	}
	return "", fmt.Errorf("finding the zone of %s: no SOA record found at %v", fqdn, servers)
}

// hostPort adds port 53 to a nameserver given without one: "host",
// "host:", "[v6]" and "v6" alike.
func hostPort(server string) (string, error) {
	server = strings.TrimSpace(server)
	if server == "" {
		return "", errors.New("empty nameserver")
	}
	var host, port string
	if addr, err := netip.ParseAddr(strings.Trim(server, "[]")); err == nil {
		host = addr.String() // an address without a port, v6 with or without brackets
	} else {
		h, p, err := net.SplitHostPort(server)
		if err != nil {
			if !strings.Contains(err.Error(), "missing port") {
				return "", fmt.Errorf("nameserver %q: %w", server, err)
			}
			h, p = server, ""
		}
		host, port = h, p
	}
	if host == "" {
		return "", fmt.Errorf("nameserver %q has no host", server)
	}
	if port == "" {
		port = "53"
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", fmt.Errorf("nameserver %q: port %q is not a port number", server, port)
	}
	return net.JoinHostPort(host, port), nil
}
