package bayeux_test

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// The tests below each pin down one way a real server or caller broke the
// session core: a scripted server (or bayeuxtest) holds the session in the
// state that showed it, and the test checks what the client does there.

// faultyTransport wraps a scriptServer: connects can be refused (as a
// websocket upgrade answered 400) or failed, and chosen messages torn after
// the server carried them out (the reply lost with the connection).
type faultyTransport struct {
	*scriptServer
	refuseConnects atomic.Bool
	failConnects   atomic.Bool
	connects       atomic.Int32
	// tear reports whether to lose the reply to m once the server has
	// processed it.
	tear atomic.Pointer[func(m bayeux.Message) bool]
}

func (f *faultyTransport) RoundTrip(ctx context.Context, url string, msgs []bayeux.Message) ([]bayeux.Message, error) {
	if msgs[0].Channel == bayeux.MetaConnect {
		f.connects.Add(1)
		switch {
		case f.refuseConnects.Load():
			return nil, &bayeux.TransportError{ConnectionType: "long-polling", StatusCode: 400, Refused: true,
				Err: errors.New("upgrade refused")}
		case f.failConnects.Load():
			return nil, &bayeux.TransportError{ConnectionType: "long-polling", Err: errors.New("connection reset")}
		}
	}
	out, err := f.scriptServer.RoundTrip(ctx, url, msgs)
	if tear := f.tear.Load(); tear != nil && (*tear)(msgs[0]) {
		return nil, &bayeux.TransportError{ConnectionType: "long-polling", Err: errors.New("connection torn before the reply")}
	}
	return out, err
}

func (f *faultyTransport) setTear(fn func(m bayeux.Message) bool) { f.tear.Store(&fn) }

func newFaulty(t *testing.T) *faultyTransport { return &faultyTransport{scriptServer: newScripted(t)} }

// newFaultyClient returns a client over f, not yet connected.
func newFaultyClient(t *testing.T, f *faultyTransport, opts ...bayeux.Option) *bayeux.Client {
	t.Helper()
	return newClientOver(t, f, false, opts...)
}

// A transport the server refuses, with no other to fall back to, is a
// failed connect: the client waits its backoff between attempts rather
// than dialing again at once (about 2,000 dials a second before), and
// counts the failures toward giving the session up.
func TestRefusedOnlyTransportBacksOff(t *testing.T) {
	leakCheck(t)
	f := newFaulty(t)
	c := newFaultyClient(t, f)
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "connected", func() bool { return c.State() == bayeux.StateConnected })
	f.refuseConnects.Store(true)
	f.wakeHeld()
	eventually(t, "the refusal", func() bool { return c.State() == bayeux.StateReconnecting })
	before := f.connects.Load()
	time.Sleep(500 * time.Millisecond)
	// Backoff steps of 20, 40, 60, 80, 100, 100... ms: at most a dozen
	// attempts in half a second.
	if n := f.connects.Load() - before; n > 12 {
		t.Fatalf("%d connects in 500 ms against a refused transport: the client spins", n)
	}
	if st := c.State(); st != bayeux.StateReconnecting {
		t.Fatalf("state = %v, want unconnected", st)
	}
	f.refuseConnects.Store(false)
	eventually(t, "connected again", func() bool { return c.State() == bayeux.StateConnected })
}

// A caller's deadline ends that caller's wait and nothing else: a Call
// with a 50 ms deadline to a service answering in 300 ms does not tear the
// websocket the session shares, fail the held /meta/connect, or report a
// transport failure.
func TestCallerDeadlineKeepsTheWebSocket(t *testing.T) {
	leakCheck(t)
	srv := newServer(t, bayeuxtest.WithTimeout(2*time.Second))
	srv.HandleService("/service/slow", func(m bayeux.Message) (any, error) {
		time.Sleep(300 * time.Millisecond)
		return "late", nil
	})
	var mu sync.Mutex
	var errs []error
	var states []bayeux.StateChange
	c := newClient(t, srv, transportCases[2],
		bayeux.WithErrorHandler(func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }),
		bayeux.WithStateListener(func(s bayeux.StateChange) { mu.Lock(); states = append(states, s); mu.Unlock() }))
	connect(t, c)
	got := make(chan bayeux.Message, 4)
	if _, err := c.Subscribe(ctxT(t), "/a", func(m bayeux.Message) { got <- m }); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitHeld(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	states = nil
	mu.Unlock()
	for _, call := range []func(ctx context.Context) error{
		func(ctx context.Context) error { _, err := c.Call(ctx, "/service/slow", 1); return err },
		func(ctx context.Context) error { return c.Publish(ctx, "/service/slow", 2) },
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		err := call(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("call with a 50 ms deadline = %v, want a deadline error", err)
		}
		time.Sleep(400 * time.Millisecond) // the late reply arrives
	}
	if err := srv.Publish("/a", "after"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("no event after the caller's deadlines")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range states {
		if s.To != bayeux.StateConnected {
			t.Errorf("state change %v -> %v (%v) after a caller's deadline", s.From, s.To, s.Err)
		}
	}
	for _, err := range errs {
		t.Errorf("error reported after a caller's deadline: %v", err)
	}
}

// Unsubscribing the subscription whose stuck handler holds the next
// /meta/connect (OverflowBlock) releases it: the other subscriptions
// receive again.
func TestUnsubscribeReleasesOverflowBlock(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	c := newScriptedClient(t, f, bayeux.WithDeliveryQueue(2, bayeux.OverflowBlock))
	stuck := make(chan struct{})
	defer close(stuck)
	entered := make(chan struct{}, 1)
	slow, err := c.Subscribe(ctxT(t), "/slow", func(bayeux.Message) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-stuck
	})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan bayeux.Message, 16)
	if _, err := c.Subscribe(ctxT(t), "/fast", func(m bayeux.Message) { got <- m }); err != nil {
		t.Fatal(err)
	}
	f.push(event("/slow", 1))
	<-entered
	// The handler holds the first event; these fill the queue over its
	// size.
	f.push(event("/slow", 2), event("/slow", 3), event("/slow", 4), event("/slow", 5))
	eventually(t, "the events queued", func() bool { return len(f.pending()) == 0 })
	time.Sleep(50 * time.Millisecond)
	// The queue is over its size: the next connect is held. Control: an
	// event for /fast is not fetched.
	connects := f.count(func(m bayeux.Message) bool { return m.Channel == bayeux.MetaConnect })
	time.Sleep(300 * time.Millisecond)
	if n := f.count(func(m bayeux.Message) bool { return m.Channel == bayeux.MetaConnect }); n > connects+1 {
		t.Fatalf("connects went on (%d -> %d) while a queue was over its size", connects, n)
	}
	if err := slow.Unsubscribe(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	f.push(event("/fast", 6))
	select {
	case m := <-got:
		if string(m.Data) != "6" {
			t.Fatalf("got %s", m.Data)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the unsubscribed subscription's queue still holds the /meta/connect")
	}
}

// A /meta/subscribe the server carried out but whose reply was lost with
// the connection means "maybe subscribed": when the caller gives up, the
// client unsubscribes, so that the server does not keep the channel.
func TestSubscribeWithLostReplyIsUndone(t *testing.T) {
	leakCheck(t)
	f := newFaulty(t)
	c := newFaultyClient(t, f)
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	f.setTear(isSubscribe("/a"))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.Subscribe(ctx, "/a", func(bayeux.Message) {}); err == nil {
		t.Fatal("Subscribe succeeded without a reply")
	}
	if !f.subscribed("c1", "/a") {
		t.Fatal("control: the server should hold /a after the torn subscribe")
	}
	f.setTear(func(bayeux.Message) bool { return false })
	eventually(t, "the server to drop /a", func() bool { return !f.subscribed("c1", "/a") })
	if n := f.count(isUnsubscribe("/a")); n < 1 {
		t.Fatal("no /meta/unsubscribe sent")
	}
}

// A re-subscription whose reply is lost, for a channel nothing wants any
// more, is undone as well.
func TestResubscribeWithLostReplyIsUndone(t *testing.T) {
	leakCheck(t)
	f := newFaulty(t)
	c := newFaultyClient(t, f)
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	sub, err := c.Subscribe(ctxT(t), "/a", func(bayeux.Message) {})
	if err != nil {
		t.Fatal(err)
	}
	f.setTear(func(m bayeux.Message) bool { return isSubscribe("/a")(m) && m.ClientID == "c2" })
	f.expire("c1")
	eventually(t, "the torn re-subscription", func() bool {
		return f.subscribed("c2", "/a") && f.count(isSubscribe("/a")) >= 2
	})
	if err := sub.Unsubscribe(ctxT(t)); err != nil {
		t.Logf("Unsubscribe: %v", err)
	}
	f.setTear(func(bayeux.Message) bool { return false })
	eventually(t, "the server to drop /a in the new session", func() bool { return !f.subscribed("c2", "/a") })
}

// Each new session gets a full window before it is given up: a session
// handshaken after the previous one expired is not given up at its first
// failed connect because the old one's failures were still counted.
func TestNewSessionStartsANewFailureWindow(t *testing.T) {
	leakCheck(t)
	f := newFaulty(t)
	f.connectDur = 50 * time.Millisecond
	// timeout 50 + interval 0 + maxInterval 550: the client gives a
	// session up after failing 600 ms.
	f.setHook(func(ctx context.Context, m bayeux.Message) (*bayeux.Message, <-chan struct{}) {
		if m.Channel != bayeux.MetaConnect || !f.isValid(m.ClientID) {
			return nil, nil
		}
		r := ok(m)
		r.Advice = &bayeux.Advice{Reconnect: bayeux.ReconnectRetry, MaxInterval: 550}
		r.Advice.SetTimeout(50)
		return &r, nil
	})
	c := newFaultyClient(t, f, bayeux.WithBackoff(20*time.Millisecond, 40*time.Millisecond))
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "connected", func() bool { return c.State() == bayeux.StateConnected })
	f.failConnects.Store(true)
	f.wakeHeld()
	time.Sleep(1500 * time.Millisecond)
	f.failConnects.Store(false)
	// 1.5 s of failures: the first session given up after 600 ms, the
	// second after 600 ms more; not one session per failed connect.
	if n := f.handshakeCount(); n > 3 {
		t.Fatalf("%d handshakes in 1.5 s with a 600 ms window: each new session was given up at its first failure", n)
	}
	eventually(t, "connected again", func() bool { return c.State() == bayeux.StateConnected })
}

// Disconnect while the new session is re-subscribing still says goodbye:
// the server learns at once that the session is over.
func TestDisconnectDuringResubscribeSendsDisconnect(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	c := newScriptedClient(t, f)
	if _, err := c.Subscribe(ctxT(t), "/a", func(bayeux.Message) {}); err != nil {
		t.Fatal(err)
	}
	hold := make(chan struct{})
	defer close(hold)
	f.setHook(func(ctx context.Context, m bayeux.Message) (*bayeux.Message, <-chan struct{}) {
		if isSubscribe("/a")(m) && m.ClientID == "c2" {
			return nil, hold
		}
		return nil, nil
	})
	f.expire("c1")
	eventually(t, "the re-subscription in flight", func() bool { return f.count(isSubscribe("/a")) == 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = c.Disconnect(ctx)
	if n := f.count(func(m bayeux.Message) bool { return m.Channel == bayeux.MetaDisconnect && m.ClientID == "c2" }); n != 1 {
		t.Fatalf("/meta/disconnect for the re-subscribing session sent %d times, want 1", n)
	}
}

// A re-handshake an extension asks for while the session is still
// re-subscribing says goodbye to the session it leaves.
func TestRehandshakeBeforeReadySendsDisconnect(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	ext := &sessionExt{}
	c := newScriptedClient(t, f, bayeux.WithExtensions(ext))
	if _, err := c.Subscribe(ctxT(t), "/a", func(bayeux.Message) {}); err != nil {
		t.Fatal(err)
	}
	hold := make(chan struct{})
	defer close(hold)
	f.setHook(func(ctx context.Context, m bayeux.Message) (*bayeux.Message, <-chan struct{}) {
		if isSubscribe("/a")(m) && m.ClientID == "c2" {
			return nil, hold
		}
		return nil, nil
	})
	f.expire("c1")
	eventually(t, "the re-subscription in flight", func() bool { return f.count(isSubscribe("/a")) == 2 })
	ext.session().Rehandshake(errors.New("token rotated"))
	eventually(t, "/meta/disconnect for c2", func() bool {
		return f.count(func(m bayeux.Message) bool { return m.Channel == bayeux.MetaDisconnect && m.ClientID == "c2" }) == 1
	})
}

// sessionExt keeps the Session handle it is given.
type sessionExt struct {
	mu sync.Mutex
	s  bayeux.SessionHandle
}

func (e *sessionExt) Outgoing(*bayeux.Message)                {}
func (e *sessionExt) Incoming(*bayeux.Message)                {}
func (e *sessionExt) Registered(string, *bayeux.BayeuxClient) {}
func (e *sessionExt) Unregistered()                           {}
func (e *sessionExt) AttachSession(s bayeux.SessionHandle)    { e.mu.Lock(); e.s = s; e.mu.Unlock() }
func (e *sessionExt) session() bayeux.SessionHandle {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.s
}

// A queue behind a stuck handler pins what it holds, not every response
// body its messages came in: 50 tiny events, each in a payload beside a
// 1 MiB event for another subscription, keep far less than 50 MiB alive.
func TestQueueBehindStuckHandlerDoesNotPinBodies(t *testing.T) {
	leakCheck(t)
	srv := newServer(t, bayeuxtest.WithMaxBodyBytes(8<<20))
	c := newClient(t, srv, transportCases[0])
	connect(t, c)
	stuck := make(chan struct{})
	defer close(stuck)
	if _, err := c.Subscribe(ctxT(t), "/small", func(bayeux.Message) { <-stuck }); err != nil {
		t.Fatal(err)
	}
	bigDone := make(chan struct{}, 64)
	if _, err := c.Subscribe(ctxT(t), "/big", func(bayeux.Message) { bigDone <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	pub := newClient(t, srv, transportCases[0])
	connect(t, pub)
	big := json.RawMessage(`"` + strings.Repeat("x", 1<<20) + `"`)
	const n = 50
	for i := range n {
		if err := pub.Batch().Publish("/small", i).Publish("/big", big).Send(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-bigDone:
		case <-time.After(5 * time.Second):
			t.Fatalf("payload %d not delivered", i)
		}
		srv.ResetReceived() // the server's record of what it received
	}
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	// Two bodies may stay pinned (the one being delivered and the one
	// queued behind it) plus the copies: far below n MiB.
	if ms.HeapInuse > 20<<20 {
		t.Fatalf("heap in use %d MiB with %d tiny events queued: the queue pins response bodies", ms.HeapInuse>>20, n)
	}
}

// A denied first handshake the server advises to retry is retried for
// ConnectRetry, like any transient failure, and then Connect returns the
// denial: it does not retry for as long as ctx lasts.
func TestConnectBoundedOnDeniedHandshakeAdvisedRetry(t *testing.T) {
	leakCheck(t)
	f := newFaulty(t)
	f.setHook(func(ctx context.Context, m bayeux.Message) (*bayeux.Message, <-chan struct{}) {
		if m.Channel == bayeux.MetaHandshake {
			r := deny(m, "403::busy")
			r.Advice = &bayeux.Advice{Reconnect: bayeux.ReconnectRetry}
			r.Advice.SetInterval(0)
			return &r, nil
		}
		return nil, nil
	})
	c := newFaultyClient(t, f, bayeux.WithConnectRetry(300*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	err := c.Connect(ctx)
	if !errors.Is(err, bayeux.ErrHandshakeDenied) {
		t.Fatalf("Connect = %v, want ErrHandshakeDenied", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("Connect waited for its context (%v)", time.Since(start))
	}
	if n := f.count(func(m bayeux.Message) bool { return m.Channel == bayeux.MetaHandshake }); n < 2 {
		t.Fatalf("handshakes = %d: a denial advised to retry should be retried", n)
	}
}

// A reply to a cancelled Call that arrives late is a reply, never an
// event: a /** subscription does not receive it.
func TestLateCallReplyIsNotAnEvent(t *testing.T) {
	leakCheck(t)
	f := newFaulty(t)
	c := newFaultyClient(t, f)
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	got := make(chan bayeux.Message, 8)
	if _, err := c.Subscribe(ctxT(t), "/**", func(m bayeux.Message) { got <- m }); err != nil {
		t.Fatal(err)
	}
	var callID atomic.Value
	f.setTear(func(m bayeux.Message) bool {
		if m.Channel == "/service/x" {
			callID.Store(m.ID)
			return true
		}
		return false
	})
	if _, err := c.Call(ctxT(t), "/service/x", 1); err == nil {
		t.Fatal("Call succeeded")
	}
	late := bayeux.Message{ID: callID.Load().(string), Channel: "/service/x", Data: json.RawMessage(`{"result":1}`)}
	late.SetSuccessful(true)
	f.recv([]bayeux.Message{late})
	// Control: an event pushed after it is delivered.
	f.recv([]bayeux.Message{event("/service/x", 7)})
	select {
	case m := <-got:
		if string(m.Data) != "7" {
			t.Fatalf("/** received %s on %s: the late reply became an event", m.Data, m.Channel)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("control event not delivered")
	}
}

// Disconnect of a session the server already forgot returns nil: the
// session is gone, which is all Disconnect wanted.
func TestDisconnectOfForgottenSessionIsNotAnError(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	c := newScriptedClient(t, f)
	f.setHook(func(ctx context.Context, m bayeux.Message) (*bayeux.Message, <-chan struct{}) {
		if m.Channel == bayeux.MetaDisconnect {
			r := unknownClient(m)
			return &r, nil
		}
		return nil, nil
	})
	if err := c.Disconnect(ctxT(t)); err != nil {
		t.Fatalf("Disconnect = %v, want nil", err)
	}
	if n := f.count(func(m bayeux.Message) bool { return m.Channel == bayeux.MetaDisconnect }); n != 1 {
		t.Fatalf("/meta/disconnect sent %d times, want 1", n)
	}
}

// Disconnect does not wait for a stuck handler; Done waits for it.
func TestDisconnectDoesNotWaitForHandlers(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	c := newScriptedClient(t, f)
	stuck := make(chan struct{})
	entered := make(chan struct{})
	if _, err := c.Subscribe(ctxT(t), "/a", func(bayeux.Message) { close(entered); <-stuck }); err != nil {
		t.Fatal(err)
	}
	f.push(event("/a", 1))
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Disconnect(ctx); err != nil {
		t.Fatalf("Disconnect with a stuck handler: %v", err)
	}
	select {
	case <-c.Done():
		t.Fatal("Done closed while a handler runs")
	case <-time.After(100 * time.Millisecond):
	}
	close(stuck)
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after the handler returned")
	}
}

// Once Unsubscribe has returned, at most the one handler call already
// under way finishes: no other begins, however many messages are queued
// or still arriving.
func TestNoDeliveryBeginsAfterUnsubscribe(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	c := newScriptedClient(t, f)
	var after atomic.Bool
	var late atomic.Int32
	var calls atomic.Int32
	sub, err := c.Subscribe(ctxT(t), "/a", func(bayeux.Message) {
		calls.Add(1)
		if after.Load() {
			late.Add(1)
		}
		time.Sleep(50 * time.Microsecond)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		batch := make([]bayeux.Message, 200)
		for j := range batch {
			batch[j] = event("/a", i*200+j)
		}
		f.push(batch...)
	}
	eventually(t, "deliveries under way", func() bool { return calls.Load() > 100 })
	if err := sub.Unsubscribe(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	after.Store(true)
	time.Sleep(200 * time.Millisecond)
	if n := late.Load(); n > 1 {
		t.Fatalf("%d handler calls began after Unsubscribe returned", n)
	}
}

// The BayeuxClient a session Client hands its extensions refuses
// requests: its Handshake would otherwise move the transport the session
// uses, and its Connect send a second /meta/connect.
func TestExtensionHandleRefusesRequests(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	ext := &handleExt{}
	c := newScriptedClient(t, f, bayeux.WithExtensions(ext))
	b := ext.client()
	if b == nil {
		t.Fatal("Registered not called")
	}
	if id := b.ClientID(); id != c.ClientID() || id == "" {
		t.Errorf("handle ClientID = %q, want the session's %q", id, c.ClientID())
	}
	notConnect := func(m bayeux.Message) bool { return m.Channel != bayeux.MetaConnect }
	before := f.count(notConnect)
	if _, err := b.Handshake(ctxT(t)); !errors.Is(err, bayeux.ErrBadState) {
		t.Errorf("Handshake = %v, want ErrBadState", err)
	}
	if _, err := b.Connect(ctxT(t)); !errors.Is(err, bayeux.ErrBadState) {
		t.Errorf("Connect = %v, want ErrBadState", err)
	}
	if _, err := b.Subscribe(ctxT(t), []bayeux.Channel{"/x"}); !errors.Is(err, bayeux.ErrBadState) {
		t.Errorf("Subscribe = %v, want ErrBadState", err)
	}
	if _, err := b.Publish(ctxT(t), "/x", 1); !errors.Is(err, bayeux.ErrBadState) {
		t.Errorf("Publish = %v, want ErrBadState", err)
	}
	if _, err := b.Disconnect(ctxT(t)); !errors.Is(err, bayeux.ErrBadState) {
		t.Errorf("Disconnect = %v, want ErrBadState", err)
	}
	if err := b.Close(); !errors.Is(err, bayeux.ErrBadState) {
		t.Errorf("Close = %v, want ErrBadState", err)
	}
	if n := f.count(notConnect); n != before {
		t.Errorf("the handle sent %d requests", n-before)
	}
	// The session still works.
	if err := c.Publish(ctxT(t), "/y", 1); err != nil {
		t.Fatalf("Publish on the Client: %v", err)
	}
}

// handleExt keeps the BayeuxClient passed to Registered.
type handleExt struct {
	mu sync.Mutex
	b  *bayeux.BayeuxClient
}

func (e *handleExt) Outgoing(*bayeux.Message)                    {}
func (e *handleExt) Incoming(*bayeux.Message)                    {}
func (e *handleExt) Registered(_ string, b *bayeux.BayeuxClient) { e.mu.Lock(); e.b = b; e.mu.Unlock() }
func (e *handleExt) Unregistered()                               {}
func (e *handleExt) client() *bayeux.BayeuxClient {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.b
}

// A publish the server processed before the connection broke, with no
// byte of the answer: by default it is not sent again (Publish returns
// the transport failure; subscribers get it once); with
// WithResendPublishes it is sent once more and Publish succeeds.
func TestPublishAfterProcessedTearIsAtMostOnce(t *testing.T) {
	for _, tt := range []struct {
		name   string
		opts   []bayeux.Option
		resend bool
	}{{"default", nil, false}, {"WithResendPublishes", []bayeux.Option{bayeux.WithResendPublishes()}, true}} {
		t.Run(tt.name, func(t *testing.T) {
			leakCheck(t)
			srv := newServer(t)
			c := newClient(t, srv, transportCases[0], tt.opts...)
			connect(t, c)
			// A first publish leaves its connection idle for the next.
			if err := c.Publish(ctxT(t), "/warmup", 0); err != nil {
				t.Fatal(err)
			}
			srv.InjectFault(bayeuxtest.Fault{Channel: "/orders/**", Tear: true, Process: true})
			err := c.Publish(ctxT(t), "/orders/new", 1)
			n := srv.Count("/orders/new")
			switch {
			case tt.resend && (err != nil || n != 2):
				t.Fatalf("at-least-once: Publish = %v, received %d times; want nil and 2", err, n)
			case !tt.resend && (!errors.Is(err, bayeux.ErrTransport) || n != 1):
				t.Fatalf("at-most-once: Publish = %v, received %d times; want a transport error and 1", err, n)
			}
		})
	}
}
