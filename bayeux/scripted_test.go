package bayeux_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

// scriptServer is a bayeux.Transport that plays a minimal Bayeux server in
// process, under the test's control: a test can hold any request (to put
// it "in flight" while the session changes), answer it late, deny it, or
// expire a session. It records every message the client sent.
type scriptServer struct {
	t *testing.T

	// mu guards the fields below.
	mu         sync.Mutex
	handshakes int
	valid      map[string]bool            // live client ids
	subs       map[string]map[string]bool // client id -> channels subscribed
	sent       []bayeux.Message           // every message received from the client
	hook       func(ctx context.Context, m bayeux.Message) (reply *bayeux.Message, hold <-chan struct{})
	events     []bayeux.Message // delivered with the next connect reply
	connectDur time.Duration    // how long a connect is held
	wake       chan struct{}    // closed to end held connects early
	recv       func([]bayeux.Message)
}

func newScripted(t *testing.T) *scriptServer {
	return &scriptServer{t: t, valid: map[string]bool{}, subs: map[string]map[string]bool{},
		connectDur: 200 * time.Millisecond, wake: make(chan struct{})}
}

func (f *scriptServer) Name() string { return "long-polling" }

func (f *scriptServer) Init(cfg bayeux.TransportConfig) error { f.recv = cfg.Receive; return nil }

func (f *scriptServer) Close() error { return nil }

// setHook installs fn, called for each message before the standard
// behaviour: a non-nil reply replaces the standard one; a non-nil hold
// delays the answer until it is closed (whatever the request's context).
func (f *scriptServer) setHook(fn func(ctx context.Context, m bayeux.Message) (*bayeux.Message, <-chan struct{})) {
	f.mu.Lock()
	f.hook = fn
	f.mu.Unlock()
}

// expire makes the server forget id: held connects return at once with
// an unknown-client error.
func (f *scriptServer) expire(id string) {
	f.mu.Lock()
	delete(f.valid, id)
	delete(f.subs, id)
	close(f.wake)
	f.wake = make(chan struct{})
	f.mu.Unlock()
}

// push queues events for the next connect reply and wakes held connects.
func (f *scriptServer) push(events ...bayeux.Message) {
	f.mu.Lock()
	f.events = append(f.events, events...)
	close(f.wake)
	f.wake = make(chan struct{})
	f.mu.Unlock()
}

// wakeHeld ends held connects early.
func (f *scriptServer) wakeHeld() {
	f.mu.Lock()
	close(f.wake)
	f.wake = make(chan struct{})
	f.mu.Unlock()
}

// isValid reports whether the server knows the client id.
func (f *scriptServer) isValid(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.valid[id]
}

func (f *scriptServer) count(pred func(m bayeux.Message) bool) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, m := range f.sent {
		if pred(m) {
			n++
		}
	}
	return n
}

func (f *scriptServer) subscribed(id, ch string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subs[id][ch]
}

func (f *scriptServer) handshakeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.handshakes
}

func (f *scriptServer) RoundTrip(ctx context.Context, url string, msgs []bayeux.Message) ([]bayeux.Message, error) {
	var out []bayeux.Message
	for _, m := range msgs {
		f.mu.Lock()
		f.sent = append(f.sent, m)
		hook := f.hook
		f.mu.Unlock()
		if hook != nil {
			reply, hold := hook(ctx, m)
			if hold != nil {
				<-hold
			}
			if reply != nil {
				f.apply(m, *reply)
				out = append(out, *reply)
				continue
			}
		}
		r, err := f.standard(ctx, m)
		if err != nil {
			return out, err
		}
		out = append(out, r...)
	}
	return out, nil
}

// apply records the effect of a scriptServer successful reply.
func (f *scriptServer) apply(m, reply bayeux.Message) {
	if !reply.Successful || len(m.Subscription) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.valid[m.ClientID] {
		return // a late answer for a session the server forgot
	}
	for _, ch := range m.Subscription {
		switch m.Channel {
		case bayeux.MetaSubscribe:
			f.subs[m.ClientID][string(ch)] = true
		case bayeux.MetaUnsubscribe:
			delete(f.subs[m.ClientID], string(ch))
		}
	}
}

func unknownClient(m bayeux.Message) bayeux.Message {
	r := bayeux.Message{ID: m.ID, Channel: m.Channel, ClientID: m.ClientID, Error: "402::session_unknown",
		Advice: &bayeux.Advice{Reconnect: bayeux.ReconnectHandshake}}
	r.SetSuccessful(false)
	return r
}

func ok(m bayeux.Message) bayeux.Message {
	r := bayeux.Message{ID: m.ID, Channel: m.Channel, ClientID: m.ClientID, Subscription: m.Subscription}
	r.SetSuccessful(true)
	return r
}

func deny(m bayeux.Message, text string) bayeux.Message {
	r := bayeux.Message{ID: m.ID, Channel: m.Channel, ClientID: m.ClientID, Subscription: m.Subscription, Error: text}
	r.SetSuccessful(false)
	return r
}

func (f *scriptServer) standard(ctx context.Context, m bayeux.Message) ([]bayeux.Message, error) {
	f.mu.Lock()
	if m.Channel == bayeux.MetaHandshake {
		f.handshakes++
		id := fmt.Sprintf("c%d", f.handshakes)
		f.valid[id] = true
		f.subs[id] = map[string]bool{}
		f.mu.Unlock()
		r := ok(m)
		r.ClientID, r.Version = id, "1.0"
		r.SupportedConnectionTypes = []string{"long-polling"}
		r.Advice = &bayeux.Advice{Reconnect: bayeux.ReconnectRetry}
		r.Advice.SetTimeout(int(f.connectDur.Milliseconds()))
		r.Advice.SetInterval(0)
		return []bayeux.Message{r}, nil
	}
	if !f.valid[m.ClientID] {
		f.mu.Unlock()
		return []bayeux.Message{unknownClient(m)}, nil
	}
	switch m.Channel {
	case bayeux.MetaConnect:
		wake := f.wake
		immediate := m.Advice != nil && m.Advice.HasTimeout() && m.Advice.Timeout == 0
		f.mu.Unlock()
		if !immediate && len(f.pending()) == 0 {
			t := time.NewTimer(f.connectDur)
			select {
			case <-t.C:
			case <-wake:
			case <-ctx.Done():
				t.Stop()
				return nil, &bayeux.TransportError{ConnectionType: "long-polling", Err: ctx.Err()}
			}
			t.Stop()
		}
		f.mu.Lock()
		if !f.valid[m.ClientID] {
			f.mu.Unlock()
			return []bayeux.Message{unknownClient(m)}, nil
		}
		evs := f.events
		f.events = nil
		f.mu.Unlock()
		return append(evs, ok(m)), nil
	case bayeux.MetaSubscribe:
		for _, ch := range m.Subscription {
			f.subs[m.ClientID][string(ch)] = true
		}
	case bayeux.MetaUnsubscribe:
		for _, ch := range m.Subscription {
			delete(f.subs[m.ClientID], string(ch))
		}
	case bayeux.MetaDisconnect:
		delete(f.valid, m.ClientID)
	}
	f.mu.Unlock()
	return []bayeux.Message{ok(m)}, nil
}

func (f *scriptServer) pending() []bayeux.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.events)
}

// event builds an event on ch carrying n.
func event(ch string, n int) bayeux.Message {
	return bayeux.Message{Channel: bayeux.Channel(ch), Data: json.RawMessage(fmt.Sprint(n))}
}

// newScriptedClient returns a connected client over f.
func newScriptedClient(t *testing.T, f *scriptServer, opts ...bayeux.Option) *bayeux.Client {
	t.Helper()
	c := newClientOver(t, f, true, opts...)
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	return c
}

// newClientOver returns a client over tr (a scriptServer, or a transport
// wrapping one), not yet connected, closed at the end of the test; with
// strict, a failed Disconnect then fails the test.
func newClientOver(t *testing.T, tr bayeux.Transport, strict bool, opts ...bayeux.Option) *bayeux.Client {
	t.Helper()
	all := append([]bayeux.Option{bayeux.WithTransports(tr),
		bayeux.WithBackoff(20*time.Millisecond, 100*time.Millisecond),
		bayeux.WithMaxNetworkDelay(2 * time.Second)}, opts...)
	c, err := bayeux.NewClient("http://scripted.test/bayeux", all...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeClient(t, c, strict) })
	return c
}

// eventually polls cond until it holds or 5 s passed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func isSubscribe(ch string) func(bayeux.Message) bool {
	return func(m bayeux.Message) bool {
		return m.Channel == bayeux.MetaSubscribe && len(m.Subscription) == 1 && string(m.Subscription[0]) == ch
	}
}

func isUnsubscribe(ch string) func(bayeux.Message) bool {
	return func(m bayeux.Message) bool {
		return m.Channel == bayeux.MetaUnsubscribe && len(m.Subscription) == 1 && string(m.Subscription[0]) == ch
	}
}
