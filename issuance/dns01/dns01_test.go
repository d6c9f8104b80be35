package dns01_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"

	"github.com/certsweep/certsweep/issuance/dns01"
)

func TestChallengeFQDN(t *testing.T) {
	for domain, want := range map[string]string{
		"example.com":        "_acme-challenge.example.com.",
		"www.example.com":    "_acme-challenge.www.example.com.",
		"*.example.com":      "_acme-challenge.example.com.",
		"*.www.example.com":  "_acme-challenge.www.example.com.",
		"example.com.":       "_acme-challenge.example.com.",
		"*.example.com.":     "_acme-challenge.example.com.",
		"WWW.Example.COM":    "_acme-challenge.www.example.com.",
		" a.example.com ":    "_acme-challenge.a.example.com.",
		"xn--bcher-kva.test": "_acme-challenge.xn--bcher-kva.test.",
	} {
		if got := dns01.ChallengeFQDN(domain); got != want {
			t.Errorf("ChallengeFQDN(%q) = %q, want %q", domain, got, want)
		}
	}
}

const secret = "c2VjcmV0LWtleS1ieXRlcw==" // base64("secret-key-bytes")

func TestNewRFC2136Defaults(t *testing.T) {
	r, err := dns01.NewRFC2136(cmacme.ACMEIssuerDNS01ProviderRFC2136{Nameserver: "192.0.2.1", TSIGKeyName: "key."}, secret)
	if err != nil {
		t.Fatalf("NewRFC2136: %v", err)
	}
	if r.Nameserver != "192.0.2.1:53" || r.TSIGAlgorithm != "HMACMD5" || r.TSIGKeyName != "key." || r.TSIGSecret != secret ||
		r.Timeout != 10*time.Second || r.Network != "udp" || r.Zone != "" {
		t.Errorf("defaults: %+v", *r)
	}
	unsigned, err := dns01.NewRFC2136(cmacme.ACMEIssuerDNS01ProviderRFC2136{Nameserver: "ns.example.com:5353", Protocol: cmacme.RFC2136UpdateProtocolTCP}, "")
	if err != nil {
		t.Fatalf("NewRFC2136: %v", err)
	}
	if unsigned.Nameserver != "ns.example.com:5353" || unsigned.TSIGKeyName != "" || unsigned.TSIGSecret != "" || unsigned.Network != "tcp" {
		t.Errorf("unsigned over TCP: %+v", *unsigned)
	}
}

func TestNewRFC2136Algorithms(t *testing.T) {
	for in, want := range map[string]string{
		"":           "HMACMD5",
		"HMACMD5":    "HMACMD5",
		"hmacmd5":    "HMACMD5",
		"HMACSHA1":   "HMACSHA1",
		"HMACSHA256": "HMACSHA256",
		"HmacSha512": "HMACSHA512",
	} {
		r, err := dns01.NewRFC2136(cmacme.ACMEIssuerDNS01ProviderRFC2136{Nameserver: "192.0.2.1", TSIGKeyName: "k", TSIGAlgorithm: in}, secret)
		if err != nil || r.TSIGAlgorithm != want {
			t.Errorf("algorithm %q: %+v, %v; want %s", in, r, err, want)
		}
	}
	for _, bad := range []string{"HMACSHA224", "HMACSHA384", "hmac-sha256", "RSA"} {
		if _, err := dns01.NewRFC2136(cmacme.ACMEIssuerDNS01ProviderRFC2136{Nameserver: "192.0.2.1", TSIGKeyName: "k", TSIGAlgorithm: bad}, secret); err == nil {
			t.Errorf("algorithm %q accepted; cert-manager refuses it", bad)
		}
	}
}

func TestNewRFC2136Nameservers(t *testing.T) {
	for in, want := range map[string]string{
		"8.8.8.8":            "8.8.8.8:53",
		"8.8.8.8:":           "8.8.8.8:53",
		"8.8.8.8:5353":       "8.8.8.8:5353",
		"[2001:db8::1]":      "[2001:db8::1]:53",
		"[2001:db8::1]:":     "[2001:db8::1]:53",
		"[2001:db8::1]:5353": "[2001:db8::1]:5353",
		"2001:db8::1":        "[2001:db8::1]:53",
		"ns.example.com":     "ns.example.com:53",
		" ns.example.com:54": "ns.example.com:54",
	} {
		r, err := dns01.NewRFC2136(cmacme.ACMEIssuerDNS01ProviderRFC2136{Nameserver: in}, "")
		if err != nil || r.Nameserver != want {
			t.Errorf("nameserver %q: %v, %v; want %s", in, r, err, want)
		}
	}
	for _, bad := range []string{"", " ", ":53", "host:port", "host:70000", "host:0"} {
		if _, err := dns01.NewRFC2136(cmacme.ACMEIssuerDNS01ProviderRFC2136{Nameserver: bad}, ""); err == nil {
			t.Errorf("nameserver %q accepted", bad)
		}
	}
}

func TestNewRFC2136Errors(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg    cmacme.ACMEIssuerDNS01ProviderRFC2136
		secret string
	}{
		"key name without secret": {cmacme.ACMEIssuerDNS01ProviderRFC2136{Nameserver: "192.0.2.1", TSIGKeyName: "k"}, ""},
		"secret without key name": {cmacme.ACMEIssuerDNS01ProviderRFC2136{Nameserver: "192.0.2.1"}, secret},
		"secret not base64":       {cmacme.ACMEIssuerDNS01ProviderRFC2136{Nameserver: "192.0.2.1", TSIGKeyName: "k"}, "not*base64!"},
		"protocol":                {cmacme.ACMEIssuerDNS01ProviderRFC2136{Nameserver: "192.0.2.1", Protocol: "tcp"}, ""},
	} {
		_, err := dns01.NewRFC2136(tc.cfg, tc.secret)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
			t.Errorf("%s: error %q quotes the secret", name, err)
		}
	}
}

func TestRFC2136StringHidesSecret(t *testing.T) {
	r, err := dns01.NewRFC2136(cmacme.ACMEIssuerDNS01ProviderRFC2136{Nameserver: "192.0.2.1", TSIGKeyName: "k", TSIGAlgorithm: "HMACSHA256"}, secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(r), fmt.Sprintf("%v %+v %#v %s", r, r, r, r)} {
		if strings.Contains(s, secret) {
			t.Errorf("formatting prints the secret: %s", s)
		}
	}
}
