package issuance

// Certificate chains: putting a leaf and its CA certificates in order and
// splitting them into tls.crt and ca.crt (docs/semantics.md §7.3).
//
// tls.crt holds the leaf and then each issuer up the chain, but never a
// self-signed root: RFC 5246 §7.4.2 lets a server leave the root out, since
// a client must already have it to trust the chain. ca.crt holds the top of
// the chain: the root when it is there, else the highest certificate known
// (which then also appears in tls.crt).

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/certsweep/certsweep/issuance/pki"
)

// maxChainCertificates bounds the work on hostile input; linking is quadratic.
const maxChainCertificates = 1000

// orderChain de-duplicates certs and orders them from the leaf up to the top,
// each certificate followed by the one that issued it. Issuance is proven by
// the issuer's name and signature (and by key identifiers when both are
// set). All certificates must form one straight line: a certificate with two
// possible issuers, an issuer of two certificates, or a certificate unrelated
// to the rest is an error.
func orderChain(certs []*x509.Certificate) ([]*x509.Certificate, error) {
	var unique []*x509.Certificate
	seen := make(map[string]bool, len(certs))
	for i, c := range certs {
		if c == nil || len(c.Raw) == 0 {
			return nil, fmt.Errorf("certificate %d of the chain is empty", i+1)
		}
		if !seen[string(c.Raw)] {
			seen[string(c.Raw)] = true
			unique = append(unique, c)
		}
	}
	switch n := len(unique); {
	case n == 0:
		return nil, errors.New("certificate chain is empty")
	case n > maxChainCertificates:
		return nil, fmt.Errorf("certificate chain has %d certificates, more than the %d allowed", n, maxChainCertificates)
	}

	// issuer[i] is the index of the certificate that issued unique[i], or -1.
	issuer := make([]int, len(unique))
	children := make([]int, len(unique))
	for i, c := range unique {
		issuer[i] = -1
		if isSelfSigned(c) {
			continue
		}
		for j, p := range unique {
			if i == j || !issuedBy(c, p) {
				continue
			}
			if issuer[i] != -1 {
				return nil, fmt.Errorf("certificate chain is forked: %q has more than one issuer in the chain", c.Subject.String())
			}
			issuer[i] = j
		}
		if issuer[i] != -1 {
			children[issuer[i]]++
			if children[issuer[i]] > 1 {
				p := unique[issuer[i]]
				return nil, fmt.Errorf("certificate chain is forked: %q issued more than one certificate in the chain", p.Subject.String())
			}
		}
	}

	leaf := -1
	for i := range unique {
		if children[i] == 0 {
			if leaf != -1 {
				return nil, errors.New("certificate chain is broken: it holds certificates that do not link to one another")
			}
			leaf = i
		}
	}
	if leaf == -1 {
		return nil, errors.New("certificate chain is broken: its certificates issue one another in a loop")
	}

	ordered := make([]*x509.Certificate, 0, len(unique))
	for i := leaf; i != -1 && len(ordered) <= len(unique); i = issuer[i] {
		ordered = append(ordered, unique[i])
	}
	if len(ordered) != len(unique) {
		return nil, errors.New("certificate chain is broken: it holds certificates that do not link to one another")
	}
	return ordered, nil
}

// buildChain orders leaf and the CA certificates that should lead from it to
// a root, and returns the PEM for tls.crt and ca.crt. leaf must end up at the
// bottom of the chain.
func buildChain(leaf *x509.Certificate, cas []*x509.Certificate) (tlsCrt, caCrt []byte, err error) {
	if leaf == nil {
		return nil, nil, errors.New("no leaf certificate given")
	}
	ordered, err := orderChain(append([]*x509.Certificate{leaf}, cas...))
	if err != nil {
		return nil, nil, err
	}
	if !bytes.Equal(ordered[0].Raw, leaf.Raw) {
		return nil, nil, fmt.Errorf("certificate chain is malformed: %q is not at its end", leaf.Subject.String())
	}
	tlsCrt, caCrt = splitChain(ordered)
	return tlsCrt, caCrt, nil
}

// BuildChain is buildChain for the issuers in their own packages (Vault):
// the leaf an issuer returned and the CA certificates it sent along,
// ordered and split into tls.crt and ca.crt.
func BuildChain(leaf *x509.Certificate, cas []*x509.Certificate) (tlsCrt, caCrt []byte, err error) {
	return buildChain(leaf, cas)
}

// splitChain turns an ordered chain (leaf first) into the PEM for tls.crt
// and ca.crt. A chain of one self-signed certificate is both. A chain of one
// certificate that is not self-signed has no ca.crt.
func splitChain(ordered []*x509.Certificate) (tlsCrt, caCrt []byte) {
	if len(ordered) == 0 {
		return nil, nil
	}
	top := ordered[len(ordered)-1]
	if len(ordered) == 1 {
		if isSelfSigned(top) {
			return pki.EncodeCertificates(top), pki.EncodeCertificates(top)
		}
		return pki.EncodeCertificates(top), nil
	}
	served := ordered
	if isSelfSigned(top) {
		served = ordered[:len(ordered)-1]
	}
	return pki.EncodeCertificates(served...), pki.EncodeCertificates(top)
}

// issuedBy reports whether parent signed child.
func issuedBy(child, parent *x509.Certificate) bool {
	if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
		return false
	}
	if len(child.AuthorityKeyId) > 0 && len(parent.SubjectKeyId) > 0 &&
		!bytes.Equal(child.AuthorityKeyId, parent.SubjectKeyId) {
		return false
	}
	return parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature) == nil
}

// isSelfSigned reports whether c names itself as issuer and its signature
// verifies with its own key.
func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}
