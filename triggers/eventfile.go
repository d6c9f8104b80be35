package triggers

import (
	"fmt"
	"io"
	"os"

	"github.com/cloudevents/sdk-go/v2/event"
)

// MaxEventBytes bounds one event, over HTTP and from a file. ApiServerSource
// events in Reference mode are a few hundred bytes; Resource mode carries
// whole objects, and Kubernetes caps an object at about 1.5 MB in etcd, but
// the objects we watch are far smaller, and nothing of the payload beyond
// kind, namespace and name is used.
const MaxEventBytes = 1 << 20

// ReadEventFile reads the CloudEvent that Knative's JobSink mounts into the
// Job it starts (structured JSON, at /etc/jobsink-event/event) and decodes
// it. Every failure wraps ErrBadEvent: an unreadable file will not become
// readable on retry, and nothing has been touched yet.
func ReadEventFile(path string) (Request, error) {
	f, err := os.Open(path)
	if err != nil {
		return Request{}, fmt.Errorf("%w: %w", ErrBadEvent, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxEventBytes+1))
	if err != nil {
		return Request{}, fmt.Errorf("%w: reading %s: %w", ErrBadEvent, path, err)
	}
	if len(data) > MaxEventBytes {
		return Request{}, fmt.Errorf("%w: %s is larger than %d bytes", ErrBadEvent, path, MaxEventBytes)
	}
	var ev event.Event
	if err := ev.UnmarshalJSON(data); err != nil {
		// The parser's error can quote the file's bytes, which in Resource
		// mode may be a Secret's; say what is wrong without them.
		return Request{}, fmt.Errorf("%w: %s is not a CloudEvent in structured JSON form", ErrBadEvent, path)
	}
	req, err := Decode(ev)
	if err != nil {
		return Request{}, fmt.Errorf("%s: %w", path, err)
	}
	return req, nil
}
