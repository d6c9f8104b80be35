// Package pki is the one place certsweep reads and writes the things
// certificates are made of: PEM and DER, private keys, certificate chains,
// CSRs, RFC 4514 subjects, otherName SANs, the additional output formats
// and the PKCS#12 and JKS keystores, public key comparison, and where a
// CertificateRequest or a condition stands.
//
// Both renew/ (which decides) and issuance/ (which builds and signs) use it,
// so a Secret that one of them calls fine is fine for the other too: there is
// one decoder per format and one rule per question. It is a leaf: it imports
// neither renew/ nor issuance/, only the standard library and cert-manager's
// API types. It does no I/O.
//
// Errors describe what is wrong with a key, never the key: no message this
// package returns carries key material.
package pki
