package triggers

import (
	"errors"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"k8s.io/apimachinery/pkg/util/validation"
)

func newEvent(t testing.TB, typ, contentType string, data []byte) event.Event {
	t.Helper()
	ev := event.New()
	ev.SetID("1")
	ev.SetSource("/apis/v1/namespaces/certsweep/apiserversources/certsweep")
	ev.SetType(typ)
	if data != nil {
		ev.SetDataContentType(contentType)
		ev.DataEncoded = data
	}
	return ev
}

// One row per kind of event, read like an FAQ: what does this event make
// certsweep do?
func TestDecode(t *testing.T) {
	cases := []struct {
		name, typ, ct, data string
		want                Request
		bad                 bool
	}{
		{name: "ping sweeps everything", typ: TypePing, want: Request{Sweep: true}},
		{name: "ping with a body still sweeps", typ: TypePing, ct: "application/json", data: `{"anything":1}`, want: Request{Sweep: true}},
		{name: "reference add of a Certificate",
			typ: "dev.knative.apiserver.ref.add", ct: "application/json",
			data: `{"kind":"Certificate","namespace":"web","name":"site","apiVersion":"cert-manager.io/v1"}`,
			want: Request{Subject: &Subject{Group: "cert-manager.io", Kind: "Certificate", Namespace: "web", Name: "site"}}},
		{name: "reference delete of a Secret",
			typ: "dev.knative.apiserver.ref.delete", ct: "application/json",
			data: `{"kind":"Secret","namespace":"web","name":"site-tls","apiVersion":"v1"}`,
			want: Request{Subject: &Subject{Kind: "Secret", Namespace: "web", Name: "site-tls"}}},
		{name: "reference update of a ClusterIssuer has no namespace",
			typ: "dev.knative.apiserver.ref.update", ct: "application/json",
			data: `{"kind":"ClusterIssuer","name":"ca","apiVersion":"cert-manager.io/v1"}`,
			want: Request{Subject: &Subject{Group: "cert-manager.io", Kind: "ClusterIssuer", Name: "ca"}}},
		{name: "resource update of a CertificateSigningRequest has no namespace",
			typ: "dev.knative.apiserver.resource.update", ct: "application/json",
			data: `{"apiVersion":"certificates.k8s.io/v1","kind":"CertificateSigningRequest","metadata":{"name":"client-1"},"spec":{"request":"LS0t"}}`,
			want: Request{Subject: &Subject{Group: "certificates.k8s.io", Kind: "CertificateSigningRequest", Name: "client-1"}}},
		{name: "resource mode takes namespace and name from metadata, nothing else",
			typ: "dev.knative.apiserver.resource.update", ct: "application/json",
			data: `{"apiVersion":"v1","kind":"Secret","metadata":{"namespace":"web","name":"site-tls"},"data":{"tls.key":"c2VjcmV0"}}`,
			want: Request{Subject: &Subject{Kind: "Secret", Namespace: "web", Name: "site-tls"}}},
		{name: "reference update of an ACME Order",
			typ: "dev.knative.apiserver.ref.update", ct: "application/json",
			data: `{"kind":"Order","namespace":"web","name":"site-1-2960232331","apiVersion":"acme.cert-manager.io/v1"}`,
			want: Request{Subject: &Subject{Group: "acme.cert-manager.io", Kind: "Order", Namespace: "web", Name: "site-1-2960232331"}}},
		{name: "reference add of an ACME Challenge",
			typ: "dev.knative.apiserver.ref.add", ct: "application/json",
			data: `{"kind":"Challenge","namespace":"web","name":"site-1-2960232331-338402622","apiVersion":"acme.cert-manager.io/v1"}`,
			want: Request{Subject: &Subject{Group: "acme.cert-manager.io", Kind: "Challenge", Namespace: "web", Name: "site-1-2960232331-338402622"}}},
		{name: "a kind we do not watch is decoded and later ignored",
			typ: "dev.knative.apiserver.ref.add", ct: "application/json",
			data: `{"kind":"Pod","namespace":"web","name":"p","apiVersion":"v1"}`,
			want: Request{Subject: &Subject{Kind: "Pod", Namespace: "web", Name: "p"}}},
		{name: "unknown type is acknowledged and ignored", typ: "com.example.something", ct: "application/json", data: `{"x":1}`, want: Request{}},
		{name: "unknown ApiServerSource verb is ignored", typ: "dev.knative.apiserver.ref.sync", ct: "application/json", data: `{}`, want: Request{}},

		// Non-triggers: events of a type we act on that name no object.
		{name: "garbage data", typ: "dev.knative.apiserver.ref.add", ct: "application/json", data: `{not json`, bad: true},
		{name: "no data", typ: "dev.knative.apiserver.ref.add", bad: true},
		{name: "not JSON", typ: "dev.knative.apiserver.ref.add", ct: "text/plain", data: `Certificate web/site`, bad: true},
		{name: "namespaced kind without namespace", typ: "dev.knative.apiserver.ref.add", ct: "application/json",
			data: `{"kind":"Certificate","name":"site","apiVersion":"cert-manager.io/v1"}`, bad: true},
		{name: "Order without namespace", typ: "dev.knative.apiserver.ref.update", ct: "application/json",
			data: `{"kind":"Order","name":"site-1-1","apiVersion":"acme.cert-manager.io/v1"}`, bad: true},
		{name: "Challenge without namespace", typ: "dev.knative.apiserver.ref.update", ct: "application/json",
			data: `{"kind":"Challenge","name":"site-1-1-1","apiVersion":"acme.cert-manager.io/v1"}`, bad: true},
		{name: "name with a slash", typ: "dev.knative.apiserver.ref.add", ct: "application/json",
			data: `{"kind":"Certificate","namespace":"web","name":"../site","apiVersion":"cert-manager.io/v1"}`, bad: true},
		{name: "namespace not a label", typ: "dev.knative.apiserver.ref.add", ct: "application/json",
			data: `{"kind":"Certificate","namespace":"Web.X","name":"site","apiVersion":"cert-manager.io/v1"}`, bad: true},
		{name: "no apiVersion", typ: "dev.knative.apiserver.ref.add", ct: "application/json",
			data: `{"kind":"Certificate","namespace":"web","name":"site"}`, bad: true},
		{name: "reference fields in resource mode do not count", typ: "dev.knative.apiserver.resource.add", ct: "application/json",
			data: `{"kind":"Certificate","namespace":"web","name":"site","apiVersion":"cert-manager.io/v1"}`, bad: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var data []byte
			if tc.data != "" || tc.ct != "" {
				data = []byte(tc.data)
			}
			got, err := Decode(newEvent(t, tc.typ, tc.ct, data))
			if tc.bad {
				if !errors.Is(err, ErrBadEvent) {
					t.Fatalf("Decode: err = %v, want ErrBadEvent", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got.Sweep != tc.want.Sweep || (got.Subject == nil) != (tc.want.Subject == nil) ||
				(got.Subject != nil && *got.Subject != *tc.want.Subject) {
				t.Fatalf("Decode = %+v (subject %v), want %+v (subject %v)", got, got.Subject, tc.want, tc.want.Subject)
			}
			if got.Type != tc.typ {
				t.Errorf("Type = %q, want %q", got.Type, tc.typ)
			}
		})
	}
}

// The error for a malformed Resource-mode event must not carry the payload:
// it is logged, and the payload may be a Secret.
func TestDecodeErrorDoesNotQuotePayload(t *testing.T) {
	data := `{"apiVersion":"v1","kind":"Secret","metadata":{"namespace":"web"},"data":{"tls.key":"TOPSECRETKEYBYTES"}}`
	_, err := Decode(newEvent(t, "dev.knative.apiserver.resource.add", "application/json", []byte(data)))
	if err == nil {
		t.Fatal("Decode accepted a Secret without a name")
	}
	if strings.Contains(err.Error(), "TOPSECRET") {
		t.Fatalf("error quotes the payload: %v", err)
	}
}

// FuzzDecodeEvent feeds arbitrary structured-mode bytes through the same
// path an event file takes. Whatever the input, Decode must not panic, and
// a Subject it returns must be safe to put in a URL path and a log line.
func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"dev.knative.sources.ping"}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"dev.knative.apiserver.ref.add","datacontenttype":"application/json","data":{"kind":"Certificate","namespace":"web","name":"site","apiVersion":"cert-manager.io/v1"}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"dev.knative.apiserver.resource.delete","datacontenttype":"application/json","data":{"apiVersion":"v1","kind":"Secret","metadata":{"namespace":"web","name":"site-tls"}}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"dev.knative.apiserver.ref.update","data_base64":"eyJraW5kIjoiSXNzdWVyIn0="}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"dev.knative.apiserver.ref.add","datacontenttype":"application/json","data":"a string"}`))
	f.Add([]byte(`{"specversion":"0.3","id":"","type":""}`))
	f.Add([]byte(`not json at all`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var ev event.Event
		if err := ev.UnmarshalJSON(raw); err != nil {
			return
		}
		req, err := Decode(ev)
		if err != nil {
			if !errors.Is(err, ErrBadEvent) {
				t.Fatalf("error does not wrap ErrBadEvent: %v", err)
			}
			return
		}
		if req.Sweep && req.Subject != nil {
			t.Fatal("a request both sweeps and names a subject")
		}
		if s := req.Subject; s != nil {
			if errs := validation.IsDNS1123Subdomain(s.Name); len(errs) > 0 {
				t.Fatalf("accepted name %q: %v", s.Name, errs)
			}
			if s.Namespace != "" && len(validation.IsDNS1123Label(s.Namespace)) > 0 {
				t.Fatalf("accepted namespace %q", s.Namespace)
			}
			if s.Kind == "" || strings.ContainsAny(s.Kind, "/ \n") {
				t.Fatalf("accepted kind %q", s.Kind)
			}
			if r, ok := routes[s.groupKind()]; ok && r.namespaced && s.Namespace == "" {
				t.Fatalf("accepted namespaced %s without a namespace", s.Kind)
			}
		}
	})
}
