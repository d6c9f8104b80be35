package triggers

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cloudevents/sdk-go/v2/event"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The CloudEvent types certsweep understands. Knative's ApiServerSource
// sends ref.* in Reference mode (data names the object) and resource.* in
// Resource mode (data is the object); PingSource sends ping on a schedule.
// See knative.dev/eventing pkg/apis/sources/v1 and pkg/adapter/apiserver.
const (
	TypePing              = "dev.knative.sources.ping"
	typeRefPrefix         = "dev.knative.apiserver.ref."
	typeResourcePrefix    = "dev.knative.apiserver.resource."
	apiServerSourceAdd    = "add"
	apiServerSourceUpdate = "update"
	apiServerSourceDelete = "delete"
)

// ErrBadEvent marks an event that cannot be understood: the sender should
// not retry it. serve answers 400 and `run` with an event file exits 2.
var ErrBadEvent = errors.New("malformed event")

// Subject identifies the object an ApiServerSource event is about. It holds
// only what identifies the object: the payload is a hint that something
// changed, never a statement of what the object now is, so nothing else of
// it is kept (in Resource mode a Secret's payload is its key material).
type Subject struct {
	Group, Kind, Namespace, Name string
}

func (s Subject) String() string {
	kind := s.Kind
	if s.Group != "" {
		kind += "." + s.Group
	}
	if s.Namespace == "" {
		return kind + " " + s.Name
	}
	return kind + " " + s.Namespace + "/" + s.Name
}

// Request is what one event asks of certsweep: a full sweep (Sweep), work on
// whatever Subject concerns, or nothing (an event type we do not know, which
// is acknowledged so that it is not redelivered forever).
type Request struct {
	// Type is the CloudEvent type, kept for logging.
	Type    string
	Sweep   bool
	Subject *Subject
}

// Ignored reports whether the request asks for nothing.
func (r Request) Ignored() bool { return !r.Sweep && r.Subject == nil }

// apiServerPayload covers both ApiServerSource modes: Reference mode puts
// namespace and name at the top level, Resource mode inside metadata. Every
// other field of the object is skipped by the decoder, not stored.
type apiServerPayload struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	Metadata   struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"metadata"`
}

// Decode turns a CloudEvent into a Request. It errs (wrapping ErrBadEvent)
// only for events of a type we act on whose data does not identify an
// object; any type it does not know is an ignored Request.
func Decode(ev event.Event) (Request, error) {
	req := Request{Type: ev.Type()}
	if err := ev.Validate(); err != nil {
		return req, fmt.Errorf("%w: %w", ErrBadEvent, err)
	}
	typ := ev.Type()
	var verb string
	var resourceMode bool
	switch {
	case typ == TypePing:
		req.Sweep = true
		return req, nil
	case strings.HasPrefix(typ, typeRefPrefix):
		verb = strings.TrimPrefix(typ, typeRefPrefix)
	case strings.HasPrefix(typ, typeResourcePrefix):
		verb, resourceMode = strings.TrimPrefix(typ, typeResourcePrefix), true
	default:
		return req, nil
	}
	switch verb {
	case apiServerSourceAdd, apiServerSourceUpdate, apiServerSourceDelete:
	default:
		return req, nil
	}
	if ct := ev.DataMediaType(); ct != "" && ct != event.ApplicationJSON && !strings.HasSuffix(ct, "+json") {
		return req, fmt.Errorf("%w: %s data must be JSON, got %q", ErrBadEvent, typ, ct)
	}
	var p apiServerPayload
	if err := json.Unmarshal(ev.Data(), &p); err != nil {
		// The error text quotes no data: encoding/json reports offsets and
		// types, not values.
		return req, fmt.Errorf("%w: %s data is not a JSON object: %w", ErrBadEvent, typ, err)
	}
	if resourceMode {
		p.Namespace, p.Name = p.Metadata.Namespace, p.Metadata.Name
	}
	subj, err := subjectOf(p)
	if err != nil {
		return req, fmt.Errorf("%w: %s: %w", ErrBadEvent, typ, err)
	}
	req.Subject = &subj
	return req, nil
}

// subjectOf validates the identifying fields. Names must be what the API
// server would accept, so nothing odd reaches a URL path or a log line.
func subjectOf(p apiServerPayload) (Subject, error) {
	gv, err := schema.ParseGroupVersion(p.APIVersion)
	if err != nil || p.APIVersion == "" {
		return Subject{}, fmt.Errorf("apiVersion %q is not group/version", truncateForError(p.APIVersion))
	}
	if p.Kind == "" || len(p.Kind) > 63 || strings.ContainsAny(p.Kind, "/. \t\r\n") {
		return Subject{}, fmt.Errorf("kind %q is not a Kubernetes kind", truncateForError(p.Kind))
	}
	if errs := validation.IsDNS1123Subdomain(p.Name); len(errs) > 0 {
		return Subject{}, fmt.Errorf("name %q is not a valid object name", truncateForError(p.Name))
	}
	if p.Namespace != "" {
		if errs := validation.IsDNS1123Label(p.Namespace); len(errs) > 0 {
			return Subject{}, fmt.Errorf("namespace %q is not a valid namespace", truncateForError(p.Namespace))
		}
	}
	s := Subject{Group: gv.Group, Kind: p.Kind, Namespace: p.Namespace, Name: p.Name}
	if r, ok := routes[s.groupKind()]; ok && r.namespaced && s.Namespace == "" {
		return Subject{}, fmt.Errorf("%s %q needs a namespace", s.Kind, s.Name)
	}
	return s, nil
}

func (s Subject) groupKind() schema.GroupKind { return schema.GroupKind{Group: s.Group, Kind: s.Kind} }

// truncateForError keeps error lines short when a field is absurdly long.
func truncateForError(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

var (
	certManagerGroup = cmapi.SchemeGroupVersion.Group
	acmeGroup        = cmacme.SchemeGroupVersion.Group
)
