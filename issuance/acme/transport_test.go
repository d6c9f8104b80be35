package acme

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"120", 2 * time.Minute},
		{" 7 ", 7 * time.Second},
		{"-5", 0},
		{"1.5", 0},
		{"abc", 0},
		{"99999999999999999999999", maxRetryAfter},
		{"9223372036", maxRetryAfter},
		{now.Add(time.Hour).Format(http.TimeFormat), time.Hour},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{now.Add(90 * 24 * time.Hour).Format(http.TimeFormat), maxRetryAfter},
		{now.Add(time.Minute).Format(time.RFC850), time.Minute},
		{"Fri, 99 Foo 2026 00:00:00 GMT", 0},
	}
	for _, tc := range tests {
		if got := parseRetryAfter(tc.value, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tc.value, got, tc.want)
		}
	}
}

func TestParseLinks(t *testing.T) {
	base, _ := url.Parse("https://ca.example/acme/cert/1")
	tests := []struct {
		name   string
		values []string
		want   []string
	}{
		{"none", nil, nil},
		{"pebble", []string{`<https://ca.example/cert/1/1>;rel="alternate"`, `<https://ca.example/cert/1/2>;rel="alternate"`},
			[]string{"https://ca.example/cert/1/1", "https://ca.example/cert/1/2"}},
		{"one header, two links", []string{`<https://ca.example/a>; rel="alternate", <https://ca.example/up>; rel="up", <https://ca.example/b>; rel=alternate`},
			[]string{"https://ca.example/a", "https://ca.example/b"}},
		{"relative", []string{`</acme/cert/1/alt>; rel="alternate"`, `<alt2>; rel="alternate"`},
			[]string{"https://ca.example/acme/cert/1/alt", "https://ca.example/acme/cert/alt2"}},
		{"rel list and case", []string{`<https://ca.example/a>; rel="index ALTERNATE"`}, []string{"https://ca.example/a"}},
		{"quoted comma and semicolon", []string{`<https://ca.example/a>; title="x, y; z"; rel="alternate", <https://ca.example/b>; rel="alternate"`},
			[]string{"https://ca.example/a", "https://ca.example/b"}},
		{"other rel", []string{`<https://ca.example/a>; rel="up"`}, nil},
		{"not https", []string{`<http://ca.example/a>; rel="alternate"`, `<ftp://x/>; rel="alternate"`}, nil},
		{"garbage then a link", []string{`nonsense, <https://ca.example/a>; rel="alternate"`}, []string{"https://ca.example/a"}},
		{"unterminated", []string{`<https://ca.example/a; rel="alternate"`}, nil},
	}
	for _, tc := range tests {
		if got := parseLinks(tc.values, "alternate", base); !slices.Equal(got, tc.want) {
			t.Errorf("%s: parseLinks(%q) = %q, want %q", tc.name, tc.values, got, tc.want)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "120", "-1", "1e9", "99999999999999999999", "Fri, 02 Jan 2026 03:04:05 GMT", "Friday, 02-Jan-26 03:04:05 GMT", "Fri Jan  2 03:04:05 2026"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, value string) {
		if d := parseRetryAfter(value, now); d < 0 || d > maxRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %s, outside [0, %s]", value, d, maxRetryAfter)
		}
	})
}

func FuzzParseLinks(f *testing.F) {
	for _, s := range []string{
		`<https://ca.example/cert/1/1>;rel="alternate"`,
		`<a>; rel=alternate, <b>; title="x, \"y\""; rel="up alternate"`,
		`<`, `<>`, `<>;`, `;;;`, `"`, `<x>; rel="`, `<x>; rel=\`,
	} {
		f.Add(s)
	}
	base, _ := url.Parse("https://ca.example/acme/cert/1")
	f.Fuzz(func(t *testing.T, value string) {
		for _, link := range parseLinks([]string{value}, "alternate", base) {
			u, err := url.Parse(link)
			if err != nil || u.Scheme != "https" || u.Host == "" {
				t.Fatalf("parseLinks(%q) returned %q, not an absolute HTTPS URL", value, link)
			}
		}
	})
}
