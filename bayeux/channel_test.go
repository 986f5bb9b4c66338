package bayeux_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
)

func TestChannelValidate(t *testing.T) {
	valid := []bayeux.Channel{
		"/foo",
		"/foo/bar",
		"/foo/bar/baz",
		"/foo/*",
		"/foo/**",
		"/*",
		"/**",
		"/meta/connect",
		"/service/chat",
		"/123",
		"/a-b_c!~()$@",
		"/with space",
		"/chat/#room+1.{x}",
		"/topic/InvoiceStatementUpdates",
		"/event/Foo__e",
	}
	for _, c := range valid {
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%q) = %v, want nil", c, err)
		}
		if !c.IsValid() {
			t.Errorf("IsValid(%q) = false", c)
		}
	}

	invalid := []struct {
		channel bayeux.Channel
		reason  string // a substring of the error
	}{
		{"", "must start with /"},
		{"foo", "must start with /"},
		{"foo/bar", "must start with /"},
		{" /foo", "must start with /"},
		{"/", "empty segment"},
		{"//", "empty segment"},
		{"/foo/", "empty segment"},
		{"/foo//bar", "empty segment"},
		{"/**/foo", "wildcard allowed only as the last segment"},
		{"/foo/*/bar", "wildcard allowed only as the last segment"},
		{"/*/*", "wildcard allowed only as the last segment"},
		{"/foo/***", "invalid character '*'"},
		{"/foo/ba*", "invalid character '*'"},
		{"/foo*", "invalid character '*'"},
		{"/foo?bar", "invalid character '?'"},
		{"/foo\x00", "invalid character 0x00"},
		{"/foo\nbar", "invalid character 0x0a"},
		{"/f\u00fc", "invalid character 0xc3"},
		{"/foo\\bar", `invalid character '\'`},
		{`/foo"`, `invalid character '"'`},
		{"/foo<script>", "invalid character '<'"},
		{"/a,b", "invalid character ','"},
	}
	for _, tt := range invalid {
		err := tt.channel.Validate()
		if !errors.Is(err, bayeux.ErrBadChannel) {
			t.Errorf("Validate(%q) = %v, want ErrBadChannel", tt.channel, err)
			continue
		}
		var ice *bayeux.InvalidChannelError
		if !errors.As(err, &ice) || ice.Channel != tt.channel {
			t.Errorf("Validate(%q) = %#v, want an *InvalidChannelError for the channel", tt.channel, err)
			continue
		}
		if !strings.Contains(ice.Reason, tt.reason) {
			t.Errorf("Validate(%q) reason %q, want it to contain %q", tt.channel, ice.Reason, tt.reason)
		}
		if tt.channel.IsValid() {
			t.Errorf("IsValid(%q) = true", tt.channel)
		}
	}
}

func TestChannelMatch(t *testing.T) {
	tests := []struct {
		pattern bayeux.Channel
		matches []string
		misses  []string
	}{
		{ // the specification's examples
			pattern: "/foo/*",
			matches: []string{"/foo/bar", "/foo/boo"},
			misses:  []string{"/foo", "/foobar", "/foo/bar/boo", "/foo/", "/fo/bar", ""},
		},
		{
			pattern: "/foo/**",
			matches: []string{"/foo/bar", "/foo/boo", "/foo/bar/boo", "/foo/a/b/c/d"},
			misses:  []string{"/foo", "/foobar", "/foobar/boo", "/foo/", "/bar/foo/x", ""},
		},
		{
			pattern: "/**",
			matches: []string{"/foo", "/foo/bar", "/foo/bar/boo", "/meta/connect", "/service/x"},
			misses:  []string{"/", ""},
		},
		{
			pattern: "/*",
			matches: []string{"/foo", "/bar"},
			misses:  []string{"/foo/bar", "/", ""},
		},
		{
			pattern: "/foo/bar",
			matches: []string{"/foo/bar"},
			misses:  []string{"/foo", "/foo/bar/baz", "/foo/ba", "/foo/barr", "/foo/*", ""},
		},
		{
			pattern: "/a/b/*",
			matches: []string{"/a/b/c"},
			misses:  []string{"/a/b", "/a/b/c/d", "/a/bc", "/a/c/d"},
		},
	}
	for _, tt := range tests {
		for _, name := range tt.matches {
			if !tt.pattern.MatchString(name) {
				t.Errorf("%q.MatchString(%q) = false, want true", tt.pattern, name)
			}
			if !tt.pattern.Match(bayeux.Channel(name)) {
				t.Errorf("%q.Match(%q) = false, want true", tt.pattern, name)
			}
		}
		for _, name := range tt.misses {
			if tt.pattern.MatchString(name) {
				t.Errorf("%q.MatchString(%q) = true, want false", tt.pattern, name)
			}
			if tt.pattern.Match(bayeux.Channel(name)) {
				t.Errorf("%q.Match(%q) = true, want false", tt.pattern, name)
			}
		}
	}
}

func TestChannelType(t *testing.T) {
	tests := []struct {
		channel bayeux.Channel
		want    bayeux.ChannelType
	}{
		{bayeux.MetaHandshake, bayeux.MetaChannel},
		{bayeux.MetaConnect, bayeux.MetaChannel},
		{bayeux.MetaDisconnect, bayeux.MetaChannel},
		{bayeux.MetaSubscribe, bayeux.MetaChannel},
		{bayeux.MetaUnsubscribe, bayeux.MetaChannel},
		{"/meta/*", bayeux.MetaChannel},
		{"/service/chat", bayeux.ServiceChannel},
		{"/service/**", bayeux.ServiceChannel},
		{"/foo/bar", bayeux.BroadcastChannel},
		{"/meta", bayeux.BroadcastChannel},
		{"/metadata/x", bayeux.BroadcastChannel},
		{"/service", bayeux.BroadcastChannel},
		{"/services/x", bayeux.BroadcastChannel},
		{"/foo/meta/x", bayeux.BroadcastChannel},
		{"/**", bayeux.BroadcastChannel},
	}
	for _, tt := range tests {
		if got := tt.channel.Type(); got != tt.want {
			t.Errorf("%q.Type() = %q, want %q", tt.channel, got, tt.want)
		}
	}
	if bayeux.MetaChannel != "meta" || bayeux.ServiceChannel != "service" || bayeux.BroadcastChannel != "broadcast" {
		t.Errorf("ChannelType values changed: %q %q %q", bayeux.MetaChannel, bayeux.ServiceChannel, bayeux.BroadcastChannel)
	}
}

func TestChannelHasWildcard(t *testing.T) {
	tests := []struct {
		channel bayeux.Channel
		want    bool
	}{
		{"/foo/*", true},
		{"/foo/**", true},
		{"/*", true},
		{"/**", true},
		{"/foo", false},
		{"/foo/bar", false},
		{"/meta/connect", false},
		{"/foo*", false}, // not a whole segment
		{"", false},
	}
	for _, tt := range tests {
		if got := tt.channel.HasWildcard(); got != tt.want {
			t.Errorf("%q.HasWildcard() = %v, want %v", tt.channel, got, tt.want)
		}
	}
}

func TestMetaChannelConstants(t *testing.T) {
	for c, want := range map[bayeux.Channel]string{
		bayeux.MetaHandshake:   "/meta/handshake",
		bayeux.MetaConnect:     "/meta/connect",
		bayeux.MetaDisconnect:  "/meta/disconnect",
		bayeux.MetaSubscribe:   "/meta/subscribe",
		bayeux.MetaUnsubscribe: "/meta/unsubscribe",
	} {
		if string(c) != want {
			t.Errorf("constant %q, want %q", c, want)
		}
	}
}

func FuzzChannelValidate(f *testing.F) {
	for _, s := range []string{
		"/foo", "/foo/bar", "/foo/*", "/foo/**", "/**", "/*", "", "/", "//", "/foo/",
		"/**/foo", "/foo/*/bar", "/foo/ba*", "/f\u00fc", "/\xff", "/meta/connect", "/a b/#c",
	} {
		f.Add(s, "/foo/bar")
	}
	f.Fuzz(func(t *testing.T, s, other string) {
		c := bayeux.Channel(s)
		err := c.Validate()
		_ = c.Type()
		_ = c.HasWildcard()
		_ = c.MatchString(other)
		_ = bayeux.Channel(other).MatchString(s)
		if err != nil {
			var ice *bayeux.InvalidChannelError
			if !errors.As(err, &ice) || !errors.Is(err, bayeux.ErrBadChannel) || ice.Channel != c {
				t.Fatalf("Validate(%q) = %#v, want an *InvalidChannelError", s, err)
			}
			if c.IsValid() {
				t.Fatalf("IsValid(%q) = true with error %v", s, err)
			}
			return
		}
		if !c.IsValid() {
			t.Fatalf("IsValid(%q) = false without error", s)
		}
		if !bayeux.Channel("/**").Match(c) {
			t.Fatalf("/** does not match valid channel %q", s)
		}
		if c.HasWildcard() {
			return
		}
		if !c.Match(c) {
			t.Fatalf("valid channel %q does not match itself", s)
		}
		// The parent's "*" and every ancestor's "**" match c.
		i := strings.LastIndexByte(s, '/')
		if parent := bayeux.Channel(s[:i+1] + "*"); !parent.Match(c) {
			t.Fatalf("%q does not match %q", parent, s)
		}
		for j := 0; j < len(s); j++ {
			if s[j] == '/' {
				if anc := bayeux.Channel(s[:j+1] + "**"); !anc.Match(c) {
					t.Fatalf("%q does not match %q", anc, s)
				}
			}
		}
		// "*" of a grand-parent does not match a channel with 2+ segments
		// below it.
		if i > 0 {
			g := strings.LastIndexByte(s[:i], '/')
			if gp := bayeux.Channel(s[:g+1] + "*"); gp.Match(c) {
				t.Fatalf("%q matches %q, which is two segments below", gp, s)
			}
		}
	})
}
