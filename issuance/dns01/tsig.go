package dns01

import (
	"crypto/hmac"
	"crypto/md5"  // #nosec G501 -- HMAC-MD5 is a TSIG algorithm cert-manager accepts (and defaults to)
	"crypto/sha1" // #nosec G505 -- HMAC-SHA1 is a TSIG algorithm cert-manager accepts
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"

	"github.com/miekg/dns"
)

// tsigAlgorithms maps the names cert-manager's rfc2136 solver accepts
// (case-insensitively) to their DNS names; kept as in cert-manager v1.21's
// pkg/issuer/acme/dns/rfc2136.
var tsigAlgorithms = map[string]string{
	"HMACMD5":    dns.HmacMD5,
	"HMACSHA1":   dns.HmacSHA1,
	"HMACSHA256": dns.HmacSHA256,
	"HMACSHA512": dns.HmacSHA512,
}

// tsigHMAC signs and verifies TSIG with a decoded secret. miekg/dns's own
// provider dropped HMAC-MD5, which cert-manager still defaults to, so, like
// cert-manager, certsweep brings its own.
type tsigHMAC []byte

var _ dns.TsigProvider = tsigHMAC(nil)

func (key tsigHMAC) Generate(msg []byte, t *dns.TSIG) ([]byte, error) {
	var h func() hash.Hash
	switch dns.CanonicalName(t.Algorithm) {
	case dns.HmacMD5:
		h = md5.New
	case dns.HmacSHA1:
		h = sha1.New
	case dns.HmacSHA224:
		h = sha256.New224
	case dns.HmacSHA256:
		h = sha256.New
	case dns.HmacSHA384:
		h = sha512.New384
	case dns.HmacSHA512:
		h = sha512.New
	default:
		return nil, dns.ErrKeyAlg
	}
	m := hmac.New(h, key)
	m.Write(msg)
	return m.Sum(nil), nil
}

func (key tsigHMAC) Verify(msg []byte, t *dns.TSIG) error {
	b, err := key.Generate(msg, t)
	if err != nil {
		return err
	}
	mac, err := hex.DecodeString(t.MAC)
	if err != nil {
		return err
	}
	if !hmac.Equal(b, mac) {
		return dns.ErrSig
	}
	return nil
}
