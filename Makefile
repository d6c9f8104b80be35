# certsweep: everything runs with only Go installed. The test control plane
# (etcd + kube-apiserver) is built from Go modules on first use and cached in
# ~/.cache/certsweep/bin (override with CERTSWEEP_CACHE_DIR).

GO          ?= go
BIN         := bin/certsweep
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Packages run two at a time: each starts its own control plane and the CI
# machine has two cores.
TEST_FLAGS  ?= -p 2 -timeout 20m

.PHONY: all build test tools lint unit fuzz soak demo demo-up bench clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(BIN) ./cmd/certsweep

# RACE_E2E are the end-to-end tests whose point is concurrency: overlapping
# sweeps over shared Secrets, LISTs restarted under running workers, shards.
# They run again under the race detector; the rest of test/e2e does not need
# it and would take several times longer with it.
RACE_E2E    ?= TestSweepRaceFree|TestShardsCoverEveryCertificateOnce|TestRunEveryStopsCleanlyOnSIGTERM

## test: formatting, vet, staticcheck, then every test (unit and end-to-end),
## then the race detector over the pure packages and the concurrency tests.
test: lint tools
	$(GO) test $(TEST_FLAGS) ./...
	$(GO) test -race $(TEST_FLAGS) ./renew/... ./issuance/... ./job/... ./triggers/...
	$(GO) test -race $(TEST_FLAGS) -run '$(RACE_E2E)' ./test/e2e/

## tools: build the servers the tests run from pinned modules (etcd,
## kube-apiserver, Pebble, Vault) into the cache, once, before any test.
tools:
	$(GO) run ./test/prebuild

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## unit: the tests that need no control plane.
unit:
	$(GO) test -short ./renew/... ./issuance/... ./job/...

## fuzz: each fuzz target for a short while.
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecodeRetryState -fuzztime=20s ./renew/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeSecret -fuzztime=20s ./renew/
	$(GO) test -run='^$$' -fuzz=FuzzOwnedSecretFields -fuzztime=20s ./renew/
	$(GO) test -run='^$$' -fuzz=FuzzDecodePrivateKey -fuzztime=20s ./issuance/pki/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeCertificates -fuzztime=20s ./issuance/pki/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeCSR -fuzztime=20s ./issuance/pki/
	$(GO) test -run='^$$' -fuzz=FuzzParseLiteralSubject -fuzztime=20s ./issuance/pki/
	$(GO) test -run='^$$' -fuzz=FuzzParseOID -fuzztime=20s ./issuance/pki/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeEvent -fuzztime=20s ./triggers/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeSignResponse -fuzztime=20s ./issuance/vault/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeLoginResponse -fuzztime=20s ./issuance/vault/

## soak: the fault tests at scale (200 Certificates, 10 faulty rounds,
## 4 API server restarts mid-sweep); see docs/reliability.md.
soak:
	CERTSWEEP_SOAK=1 $(GO) test -count=1 -timeout 30m -run 'TestFaults|TestAPIServerRestart|TestNoKeyInLogs' ./test/e2e/

## demo: start a local control plane, apply manifests/examples, run one
## sweep and show the result. KEEP=1 keeps the control plane up afterwards.
demo: build
	$(GO) run ./test/demo -certsweep $(BIN) -examples manifests/examples $(if $(KEEP),-keep)

## bench: the scale benchmarks. Go benchmarks of the hot paths, then the
## certsweep binary against a local control plane at each size in
## BENCH_SIZES, then BENCH_ACME_SIZE Certificates issued through ACME
## (Pebble, DNS-01 via BIND 9; 0 skips it); writes docs/performance.md and
## docs/performance.png. BENCH_FLAGS=-acme-only reruns only the ACME part
## and rewrites only its section of docs/performance.md.
BENCH_SIZES ?= 1000,5000,10000,20000
BENCH_ACME_SIZE ?= 100
BENCH_FLAGS ?=
bench: build
	@mkdir -p .bench
	$(GO) test -run '^$$' -bench . -benchtime 200ms ./renew/ ./issuance/ | tee .bench/micro.txt
	$(GO) run ./test/bench -certsweep $(BIN) -sizes $(BENCH_SIZES) -acme-size $(BENCH_ACME_SIZE) -micro .bench/micro.txt $(BENCH_FLAGS)

clean:
	rm -rf bin .demo .bench
