package issuance

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
)

var dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestRequestName(t *testing.T) {
	name233 := strings.Repeat("a", 233)
	name234 := strings.Repeat("a", 234)
	// A long name whose 168th character is a dot: the prefix must be cut back
	// to end on a letter or digit.
	dotted := strings.Repeat("a", 167) + "." + strings.Repeat("b", 100)
	dashes := strings.Repeat("x", 160) + strings.Repeat("-", 20) + strings.Repeat("y", 60)

	tests := []struct {
		name     string
		cert     string
		revision int
		want     string
	}{
		{"short name", "web", 1, "web-1"},
		{"large revision", "web", 1234567, "web-1234567"},
		{"233 characters kept", name233, 2, name233 + "-2"},
		{"234 characters hashed", name234, 2, strings.Repeat("a", 168) + "-" + hashOf(name234) + "-2"},
		{"prefix cut back from a dot", dotted, 3, strings.Repeat("a", 167) + "-" + hashOf(dotted) + "-3"},
		{"prefix cut back from dashes", dashes, 1, strings.Repeat("x", 160) + "-" + hashOf(dashes) + "-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := requestName(tc.cert, tc.revision)
			if got != tc.want {
				t.Errorf("requestName = %q, want %q", got, tc.want)
			}
			if len(got) > 253 || !dns1123Subdomain.MatchString(got) {
				t.Errorf("%q is not a valid object name (%d chars)", got, len(got))
			}
		})
	}

	// The largest revision still fits.
	if got := requestName(name234, 1<<62); len(got) > 253 {
		t.Errorf("name with huge revision is %d characters", len(got))
	}
	// Distinct long names stay distinct even when their prefixes agree.
	a, b := name234+"a", name234+"b"
	if requestName(a, 1) == requestName(b, 1) {
		t.Errorf("different Certificates got the same request name")
	}
}

func TestNextKeySecretName(t *testing.T) {
	tests := []struct {
		name string
		cert string
	}{
		{"short", "web"},
		{"244 characters", strings.Repeat("a", 244)},
		{"245 characters", strings.Repeat("a", 245)},
		{"253 characters with dots", strings.Repeat("ab.", 84) + "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := nextKeySecretName(tc.cert)
			if len(got) > 253 || !dns1123Subdomain.MatchString(got) {
				t.Errorf("%q is not a valid object name (%d chars)", got, len(got))
			}
			if !strings.HasSuffix(got, "-next-key") {
				t.Errorf("%q does not end in -next-key", got)
			}
			if got != nextKeySecretName(tc.cert) {
				t.Errorf("name is not deterministic")
			}
			if len(tc.cert) <= 244 && got != tc.cert+"-next-key" {
				t.Errorf("short name changed: %q", got)
			}
			if len(tc.cert) > 244 && !strings.Contains(got, hashOf(tc.cert)) {
				t.Errorf("long name %q lacks the hash of the full name", got)
			}
		})
	}
}
