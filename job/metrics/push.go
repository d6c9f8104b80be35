package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
)

// PushJob is the job label of every push: one group per certsweep
// installation (and per shard, see Pushgateway.Push).
const PushJob = "certsweep"

// pushTimeout bounds one push, so that a Pushgateway that does not answer
// holds a CronJob's pod for seconds, not until its deadline.
const pushTimeout = 15 * time.Second

// Pushgateway is a Prometheus Pushgateway that `run` pushes to.
type Pushgateway struct {
	// base is the URL without credentials, which travel as basic auth
	// instead, so that no error message or log line carries them.
	base           *url.URL
	user, password string
	auth           bool
}

// ParsePushgatewayURL checks raw, an http or https URL with a host, such
// as http://pushgateway.monitoring:9091. Credentials in it
// (https://user:password@host) are sent as basic auth.
func ParsePushgatewayURL(raw string) (*Pushgateway, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL") // url's error quotes the URL, credentials and all
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("want an http or https URL with a host, such as http://pushgateway:9091, got %q", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("want no query or fragment in %q: the path is the Pushgateway's base", u.Redacted())
	}
	p := &Pushgateway{}
	if u.User != nil {
		p.auth = true
		p.user = u.User.Username()
		p.password, _ = u.User.Password()
		u.User = nil
	}
	p.base = u
	return p, nil
}

// String is the URL without credentials.
func (p *Pushgateway) String() string { return p.base.String() }

// Push replaces the group job="certsweep" plus grouping (a shard, say) on
// the Pushgateway with what g gathers: HTTP PUT, so series of the previous
// push that this one lacks, a deleted Certificate's among them, are gone.
func (p *Pushgateway) Push(ctx context.Context, grouping map[string]string, g prometheus.Gatherer) error {
	ctx, cancel := context.WithTimeout(ctx, pushTimeout)
	defer cancel()
	pusher := push.New(p.base.String(), PushJob).Gatherer(g).Client(&http.Client{Timeout: pushTimeout})
	for name, value := range grouping {
		pusher = pusher.Grouping(name, value)
	}
	if p.auth {
		pusher = pusher.BasicAuth(p.user, p.password)
	}
	return pusher.PushContext(ctx)
}
