package http01

import (
	"maps"
	"testing"
)

func TestLabels(t *testing.T) {
	// The hashes are cert-manager's (adler32, in decimal): a Pod it made
	// for this Challenge carries the same labels.
	want := map[string]string{
		"acme.cert-manager.io/http-domain":   "446694490",
		"acme.cert-manager.io/http-token":    "353370935",
		"acme.cert-manager.io/http01-solver": "true",
	}
	if got := Labels(challenge(nil)); !maps.Equal(got, want) {
		t.Errorf("Labels = %v, want %v", got, want)
	}
}
