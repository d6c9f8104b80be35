package dns01_test

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"

	"github.com/certsweep/certsweep/issuance/dns01"
)

// world is a tiny DNS server answering from a fixed set of records, as
// authoritative for every zone it has a SOA for. It stands in for both a
// recursive resolver (which would know everything) and a zone's
// authoritative servers.
type world struct {
	mu  sync.Mutex
	rrs []dns.RR
}

func newWorld(t *testing.T, records ...string) *world {
	t.Helper()
	w := &world{}
	for _, s := range records {
		w.add(t, s)
	}
	return w
}

func (w *world) add(t *testing.T, record string) {
	t.Helper()
	rr, err := dns.NewRR(record)
	if err != nil {
		t.Fatalf("record %q: %v", record, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rrs = append(w.rrs, rr)
}

func (w *world) ServeDNS(rw dns.ResponseWriter, r *dns.Msg) {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := new(dns.Msg)
	m.SetReply(r)
	q := r.Question[0]
	name := dns.CanonicalName(q.Name)
	var soa *dns.SOA
	for _, rr := range w.rrs {
		if s, ok := rr.(*dns.SOA); ok && dns.IsSubDomain(s.Hdr.Name, name) && (soa == nil || dns.CountLabel(s.Hdr.Name) > dns.CountLabel(soa.Hdr.Name)) {
			soa = s
		}
	}
	if soa == nil {
		m.Rcode = dns.RcodeRefused
		_ = rw.WriteMsg(m)
		return
	}
	m.Authoritative = true
	exists := false
	for _, rr := range w.rrs {
		h := rr.Header()
		if dns.CanonicalName(h.Name) != name {
			continue
		}
		exists = true
		if h.Rrtype == q.Qtype || (h.Rrtype == dns.TypeCNAME && q.Qtype != dns.TypeCNAME) {
			m.Answer = append(m.Answer, rr)
		}
	}
	for _, rr := range m.Answer {
		if ns, ok := rr.(*dns.NS); ok {
			for _, g := range w.rrs {
				if a, ok := g.(*dns.A); ok && dns.CanonicalName(a.Hdr.Name) == dns.CanonicalName(ns.Ns) && dns.IsSubDomain(soa.Hdr.Name, a.Hdr.Name) {
					m.Extra = append(m.Extra, a)
				}
			}
		}
	}
	if len(m.Answer) == 0 {
		if !exists {
			m.Rcode = dns.RcodeNameError
		}
		m.Ns = append(m.Ns, soa)
	}
	_ = rw.WriteMsg(m)
}

// serve runs w on UDP at addr, skipping the test when the address cannot
// be bound (port 53 on an extra loopback address needs privileges).
func (w *world) serve(t *testing.T, addr string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: w}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
}

const (
	value   = "dns01-value-abcdefghijklmnopqrstuvwxyz012345"
	ns1Addr = "127.53.0.1"
	ns2Addr = "127.53.0.2"
)

var zoneRecords = []string{
	"example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60",
	"example.test. 60 IN NS ns1.example.test.",
	"example.test. 60 IN NS ns2.other.test.",
	"ns1.example.test. 60 IN A " + ns1Addr,
	"other.test. 60 IN SOA ns.other.test. hostmaster.other.test. 1 3600 600 86400 60",
	"ns2.other.test. 60 IN A " + ns2Addr,
	"www.example.test. 60 IN A 192.0.2.1",
}

// TestPropagatedAuthoritative runs the authoritative path: the zone and
// its NS records come from the "recursive" server (one NS with glue, one
// resolved out of zone), then each NS is asked on port 53 of its address.
func TestPropagatedAuthoritative(t *testing.T) {
	recursive := newWorld(t, zoneRecords...)
	ns1 := newWorld(t, zoneRecords...)
	ns2 := newWorld(t, zoneRecords...)
	ns1.serve(t, net.JoinHostPort(ns1Addr, "53"))
	ns2.serve(t, net.JoinHostPort(ns2Addr, "53"))
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	recAddr := pc.LocalAddr().String()
	_ = pc.Close()
	recursive.serve(t, recAddr)

	ctx := t.Context()
	fqdn := dns01.ChallengeFQDN("www.example.test")
	check := func(want bool) {
		t.Helper()
		got, err := dns01.Propagated(ctx, fqdn, value, []string{recAddr}, false)
		if err != nil || got != want {
			t.Fatalf("Propagated = %v, %v; want %v", got, err, want)
		}
	}
	check(false) // nowhere
	ns1.add(t, fqdn+" 60 IN TXT "+value)
	check(false) // on ns1 only
	ns2.add(t, fqdn+" 60 IN TXT other-value")
	check(false) // ns2 has another value
	ns2.add(t, fqdn+" 60 IN TXT "+value)
	check(true) // both

	// The recursive server never had the record: recursiveOnly says no.
	if got, err := dns01.Propagated(ctx, fqdn, value, []string{recAddr}, true); err != nil || got {
		t.Fatalf("Propagated recursiveOnly = %v, %v; want false", got, err)
	}
}

// TestPropagatedCNAME follows a CNAME from the challenge name (delegated
// DNS-01 validation) and finds the value at its target.
func TestPropagatedCNAME(t *testing.T) {
	fqdn := dns01.ChallengeFQDN("www.example.test")
	w := newWorld(t, append(zoneRecords,
		fqdn+" 60 IN CNAME www.challenges.other.test.",
		"www.challenges.other.test. 60 IN TXT "+value,
		"_acme-challenge.loop.example.test. 60 IN CNAME loop2.example.test.",
		"loop2.example.test. 60 IN CNAME _acme-challenge.loop.example.test.",
	)...)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	_ = pc.Close()
	w.serve(t, addr)

	ctx := t.Context()
	if got, err := dns01.Propagated(ctx, fqdn, value, []string{addr}, true); err != nil || !got {
		t.Errorf("Propagated through a CNAME = %v, %v; want true", got, err)
	}
	if got, err := dns01.Propagated(ctx, "_acme-challenge.loop.example.test.", value, []string{addr}, true); err == nil || !strings.Contains(err.Error(), "loop") {
		t.Errorf("Propagated over a CNAME loop = %v, %v; want a loop error", got, err)
	}
	// A server that refuses is an error, not "not yet".
	if got, err := dns01.Propagated(ctx, "_acme-challenge.www.unknown.test.", value, []string{addr}, true); err == nil {
		t.Errorf("Propagated against a refusing server = %v, nil; want an error", got)
	}
}

func TestSystemNameservers(t *testing.T) {
	ns := dns01.SystemNameservers()
	if len(ns) == 0 {
		t.Fatal("no nameservers")
	}
	for _, s := range ns {
		if _, _, err := net.SplitHostPort(s); err != nil {
			t.Errorf("nameserver %q has no port: %v", s, err)
		}
	}
}
