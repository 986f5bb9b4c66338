package bayeux_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/google/go-cmp/cmp"
)

// adviceCmp compares advice by value and by which fields are present (an
// explicit zero differs from an absent field).
var adviceCmp = cmp.Comparer(func(x, y bayeux.Advice) bool {
	return x.Reconnect == y.Reconnect && x.Timeout == y.Timeout && x.Interval == y.Interval &&
		x.MaxInterval == y.MaxInterval && x.MultipleClients == y.MultipleClients && cmp.Equal(x.Hosts, y.Hosts) &&
		x.HasTimeout() == y.HasTimeout() && x.HasInterval() == y.HasInterval() && x.HasMaxInterval() == y.HasMaxInterval()
})

// adviceValueCmp compares advice by value only.
var adviceValueCmp = cmp.Comparer(func(x, y bayeux.Advice) bool {
	return x.Reconnect == y.Reconnect && x.Timeout == y.Timeout && x.Interval == y.Interval &&
		x.MaxInterval == y.MaxInterval && x.MultipleClients == y.MultipleClients && cmp.Equal(x.Hosts, y.Hosts)
})

func TestAdviceHelpers(t *testing.T) {
	tests := []struct {
		name                           string
		advice                         bayeux.Advice
		retry, handshake, mustNotRetry bool
	}{
		{"empty", bayeux.Advice{}, false, false, false},
		{"retry", bayeux.Advice{Reconnect: bayeux.ReconnectRetry}, true, false, false},
		{"handshake", bayeux.Advice{Reconnect: bayeux.ReconnectHandshake}, false, true, false},
		{"none", bayeux.Advice{Reconnect: bayeux.ReconnectNone}, false, false, true},
		{"negative interval", bayeux.Advice{Reconnect: bayeux.ReconnectRetry, Interval: -1}, true, false, true},
		{"zero interval", bayeux.Advice{Reconnect: bayeux.ReconnectRetry, Interval: 0}, true, false, false},
		{"unknown reconnect", bayeux.Advice{Reconnect: "later"}, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.advice.ShouldRetry(); got != tt.retry {
				t.Errorf("ShouldRetry() = %v, want %v", got, tt.retry)
			}
			if got := tt.advice.ShouldHandshake(); got != tt.handshake {
				t.Errorf("ShouldHandshake() = %v, want %v", got, tt.handshake)
			}
			if got := tt.advice.MustNotRetryOrHandshake(); got != tt.mustNotRetry {
				t.Errorf("MustNotRetryOrHandshake() = %v, want %v", got, tt.mustNotRetry)
			}
		})
	}
	if bayeux.ReconnectRetry != "retry" || bayeux.ReconnectHandshake != "handshake" || bayeux.ReconnectNone != "none" {
		t.Fatal("reconnect constants do not match the wire values")
	}
}

func TestAdviceDurations(t *testing.T) {
	a := bayeux.Advice{Timeout: 30000, Interval: 250, MaxInterval: 10000}
	// gobayeux returned the timeout from IntervalAsDuration.
	if got := a.IntervalAsDuration(); got != 250*time.Millisecond {
		t.Errorf("IntervalAsDuration() = %v, want 250ms", got)
	}
	if got := a.TimeoutAsDuration(); got != 30*time.Second {
		t.Errorf("TimeoutAsDuration() = %v, want 30s", got)
	}
	if got := a.MaxIntervalAsDuration(); got != 10*time.Second {
		t.Errorf("MaxIntervalAsDuration() = %v, want 10s", got)
	}
	if got := (bayeux.Advice{}).IntervalAsDuration(); got != 0 {
		t.Errorf("zero IntervalAsDuration() = %v", got)
	}
}

func TestAdvicePresence(t *testing.T) {
	var a bayeux.Advice
	if a.HasTimeout() || a.HasInterval() || a.HasMaxInterval() {
		t.Fatal("zero Advice reports present fields")
	}
	a.Timeout, a.Interval, a.MaxInterval = 5, 6, 7
	if !a.HasTimeout() || !a.HasInterval() || !a.HasMaxInterval() {
		t.Fatal("non-zero fields are not reported present")
	}

	var b bayeux.Advice
	b.SetTimeout(0)
	if !b.HasTimeout() || b.HasInterval() || b.HasMaxInterval() {
		t.Fatalf("after SetTimeout(0): timeout %v interval %v maxInterval %v", b.HasTimeout(), b.HasInterval(), b.HasMaxInterval())
	}
	b.SetInterval(0)
	if !b.HasInterval() || b.HasMaxInterval() {
		t.Fatal("SetInterval(0) not recorded, or recorded as maxInterval")
	}
	b.SetMaxInterval(0)
	if !b.HasMaxInterval() {
		t.Fatal("SetMaxInterval(0) not recorded")
	}
	c := bayeux.Advice{}
	c.SetTimeout(1200)
	if c.Timeout != 1200 {
		t.Fatalf("SetTimeout(1200) stored %d", c.Timeout)
	}
}

func TestAdviceMarshalJSON(t *testing.T) {
	zeroTimeout := bayeux.Advice{}
	zeroTimeout.SetTimeout(0)
	allZero := bayeux.Advice{}
	allZero.SetTimeout(0)
	allZero.SetInterval(0)
	allZero.SetMaxInterval(0)
	tests := []struct {
		name   string
		advice bayeux.Advice
		want   string
	}{
		{"empty", bayeux.Advice{}, `{}`},
		{"timeout 0 after SetTimeout", zeroTimeout, `{"timeout":0}`},
		{"all zero set", allZero, `{"timeout":0,"interval":0,"maxInterval":0}`},
		{"unset zeros omitted", bayeux.Advice{Reconnect: "retry"}, `{"reconnect":"retry"}`},
		{"full", bayeux.Advice{
			Reconnect: "handshake", Timeout: 30000, Interval: -1, MaxInterval: 10000,
			MultipleClients: true, Hosts: []string{"a.example", "b<x>"},
		}, `{"reconnect":"handshake","timeout":30000,"interval":-1,"maxInterval":10000,"multiple-clients":true,"hosts":["a.example","b\u003cx\u003e"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, v := range map[string]any{"value": tt.advice, "pointer": &tt.advice} {
				got, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != tt.want {
					t.Errorf("json.Marshal(%s) = %s, want %s", name, got, tt.want)
				}
			}
			// Round trip keeps the values and the presence bits.
			var back bayeux.Advice
			if err := json.Unmarshal([]byte(tt.want), &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.advice, back, adviceCmp); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAdviceInMessage(t *testing.T) {
	a := &bayeux.Advice{}
	a.SetTimeout(0)
	m := bayeux.Message{Channel: bayeux.MetaConnect, ClientID: "c1", ConnectionType: "long-polling", Advice: a}
	got, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"advice":{"timeout":0},"channel":"/meta/connect","clientId":"c1","connectionType":"long-polling"}`
	if string(got) != want {
		t.Fatalf("first /meta/connect = %s, want %s", got, want)
	}
	msgs, err := bayeux.DecodeMessages(got)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].Advice == nil || !msgs[0].Advice.HasTimeout() || msgs[0].Advice.Timeout != 0 || msgs[0].Advice.HasInterval() {
		t.Fatalf("decoded advice %+v, want timeout 0 present and interval absent", msgs[0].Advice)
	}
}

func TestAdviceUnmarshalJSON(t *testing.T) {
	tests := []struct {
		in                            string
		want                          bayeux.Advice
		timeout, interval, maxInteval bool
	}{
		{`{}`, bayeux.Advice{}, false, false, false},
		{`{"timeout":0}`, bayeux.Advice{}, true, false, false},
		{`{"interval":0,"maxInterval":0}`, bayeux.Advice{}, false, true, true},
		{`{"reconnect":"retry","timeout":30000,"interval":0}`, bayeux.Advice{Reconnect: "retry", Timeout: 30000}, true, true, false},
		{`{"timeout":1.5e3}`, bayeux.Advice{Timeout: 1500}, true, false, false},
		{`{"interval":-1}`, bayeux.Advice{Interval: -1}, false, true, false},
		{`{"multiple-clients":true,"hosts":["h1","h2"]}`, bayeux.Advice{MultipleClients: true, Hosts: []string{"h1", "h2"}}, false, false, false},
		{`{"reconnect":"none","long-polling":{"interval":5},"unknown":[1,2]}`, bayeux.Advice{Reconnect: "none"}, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var a bayeux.Advice
			if err := json.Unmarshal([]byte(tt.in), &a); err != nil {
				t.Fatalf("Unmarshal = %v", err)
			}
			if diff := cmp.Diff(tt.want, a, adviceValueCmp); diff != "" {
				t.Fatalf("mismatch (-want +got):\n%s", diff)
			}
			if a.HasTimeout() != tt.timeout || a.HasInterval() != tt.interval || a.HasMaxInterval() != tt.maxInteval {
				t.Fatalf("presence timeout=%v interval=%v maxInterval=%v, want %v %v %v",
					a.HasTimeout(), a.HasInterval(), a.HasMaxInterval(), tt.timeout, tt.interval, tt.maxInteval)
			}
		})
	}

	for _, bad := range []string{`[]`, `"retry"`, `{"timeout":"soon"}`, `{"timeout":1e20}`, `{"interval":-1e12}`, `{"reconnect":5}`, `{"timeout":}`} {
		var a bayeux.Advice
		err := json.Unmarshal([]byte(bad), &a)
		if err == nil {
			t.Errorf("Unmarshal(%s) = nil error, advice %+v", bad, a)
		}
		// The same inside a message: a typed error from DecodeMessages.
		body := `[{"channel":"/meta/connect","advice":` + bad + `}]`
		if _, err := bayeux.DecodeMessages([]byte(body)); !errors.Is(err, bayeux.ErrMalformed) {
			t.Errorf("DecodeMessages(%s) = %v, want ErrMalformed", body, err)
		}
	}
}

func TestAdviceMerge(t *testing.T) {
	old := bayeux.Advice{Reconnect: "retry", Timeout: 30000, Interval: 100, MaxInterval: 10000, Hosts: []string{"old"}}
	snapshot := old
	snapshot.Hosts = append([]string(nil), old.Hosts...)

	t.Run("nil keeps everything", func(t *testing.T) {
		if diff := cmp.Diff(old, old.Merge(nil), adviceCmp); diff != "" {
			t.Fatalf("Merge(nil) changed advice (-want +got):\n%s", diff)
		}
	})

	t.Run("partial advice replaces only its fields", func(t *testing.T) {
		newer := &bayeux.Advice{}
		newer.SetInterval(0)
		got := old.Merge(newer)
		if got.Reconnect != "retry" || got.Timeout != 30000 || got.Interval != 0 || !got.HasInterval() || got.MaxInterval != 10000 {
			t.Fatalf("Merge({interval:0}) = %+v", got)
		}
		if diff := cmp.Diff([]string{"old"}, got.Hosts); diff != "" {
			t.Fatalf("hosts changed by advice without hosts:\n%s", diff)
		}
	})

	t.Run("explicit zero timeout supersedes", func(t *testing.T) {
		newer := &bayeux.Advice{Reconnect: "handshake"}
		newer.SetTimeout(0)
		got := old.Merge(newer)
		if got.Timeout != 0 || !got.HasTimeout() || got.Reconnect != "handshake" || got.Interval != 100 {
			t.Fatalf("Merge = %+v", got)
		}
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"reconnect":"handshake","timeout":0,"interval":100,"maxInterval":10000,"hosts":["old"]}`; string(b) != want {
			t.Fatalf("merged advice encodes as %s, want %s", b, want)
		}
	})

	t.Run("decoded partial advice", func(t *testing.T) {
		var newer bayeux.Advice
		if err := json.Unmarshal([]byte(`{"reconnect":"none","hosts":["h1"],"multiple-clients":true}`), &newer); err != nil {
			t.Fatal(err)
		}
		got := old.Merge(&newer)
		want := bayeux.Advice{Reconnect: "none", Timeout: 30000, Interval: 100, MaxInterval: 10000, MultipleClients: true, Hosts: []string{"h1"}}
		if diff := cmp.Diff(want, got, adviceValueCmp); diff != "" {
			t.Fatalf("mismatch (-want +got):\n%s", diff)
		}
		// The merged hosts do not alias the newer advice.
		newer.Hosts[0] = "mutated"
		if got.Hosts[0] != "h1" {
			t.Fatal("merged Hosts aliases the newer advice")
		}
		if !got.MustNotRetryOrHandshake() {
			t.Fatal("merged reconnect none does not stop the client")
		}
	})

	if diff := cmp.Diff(snapshot, old, adviceCmp); diff != "" {
		t.Fatalf("Merge modified its receiver (-want +got):\n%s", diff)
	}
}
