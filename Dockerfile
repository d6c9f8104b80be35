# certsweep container image: a static binary on distroless, running as
# nonroot. Build: docker build -t ghcr.io/certsweep/certsweep:0.1.0 .
# (CI does not build it: the CI machine has no container engine.)

FROM golang:1.26 AS build
WORKDIR /src
# Dependencies first, so a source change does not re-download them.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static (no cgo), reproducible paths; nothing else is needed at run time.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/certsweep ./cmd/certsweep

# distroless static: CA certificates and /etc/passwd for nonroot, no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/certsweep /certsweep
USER nonroot:nonroot
ENTRYPOINT ["/certsweep"]
CMD ["run"]
