package transporttest

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/cookiejar"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"go.uber.org/goleak"
)

// checks are the checks of the contract, in the order they run.
var checks = []check{
	{name: "Session", run: checkSession},
	{name: "PublishWhileConnectHeld", run: checkPublishWhileConnectHeld},
	{name: "ContextCancel", run: checkContextCancel},
	{name: "ContextDeadline", run: checkContextDeadline},
	{name: "CallerDeadline", run: checkCallerDeadline},
	{name: "CanceledContext", run: checkCanceledContext},
	{name: "StatusError", run: checkStatusError},
	{name: "DecodeError", run: checkDecodeError},
	{name: "ServerGone", run: checkServerGone},
	{name: "RefusedUpgrade", only: KindUpgrade, run: checkRefusedUpgrade},
	{name: "CloseReleasesHeldConnect", run: checkCloseReleasesHeld},
	{name: "CloseBeforeUse", run: checkCloseBeforeUse},
	{name: "NoGoroutineLeak", run: checkNoGoroutineLeak},
	{name: "Client", run: checkClient},
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// result is what a RoundTrip returned.
type result struct {
	msgs []bayeux.Message
	err  error
}

// rt sends msgs and fails the check on an error.
func (e *env) rt(msgs ...bayeux.Message) []bayeux.Message {
	e.tb.Helper()
	out, err := e.roundTrip(e.ctx, msgs)
	if err != nil {
		e.tb.Fatalf("RoundTrip(%s): %v", msgs[0].Channel, err)
	}
	return out
}

// roundTrip calls RoundTrip. With WithReceiveReplies, it adds to the
// answer the replies to msgs that came through Receive instead (the
// transport passes them before RoundTrip returns), taking them out of
// what Receive recorded, as the session Client matches them by id.
func (e *env) roundTrip(ctx context.Context, msgs []bayeux.Message) ([]bayeux.Message, error) {
	out, err := e.tr.RoundTrip(ctx, e.srv.URL, msgs)
	if err != nil || !e.cfg.receiveReplies {
		return out, err
	}
	ids := map[string]bool{}
	for i := range msgs {
		if msgs[i].ID != "" {
			ids[msgs[i].ID] = true
		}
	}
	return append(out, e.rec.takeReplies(ids)...), nil
}

// goRT sends msgs from another goroutine.
func (e *env) goRT(ctx context.Context, msgs ...bayeux.Message) <-chan result {
	ch := make(chan result, 1)
	go func() {
		out, err := e.roundTrip(ctx, msgs)
		ch <- result{out, err}
	}()
	return ch
}

// await waits for ch at most d (the promptness by default).
func (e *env) await(ch <-chan result, what string) result {
	e.tb.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(e.cfg.prompt):
		e.tb.Fatalf("%s: RoundTrip did not return within %v", what, e.cfg.prompt)
		return result{}
	}
}

// reply finds the reply with id among msgs.
func reply(msgs []bayeux.Message, id string) (bayeux.Message, bool) {
	for _, m := range msgs {
		if m.ID == id && m.HasSuccessful() {
			return m, true
		}
	}
	return bayeux.Message{}, false
}

// session handshakes, sends the first connect (answered at once) and
// returns the clientId.
func (e *env) session() string {
	e.tb.Helper()
	hs := e.rt(bayeux.Message{ID: "h", Channel: bayeux.MetaHandshake, Version: "1.0", SupportedConnectionTypes: []string{e.name}})
	r, ok := reply(hs, "h")
	if !ok || !r.Successful || r.ClientID == "" {
		e.tb.Fatalf("handshake answered %+v", hs)
	}
	first := e.connect(r.ClientID, "c0")
	first.Advice = &bayeux.Advice{}
	first.Advice.SetTimeout(0)
	if c, ok := reply(e.rt(first), "c0"); !ok || !c.Successful {
		e.tb.Fatalf("first connect failed: %+v", c)
	}
	return r.ClientID
}

func (e *env) connect(clientID, id string) bayeux.Message {
	return bayeux.Message{ID: id, Channel: bayeux.MetaConnect, ClientID: clientID, ConnectionType: e.name}
}

func publishMsg(clientID, id string, ch bayeux.Channel, n int) bayeux.Message {
	return bayeux.Message{ID: id, Channel: ch, ClientID: clientID, Data: json.RawMessage(strconv.Itoa(n))}
}

// hold sends a connect and waits until the server holds it.
func (e *env) hold(ctx context.Context, clientID, id string) <-chan result {
	e.tb.Helper()
	ch := e.goRT(ctx, e.connect(clientID, id))
	wctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	if err := e.srv.WaitHeld(wctx, 1); err != nil {
		select {
		case r := <-ch:
			e.tb.Fatalf("the connect was not held: answered %+v, %v", r.msgs, r.err)
		default:
		}
		e.tb.Fatalf("the connect was not held: %v", err)
	}
	return ch
}

// harnessEvents returns the events among msgs (messages on channels under
// /harness that are not replies).
func harnessEvents(msgs []bayeux.Message) []bayeux.Message {
	var ev []bayeux.Message
	for _, m := range msgs {
		if strings.HasPrefix(string(m.Channel), "/harness/") && !m.HasSuccessful() {
			ev = append(ev, m)
		}
	}
	return ev
}

// A whole session: replies matched by id, an event published by the
// client and one published by the server delivered once each, in order,
// whether in a RoundTrip's answer (a held connect released by the event)
// or through Receive (pushed on a persistent connection).
func checkSession(e *env) {
	id := e.session()
	if s, ok := reply(e.rt(bayeux.Message{ID: "s", Channel: bayeux.MetaSubscribe, ClientID: id, Subscription: []bayeux.Channel{"/harness/*"}}), "s"); !ok || !s.Successful {
		e.tb.Fatalf("subscribe answered %+v", s)
	}
	pub := e.rt(publishMsg(id, "p1", "/harness/a", 1))
	if r, ok := reply(pub, "p1"); !ok || !r.Successful {
		e.tb.Fatalf("publish answered %+v", pub)
	}
	delivered := slices.Clone(pub)
	held := e.hold(e.ctx, id, "c1")
	if err := e.srv.Publish("/harness/b", 2); err != nil {
		e.tb.Fatal(err)
	}
	heldDone := false
	deadline := time.After(e.cfg.prompt)
	var ev []bayeux.Message
	for {
		received, next := e.rec.messages()
		ev = harnessEvents(append(slices.Clone(delivered), received...))
		if len(ev) >= 2 {
			break
		}
		select {
		case r := <-held:
			heldDone = true
			if r.err != nil {
				e.tb.Fatalf("held connect: %v", r.err)
			}
			if c, ok := reply(r.msgs, "c1"); !ok || !c.Successful {
				e.tb.Fatalf("held connect answered %+v", r.msgs)
			}
			delivered = append(delivered, r.msgs...)
			held = nil
		case <-next:
		case <-deadline:
			e.tb.Fatalf("%d events arrived within %v, want 2: %+v", len(ev), e.cfg.prompt, ev)
		}
	}
	if len(ev) != 2 || ev[0].Channel != "/harness/a" || string(ev[0].Data) != "1" || ev[1].Channel != "/harness/b" || string(ev[1].Data) != "2" {
		e.tb.Errorf("events %+v, want /harness/a 1 then /harness/b 2, once each", ev)
	}
	if d, ok := reply(e.rt(bayeux.Message{ID: "d", Channel: bayeux.MetaDisconnect, ClientID: id}), "d"); !ok || !d.Successful {
		e.tb.Errorf("disconnect answered %+v", d)
	}
	if !heldDone {
		// The disconnect answers the held connect, or the server closes
		// the connection it was held on: a transport error.
		if r := e.await(held, "held connect after the disconnect"); r.err != nil && !errors.Is(r.err, bayeux.ErrTransport) {
			e.tb.Errorf("held connect after the disconnect: %v", r.err)
		}
	}
}

// Publishes, several at once, are answered while a connect is held: a
// transport must never make them wait behind it.
func checkPublishWhileConnectHeld(e *env) {
	id := e.session()
	held := e.hold(e.ctx, id, "c1")
	results := make([]<-chan result, 4)
	for i := range results {
		results[i] = e.goRT(e.ctx, publishMsg(id, "p"+strconv.Itoa(i), "/harness/nobody", i))
	}
	for i, ch := range results {
		r := e.await(ch, "publish while a connect is held")
		if r.err != nil {
			e.tb.Errorf("publish %d while a connect is held: %v", i, r.err)
		} else if p, ok := reply(r.msgs, "p"+strconv.Itoa(i)); !ok || !p.Successful {
			e.tb.Errorf("publish %d answered %+v", i, r.msgs)
		}
	}
	select {
	case r := <-held:
		e.tb.Errorf("the held connect returned early: %+v, %v", r.msgs, r.err)
	default:
	}
	e.rt(bayeux.Message{ID: "d", Channel: bayeux.MetaDisconnect, ClientID: id})
	e.await(held, "held connect after the disconnect")
}

// Canceling a held connect's context makes RoundTrip return promptly with
// an error; the transport remains usable.
func checkContextCancel(e *env) {
	id := e.session()
	ctx, cancel := context.WithCancel(e.ctx)
	held := e.hold(ctx, id, "c1")
	cancel()
	r := e.await(held, "held connect whose context was canceled")
	if r.err == nil {
		e.tb.Fatalf("canceled connect returned no error: %+v", r.msgs)
	}
	if errors.Is(r.err, bayeux.ErrClosed) {
		e.tb.Errorf("canceled connect reported ErrClosed: %v", r.err)
	}
	if p, ok := reply(e.rt(publishMsg(id, "p", "/harness/nobody", 1)), "p"); !ok || !p.Successful {
		e.tb.Errorf("publish after a cancellation answered %+v", p)
	}
}

// A held connect whose context has a deadline returns promptly once it
// passes.
func checkContextDeadline(e *env) {
	id := e.session()
	ctx, cancel := context.WithTimeout(e.ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	held := e.goRT(ctx, e.connect(id, "c1"))
	select {
	case r := <-held:
		if r.err == nil {
			e.tb.Fatalf("connect past its deadline returned no error: %+v", r.msgs)
		}
	case <-time.After(300*time.Millisecond + e.cfg.prompt):
		e.tb.Fatalf("connect with a deadline of 300ms still running after %v", time.Since(start))
	}
}

// A caller's deadline ends that request's wait and nothing else: a call
// to a service slower than its deadline fails, and the /meta/connect held
// meanwhile is neither failed nor torn (only a context ended with the cause
// bayeux.ErrNetworkDelay, the client's own deadline, may judge the server
// silent).
func checkCallerDeadline(e *env) {
	id := e.session()
	e.srv.HandleService("/service/harness/slow", func(bayeux.Message) (any, error) {
		time.Sleep(300 * time.Millisecond)
		return "late", nil
	})
	held := e.hold(e.ctx, id, "c1")
	ctx, cancel := context.WithTimeout(e.ctx, 50*time.Millisecond)
	defer cancel()
	r := e.await(e.goRT(ctx, publishMsg(id, "slow", "/service/harness/slow", 1)), "a call past its deadline")
	if r.err == nil {
		e.tb.Fatalf("a call past its 50ms deadline returned no error: %+v", r.msgs)
	}
	time.Sleep(400 * time.Millisecond) // the late reply comes
	select {
	case r := <-held:
		e.tb.Fatalf("the held connect ended after another request's deadline: %+v, %v", r.msgs, r.err)
	default:
	}
	// The held connect is alive: an event releases it.
	if p, ok := reply(e.rt(publishMsg(id, "p", "/harness/nobody", 1)), "p"); !ok || !p.Successful {
		e.tb.Fatalf("publish after the deadline answered %+v", p)
	}
	e.srv.ExpireSession(id)
	if r := e.await(held, "held connect after the session expired"); r.err != nil {
		e.tb.Errorf("held connect failed: %v", r.err)
	}
}

// The session bayeux.Client over the transport, end to end: connect,
// subscribe to a pattern, publish, receive, disconnect, with no goroutine
// left once Done closes.
func checkClient(e *env) {
	c, err := bayeux.NewClient(e.srv.URL, bayeux.WithHTTPClient(e.client), bayeux.WithTransports(e.newTransport()),
		bayeux.WithLogger(discardLogger()))
	if err != nil {
		e.tb.Fatalf("NewClient: %v", err)
	}
	if err := c.Connect(e.ctx); err != nil {
		e.tb.Fatalf("Connect: %v", err)
	}
	got := make(chan bayeux.Message, 1)
	if _, err := c.Subscribe(e.ctx, "/harness/*", func(m bayeux.Message) { got <- m }); err != nil {
		e.tb.Fatalf("Subscribe: %v", err)
	}
	if err := c.Publish(e.ctx, "/harness/new", map[string]int{"n": 7}); err != nil {
		e.tb.Fatalf("Publish: %v", err)
	}
	select {
	case m := <-got:
		var v struct{ N int }
		if err := json.Unmarshal(m.Data, &v); err != nil || m.Channel != "/harness/new" || v.N != 7 {
			e.tb.Errorf("received %+v (%v)", m, err)
		}
	case <-e.ctx.Done():
		e.tb.Fatal("event not received")
	}
	if err := c.Disconnect(e.ctx); err != nil {
		e.tb.Errorf("Disconnect: %v", err)
	}
	select {
	case <-c.Done():
	case <-e.ctx.Done():
		e.tb.Fatal("Done not closed after Disconnect")
	}
}

// An already canceled context fails the RoundTrip at once.
func checkCanceledContext(e *env) {
	id := e.session()
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	r := e.await(e.goRT(ctx, publishMsg(id, "p", "/harness/x", 1)), "RoundTrip with a canceled context")
	if r.err == nil {
		e.tb.Errorf("RoundTrip with a canceled context returned no error: %+v", r.msgs)
	}
}

// A server error is a *bayeux.TransportError, with the HTTP status for
// HTTP transports.
func checkStatusError(e *env) {
	id := e.session()
	e.srv.InjectFault(bayeuxtest.Fault{Channel: "/harness/**", Status: 500, Times: -1})
	defer e.srv.ClearFaults()
	r := e.await(e.goRT(e.ctx, publishMsg(id, "p", "/harness/x", 1)), "publish answered 500")
	var te *bayeux.TransportError
	if !errors.As(r.err, &te) || !errors.Is(r.err, bayeux.ErrTransport) {
		e.tb.Fatalf("err = %v, want a *bayeux.TransportError", r.err)
	}
	if e.cfg.kind == KindHTTP && te.StatusCode != 500 {
		e.tb.Errorf("StatusCode = %d, want 500: %v", te.StatusCode, r.err)
	}
	if te.Refused || errors.Is(r.err, bayeux.ErrClosed) {
		e.tb.Errorf("a 500 answer reported as Refused or ErrClosed: %v", r.err)
	}
}

// An answer that is not Bayeux JSON is a *bayeux.TransportError whose
// cause is a *bayeux.DecodeError.
func checkDecodeError(e *env) {
	id := e.session()
	e.srv.InjectFault(bayeuxtest.Fault{Channel: "/harness/**", Raw: []byte("<html>proxy error</html>"), Times: -1})
	defer e.srv.ClearFaults()
	r := e.await(e.goRT(e.ctx, publishMsg(id, "p", "/harness/x", 1)), "publish answered with HTML")
	var de *bayeux.DecodeError
	if !errors.Is(r.err, bayeux.ErrTransport) || !errors.As(r.err, &de) {
		e.tb.Errorf("err = %v, want a *bayeux.TransportError caused by a *bayeux.DecodeError", r.err)
	}
}

// A server that went away gives a *bayeux.TransportError, not ErrClosed.
func checkServerGone(e *env) {
	id := e.session()
	e.srv.Close()
	r := e.await(e.goRT(e.ctx, publishMsg(id, "p", "/harness/x", 1)), "publish to a closed server")
	if !errors.Is(r.err, bayeux.ErrTransport) || errors.Is(r.err, bayeux.ErrClosed) {
		e.tb.Errorf("err = %v, want a *bayeux.TransportError", r.err)
	}
}

// A refused upgrade is a *bayeux.TransportError with Refused and the
// status of the answer.
func checkRefusedUpgrade(e *env) {
	e.srv.RefuseWebSocket(true)
	r := e.await(e.goRT(e.ctx, bayeux.Message{ID: "h", Channel: bayeux.MetaHandshake, Version: "1.0", SupportedConnectionTypes: []string{e.name}}), "handshake with the upgrade refused")
	var te *bayeux.TransportError
	if !errors.As(r.err, &te) || !te.Refused || te.StatusCode == 0 {
		e.tb.Fatalf("err = %v, want a *bayeux.TransportError with Refused and StatusCode", r.err)
	}
	e.srv.RefuseWebSocket(false)
	e.session()
}

// Close makes a held connect return promptly with ErrClosed, later
// RoundTrips return ErrClosed, and Receive is not called once Close has
// returned.
func checkCloseReleasesHeld(e *env) {
	id := e.session()
	e.rt(bayeux.Message{ID: "s", Channel: bayeux.MetaSubscribe, ClientID: id, Subscription: []bayeux.Channel{"/harness/*"}})
	held := e.hold(e.ctx, id, "c1")
	if err := e.tr.Close(); err != nil {
		e.tb.Errorf("Close: %v", err)
	}
	e.rec.markClosed()
	r := e.await(held, "held connect after Close")
	if !errors.Is(r.err, bayeux.ErrClosed) {
		e.tb.Errorf("held connect after Close: err = %v, want bayeux.ErrClosed", r.err)
	}
	r = e.await(e.goRT(e.ctx, publishMsg(id, "p", "/harness/x", 1)), "RoundTrip after Close")
	if !errors.Is(r.err, bayeux.ErrClosed) {
		e.tb.Errorf("RoundTrip after Close: err = %v, want bayeux.ErrClosed", r.err)
	}
	_ = e.srv.Publish("/harness/late", 1)
	time.Sleep(50 * time.Millisecond)
	if n := e.rec.lateCalls(); n > 0 {
		e.tb.Errorf("Receive called %d times after Close returned", n)
	}
}

// A transport closed before its first RoundTrip returns ErrClosed.
func checkCloseBeforeUse(e *env) {
	if err := e.tr.Close(); err != nil {
		e.tb.Errorf("Close: %v", err)
	}
	r := e.await(e.goRT(e.ctx, bayeux.Message{ID: "h", Channel: bayeux.MetaHandshake, Version: "1.0", SupportedConnectionTypes: []string{e.name}}), "RoundTrip after Close")
	if !errors.Is(r.err, bayeux.ErrClosed) {
		e.tb.Errorf("RoundTrip after Close: err = %v, want bayeux.ErrClosed", r.err)
	}
}

// No goroutine started by a transport outlives its Close (once the
// client's idle connections, which are not the transport's, are closed).
func checkNoGoroutineLeak(e *env) {
	before := goleak.IgnoreCurrent()
	srv := bayeuxtest.NewServer(append([]bayeuxtest.Option{bayeuxtest.WithTimeout(30 * time.Second)}, e.cfg.serverOpts...)...)
	client := srv.Client()
	jar, _ := cookiejar.New(nil)
	tr := e.newTransport()
	if err := tr.Init(bayeux.TransportConfig{HTTPClient: client, Jar: jar, Logger: discardLogger(), Receive: func([]bayeux.Message) {}}); err != nil {
		srv.Close()
		e.tb.Fatalf("Init: %v", err)
	}
	var closeOnce sync.Once
	closeAll := func() {
		closeOnce.Do(func() {
			_ = tr.Close()
			client.CloseIdleConnections()
			srv.Close()
		})
	}
	e.tb.Cleanup(closeAll)
	sub := &env{tb: e.tb, cfg: e.cfg, newTransport: e.newTransport, srv: srv, client: client, tr: tr, name: e.name, rec: &recorder{}, ctx: e.ctx}
	id := sub.session()
	held := sub.hold(e.ctx, id, "c1")
	sub.await(sub.goRT(e.ctx, publishMsg(id, "p", "/harness/x", 1)), "publish while a connect is held")
	_ = tr.Close()
	sub.await(held, "held connect after Close")
	closeAll()
	if err := goleak.Find(before); err != nil {
		e.tb.Errorf("goroutines left after Close: %v", err)
	}
}
