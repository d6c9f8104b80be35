package main

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/certsweep/certsweep/job"
)

// TestMetricsSettings: no Pushgateway, no pusher; a bad URL is bad
// configuration (exit 2) and its message keeps credentials out; a shard
// pushes to its own group; and the clients count their requests.
func TestMetricsSettings(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		c, err := loadConfig()
		if err != nil {
			t.Fatal(err)
		}
		if c.PushgatewayURL != "" || c.MetricsInterval != time.Minute {
			t.Fatalf("pushgateway %q, metrics interval %s", c.PushgatewayURL, c.MetricsInterval)
		}
		p, err := newPusher(c, job.Options{}, nil)
		if p != nil || err != nil || c.wrapTransport != nil {
			t.Fatalf("no Pushgateway: pusher %v, error %v", p, err)
		}
	})
	t.Run("a bad URL is bad configuration", func(t *testing.T) {
		for _, bad := range []string{"pushgateway:9091", "ftp://user:hunter2@pg", "http://user:hunter2@pg:9091/?x"} {
			_, err := newPusher(&config{PushgatewayURL: bad}, job.Options{}, nil)
			var cfgErr configError
			if !errors.As(err, &cfgErr) || !strings.Contains(err.Error(), "CERTSWEEP_PUSHGATEWAY_URL") || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("%s: error %v, want a configuration error without the password", bad, err)
			}
		}
	})
	t.Run("a shard pushes to its own group", func(t *testing.T) {
		c := &config{PushgatewayURL: "http://pg:9091", Shards: 3}
		p, err := newPusher(c, job.Options{Shard: 2}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.grouping) != 1 || p.grouping["shard"] != "2" {
			t.Fatalf("grouping %v, want shard=2", p.grouping)
		}
		if c.wrapTransport == nil {
			t.Fatal("the API clients' requests are not counted")
		}
		if p, _ := newPusher(&config{PushgatewayURL: "http://pg:9091", Shards: 1}, job.Options{}, nil); len(p.grouping) != 0 {
			t.Fatalf("unsharded grouping %v, want none", p.grouping)
		}
	})
	t.Run("serve needs a positive interval", func(t *testing.T) {
		var cfgErr configError
		if _, err := newServeMetrics(&config{MetricsInterval: 0}); !errors.As(err, &cfgErr) {
			t.Fatalf("interval 0: %v, want a configuration error", err)
		}
		c := &config{MetricsInterval: time.Second}
		if _, err := newServeMetrics(c); err != nil || c.wrapTransport == nil {
			t.Fatalf("serve metrics: %v, counting %v", err, c.wrapTransport != nil)
		}
		if rt := c.wrapTransport(http.DefaultTransport); rt == nil {
			t.Fatal("no round tripper")
		}
	})
}
