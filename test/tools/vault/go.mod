// Module vault pins the HashiCorp Vault server the test harness builds
// (test/harness/vault.go). It is a separate module so that Vault's
// dependencies never leak into certsweep's own go.mod.
//
// Vault cannot be built from here with `go build <pkg>`: its go.mod points
// github.com/hashicorp/vault/api and .../sdk at sub-directories (`replace
// ... => ./sdk`) that its module zip does not carry, and replace directives
// of a dependency are ignored anyway. The harness therefore copies this
// version's source out of the module cache, drops those local replaces (so
// the pinned sdk v0.21.0 and api are used), adapts three call sites to that
// sdk and builds the copy. Bumping the version below changes the cached
// binary's name and forces a rebuild; the call-site edits fail loudly when
// they no longer apply.
module github.com/certsweep/certsweep/test/tools/vault

go 1.26

require github.com/hashicorp/vault v1.21.4
