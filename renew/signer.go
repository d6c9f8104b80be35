package renew

import (
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
)

// CertManagerIssuer reports whether ref names one of cert-manager's own
// Issuers or ClusterIssuers (group cert-manager.io, the default), as opposed
// to an external issuer with a controller of its own.
func CertManagerIssuer(ref cmmeta.IssuerReference) bool {
	return ref.Group == "" || ref.Group == cmapi.SchemeGroupVersion.Group
}

// SignsInProcess is the one rule for who carries a Certificate's requests
// to their signature: for cert-manager's own issuers the sweep does, in
// process for SelfSigned and CA, and by driving the order run after run for
// ACME; an external issuer's requests belong to its own controller, and the
// sweep only creates the request and reads its answer.
func SignsInProcess(ref cmmeta.IssuerReference) bool {
	return CertManagerIssuer(ref)
}
