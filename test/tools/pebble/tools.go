//go:build tools

// Package tools records the pebble and pebble-challtestsrv commands as
// dependencies so that `go build github.com/letsencrypt/pebble/v2/cmd/...`
// resolves from this module.
package tools

import (
	_ "github.com/letsencrypt/pebble/v2/cmd/pebble"
	_ "github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv"
)
