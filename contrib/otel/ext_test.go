package otelbayeux_test

import (
	"context"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	otelbayeux "github.com/bayeux-go/sdk/contrib/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// setOtel is a publish extension of the user's that puts its own value in
// ext.otel before Extension sees the message.
type setOtel struct{}

func (setOtel) Outgoing(*bayeux.Message)                {}
func (setOtel) Incoming(*bayeux.Message)                {}
func (setOtel) Registered(string, *bayeux.BayeuxClient) {}
func (setOtel) Unregistered()                           {}
func (setOtel) Name() string                            { return "set-otel" }
func (setOtel) StartPublish(_ context.Context, m *bayeux.Message) func(*bayeux.Message, error) {
	if m.Ext == nil {
		m.Ext = map[string]any{}
	}
	m.Ext[otelbayeux.ExtKey] = "mine"
	return nil
}

// receivedOtel publishes one event through a client with exts and
// returns what ext.otel held at the subscriber.
func receivedOtel(t *testing.T, exts ...bayeux.MessageExtender) (any, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(300 * time.Millisecond))
	defer srv.Close()
	c, err := bayeux.NewClient(srv.URL, bayeux.WithExtensions(exts...))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	got := make(chan bayeux.Message, 1)
	if _, err := c.Subscribe(ctx, "/x", func(m bayeux.Message) { got <- m }); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, "/x", 1); err != nil {
		t.Fatal(err)
	}
	m := <-got
	v, ok := m.Ext[otelbayeux.ExtKey]
	return v, ok
}

// A value the user put in ext.otel reaches the subscriber as it was,
// even with a sampled span whose context would otherwise go there.
func TestPublishKeepsUsersExtOtel(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	ext, err := otelbayeux.New(otelbayeux.WithTracerProvider(tp), otelbayeux.WithPublishTime())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := receivedOtel(t, setOtel{}, ext); v != "mine" {
		t.Errorf("ext.otel = %#v, want the user's \"mine\"", v)
	}
}

// What a publish carries in ext.otel: the trace context and time when
// its span is sampled; nothing when it is not; only the time when it is
// not but WithPublishTime asks for it.
func TestPublishExtOtelBySampling(t *testing.T) {
	never := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	always := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	for _, tc := range []struct {
		name     string
		opts     []otelbayeux.Option
		wantKeys []string
	}{
		{"sampled", []otelbayeux.Option{otelbayeux.WithTracerProvider(always)}, []string{"traceparent", "ts"}},
		{"unsampled", []otelbayeux.Option{otelbayeux.WithTracerProvider(never)}, nil},
		{"unsampled+time", []otelbayeux.Option{otelbayeux.WithTracerProvider(never), otelbayeux.WithPublishTime()}, []string{"ts"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ext, err := otelbayeux.New(tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			v, ok := receivedOtel(t, ext)
			if tc.wantKeys == nil {
				if ok {
					t.Errorf("ext.otel = %#v, want none", v)
				}
				return
			}
			obj, _ := v.(map[string]any)
			if len(obj) != len(tc.wantKeys) {
				t.Errorf("ext.otel = %#v, want the keys %v", v, tc.wantKeys)
			}
			for _, k := range tc.wantKeys {
				if s, _ := obj[k].(string); s == "" {
					t.Errorf("ext.otel = %#v, want a %q", v, k)
				}
			}
		})
	}
}
