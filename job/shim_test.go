package job

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The Warning event that says a shim problem once is named after the
// object and a hash of its UID and the message: the same problem gives the
// same name, another problem or object another, and the name is always one
// the API server accepts, even for the longest object names.
func TestShimWarningName(t *testing.T) {
	ing := corev1.ObjectReference{Kind: "Ingress", Namespace: "web", Name: "site", UID: "uid-1"}
	long := ing
	long.Name = strings.Repeat("a", 199) + "-" + strings.Repeat("b", 53)
	cases := []struct {
		name   string
		obj    corev1.ObjectReference
		msg    string
		sameAs string // the name of the first row when equal, else ""
	}{
		{"first", ing, "bad duration", ""},
		{"same problem again", ing, "bad duration", "same"},
		{"another problem", ing, "bad usages", ""},
		{"another object of that name", corev1.ObjectReference{Kind: "Ingress", Namespace: "web", Name: "site", UID: "uid-2"}, "bad duration", ""},
		{"a 253-character name cut at a dash", long, "bad duration", ""},
	}
	first := shimWarningName(cases[0].obj, cases[0].msg)
	for _, tc := range cases {
		got := shimWarningName(tc.obj, tc.msg)
		if errs := validation.IsDNS1123Subdomain(got); len(errs) > 0 {
			t.Errorf("%s: %q is not a valid event name: %v", tc.name, got, errs)
		}
		if (got == first) != (tc.sameAs != "" || tc.name == "first") {
			t.Errorf("%s: %q vs first %q", tc.name, got, first)
		}
	}
}
