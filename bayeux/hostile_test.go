package bayeux_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

// recordingHost is an HTTP server that must never be contacted: it counts
// requests and what they carried.
func recordingHost(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// A server advising another host in advice.hosts does not get the client
// to send it credentials, cookies or the handshake ext, unless the user
// allowed that host.
func TestHostileAdvisedHostNotFollowed(t *testing.T) {
	leakCheck(t)
	evil, hits := recordingHost(t)
	evilHost := strings.TrimPrefix(evil.URL, "http://")
	primary := newServer(t, bayeuxtest.WithTimeout(100*time.Millisecond),
		bayeuxtest.WithMaxInterval(200*time.Millisecond), bayeuxtest.WithHostsAdvice([]string{evilHost}))
	c := newClient(t, primary, transportCases[0], bayeux.WithHandshakeExt(map[string]any{"token": "secret"}))
	connect(t, c)
	primary.Close()
	// The client fails over on handshake failures; give it several.
	time.Sleep(time.Second)
	if n := hits.Load(); n != 0 {
		t.Fatalf("the advised host the user did not allow got %d requests", n)
	}
}

// A redirect to another host is refused with ErrRedirect: the handshake
// body (with its ext) is never re-sent there.
func TestHostileCrossHostRedirectRefused(t *testing.T) {
	leakCheck(t)
	evil, hits := recordingHost(t)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, evil.URL+"/bayeux", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	c, err := bayeux.NewClient(redirector.URL+"/bayeux", bayeux.WithTransports(longpoll.New()),
		bayeux.WithHandshakeExt(map[string]any{"token": "secret"}))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Connect(ctxT(t))
	if !errors.Is(err, bayeux.ErrRedirect) {
		t.Fatalf("Connect = %v, want ErrRedirect", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the redirect target got %d requests", n)
	}
}

// A first handshake against a server that is not there is retried for
// the configured time, then Connect returns the cause, wrapped.
func TestConnectFailsFastWithCause(t *testing.T) {
	leakCheck(t)
	addr := refusedAddr(t)
	c, err := bayeux.NewClient("http://"+addr+"/bayeux", bayeux.WithTransports(longpoll.New()),
		bayeux.WithBackoff(50*time.Millisecond, 100*time.Millisecond), bayeux.WithConnectRetry(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = c.Connect(context.Background())
	if !errors.Is(err, bayeux.ErrTransport) {
		t.Fatalf("Connect = %v, want ErrTransport", err)
	}
	if !strings.Contains(err.Error(), "refused") {
		t.Errorf("the cause is lost: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Connect took %v", d)
	}

	// Retrying forever: when ctx ends, the error wraps both ctx's error
	// and the last cause.
	c, err = bayeux.NewClient("http://"+addr+"/bayeux", bayeux.WithTransports(longpoll.New()),
		bayeux.WithBackoff(50*time.Millisecond, 100*time.Millisecond), bayeux.WithConnectRetryForever())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	err = c.Connect(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, bayeux.ErrTransport) {
		t.Fatalf("Connect = %v, want both the deadline and the transport failure", err)
	}
}

// A server advising a timeout of days has it capped.
func TestHostileAdviceIsCapped(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	f.setHook(func(ctx context.Context, m bayeux.Message) (*bayeux.Message, <-chan struct{}) {
		if m.Channel == bayeux.MetaHandshake {
			r := ok(m)
			f.mu.Lock()
			f.handshakes++
			f.valid["c1"], f.subs["c1"] = true, map[string]bool{}
			f.mu.Unlock()
			r.ClientID, r.SupportedConnectionTypes = "c1", []string{"long-polling"}
			r.Advice = &bayeux.Advice{Reconnect: bayeux.ReconnectRetry}
			r.Advice.SetTimeout(1 << 31)
			r.Advice.SetInterval(1 << 31)
			return &r, nil
		}
		return nil, nil
	})
	c := newScriptedClient(t, f, bayeux.WithAdviceLimits(time.Second, 100*time.Millisecond))
	a := c.Advice()
	if a.TimeoutAsDuration() != time.Second || a.IntervalAsDuration() != 100*time.Millisecond {
		t.Fatalf("advice not capped: timeout %v, interval %v", a.TimeoutAsDuration(), a.IntervalAsDuration())
	}
}

// A payload of more messages than MaxMessagesPerPayload is a clear,
// typed error.
func TestHostilePayloadMessageCap(t *testing.T) {
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i <= bayeux.MaxMessagesPerPayload; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"channel":"/a"}`)
	}
	b.WriteByte(']')
	_, err := bayeux.DecodeMessages([]byte(b.String()))
	if !errors.Is(err, bayeux.ErrTooLarge) || !errors.Is(err, bayeux.ErrMalformed) {
		t.Fatalf("DecodeMessages = %v, want ErrTooLarge", err)
	}
}

// A backlog of real events in one payload (CometD and Faye send every
// queued event in one reply) decodes whatever its count; a flood of tiny
// objects is refused by size: at most one message per MinBytesPerMessage
// bytes.
func TestHostilePayloadMessageCapScalesWithBody(t *testing.T) {
	build := func(n int, msg string) []byte {
		var b strings.Builder
		b.WriteByte('[')
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, msg, i)
		}
		b.WriteByte(']')
		return []byte(b.String())
	}
	backlog := build(3*bayeux.MaxMessagesPerPayload, `{"channel":"/a","data":%d,"id":"1"}`)
	msgs, err := bayeux.DecodeMessages(backlog)
	if err != nil || len(msgs) != 3*bayeux.MaxMessagesPerPayload {
		t.Fatalf("backlog of %d events: %d decoded, %v", 3*bayeux.MaxMessagesPerPayload, len(msgs), err)
	}
	flood := []byte("[" + strings.Repeat(`{"channel":"/a"},`, 200000) + `{"channel":"/a"}]`)
	if _, err := bayeux.DecodeMessages(flood); !errors.Is(err, bayeux.ErrTooLarge) {
		t.Fatalf("flood of 17-byte messages = %v, want ErrTooLarge", err)
	}
}

// A server setting thousands of cookies does not make every later request
// too large: the client's jar keeps a bounded number.
func TestHostileCookieFlood(t *testing.T) {
	leakCheck(t)
	var maxCookies atomic.Int32
	srv := newServer(t)
	flood := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		maxCookies.Store(max(maxCookies.Load(), int32(len(r.Cookies()))))
		for i := 0; i < 3000; i++ {
			http.SetCookie(w, &http.Cookie{Name: fmt.Sprintf("c%d", i), Value: "x"})
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(flood.Close)
	c, err := bayeux.NewClient(flood.URL+"/bayeux", bayeux.WithTransports(longpoll.New()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	connect(t, c)
	for i := 0; i < 3; i++ {
		if err := c.Publish(ctxT(t), "/x", 1); err != nil {
			t.Fatalf("Publish %d: %v", i, err)
		}
	}
	if n := maxCookies.Load(); n > bayeux.DefaultMaxCookies {
		t.Fatalf("a request carried %d cookies, want at most %d", n, bayeux.DefaultMaxCookies)
	}
}

// json.RawMessage("null") is sent as "data": null.
func TestPublishNullData(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	c := newScriptedClient(t, f)
	if err := c.Publish(ctxT(t), "/n", json.RawMessage("null")); err != nil {
		t.Fatal(err)
	}
	if n := f.count(func(m bayeux.Message) bool { return m.Channel == "/n" && string(m.Data) == "null" }); n != 1 {
		t.Fatal(`publish of json.RawMessage("null") did not carry "data": null`)
	}
}

// Replies without an id, which the specification allows, are accepted
// for every meta channel.
func TestIDlessMetaReplies(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	f.setHook(func(ctx context.Context, m bayeux.Message) (*bayeux.Message, <-chan struct{}) {
		if m.Channel == bayeux.MetaSubscribe || m.Channel == bayeux.MetaUnsubscribe {
			r := ok(m)
			r.ID = ""
			f.apply(m, r)
			return &r, nil
		}
		return nil, nil
	})
	c := newScriptedClient(t, f)
	sub, err := c.Subscribe(ctxT(t), "/a", func(bayeux.Message) {})
	if err != nil {
		t.Fatalf("Subscribe with an id-less reply: %v", err)
	}
	if err := sub.Unsubscribe(ctxT(t)); err != nil {
		t.Fatalf("Unsubscribe with an id-less reply: %v", err)
	}
}

// An event on a wildcard channel name is not delivered to a pattern
// subscriber, and a /meta/subscribe reply naming another channel does not
// confirm the subscription.
func TestHostileWildcardEventAndWrongSubscribeReply(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	var wrong atomic.Bool
	wrong.Store(true)
	f.setHook(func(ctx context.Context, m bayeux.Message) (*bayeux.Message, <-chan struct{}) {
		if isSubscribe("/b")(m) && wrong.Load() {
			r := ok(m)
			r.Subscription = []bayeux.Channel{"/other"}
			return &r, nil
		}
		return nil, nil
	})
	errs := make(chan error, 16)
	c := newScriptedClient(t, f, bayeux.WithErrorHandler(func(err error) {
		select {
		case errs <- err:
		default:
		}
	}))
	got := make(chan bayeux.Message, 4)
	if _, err := c.Subscribe(ctxT(t), "/a/*", func(m bayeux.Message) { got <- m }); err != nil {
		t.Fatal(err)
	}
	f.push(event("/a/**", 1), event("/a/x", 2))
	m := <-got
	if m.Channel != "/a/x" {
		t.Fatalf("delivered an event on %s to /a/*", m.Channel)
	}
	if err := <-errs; !errors.Is(err, bayeux.ErrMalformed) {
		t.Errorf("the wildcard event was reported as %v, want ErrMalformed", err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := c.Subscribe(ctxT(t), "/b", func(bayeux.Message) {})
		done <- err
	}()
	eventually(t, "two answers naming another channel", func() bool { return f.count(isSubscribe("/b")) >= 2 })
	select {
	case err := <-done:
		t.Fatalf("Subscribe returned %v on a reply naming another channel", err)
	default:
	}
	wrong.Store(false)
	if err := <-done; err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
}

// Credentials given to the client (handshake ext, headers, cookies) never
// appear in its logs, even at Debug, over every transport.
func TestCredentialsNeverLogged(t *testing.T) {
	leakCheck(t)
	const secret = "s3cr3t-t0ken"
	forEachTransport(t, func(t *testing.T, tc transportCase) {
		var buf bytes.Buffer
		var mu sync.Mutex
		log := slog.New(slog.NewTextHandler(lockedWriter{&buf, &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
		srv := newServer(t)
		c := newClient(t, srv, tc, bayeux.WithLogger(log),
			bayeux.WithHandshakeExt(map[string]any{"token": secret}),
			bayeux.WithHeader("Authorization", "Bearer "+secret))
		connect(t, c)
		col := newCollector()
		if _, err := c.Subscribe(ctxT(t), "/cred", col.handle); err != nil {
			t.Fatal(err)
		}
		publishUntil(t, c, "/cred", col, 1)
		srv.ExpireSession(c.ClientID()) // a re-handshake, with its ext
		publishUntil(t, c, "/cred", col, 2)
		if err := c.Disconnect(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if buf.Len() == 0 {
			t.Fatal("nothing was logged at Debug")
		}
		if strings.Contains(buf.String(), secret) {
			t.Fatalf("a credential was logged:\n%s", buf.String())
		}
	})
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Connect's retry budget, by default: the deadline of its context when it
// has one (beyond the 5 s default), DefaultConnectRetry when it has none.
func TestConnectRetriesUntilItsDeadline(t *testing.T) {
	leakCheck(t)
	addr := refusedAddr(t)
	newRefused := func() *bayeux.Client {
		c, err := bayeux.NewClient("http://"+addr+"/bayeux", bayeux.WithTransports(longpoll.New()),
			bayeux.WithBackoff(50*time.Millisecond, 200*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), bayeux.DefaultConnectRetry+time.Second)
		defer cancel()
		start := time.Now()
		err := newRefused().Connect(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, bayeux.ErrTransport) {
			t.Fatalf("Connect = %v, want the deadline and the last transport failure", err)
		}
		if d := time.Since(start); d < bayeux.DefaultConnectRetry {
			t.Fatalf("Connect gave up after %v, before its context's deadline", d)
		}
	})
	t.Run("no deadline", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		err := newRefused().Connect(context.Background())
		if !errors.Is(err, bayeux.ErrTransport) || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Connect = %v, want the transport failure", err)
		}
		if d := time.Since(start); d < bayeux.DefaultConnectRetry-time.Second || d > 3*bayeux.DefaultConnectRetry {
			t.Fatalf("Connect without a deadline gave up after %v, want about %v", d, bayeux.DefaultConnectRetry)
		}
	})
}

// refusedAddr returns a loopback address where connections are refused.
func refusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // connection refused from now on
	return addr
}

// An https:// URL answered by a plain HTTP server fails Connect at once
// (a TLS mismatch never heals), over every transport, with the cause.
func TestConnectFailsAtOnceOnTLSMismatch(t *testing.T) {
	leakCheck(t)
	srv := newServer(t)
	url := strings.Replace(srv.URL, "http://", "https://", 1)
	for _, tc := range transportCases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := bayeux.NewClient(url, bayeux.WithTransports(tc.new()...), bayeux.WithBackoff(50*time.Millisecond, 100*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			err = c.Connect(ctx)
			if err == nil || ctx.Err() != nil || time.Since(start) > 3*time.Second {
				t.Fatalf("Connect = %v after %v, want a failure at once", err, time.Since(start))
			}
			if !strings.Contains(err.Error(), "TLS") && !strings.Contains(err.Error(), "HTTPS") {
				t.Errorf("the cause is lost: %v", err)
			}
		})
	}
}
