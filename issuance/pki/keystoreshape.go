package pki

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

// What a keystore file says about itself before any password is tried.
//
// go-pkcs12 decodes with whatever algorithms and iteration counts a file
// names, and reports neither. Reading them here (they are in the clear)
// tells which profile wrote a PKCS#12 file, and refuses, before any key is
// derived, a file whose iteration counts would cost minutes. keystore-go
// allocates each length field of a JKS file before reading it; walking the
// layout first refuses lengths that point past the end of the file.

// pkcs12Shape is how a PKCS#12 file is protected: the MAC over the whole
// file, the cipher of the encrypted certificate safe and that of the
// shrouded key bag (empty for a trust store), each with its KDF rounds.
type pkcs12Shape struct {
	MAC        string
	MACRounds  int
	Certs      string
	CertRounds int
	Key        string
	KeyRounds  int
}

// Algorithm names used in shapes.
const (
	algHMACSHA1     = "hmac-sha1"
	algHMACSHA256   = "hmac-sha256"
	algPBMAC1SHA256 = "pbmac1-pbkdf2-hmac-sha256-hmac-sha256"
	algPBE3DES      = "pbe-sha1-3des"
	algPBERC2_40    = "pbe-sha1-rc2-40"
	algPBES2AES256  = "pbes2-pbkdf2-hmac-sha256-aes-256-cbc"
)

// pkcs12Profiles are the shapes go-pkcs12 writes for each profile's
// keystore (a trust store has the same, without a key bag). A unit test
// encodes with each profile and reads the shape back, so a library update
// that changes them is caught.
var pkcs12Profiles = map[cmapi.PKCS12Profile]pkcs12Shape{
	cmapi.LegacyRC2PKCS12Profile:  {MAC: algHMACSHA1, MACRounds: 1, Certs: algPBERC2_40, CertRounds: 2048, Key: algPBE3DES, KeyRounds: 2048},
	cmapi.LegacyDESPKCS12Profile:  {MAC: algHMACSHA1, MACRounds: 1, Certs: algPBE3DES, CertRounds: 2048, Key: algPBE3DES, KeyRounds: 2048},
	cmapi.Modern2023PKCS12Profile: {MAC: algHMACSHA256, MACRounds: 2048, Certs: algPBES2AES256, CertRounds: 2048, Key: algPBES2AES256, KeyRounds: 2048},
	cmapi.Modern2026PKCS12Profile: {MAC: algPBMAC1SHA256, MACRounds: 2048, Certs: algPBES2AES256, CertRounds: 2048, Key: algPBES2AES256, KeyRounds: 2048},
}

// pkcs12ProfileOf names the profile whose keystore or trust store has
// shape s.
func pkcs12ProfileOf(s pkcs12Shape) (cmapi.PKCS12Profile, bool) {
	for p, want := range pkcs12Profiles {
		if s.Key == "" {
			want.Key, want.KeyRounds = "", 0
		}
		if s == want {
			return p, true
		}
	}
	return "", false
}

var (
	oidData              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidEncryptedData     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidKeyBag            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 1}
	oidShroudedKeyBag    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidPBES2             = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidPBMAC1            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}
	oidPBEWithSHA3DES    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
	oidPBEWithSHARC2_40  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 6}
	oidPBEWithSHARC2_128 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 5}
	oidSHA1              = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidHMACSHA1          = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA256        = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidAES256CBC         = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

type p12ContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
}

type p12MacData struct {
	Mac struct {
		Algorithm pkix.AlgorithmIdentifier
		Digest    []byte
	}
	MacSalt    []byte
	Iterations int `asn1:"optional,default:1"`
}

type p12SafeBag struct {
	ID         asn1.ObjectIdentifier
	Value      asn1.RawValue `asn1:"tag:0,explicit"`
	Attributes asn1.RawValue `asn1:"optional"`
}

type p12PBKDF2Params struct {
	Salt       asn1.RawValue
	Iterations int
	KeyLength  int                      `asn1:"optional"`
	PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
}

// unmarshalAll decodes exactly one DER value from data.
func unmarshalAll(data []byte, out any) error {
	rest, err := asn1.Unmarshal(data, out)
	if err == nil && len(rest) > 0 {
		err = errors.New("trailing data")
	}
	return err
}

var errNotPKCS12 = errors.New("is not a PKCS#12 file")

// readPKCS12Shape reads how data is protected, without a password.
func readPKCS12Shape(data []byte) (pkcs12Shape, error) {
	var s pkcs12Shape
	var pfx struct {
		Version  int
		AuthSafe p12ContentInfo
		MacData  p12MacData `asn1:"optional"`
	}
	if err := unmarshalAll(data, &pfx); err != nil || pfx.Version != 3 || !pfx.AuthSafe.ContentType.Equal(oidData) {
		return s, errNotPKCS12
	}
	var safe []byte
	var parts []p12ContentInfo
	if unmarshalAll(pfx.AuthSafe.Content.Bytes, &safe) != nil || unmarshalAll(safe, &parts) != nil {
		return s, errNotPKCS12
	}
	var err error
	if s.MAC, s.MACRounds, err = macShape(pfx.MacData); err != nil {
		return s, err
	}
	for _, part := range parts {
		switch {
		case part.ContentType.Equal(oidEncryptedData):
			var ed struct {
				Version int
				Info    struct {
					ContentType asn1.ObjectIdentifier
					Algorithm   pkix.AlgorithmIdentifier
					Content     []byte `asn1:"tag:0,optional"`
				}
			}
			if s.Certs != "" || unmarshalAll(part.Content.Bytes, &ed) != nil {
				return s, errNotPKCS12
			}
			if s.Certs, s.CertRounds, err = cipherShape(ed.Info.Algorithm); err != nil {
				return s, err
			}
		case part.ContentType.Equal(oidData):
			var contents []byte
			var bags []p12SafeBag
			if unmarshalAll(part.Content.Bytes, &contents) != nil || unmarshalAll(contents, &bags) != nil {
				return s, errNotPKCS12
			}
			for _, bag := range bags {
				switch {
				case bag.ID.Equal(oidKeyBag):
					// A key in the clear: no profile writes that.
					s.Key, s.KeyRounds = "plain", 0
				case bag.ID.Equal(oidShroudedKeyBag):
					var info struct {
						Algorithm pkix.AlgorithmIdentifier
						Data      []byte
					}
					if s.Key != "" || unmarshalAll(bag.Value.Bytes, &info) != nil {
						return s, errNotPKCS12
					}
					if s.Key, s.KeyRounds, err = cipherShape(info.Algorithm); err != nil {
						return s, err
					}
				}
			}
		default:
			return s, errNotPKCS12
		}
	}
	return s, nil
}

// macShape names the MAC algorithm of a PKCS#12 file and its rounds.
func macShape(m p12MacData) (string, int, error) {
	alg := m.Mac.Algorithm
	switch {
	case len(alg.Algorithm) == 0:
		return "none", 0, nil
	case alg.Algorithm.Equal(oidSHA1):
		return algHMACSHA1, m.Iterations, nil
	case alg.Algorithm.Equal(oidSHA256):
		return algHMACSHA256, m.Iterations, nil
	case alg.Algorithm.Equal(oidPBMAC1):
		var params struct {
			KDF pkix.AlgorithmIdentifier
			MAC pkix.AlgorithmIdentifier
		}
		if unmarshalAll(alg.Parameters.FullBytes, &params) != nil {
			return "", 0, errNotPKCS12
		}
		prf, rounds, err := pbkdf2Shape(params.KDF)
		if err != nil {
			return "", 0, err
		}
		return "pbmac1-" + prf + "-" + oidName(params.MAC.Algorithm), rounds, nil
	default:
		return oidName(alg.Algorithm), m.Iterations, nil
	}
}

// cipherShape names a password-based encryption algorithm and its rounds.
func cipherShape(alg pkix.AlgorithmIdentifier) (string, int, error) {
	switch {
	case alg.Algorithm.Equal(oidPBEWithSHA3DES), alg.Algorithm.Equal(oidPBEWithSHARC2_40), alg.Algorithm.Equal(oidPBEWithSHARC2_128):
		var params struct {
			Salt       []byte
			Iterations int
		}
		if unmarshalAll(alg.Parameters.FullBytes, &params) != nil {
			return "", 0, errNotPKCS12
		}
		return oidName(alg.Algorithm), params.Iterations, nil
	case alg.Algorithm.Equal(oidPBES2):
		var params struct {
			KDF        pkix.AlgorithmIdentifier
			Encryption pkix.AlgorithmIdentifier
		}
		if unmarshalAll(alg.Parameters.FullBytes, &params) != nil {
			return "", 0, errNotPKCS12
		}
		prf, rounds, err := pbkdf2Shape(params.KDF)
		if err != nil {
			return "", 0, err
		}
		return "pbes2-" + prf + "-" + oidName(params.Encryption.Algorithm), rounds, nil
	default:
		return oidName(alg.Algorithm), 0, nil
	}
}

// pbkdf2Shape names a key derivation function ("pbkdf2-hmac-sha256") and
// its rounds.
func pbkdf2Shape(kdf pkix.AlgorithmIdentifier) (string, int, error) {
	if !kdf.Algorithm.Equal(oidPBKDF2) {
		return oidName(kdf.Algorithm), 0, nil
	}
	var params p12PBKDF2Params
	if unmarshalAll(kdf.Parameters.FullBytes, &params) != nil {
		return "", 0, errNotPKCS12
	}
	prf := oidHMACSHA1 // RFC 8018's default
	if len(params.PRF.Algorithm) > 0 {
		prf = params.PRF.Algorithm
	}
	return "pbkdf2-" + oidName(prf), params.Iterations, nil
}

func oidName(oid asn1.ObjectIdentifier) string {
	for _, n := range []struct {
		oid  asn1.ObjectIdentifier
		name string
	}{
		{oidPBEWithSHA3DES, algPBE3DES},
		{oidPBEWithSHARC2_40, algPBERC2_40},
		{oidPBEWithSHARC2_128, "pbe-sha1-rc2-128"},
		{oidHMACSHA1, "hmac-sha1"},
		{oidHMACSHA256, "hmac-sha256"},
		{oidAES256CBC, "aes-256-cbc"},
	} {
		if oid.Equal(n.oid) {
			return n.name
		}
	}
	return "oid-" + oid.String()
}

// checkJKSLayout walks a JKS file's entries and refuses one whose lengths
// or counts do not fit in it. It checks no digest; keystore-go does.
func checkJKSLayout(data []byte) error {
	r := &jksReader{rest: data}
	if r.u32() != 0xfeedfeed {
		return errors.New("is not a JKS file")
	}
	version := r.u32()
	if version != 1 && version != 2 {
		return fmt.Errorf("is a JKS file of unknown version %d", version)
	}
	entries := r.u32()
	// An entry takes at least 18 bytes (tag, alias length, date, a length).
	if uint64(entries) > uint64(len(data))/18 {
		return errors.New("is corrupt")
	}
	cert := func() {
		if version == 2 {
			r.skip(uint32(r.u16())) // certificate type
		}
		r.skip(r.u32())
	}
	for i := uint32(0); i < entries && !r.bad; i++ {
		tag := r.u32()
		r.skip(uint32(r.u16())) // alias
		r.skip(8)               // creation date
		switch tag {
		case 1: // private key
			r.skip(r.u32())
			certs := r.u32()
			if uint64(certs) > uint64(len(r.rest))/4 {
				return errors.New("is corrupt")
			}
			for j := uint32(0); j < certs && !r.bad; j++ {
				cert()
			}
		case 2: // trusted certificate
			cert()
		default:
			return errors.New("is corrupt")
		}
	}
	r.skip(20) // SHA-1 digest
	if r.bad || len(r.rest) != 0 {
		return errors.New("is corrupt")
	}
	return nil
}

// jksReader reads big-endian fields; a read past the end sets bad, and
// every later read gives zero.
type jksReader struct {
	rest []byte
	bad  bool
}

func (r *jksReader) take(n uint32) ([]byte, bool) {
	if r.bad || uint64(n) > uint64(len(r.rest)) {
		r.bad = true
		return nil, false
	}
	b := r.rest[:n]
	r.rest = r.rest[n:]
	return b, true
}

func (r *jksReader) u16() uint16 {
	if b, ok := r.take(2); ok {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *jksReader) u32() uint32 {
	if b, ok := r.take(4); ok {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *jksReader) skip(n uint32) { r.take(n) }
