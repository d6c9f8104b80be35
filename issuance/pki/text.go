package pki

import "unicode/utf8"

// Truncate shortens s to at most n bytes for a message, ending it with "…"
// when it was cut, and never splits a UTF-8 character. Values from outside
// (a PEM type, an annotation) go into conditions and events through it, so a
// hostile value cannot make those objects too large to write.
func Truncate(s string, n int) string {
	const ellipsis = "…"
	if len(s) <= n {
		return s
	}
	cut := max(n-len(ellipsis), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
