package bayeux_test

import (
	"context"
	"errors"
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
