package bayeux_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
)

// hookExt implements MessageExtender and every optional hook.
type hookExt struct {
	mu        sync.Mutex
	session   bayeux.SessionHandle
	attempt   int
	delivered []string
	seen      map[string]bool
	retried   atomic.Int32
}

func (e *hookExt) Outgoing(m *bayeux.Message) {
	if m.Channel == bayeux.MetaSubscribe {
		e.mu.Lock()
		m.GetExt(true)["attempt"] = e.attempt
		e.mu.Unlock()
	}
}
func (e *hookExt) Incoming(*bayeux.Message)                {}
func (e *hookExt) Registered(string, *bayeux.BayeuxClient) {}
func (e *hookExt) Unregistered()                           {}
func (e *hookExt) AttachSession(s bayeux.SessionHandle)    { e.session = s }

func (e *hookExt) Retry(req, reply *bayeux.Message, err error) bool {
	if req.Channel != bayeux.MetaSubscribe || reply == nil {
		return false
	}
	e.mu.Lock()
	e.attempt++
	e.mu.Unlock()
	e.retried.Add(1)
	return true
}

func (e *hookExt) Keep(m *bayeux.Message) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.seen == nil {
		e.seen = map[string]bool{}
	}
	k := string(m.Data)
	if e.seen[k] {
		return false // a duplicate
	}
	e.seen[k] = true
	return true
}

func (e *hookExt) Delivered(sub bayeux.Channel, m *bayeux.Message) {
	e.mu.Lock()
	e.delivered = append(e.delivered, string(m.Data))
	e.mu.Unlock()
}

func TestExtensionHooks(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	ext := &hookExt{}
	// The first subscribe to /a is denied unless the extension changed it.
	f.setHook(func(ctx context.Context, m bayeux.Message) (*bayeux.Message, <-chan struct{}) {
		if isSubscribe("/a")(m) && m.Ext["attempt"] == 0 {
			r := deny(m, "400::The replayId {7} you provided was invalid")
			return &r, nil
		}
		return nil, nil
	})
	c := newScriptedClient(t, f, bayeux.WithExtensions(ext))

	// Session handle.
	if ext.session == nil || ext.session.ClientID() != "c1" {
		t.Fatalf("session handle: %v", ext.session)
	}

	// Retry: the denied first Subscribe is sent again, changed by
	// Outgoing, and succeeds.
	var handled []string
	var mu sync.Mutex
	delivered := make(chan struct{}, 8)
	if _, err := c.Subscribe(ctxT(t), "/a", func(m bayeux.Message) {
		mu.Lock()
		handled = append(handled, string(m.Data))
		mu.Unlock()
		delivered <- struct{}{}
	}); err != nil {
		t.Fatalf("Subscribe with a retrying extension: %v", err)
	}
	if ext.retried.Load() != 1 {
		t.Errorf("Retry called %d times, want 1", ext.retried.Load())
	}

	// Filter: a duplicate is dropped; Delivered runs after the handler.
	f.push(event("/a", 1), event("/a", 1), event("/a", 2))
	<-delivered
	<-delivered
	eventually(t, "Delivered for both events", func() bool {
		ext.mu.Lock()
		defer ext.mu.Unlock()
		return len(ext.delivered) == 2
	})
	mu.Lock()
	if !slices.Equal(handled, []string{"1", "2"}) {
		t.Errorf("handled %v, want [1 2] (the duplicate dropped)", handled)
	}
	mu.Unlock()

	// Rehandshake through the handle: a new session, the subscription
	// renewed.
	ext.session.Rehandshake(errors.New("token refreshed"))
	eventually(t, "the new session", func() bool { return ext.session.ClientID() == "c2" })
	eventually(t, "the renewed subscription", func() bool { return f.subscribed("c2", "/a") })
	// The session left behind is disconnected, so that the server does not
	// keep it (and count it) until it expires.
	eventually(t, "a /meta/disconnect for the session left", func() bool {
		return f.count(func(m bayeux.Message) bool { return m.Channel == bayeux.MetaDisconnect && m.ClientID == "c1" }) == 1
	})
	if n := f.count(func(m bayeux.Message) bool { return m.Channel == bayeux.MetaDisconnect && m.ClientID == "c2" }); n != 0 {
		t.Errorf("%d /meta/disconnect for the new session", n)
	}
}

// aroundExt records what the publish and handler extensions see, and puts
// a trace context in each publish's ext.
type aroundExt struct {
	mu        sync.Mutex
	published []string // channel and outcome of each publish
	handled   []string // channel, data and whether the handler panicked
	started   int
}

func (e *aroundExt) Outgoing(*bayeux.Message)                {}
func (e *aroundExt) Incoming(*bayeux.Message)                {}
func (e *aroundExt) Registered(string, *bayeux.BayeuxClient) {}
func (e *aroundExt) Unregistered()                           {}

func (e *aroundExt) StartPublish(ctx context.Context, m *bayeux.Message) func(*bayeux.Message, error) {
	if m.Ext == nil {
		m.Ext = map[string]any{}
	}
	m.Ext["traceparent"] = "00-" + ctx.Value(traceKey{}).(string)
	return func(reply *bayeux.Message, err error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.published = append(e.published, fmt.Sprintf("%s reply=%t err=%v", m.Channel, reply != nil, err != nil))
	}
}

func (e *aroundExt) StartHandler(sub bayeux.Channel, m *bayeux.Message) func(bool) {
	e.mu.Lock()
	e.started++
	e.mu.Unlock()
	data, tp := string(m.Data), m.Ext["traceparent"]
	return func(panicked bool) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.handled = append(e.handled, fmt.Sprintf("%s %s %v panicked=%t", sub, data, tp, panicked))
	}
}

type traceKey struct{}

// A PublishExtension sees each publish with the caller's context and its
// outcome, and what it adds to ext reaches the subscriber; a
// HandlerExtension sees each handler call begin and end, a panic too.
func TestPublishAndHandlerExtensions(t *testing.T) {
	leakCheck(t)
	srv := newServer(t)
	ext := &aroundExt{}
	c := newClient(t, srv, transportCases[0], bayeux.WithExtensions(ext))
	connect(t, c)
	done := make(chan struct{}, 4)
	if _, err := c.Subscribe(ctxT(t), "/a", func(m bayeux.Message) {
		defer func() { done <- struct{}{} }()
		if string(m.Data) == "2" {
			panic("boom")
		}
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(ctxT(t), traceKey{}, "abc")
	if err := c.Publish(ctx, "/a", 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Batch().Publish("/a", 2).Publish("/a", 3).Send(ctx); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		<-done
	}
	eventually(t, "three handler ends", func() bool { ext.mu.Lock(); defer ext.mu.Unlock(); return len(ext.handled) == 3 })
	ext.mu.Lock()
	defer ext.mu.Unlock()
	want := []string{"/a reply=true err=false", "/a reply=true err=false", "/a reply=true err=false"}
	if fmt.Sprint(ext.published) != fmt.Sprint(want) {
		t.Errorf("publishes seen: %q, want %q", ext.published, want)
	}
	wantH := []string{"/a 1 00-abc panicked=false", "/a 2 00-abc panicked=true", "/a 3 00-abc panicked=false"}
	if fmt.Sprint(ext.handled) != fmt.Sprint(wantH) {
		t.Errorf("handler calls seen: %q, want %q", ext.handled, wantH)
	}
}
