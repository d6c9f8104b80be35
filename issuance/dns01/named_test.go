package dns01_test

import (
	"slices"
	"strings"
	"testing"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"

	"github.com/certsweep/certsweep/issuance/dns01"
	"github.com/certsweep/certsweep/test/harness"
)

func startNamed(t *testing.T) *harness.DNS {
	t.Helper()
	if testing.Short() {
		t.Skip("starts named")
	}
	return harness.StartDNS(t, "example.test.")
}

// TestRFC2136Named adds and removes records in a real named with
// TSIG-signed updates, over UDP and TCP, and checks them with Propagated.
func TestRFC2136Named(t *testing.T) {
	d := startNamed(t)
	ctx := t.Context()
	for _, protocol := range []cmacme.RFC2136UpdateProtocol{"", cmacme.RFC2136UpdateProtocolTCP} {
		s, err := dns01.NewRFC2136(cmacme.ACMEIssuerDNS01ProviderRFC2136{
			Nameserver: d.Addr(), TSIGKeyName: d.TSIGKeyName(), TSIGAlgorithm: d.TSIGAlgorithm(), Protocol: protocol,
		}, d.TSIGSecret())
		if err != nil {
			t.Fatalf("NewRFC2136: %v", err)
		}
		fqdn := dns01.ChallengeFQDN("*.Proto-" + strings.ToLower(string(protocol)) + "x.example.test")
		const one, two = "value-one-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "value-two-yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
		propagated := func(value string) bool {
			t.Helper()
			ok, err := dns01.Propagated(ctx, fqdn, value, []string{d.Addr()}, true)
			if err != nil {
				t.Fatalf("Propagated(%s): %v", value, err)
			}
			return ok
		}
		if propagated(one) {
			t.Fatalf("%s: Propagated before Present", protocol)
		}
		for range 2 {
			if err := s.Present(ctx, fqdn, one); err != nil {
				t.Fatalf("%s: Present: %v", protocol, err)
			}
		}
		if err := s.Present(ctx, fqdn, two); err != nil {
			t.Fatalf("%s: Present: %v", protocol, err)
		}
		got := d.LookupTXT(t, fqdn)
		slices.Sort(got)
		if !slices.Equal(got, []string{one, two}) {
			t.Fatalf("%s: TXT %s = %q, want both values once", protocol, fqdn, got)
		}
		if !propagated(one) || !propagated(two) {
			t.Fatalf("%s: not Propagated after Present", protocol)
		}
		for range 2 {
			if err := s.CleanUp(ctx, fqdn, one); err != nil {
				t.Fatalf("%s: CleanUp: %v", protocol, err)
			}
		}
		if got := d.LookupTXT(t, fqdn); !slices.Equal(got, []string{two}) {
			t.Fatalf("%s: TXT %s after CleanUp(one) = %q, want only the other value", protocol, fqdn, got)
		}
		if propagated(one) || !propagated(two) {
			t.Fatalf("%s: Propagated wrong after CleanUp(one)", protocol)
		}
		if err := s.CleanUp(ctx, fqdn, two); err != nil {
			t.Fatalf("%s: CleanUp: %v", protocol, err)
		}
		if got := d.LookupTXT(t, fqdn); len(got) != 0 {
			t.Fatalf("%s: TXT %s after CleanUp = %q", protocol, fqdn, got)
		}
	}
}

// TestRFC2136NamedRefuses checks that named's refusals come back as
// errors: a wrong TSIG secret, no TSIG, a name outside the zone.
func TestRFC2136NamedRefuses(t *testing.T) {
	d := startNamed(t)
	ctx := t.Context()
	fqdn := dns01.ChallengeFQDN("refused.example.test")

	wrong, err := dns01.NewRFC2136(cmacme.ACMEIssuerDNS01ProviderRFC2136{
		Nameserver: d.Addr(), TSIGKeyName: d.TSIGKeyName(), TSIGAlgorithm: d.TSIGAlgorithm(),
	}, "d3Jvbmcgc2VjcmV0IGtleSBieXRlcyAxMjM0NTY3OA==")
	if err != nil {
		t.Fatal(err)
	}
	if err := wrong.Present(ctx, fqdn, "v"); err == nil {
		t.Errorf("Present with a wrong TSIG secret succeeded")
	} else {
		t.Logf("wrong secret: %v", err)
		if strings.Contains(err.Error(), d.TSIGSecret()) || strings.Contains(err.Error(), "d3Jvbmcg") {
			t.Errorf("error quotes a secret: %v", err)
		}
	}
	wrongAlg, err := dns01.NewRFC2136(cmacme.ACMEIssuerDNS01ProviderRFC2136{
		Nameserver: d.Addr(), TSIGKeyName: d.TSIGKeyName(), TSIGAlgorithm: "HMACSHA512",
	}, d.TSIGSecret())
	if err != nil {
		t.Fatal(err)
	}
	if err := wrongAlg.Present(ctx, fqdn, "v"); err == nil {
		t.Errorf("Present with the wrong TSIG algorithm succeeded")
	}
	unsigned, err := dns01.NewRFC2136(cmacme.ACMEIssuerDNS01ProviderRFC2136{Nameserver: d.Addr()}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := unsigned.Present(ctx, fqdn, "v"); err == nil || !strings.Contains(err.Error(), "REFUSED") {
		t.Errorf("unsigned Present = %v, want REFUSED", err)
	}
	if got := d.LookupTXT(t, fqdn); len(got) != 0 {
		t.Errorf("a refused update took effect: %q", got)
	}
	if err := unsigned.Present(ctx, "_acme-challenge.elsewhere.invalid.", "v"); err == nil {
		t.Errorf("Present outside named's zone succeeded")
	}
	if err := unsigned.Present(ctx, fqdn, `quote"`); err == nil {
		t.Errorf("Present with a quote in the value succeeded")
	}

	// An explicit zone skips discovery.
	signed, err := dns01.NewRFC2136(cmacme.ACMEIssuerDNS01ProviderRFC2136{
		Nameserver: d.Addr(), TSIGKeyName: d.TSIGKeyName(), TSIGAlgorithm: d.TSIGAlgorithm(),
	}, d.TSIGSecret())
	if err != nil {
		t.Fatal(err)
	}
	signed.Zone = "Example.Test"
	if err := signed.Present(ctx, fqdn, "zoned"); err != nil {
		t.Fatalf("Present with Zone: %v", err)
	}
	if got := d.LookupTXT(t, fqdn); !slices.Equal(got, []string{"zoned"}) {
		t.Errorf("TXT = %q", got)
	}
	signed.Zone = "other.test."
	if err := signed.CleanUp(ctx, fqdn, "zoned"); err == nil {
		t.Errorf("CleanUp with a zone not containing the name succeeded")
	}
}
