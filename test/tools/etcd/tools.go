//go:build tools

// Package tools records the etcd server command as a dependency so that
// `go build go.etcd.io/etcd/server/v3` resolves from this module.
package tools

import _ "go.etcd.io/etcd/server/v3"
