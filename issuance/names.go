package issuance

// Names of the objects an issuance creates. They are deterministic, so that a
// sweep that crashed half-way finds its own objects again on the next run
// instead of creating duplicates (docs/semantics.md §4.2, StableCertificateRequestName).

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

const (
	// maxObjectNameLength is the longest name Kubernetes accepts for a
	// DNS-1123 subdomain.
	maxObjectNameLength = 253
	// requestNameBaseLimit is the longest Certificate name used as is in a
	// CertificateRequest name: 253 minus room for "-" and a 19-digit revision.
	requestNameBaseLimit = 233
	// nextKeySuffix ends the name of the Secret holding the next private key.
	nextKeySuffix = "-next-key"
)

// requestName is the name of the CertificateRequest for one revision of a
// Certificate: "<name>-<revision>". A Certificate name longer than 233
// characters is shortened to its first at most 168 characters (cut back to
// end on a letter or digit), a "-" and the 64-hex SHA-256 of the full name,
// which is what cert-manager does.
func requestName(certName string, revision int) string {
	return shortenWithHash(certName, requestNameBaseLimit) + "-" + strconv.Itoa(revision)
}

// nextKeySecretName is the name of the Secret that holds the private key for
// the issuance in progress: "<name>-next-key", with long names shortened the
// same way as in requestName so that the result stays within 253 characters.
//
// cert-manager uses generateName for this Secret; a fixed name lets a later
// sweep find the key it generated.
func nextKeySecretName(certName string) string {
	return shortenWithHash(certName, maxObjectNameLength-len(nextKeySuffix)) + nextKeySuffix
}

// shortenWithHash returns name when it is at most limit characters long and
// otherwise "<prefix>-<sha256 hex of name>", at most limit characters long.
func shortenWithHash(name string, limit int) string {
	if len(name) <= limit {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	hash := hex.EncodeToString(sum[:])
	prefix := dnsSafePrefix(name, limit-len(hash)-1)
	if prefix == "" {
		return hash
	}
	return prefix + "-" + hash
}

// dnsSafePrefix cuts s to at most n characters and then back to its last
// ASCII letter or digit, so that the "-" that follows never comes after a
// "." or another "-".
func dnsSafePrefix(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) > n {
		s = s[:n]
	}
	for i := len(s) - 1; i >= 0; i-- {
		if c := s[i]; 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			return s[:i+1]
		}
	}
	return ""
}
