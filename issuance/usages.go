package issuance

// Key usages: the mapping from cert-manager's usage strings to X.509 key
// usage bits and extended key usages (docs/semantics.md §7.1), and the
// defaulting rule shared by CSR building and signing.

import (
	"crypto/x509"
	"fmt"
	"strings"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

// keyUsageBits maps the usages that are KeyUsage bits.
var keyUsageBits = map[cmapi.KeyUsage]x509.KeyUsage{
	cmapi.UsageSigning:           x509.KeyUsageDigitalSignature, // an alias of "digital signature"
	cmapi.UsageDigitalSignature:  x509.KeyUsageDigitalSignature,
	cmapi.UsageContentCommitment: x509.KeyUsageContentCommitment,
	cmapi.UsageKeyEncipherment:   x509.KeyUsageKeyEncipherment,
	cmapi.UsageKeyAgreement:      x509.KeyUsageKeyAgreement,
	cmapi.UsageDataEncipherment:  x509.KeyUsageDataEncipherment,
	cmapi.UsageCertSign:          x509.KeyUsageCertSign,
	cmapi.UsageCRLSign:           x509.KeyUsageCRLSign,
	cmapi.UsageEncipherOnly:      x509.KeyUsageEncipherOnly,
	cmapi.UsageDecipherOnly:      x509.KeyUsageDecipherOnly,
}

// extKeyUsages maps the usages that are extended key usages.
var extKeyUsages = map[cmapi.KeyUsage]x509.ExtKeyUsage{
	cmapi.UsageAny:             x509.ExtKeyUsageAny,
	cmapi.UsageServerAuth:      x509.ExtKeyUsageServerAuth,
	cmapi.UsageClientAuth:      x509.ExtKeyUsageClientAuth,
	cmapi.UsageCodeSigning:     x509.ExtKeyUsageCodeSigning,
	cmapi.UsageEmailProtection: x509.ExtKeyUsageEmailProtection,
	cmapi.UsageSMIME:           x509.ExtKeyUsageEmailProtection, // an alias of "email protection"
	cmapi.UsageIPsecEndSystem:  x509.ExtKeyUsageIPSECEndSystem,
	cmapi.UsageIPsecTunnel:     x509.ExtKeyUsageIPSECTunnel,
	cmapi.UsageIPsecUser:       x509.ExtKeyUsageIPSECUser,
	cmapi.UsageTimestamping:    x509.ExtKeyUsageTimeStamping,
	cmapi.UsageOCSPSigning:     x509.ExtKeyUsageOCSPSigning,
	cmapi.UsageMicrosoftSGC:    x509.ExtKeyUsageMicrosoftServerGatedCrypto,
	cmapi.UsageNetscapeSGC:     x509.ExtKeyUsageNetscapeServerGatedCrypto,
}

// KeyUsages turns a Certificate's or CertificateRequest's usages into X.509
// values. An empty list means cert-manager's defaults, "digital signature"
// and "key encipherment"; isCA adds "cert sign". Extended key usages keep
// the order of the list and may repeat, as cert-manager's do. An unknown
// usage is an error naming it.
func KeyUsages(usages []cmapi.KeyUsage, isCA bool) (x509.KeyUsage, []x509.ExtKeyUsage, error) {
	var ku x509.KeyUsage
	var eku []x509.ExtKeyUsage
	if isCA {
		ku |= x509.KeyUsageCertSign
	}
	if len(usages) == 0 {
		usages = cmapi.DefaultKeyUsages()
	}

	var unknown []string
	for _, u := range usages {
		if bit, ok := keyUsageBits[u]; ok {
			ku |= bit
		} else if ext, ok := extKeyUsages[u]; ok {
			eku = append(eku, ext)
		} else {
			unknown = append(unknown, fmt.Sprintf("%q", string(u)))
		}
	}
	if len(unknown) > 0 {
		return 0, nil, fmt.Errorf("unknown key usages: %s", strings.Join(unknown, ", "))
	}
	return ku, eku, nil
}
