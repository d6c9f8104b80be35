package e2e

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/miekg/dns"

	"github.com/certsweep/certsweep/job"
	"github.com/certsweep/certsweep/renew"
	"github.com/certsweep/certsweep/test/harness"
)

// blindDNS starts a nameserver that answers every question with NXDOMAIN,
// as a recursive resolver that has not seen the challenge's TXT record yet
// would, and returns its address.
func blindDNS(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeNameError)
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

// stalledOptions make a run present the DNS-01 record and then check it
// against a resolver that never sees it, giving up after a few seconds:
// the order is left pending, its challenge presented and not accepted.
func stalledOptions(blind string) func(*job.Options) {
	return func(o *job.Options) {
		o.DNS01Nameservers = []string{blind}
		o.DNS01RecursiveOnly = true
		o.ACMEWait = 3 * time.Second
	}
}

// acmeCertificate is a Certificate for dnsName from the Issuer "acme".
func acmeCertificate(name, dnsName string) *cmapi.Certificate {
	return certificate(name, issuerRef("acme"), ecdsaKey, func(s *cmapi.CertificateSpec) { s.DNSNames = []string{dnsName} })
}

// TestPlanShowsWhereTheACMEOrderStands: a run that cannot see its DNS-01
// record propagate leaves the order pending. plan then shows the Order
// (pending, placed at the CA, next step authorize) and its Challenge
// (presented, not processing, next step accept), listing Orders and
// Challenges once each and writing nothing; the text and JSON output of
// the binary say the same. A normal run then finishes the order, and plan
// shows no order and lists none.
func TestPlanShowsWhereTheACMEOrderStands(t *testing.T) {
	a := newACME(t)
	a.create(acmeCertificate("web", "web.example.test"))
	// A Certificate of another issuer, so plan has a row without an order.
	a.create(selfSignedIssuer("ss"))
	a.create(certificate("plain", issuerRef("ss"), ecdsaKey))
	if rep := a.run(stalledOptions(blindDNS(t))); rep.Issued != 1 {
		t.Fatalf("want only the self-signed certificate issued: %s %+v", rep.Summary(), rep.Outcomes)
	}

	cfg, counter := harness.WrapCounting(a.cp.Config)
	rows, err := a.sweeper(cfg, a.acmeOptions).Plan(a.ctx())
	if err != nil {
		t.Fatal(err)
	}
	snap := counter.Snapshot()
	if len(snap.Writes()) != 0 {
		t.Fatalf("plan wrote: %v", snap.Writes())
	}
	for _, key := range []string{"LIST orders.acme.cert-manager.io", "LIST challenges.acme.cert-manager.io"} {
		if snap.ByResource[key] != 1 {
			t.Errorf("%s: %d requests, want 1\n%s", key, snap.ByResource[key], snap)
		}
	}
	for _, verb := range []string{"GET orders.acme.cert-manager.io", "GET challenges.acme.cert-manager.io"} {
		if snap.ByResource[verb] != 0 {
			t.Errorf("plan read Orders or Challenges one at a time:\n%s", snap)
		}
	}
	row := planRow(t, rows, "web")
	o := row.Order
	if o == nil {
		t.Fatalf("plan shows no order for web: %+v", row)
	}
	if o.State != cmacme.Pending || o.URL == "" || o.NextStep != renew.OrderAuthorize {
		t.Errorf("order %+v, want pending, placed at the CA, next step authorize", o)
	}
	if len(o.Challenges) != 1 {
		t.Fatalf("want one challenge, got %+v", o.Challenges)
	}
	ch := o.Challenges[0]
	if ch.DNSName != "web.example.test" || ch.Type != cmacme.ACMEChallengeTypeDNS01 || ch.State != cmacme.Pending ||
		!ch.Presented || ch.Processing || ch.NextStep != renew.ChallengeAccept || ch.Reason == "" {
		t.Errorf("challenge %+v, want web.example.test DNS-01 pending, presented, not processing, a reason, next step accept", ch)
	}
	if plain := planRow(t, rows, "plain"); plain.Order != nil {
		t.Errorf("the self-signed certificate shows an order: %+v", plain.Order)
	}

	// The binary prints the same, in text and in JSON.
	bin := certsweepBinary(t)
	code, stdout, stderr := runBinary(t, bin, a.podEnv(a.cp.Config), "plan")
	if code != 0 {
		t.Fatalf("plan exit %d\n%s", code, stderr)
	}
	t.Logf("plan:\n%s", stdout)
	for _, want := range []string{
		"ACME orders in flight:",
		a.ns + "/web: order " + o.Name + " pending, placed at the CA; next step: authorize",
		"challenge " + ch.Name + " DNS-01 for web.example.test: pending, presented, not processing; next step: accept (" + ch.Reason + ")",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("plan output lacks %q", want)
		}
	}
	if strings.Contains(stdout, a.ns+"/plain:") {
		t.Error("plan output shows an order for the self-signed certificate")
	}
	code, stdout, stderr = runBinary(t, bin, a.podEnv(a.cp.Config), "plan", "-o", "json")
	if code != 0 {
		t.Fatalf("plan -o json exit %d\n%s", code, stderr)
	}
	var doc struct {
		Items []struct {
			Name  string `json:"name"`
			Order *struct {
				Name       string `json:"name"`
				State      string `json:"state"`
				URL        string `json:"url"`
				NextStep   string `json:"nextStep"`
				Challenges []struct {
					DNSName    string `json:"dnsName"`
					Type       string `json:"type"`
					State      string `json:"state"`
					Presented  bool   `json:"presented"`
					Processing bool   `json:"processing"`
					Reason     string `json:"reason"`
					NextStep   string `json:"nextStep"`
				} `json:"challenges"`
			} `json:"order"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("plan -o json: %v\n%s", err, stdout)
	}
	for _, it := range doc.Items {
		switch {
		case it.Name == "plain" && it.Order != nil:
			t.Errorf("JSON shows an order for the self-signed certificate")
		case it.Name == "web":
			jo := it.Order
			if jo == nil || jo.Name != o.Name || jo.State != "pending" || jo.URL == "" || jo.NextStep != "authorize" || len(jo.Challenges) != 1 {
				t.Fatalf("JSON order %+v", jo)
			}
			if jc := jo.Challenges[0]; jc.DNSName != "web.example.test" || jc.Type != "DNS-01" || jc.State != "pending" ||
				!jc.Presented || jc.Processing || jc.Reason == "" || jc.NextStep != "accept" {
				t.Errorf("JSON challenge %+v", jc)
			}
		}
	}

	// A run that sees the record finishes the same order.
	if rep := a.run(a.acmeOptions); rep.Issued != 1 {
		t.Fatalf("the normal run did not finish the order: %s %+v", rep.Summary(), rep.Outcomes)
	}
	a.requireReady("web", 1)
	cfg, counter = harness.WrapCounting(a.cp.Config)
	rows, err = a.sweeper(cfg).Plan(a.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if row := planRow(t, rows, "web"); row.Order != nil {
		t.Errorf("an issued certificate shows an order: %+v", row.Order)
	}
	// Nothing is in flight, so Orders are not even listed.
	if snap := counter.Snapshot(); snap.ByResource["LIST orders.acme.cert-manager.io"] != 0 || len(snap.Writes()) != 0 {
		t.Errorf("plan with nothing in flight:\n%s", snap)
	}
}

func planRow(t *testing.T, rows []job.PlanRow, name string) job.PlanRow {
	t.Helper()
	for _, r := range rows {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("plan has no row for %s", name)
	return job.PlanRow{}
}
