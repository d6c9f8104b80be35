package harness

import (
	"net/http"
	"net/url"
	"testing"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		method, path, query string
		want                string
	}{
		{"GET", "/api/v1/namespaces", "", "LIST namespaces"},
		{"GET", "/api/v1/namespaces/foo", "", "GET namespaces"},
		{"PUT", "/api/v1/namespaces/foo/finalize", "", "UPDATE namespaces/finalize"},
		{"GET", "/api/v1/namespaces/foo/secrets", "", "LIST secrets"},
		{"GET", "/api/v1/namespaces/foo/secrets", "watch=true", "WATCH secrets"},
		{"GET", "/api/v1/watch/namespaces/foo/secrets", "", "WATCH secrets"},
		{"GET", "/apis/cert-manager.io/v1/certificates", "", "LIST certificates.cert-manager.io"},
		{"PATCH", "/apis/cert-manager.io/v1/namespaces/foo/certificates/web/status", "", "PATCH certificates.cert-manager.io/status"},
		{"POST", "/apis/cert-manager.io/v1/namespaces/foo/certificaterequests", "", "CREATE certificaterequests.cert-manager.io"},
		{"DELETE", "/api/v1/namespaces/foo/secrets/s", "", "DELETE secrets"},
		{"DELETE", "/api/v1/namespaces/foo/secrets", "", "DELETECOLLECTION secrets"},
		{"GET", "/apis", "", "GET /apis"},
	} {
		req := &http.Request{Method: tc.method, URL: &url.URL{Path: tc.path, RawQuery: tc.query}}
		if got := classify(req).Key(); got != tc.want {
			t.Errorf("%s %s?%s: got %q, want %q", tc.method, tc.path, tc.query, got, tc.want)
		}
	}
}

func TestRequiredVersion(t *testing.T) {
	gomod := []byte("module x\n\nrequire a/b v1.0.0 // indirect\n\nrequire (\n\tk8s.io/kubernetes v1.34.4\n\tc/d v0.1.0 // indirect\n)\n")
	for mod, want := range map[string]string{"a/b": "v1.0.0", "k8s.io/kubernetes": "v1.34.4", "c/d": "v0.1.0"} {
		if got, err := requiredVersion(gomod, mod); err != nil || got != want {
			t.Errorf("requiredVersion(%s) = %q, %v; want %q", mod, got, err, want)
		}
	}
	if _, err := requiredVersion(gomod, "missing"); err == nil {
		t.Error("requiredVersion(missing): want error")
	}
}
