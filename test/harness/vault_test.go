package harness

import (
	"strings"
	"testing"
)

func TestDropLocalReplaces(t *testing.T) {
	in := `module github.com/hashicorp/vault

replace github.com/hashicorp/vault/api => ./api

replace github.com/hashicorp/vault/sdk => ./sdk

replace github.com/99designs/keyring => github.com/Jeffail/keyring v1.2.3

require github.com/hashicorp/vault/sdk v0.21.0
`
	out, dropped := dropLocalReplaces([]byte(in))
	if dropped != 2 {
		t.Fatalf("dropped %d replaces, want 2", dropped)
	}
	got := string(out)
	if strings.Contains(got, "=> ./") || !strings.Contains(got, "Jeffail/keyring") || !strings.Contains(got, "require github.com/hashicorp/vault/sdk v0.21.0") {
		t.Fatalf("unexpected go.mod:\n%s", got)
	}
}

// TestStartVault starts the real dev server and configures PKI, a role, a
// policy, a token and AppRole, as the e2e tests do.
func TestStartVault(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Vault server")
	}
	v := StartVault(t)
	root := v.EnablePKI(t, "pki", "harness root")
	if !strings.Contains(string(root), "BEGIN CERTIFICATE") {
		t.Fatalf("root is not PEM: %q", root)
	}
	v.WritePKIRole(t, "pki", "web", map[string]any{"allowed_domains": "example.test", "allow_subdomains": true})
	v.WritePolicy(t, "p", `path "pki/sign/web" { capabilities = ["update"] }`)
	if tok := v.CreateToken(t, "p"); tok == "" {
		t.Fatal("no token")
	}
	if roleID, secretID := v.EnableAppRole(t, "approle", "r", "p"); roleID == "" || secretID == "" {
		t.Fatal("no AppRole credentials")
	}
	reqs := v.Requests(t)
	if len(reqs) == 0 {
		t.Fatal("the audit log recorded nothing")
	}
}
