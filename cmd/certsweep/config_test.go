package main

import "testing"

// TestACMEWaitSetting: the ACME wait must be positive and, with a deadline,
// below it, or one slow order could hold the run past the point where the
// CronJob's activeDeadlineSeconds kills it.
func TestACMEWaitSetting(t *testing.T) {
	tests := []struct {
		wait, deadline string
		ok             bool
	}{
		{wait: "60s", deadline: "0s", ok: true},
		{wait: "60s", deadline: "10m", ok: true},
		{wait: "10m", deadline: "10m"},
		{wait: "15m", deadline: "10m"},
		{wait: "0s", deadline: "0s"},
		{wait: "-1s", deadline: "0s"},
	}
	for _, tt := range tests {
		t.Setenv("CERTSWEEP_ACME_WAIT", tt.wait)
		t.Setenv("CERTSWEEP_DEADLINE", tt.deadline)
		_, err := loadConfig()
		if tt.ok && err != nil {
			t.Errorf("wait %s deadline %s: %v", tt.wait, tt.deadline, err)
		}
		if !tt.ok {
			if _, isConfig := err.(configError); !isConfig {
				t.Errorf("wait %s deadline %s: error %v, want a configError (exit 2)", tt.wait, tt.deadline, err)
			}
		}
	}
}
