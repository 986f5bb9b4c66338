package bayeux_test

import (
	"errors"
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var ignoreUnexported = cmpopts.IgnoreUnexported(bayeux.Message{}, bayeux.Advice{})

func TestValidateVersion(t *testing.T) {
	tests := []struct {
		version string
		valid   bool
	}{
		{"1.0", true},
		{"1", true},
		{"10.0", true},
		{"1.0beta", true},
		{"1.0.1", true},
		{"2.1-rc_1", true},
		{"007.x", true},
		{"1.a", true},
		{"", false},
		{".0", false},
		{"a.0", false},
		{"1.", false},
		{"1..0", false},
		{"1.-x", false},
		{"1._x", false},
		{"1a.0", false},
		{"1.0 ", false},
		{" 1.0", false},
		{"1.0/2", false},
		{"1,0", false},
		{"1.é", false},
		{"-1", false},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			err := bayeux.ValidateVersion(tt.version)
			if tt.valid {
				if err != nil {
					t.Fatalf("ValidateVersion(%q) = %v, want nil", tt.version, err)
				}
				return
			}
			if !errors.Is(err, bayeux.ErrInvalidVersion) {
				t.Fatalf("ValidateVersion(%q) = %v, want an error matching ErrInvalidVersion", tt.version, err)
			}
			var be *bayeux.BuilderError
			if !errors.As(err, &be) || be.Value != tt.version || be.Field != "version" {
				t.Fatalf("ValidateVersion(%q) = %#v, want a *BuilderError for field version with the value", tt.version, err)
			}
		})
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0", "1.1", -1},
		{"1.1", "1.0", 1},
		{"2", "10", -1},
		{"1.9", "1.10", -1},
		{"1", "1.0", -1},
		{"1.0.1", "1.0", 1},
		{"01.0", "1.0", 0},
		{"1.0alpha", "1.0beta", -1},
		{"1.0beta", "1.0", 1},
	}
	for _, tt := range tests {
		if got := bayeux.CompareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := bayeux.CompareVersions(tt.b, tt.a); got != -tt.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

func TestHandshakeRequestBuilder(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		b := bayeux.NewHandshakeRequestBuilder()
		if err := b.AddSupportedConnectionType(bayeux.ConnectionTypeWebSocket); err != nil {
			t.Fatal(err)
		}
		got, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		want := []bayeux.Message{{
			Channel:                  bayeux.MetaHandshake,
			Version:                  "1.0",
			SupportedConnectionTypes: []string{"websocket"},
		}}
		if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
			t.Fatalf("Build() mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("all fields, de-duplicated in order of first addition", func(t *testing.T) {
		b := bayeux.NewHandshakeRequestBuilder()
		for _, ct := range []string{"websocket", "long-polling", "websocket", "callback-polling", "long-polling", "iframe"} {
			if err := b.AddSupportedConnectionType(ct); err != nil {
				t.Fatalf("AddSupportedConnectionType(%q) = %v", ct, err)
			}
		}
		if err := b.AddVersion("1.0"); err != nil {
			t.Fatal(err)
		}
		if err := b.AddMinimumVersion("0.9"); err != nil {
			t.Fatal(err)
		}
		got, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		want := []bayeux.Message{{
			Channel:                  bayeux.MetaHandshake,
			Version:                  "1.0",
			MinimumVersion:           "0.9",
			SupportedConnectionTypes: []string{"websocket", "long-polling", "callback-polling", "iframe"},
		}}
		if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
			t.Fatalf("Build() mismatch (-want +got):\n%s", diff)
		}
		wire, err := bayeux.EncodeMessages(got)
		if err != nil {
			t.Fatal(err)
		}
		const wantWire = `[{"channel":"/meta/handshake","version":"1.0","minimumVersion":"0.9","supportedConnectionTypes":["websocket","long-polling","callback-polling","iframe"]}]`
		if string(wire) != wantWire {
			t.Fatalf("wire = %s, want %s", wire, wantWire)
		}
	})

	t.Run("invalid connection type", func(t *testing.T) {
		for _, ct := range []string{"", "invalid-polling", "Long-Polling", "long-polling ", "flash"} {
			b := bayeux.NewHandshakeRequestBuilder()
			err := b.AddSupportedConnectionType(ct)
			if !errors.Is(err, bayeux.ErrInvalidConnectionType) {
				t.Errorf("AddSupportedConnectionType(%q) = %v, want ErrInvalidConnectionType", ct, err)
			}
			var be *bayeux.BuilderError
			if !errors.As(err, &be) || be.Value != ct || be.Request != bayeux.MetaHandshake {
				t.Errorf("AddSupportedConnectionType(%q) = %#v, want a *BuilderError carrying the value", ct, err)
			}
			// The invalid type was not added: Build still lacks a type.
			if _, err := b.Build(); !errors.Is(err, bayeux.ErrMissingField) {
				t.Errorf("Build() after rejected %q = %v, want ErrMissingField", ct, err)
			}
		}
	})

	t.Run("invalid versions leave the builder unchanged", func(t *testing.T) {
		b := bayeux.NewHandshakeRequestBuilder()
		if err := b.AddSupportedConnectionType(bayeux.ConnectionTypeLongPolling); err != nil {
			t.Fatal(err)
		}
		if err := b.AddVersion("a.0"); !errors.Is(err, bayeux.ErrInvalidVersion) {
			t.Fatalf("AddVersion(a.0) = %v, want ErrInvalidVersion", err)
		}
		err := b.AddMinimumVersion(".1")
		var be *bayeux.BuilderError
		if !errors.As(err, &be) || be.Field != "minimumVersion" || !errors.Is(err, bayeux.ErrInvalidVersion) {
			t.Fatalf("AddMinimumVersion(.1) = %v, want a *BuilderError for minimumVersion", err)
		}
		got, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Version != "1.0" || got[0].MinimumVersion != "" {
			t.Fatalf("Build() = %+v, want default version and no minimumVersion", got[0])
		}
	})

	t.Run("missing connection types", func(t *testing.T) {
		b := bayeux.NewHandshakeRequestBuilder()
		if err := b.AddVersion("1.0"); err != nil {
			t.Fatal(err)
		}
		got, err := b.Build()
		if !errors.Is(err, bayeux.ErrMissingField) || got != nil {
			t.Fatalf("Build() = %v, %v; want nil, ErrMissingField", got, err)
		}
		var be *bayeux.BuilderError
		if !errors.As(err, &be) || be.Field != "supportedConnectionTypes" {
			t.Fatalf("Build() error = %#v, want field supportedConnectionTypes", err)
		}
	})

	t.Run("minimum version greater than version", func(t *testing.T) {
		b := bayeux.NewHandshakeRequestBuilder()
		if err := b.AddSupportedConnectionType(bayeux.ConnectionTypeLongPolling); err != nil {
			t.Fatal(err)
		}
		if err := b.AddMinimumVersion("1.1"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Build(); !errors.Is(err, bayeux.ErrInvalidVersion) {
			t.Fatalf("Build() with minimumVersion 1.1 > 1.0 = %v, want ErrInvalidVersion", err)
		}
		if err := b.AddVersion("1.1"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Build(); err != nil {
			t.Fatalf("Build() with minimumVersion == version = %v", err)
		}
	})

	t.Run("built message does not alias the builder", func(t *testing.T) {
		b := bayeux.NewHandshakeRequestBuilder()
		if err := b.AddSupportedConnectionType(bayeux.ConnectionTypeLongPolling); err != nil {
			t.Fatal(err)
		}
		first, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		first[0].SupportedConnectionTypes[0] = "mutated"
		if err := b.AddSupportedConnectionType(bayeux.ConnectionTypeWebSocket); err != nil {
			t.Fatal(err)
		}
		second, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"long-polling", "websocket"}, second[0].SupportedConnectionTypes); diff != "" {
			t.Fatalf("second Build() types mismatch (-want +got):\n%s", diff)
		}
		if len(first[0].SupportedConnectionTypes) != 1 {
			t.Fatalf("first Build() changed by a later Add: %v", first[0].SupportedConnectionTypes)
		}
	})
}

func TestConnectRequestBuilder(t *testing.T) {
	for _, ct := range []string{"long-polling", "callback-polling", "iframe", "websocket"} {
		b := bayeux.NewConnectRequestBuilder()
		if err := b.AddConnectionType(ct); err != nil {
			t.Fatalf("AddConnectionType(%q) = %v", ct, err)
		}
		b.AddClientID("abc123")
		got, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		want := []bayeux.Message{{Channel: bayeux.MetaConnect, ClientID: "abc123", ConnectionType: ct}}
		if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
			t.Fatalf("Build() mismatch (-want +got):\n%s", diff)
		}
	}

	b := bayeux.NewConnectRequestBuilder()
	err := b.AddConnectionType("carrier-pigeon")
	if !errors.Is(err, bayeux.ErrInvalidConnectionType) {
		t.Fatalf("AddConnectionType(carrier-pigeon) = %v, want ErrInvalidConnectionType", err)
	}
	if _, err := b.Build(); !errors.Is(err, bayeux.ErrMissingField) {
		t.Fatalf("Build() without clientId = %v, want ErrMissingField", err)
	}
	b.AddClientID("abc123")
	_, err = b.Build()
	var be *bayeux.BuilderError
	if !errors.As(err, &be) || be.Field != "connectionType" || !errors.Is(err, bayeux.ErrMissingField) {
		t.Fatalf("Build() without connectionType = %v, want missing connectionType", err)
	}
	if err := b.AddConnectionType(bayeux.ConnectionTypeLongPolling); err != nil {
		t.Fatal(err)
	}
	b.AddClientID("")
	_, err = b.Build()
	if !errors.As(err, &be) || be.Field != "clientId" {
		t.Fatalf("Build() with empty clientId = %v, want missing clientId", err)
	}
}

// subscriptionBuilder is what the subscribe and unsubscribe builders share.
type subscriptionBuilder interface {
	AddClientID(string)
	AddSubscription(bayeux.Channel) error
	Build() ([]bayeux.Message, error)
}

func TestSubscriptionBuilders(t *testing.T) {
	builders := []struct {
		channel bayeux.Channel
		new     func() subscriptionBuilder
	}{
		{bayeux.MetaSubscribe, func() subscriptionBuilder { return bayeux.NewSubscribeRequestBuilder() }},
		{bayeux.MetaUnsubscribe, func() subscriptionBuilder { return bayeux.NewUnsubscribeRequestBuilder() }},
	}
	for _, bb := range builders {
		t.Run(string(bb.channel), func(t *testing.T) {
			t.Run("one channel encodes as a string", func(t *testing.T) {
				b := bb.new()
				b.AddClientID("c1")
				if err := b.AddSubscription("/foo/bar"); err != nil {
					t.Fatal(err)
				}
				got, err := b.Build()
				if err != nil {
					t.Fatal(err)
				}
				want := []bayeux.Message{{Channel: bb.channel, ClientID: "c1", Subscription: []bayeux.Channel{"/foo/bar"}}}
				if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
					t.Fatalf("Build() mismatch (-want +got):\n%s", diff)
				}
				wire, err := bayeux.EncodeMessages(got)
				if err != nil {
					t.Fatal(err)
				}
				wantWire := `[{"channel":"` + string(bb.channel) + `","clientId":"c1","subscription":"/foo/bar"}]`
				if string(wire) != wantWire {
					t.Fatalf("wire = %s, want %s", wire, wantWire)
				}
			})

			t.Run("several channels, de-duplicated, in order", func(t *testing.T) {
				b := bb.new()
				b.AddClientID("c1")
				for _, c := range []bayeux.Channel{"/a/**", "/service/x", "/a/**", "/b/*", "/service/x", "/c"} {
					if err := b.AddSubscription(c); err != nil {
						t.Fatalf("AddSubscription(%q) = %v", c, err)
					}
				}
				got, err := b.Build()
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([]bayeux.Channel{"/a/**", "/service/x", "/b/*", "/c"}, got[0].Subscription); diff != "" {
					t.Fatalf("Subscription mismatch (-want +got):\n%s", diff)
				}
			})

			t.Run("invalid channels are rejected", func(t *testing.T) {
				for _, c := range []bayeux.Channel{"", "foo", "/", "/foo//bar", "/**/foo", "/foo/*/bar", "/foo/ba*", "/foo\n", "/meta/connect", "/meta/*"} {
					b := bb.new()
					err := b.AddSubscription(c)
					if !errors.Is(err, bayeux.ErrBadChannel) {
						t.Errorf("AddSubscription(%q) = %v, want ErrBadChannel", c, err)
					}
					var ice *bayeux.InvalidChannelError
					if !errors.As(err, &ice) || ice.Channel != c {
						t.Errorf("AddSubscription(%q) = %#v, want an *InvalidChannelError for the channel", c, err)
					}
					b.AddClientID("c1")
					if _, err := b.Build(); !errors.Is(err, bayeux.ErrMissingField) {
						t.Errorf("Build() after rejecting %q = %v, want ErrMissingField (nothing added)", c, err)
					}
				}
			})

			t.Run("missing fields", func(t *testing.T) {
				b := bb.new()
				if err := b.AddSubscription("/foo"); err != nil {
					t.Fatal(err)
				}
				_, err := b.Build()
				var be *bayeux.BuilderError
				if !errors.As(err, &be) || be.Field != "clientId" || be.Request != bb.channel || !errors.Is(err, bayeux.ErrMissingField) {
					t.Fatalf("Build() without clientId = %v", err)
				}
				b = bb.new()
				b.AddClientID("c1")
				_, err = b.Build()
				if !errors.As(err, &be) || be.Field != "subscription" || !errors.Is(err, bayeux.ErrMissingField) {
					t.Fatalf("Build() without subscription = %v", err)
				}
			})

			t.Run("built message does not alias the builder", func(t *testing.T) {
				b := bb.new()
				b.AddClientID("c1")
				if err := b.AddSubscription("/a"); err != nil {
					t.Fatal(err)
				}
				first, err := b.Build()
				if err != nil {
					t.Fatal(err)
				}
				if err := b.AddSubscription("/b"); err != nil {
					t.Fatal(err)
				}
				first[0].Subscription[0] = "/mutated"
				second, err := b.Build()
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([]bayeux.Channel{"/a", "/b"}, second[0].Subscription); diff != "" {
					t.Fatalf("second Build() mismatch (-want +got):\n%s", diff)
				}
				if len(first[0].Subscription) != 1 {
					t.Fatalf("first Build() changed by a later Add: %v", first[0].Subscription)
				}
			})
		})
	}
}

func TestDisconnectRequestBuilder(t *testing.T) {
	b := bayeux.NewDisconnectRequestBuilder()
	if _, err := b.Build(); !errors.Is(err, bayeux.ErrMissingField) {
		t.Fatalf("Build() without clientId = %v, want ErrMissingField", err)
	}
	b.AddClientID("c1")
	got, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	want := []bayeux.Message{{Channel: bayeux.MetaDisconnect, ClientID: "c1"}}
	if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
		t.Fatalf("Build() mismatch (-want +got):\n%s", diff)
	}
	wire, err := bayeux.EncodeMessages(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(wire) != `[{"channel":"/meta/disconnect","clientId":"c1"}]` {
		t.Fatalf("wire = %s", wire)
	}
}

func TestBuilderErrorMessage(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{bayeux.ValidateVersion("a.0"), `bayeux: invalid version: /meta/handshake version "a.0": must start with an integer`},
		{bayeux.ValidateVersion(""), `bayeux: invalid version: /meta/handshake version "": empty`},
		{bayeux.NewConnectRequestBuilder().AddConnectionType("x"), `bayeux: invalid connection type: /meta/connect connectionType "x"`},
	}
	_, missing := bayeux.NewDisconnectRequestBuilder().Build()
	tests = append(tests, struct {
		err  error
		want string
	}{missing, `bayeux: missing required field: /meta/disconnect clientId`})
	for _, tt := range tests {
		if tt.err == nil || tt.err.Error() != tt.want {
			t.Errorf("error = %v, want %s", tt.err, tt.want)
		}
	}
}

func FuzzValidateVersion(f *testing.F) {
	for _, s := range []string{"1.0", "1", "1.0beta", "2.1-rc_1", "", ".", "a.0", "1..", "1.-", "\xff"} {
		f.Add(s, "1.0")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		errA := bayeux.ValidateVersion(a)
		errB := bayeux.ValidateVersion(b)
		if errA != nil && !errors.Is(errA, bayeux.ErrInvalidVersion) {
			t.Fatalf("ValidateVersion(%q) = %v, not ErrInvalidVersion", a, errA)
		}
		c := bayeux.CompareVersions(a, b)
		if c < -1 || c > 1 {
			t.Fatalf("CompareVersions(%q, %q) = %d", a, b, c)
		}
		if errA == nil && errB == nil {
			if bayeux.CompareVersions(a, a) != 0 {
				t.Fatalf("CompareVersions(%q, itself) != 0", a)
			}
			if bayeux.CompareVersions(b, a) != -c {
				t.Fatalf("CompareVersions not antisymmetric for %q, %q", a, b)
			}
			// A valid version is accepted by the handshake builder.
			hb := bayeux.NewHandshakeRequestBuilder()
			if err := hb.AddVersion(a); err != nil {
				t.Fatalf("AddVersion(%q) = %v", a, err)
			}
		}
	})
}
