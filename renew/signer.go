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

// SignsInProcess is the one rule for who signs a Certificate's requests:
// cert-manager's own issuers that certsweep supports (SelfSigned, CA) are
// signed by the sweep itself, in process; an external issuer's requests
// belong to its own controller, and the sweep only creates the request and
// reads its answer.
func SignsInProcess(ref cmmeta.IssuerReference) bool {
	return CertManagerIssuer(ref)
}
