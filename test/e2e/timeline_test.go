package e2e

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"golang.org/x/net/html"

	"github.com/certsweep/certsweep/test/harness"
)

// TestTimelinePageInABrowser runs the binary's `plan -o html` over
// Certificates in two namespaces, one of them failing, and opens the page
// in headless Chromium. After its scripts ran, the page has one row per
// Certificate with the failing one marked and labelled with its reason,
// the sweep schedule drawn, and nothing fetched (no violation of its
// Content-Security-Policy, no http(s) resource named). Loaded with
// #ns=NAMESPACE, the rows of the other namespace are hidden; without
// JavaScript (the markup as served) every row shows. `plan -o json` over
// the same Certificates carries the new fields next to the old ones.
func TestTimelinePageInABrowser(t *testing.T) {
	harness.Chromium(t) // skip before making fixtures if there is no browser
	shop, payments := newEnv(t), newEnv(t)
	// A label only these Certificates carry, so `plan -A` over the shared
	// control plane sees them and no other test's.
	label := "certsweep-timeline-test"
	mark := func(c *cmapi.Certificate) *cmapi.Certificate {
		c.Labels = map[string]string{label: shop.ns}
		return c
	}
	shop.create(selfSignedIssuer("selfsigned"))
	shop.create(mark(certificate("web", issuerRef("selfsigned"), ecdsaKey)))
	shop.create(caIssuer("broken", "missing-ca"))
	shop.create(mark(certificate("stuck", issuerRef("broken"))))
	payments.create(selfSignedIssuer("selfsigned"))
	payments.create(mark(certificate("api", issuerRef("selfsigned"), ecdsaKey)))
	shop.run()
	payments.run()

	bin := certsweepBinary(t)
	code, page, stderr := runBinary(t, bin, shop.podEnv(shop.cp.Config), "plan", "-o", "html", "-A", "-l", label+"="+shop.ns, "--schedule", "*/15 * * * *")
	if code != 0 {
		t.Fatalf("plan -o html: exit %d\n%s", code, stderr)
	}
	path := filepath.Join(t.TempDir(), "timeline.html")
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	pageURL := (&url.URL{Scheme: "file", Path: path}).String()

	// As rendered, scripts run.
	dom := parseDOM(t, harness.DumpDOM(t, pageURL))
	csp := domFind(dom, func(n *html.Node) bool {
		return domTag("meta")(n) && strings.EqualFold(domAttr(n, "http-equiv"), "Content-Security-Policy")
	})
	if csp == nil || !strings.Contains(domAttr(csp, "content"), "default-src 'none'") {
		t.Fatal("the page has no Content-Security-Policy forbidding fetches")
	}
	if v := domAttr(domFirst(t, dom, domTag("html")), "data-csp-violations"); v != "" {
		t.Errorf("the page tried to fetch: %s violations, last %q", v, domAttr(domFirst(t, dom, domTag("html")), "data-csp-blocked"))
	}
	for _, n := range domAll(dom, func(n *html.Node) bool { return n.Type == html.ElementNode }) {
		for _, a := range n.Attr {
			v := strings.ToLower(strings.TrimSpace(a.Val))
			if (a.Key == "src" || a.Key == "href" || a.Key == "action" || a.Key == "srcset") &&
				(strings.HasPrefix(v, "http:") || strings.HasPrefix(v, "https:") || strings.HasPrefix(v, "//")) {
				t.Errorf("<%s %s=%q> fetches from the network", n.Data, a.Key, a.Val)
			}
		}
	}
	rows := domAll(dom, domCertRow)
	got := map[string]*html.Node{}
	for _, r := range rows {
		got[domAttr(r, "data-namespace")+"/"+domAttr(r, "data-name")] = r
	}
	want := []string{payments.ns + "/api", shop.ns + "/stuck", shop.ns + "/web"}
	if len(rows) != 3 || len(got) != 3 {
		t.Fatalf("%d rows (%v), want one per Certificate: %v", len(rows), domKeys(got), want)
	}
	for _, k := range want {
		r := got[k]
		if r == nil {
			t.Fatalf("no row for %s among %v", k, domKeys(got))
		}
		failing := strings.HasSuffix(k, "/stuck")
		if domHasClass(r, "failing") != failing || (domAttr(r, "data-failing") == "true") != failing {
			t.Errorf("row %s: class %q, data-failing %q; failing should be %v", k, domAttr(r, "class"), domAttr(r, "data-failing"), failing)
		}
		if domHidden(r) {
			t.Errorf("row %s is hidden with no filter", k)
		}
		label := domFind(r, domClass("failure-label"))
		if failing != (label != nil) {
			t.Errorf("row %s: failure label %v, failing %v", k, label != nil, failing)
		}
		if failing && !strings.Contains(domText(label), "IssuerNotReady") {
			t.Errorf("row %s: failure label %q does not say IssuerNotReady", k, domText(label))
		}
		if failing && domFind(r, domClass("retry")) == nil {
			t.Errorf("row %s: no retry window drawn", k)
		}
		if !failing && (domFind(r, domClass("validity")) == nil || domFind(r, domClass("renewal")) == nil) {
			t.Errorf("row %s: no validity or renewal time drawn", k)
		}
		if domFind(r, domClass("now")) == nil {
			t.Errorf("row %s: no now line", k)
		}
	}
	if filter := domFirst(t, dom, domID("ns-filter")); domHidden(filter) {
		t.Error("the namespace filter stayed hidden though scripts ran")
	}
	sweeps := domFind(dom, domClass("sweeps"))
	if sweeps == nil || !strings.Contains(domText(sweeps), "*/15 * * * *") || (domFind(sweeps, domClass("sweep")) == nil && domFind(sweeps, domClass("sweep-band")) == nil) {
		t.Error("the sweep schedule is not drawn")
	}

	// Filtered to one namespace by the URL.
	filtered := parseDOM(t, harness.DumpDOM(t, pageURL+"#ns="+payments.ns))
	for _, r := range domAll(filtered, domCertRow) {
		if want := domAttr(r, "data-namespace") != payments.ns; domHidden(r) != want {
			t.Errorf("with #ns=%s, row %s/%s hidden=%v", payments.ns, domAttr(r, "data-namespace"), domAttr(r, "data-name"), domHidden(r))
		}
	}
	if shown := domAttr(domFirst(t, filtered, domTag("body")), "data-shown"); shown != "1" {
		t.Errorf("with #ns=%s, data-shown=%q, want 1", payments.ns, shown)
	}

	// Without JavaScript the page is its markup: every row shows, and the
	// filter, which needs the script, is not offered.
	static := parseDOM(t, page)
	if n := len(domAll(static, domCertRow)); n != 3 {
		t.Errorf("without scripts: %d rows", n)
	}
	for _, r := range domAll(static, domCertRow) {
		if domHidden(r) {
			t.Errorf("without scripts, row %s is hidden", domAttr(r, "data-name"))
		}
	}
	if !domHidden(domFirst(t, static, domID("ns-filter"))) {
		t.Error("without scripts the namespace filter shows, though it cannot work")
	}

	// The JSON plan, same scope: the old fields, and the new ones the page
	// draws from.
	code, stdout, stderr := runBinary(t, bin, shop.podEnv(shop.cp.Config), "plan", "-o", "json", "-A", "-l", label+"="+shop.ns)
	if code != 0 {
		t.Fatalf("plan -o json: exit %d\n%s", code, stderr)
	}
	var doc struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || len(doc.Items) != 3 {
		t.Fatalf("plan -o json: %v, %d items\n%s", err, len(doc.Items), stdout)
	}
	for _, it := range doc.Items {
		for _, k := range []string{"namespace", "name", "ready", "action", "issuer"} {
			if _, ok := it[k]; !ok {
				t.Errorf("item %v lacks %q", it["name"], k)
			}
		}
		if it["name"] == "stuck" {
			if it["failureReason"] != "IssuerNotReady" || it["lastFailureTime"] == nil || it["failureClass"] != "temporary" || it["failedAttempts"] != float64(1) {
				t.Errorf("stuck: %v", it)
			}
		} else if it["notBefore"] == nil || it["notAfter"] == nil || it["renewalTime"] == nil {
			t.Errorf("%v: %v", it["name"], it)
		}
	}
}

func parseDOM(t *testing.T, s string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("parsing the page: %v", err)
	}
	return doc
}

func domAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if match(d) {
			out = append(out, d)
		}
	}
	return out
}

func domFind(n *html.Node, match func(*html.Node) bool) *html.Node {
	if found := domAll(n, match); len(found) > 0 {
		return found[0]
	}
	return nil
}

func domFirst(t *testing.T, n *html.Node, match func(*html.Node) bool) *html.Node {
	t.Helper()
	found := domFind(n, match)
	if found == nil {
		t.Fatal("the page lacks an element it should have")
	}
	return found
}

func domAttr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func domHasAttr(n *html.Node, key string) bool {
	return slices.ContainsFunc(n.Attr, func(a html.Attribute) bool { return a.Key == key })
}

func domHasClass(n *html.Node, class string) bool {
	return slices.Contains(strings.Fields(domAttr(n, "class")), class)
}

func domHidden(n *html.Node) bool { return domHasAttr(n, "hidden") }

func domTag(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == tag }
}

func domClass(class string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Type == html.ElementNode && domHasClass(n, class) }
}

func domID(id string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Type == html.ElementNode && domAttr(n, "id") == id }
}

// domCertRow matches the page's row of one Certificate.
func domCertRow(n *html.Node) bool { return domTag("tr")(n) && domHasClass(n, "cert") }

func domText(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

func domKeys(m map[string]*html.Node) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
