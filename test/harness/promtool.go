package harness

import "testing"

// Promtool returns the path of Prometheus's promtool, which checks rule
// files and runs their unit tests (`promtool check rules`, `promtool test
// rules`). It comes from Debian's prometheus package, installed with
// apt-get on first use when missing: building promtool from its Go module
// brings in every service discovery Prometheus has, a build of many
// minutes on two cores. Installing the package does not start the server
// where a policy-rc.d denies it, as in these machines' images. If promtool
// is missing and cannot be installed, the test is skipped with the reason.
func Promtool(t testing.TB) string {
	t.Helper()
	return lookupDebianTool(t, "promtool", []string{"prometheus"}, func() string {
		return findCommand("promtool", "/usr/bin")
	})
}
