package longpoll

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/internal/testenv"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// --- helpers ---------------------------------------------------------------

func newTransport(t *testing.T, c *http.Client, jar http.CookieJar, opts ...Option) *Transport {
	t.Helper()
	tr := New(opts...)
	if err := tr.Init(bayeux.TransportConfig{HTTPClient: c, Jar: jar, Logger: slog.New(slog.DiscardHandler), ClientName: "test"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func connectBatch(id string) []bayeux.Message {
	return []bayeux.Message{{ID: id, Channel: bayeux.MetaConnect, ClientID: "c1", ConnectionType: "long-polling"}}
}

func publishBatch(id string) []bayeux.Message {
	return []bayeux.Message{{ID: id, Channel: "/foo/bar", ClientID: "c1", Data: json.RawMessage(`{"n":` + id + `}`)}}
}

// readBatch decodes a request body.
func readBatch(t *testing.T, r *http.Request) []bayeux.Message {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("server: reading body: %v", err)
		return nil
	}
	msgs, err := bayeux.DecodeMessages(b)
	if err != nil {
		t.Errorf("server: decoding %q: %v", b, err)
	}
	return msgs
}

// replies builds a successful reply to every message, plus extra messages.
func replies(msgs []bayeux.Message, extra ...bayeux.Message) []byte {
	out := make([]bayeux.Message, 0, len(msgs)+len(extra))
	for _, m := range msgs {
		r := bayeux.Message{ID: m.ID, Channel: m.Channel, ClientID: m.ClientID}
		r.SetSuccessful(true)
		out = append(out, r)
	}
	out = append(out, extra...)
	b, err := bayeux.EncodeMessages(out)
	if err != nil {
		panic(err)
	}
	return b
}

type countingRT struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// --- tests -----------------------------------------------------------------

func TestName(t *testing.T) {
	if got := New().Name(); got != "long-polling" {
		t.Fatalf("Name() = %q", got)
	}
}

func TestRequestFormat(t *testing.T) {
	type seen struct {
		method, contentType, path string
		body                      []byte
	}
	got := make(chan seen, 1)
	srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.Header.Get("Content-Type"), r.URL.Path, b}
		msgs, _ := bayeux.DecodeMessages(b)
		_, _ = w.Write(replies(msgs, bayeux.Message{Channel: "/foo/bar", Data: json.RawMessage(`{"hello":"world"}`)}))
	})
	tr := newTransport(t, srv.Client(), nil)
	batch := []bayeux.Message{
		{ID: "1", Channel: bayeux.MetaSubscribe, ClientID: "c1", Subscription: []bayeux.Channel{"/foo/*"}},
		{ID: "2", Channel: "/foo/bar", ClientID: "c1", Data: json.RawMessage(`[1,2,3]`)},
	}
	before, _ := bayeux.EncodeMessages(batch)
	out, err := tr.RoundTrip(testenv.Context(t), srv.URL+"/cometd", batch)
	if err != nil {
		t.Fatal(err)
	}
	s := <-got
	if s.method != http.MethodPost || s.contentType != "application/json;charset=UTF-8" || s.path != "/cometd" {
		t.Errorf("request %s %s Content-Type %q", s.method, s.path, s.contentType)
	}
	if !bytes.Equal(s.body, before) {
		t.Errorf("body %s, want %s", s.body, before)
	}
	if s.body[0] != '[' {
		t.Errorf("body is not a JSON array: %s", s.body)
	}
	after, _ := bayeux.EncodeMessages(batch)
	if !bytes.Equal(before, after) {
		t.Errorf("RoundTrip modified msgs")
	}
	if len(out) != 3 || out[0].ID != "1" || !out[0].Successful || out[1].ID != "2" || out[2].Channel != "/foo/bar" ||
		string(out[2].Data) != `{"hello":"world"}` {
		t.Errorf("replies = %+v", out)
	}
}

func TestEmptyBatchSendsNothing(t *testing.T) {
	var n atomic.Int64
	srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) { n.Add(1) })
	tr := newTransport(t, srv.Client(), nil)
	out, err := tr.RoundTrip(testenv.Context(t), srv.URL, nil)
	if err != nil || out != nil || n.Load() != 0 {
		t.Fatalf("RoundTrip(nil) = %v, %v; %d requests", out, err, n.Load())
	}
}

func TestEncodeErrorBeforeSending(t *testing.T) {
	var n atomic.Int64
	srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) { n.Add(1) })
	tr := newTransport(t, srv.Client(), nil)
	_, err := tr.RoundTrip(testenv.Context(t), srv.URL, []bayeux.Message{{Channel: "/a", Data: json.RawMessage(`{bad`)}})
	var ee *bayeux.EncodeError
	if !errors.As(err, &ee) || n.Load() != 0 {
		t.Fatalf("err = %v (%d requests), want *bayeux.EncodeError and no request", err, n.Load())
	}
}

func TestHeaders(t *testing.T) {
	got := make(chan http.Header, 1)
	srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		_, _ = w.Write(replies(readBatch(t, r)))
	})
	h := http.Header{"x-trace": {"a", "b"}}
	tr := newTransport(t, srv.Client(), nil,
		WithHeader("authorization", "Bearer secret"), WithHeaders(h), WithHeader("Content-Type", "application/json"))
	if _, err := tr.RoundTrip(testenv.Context(t), srv.URL, connectBatch("1")); err != nil {
		t.Fatal(err)
	}
	hdr := <-got
	if hdr.Get("Authorization") != "Bearer secret" {
		t.Errorf("Authorization = %q", hdr.Get("Authorization"))
	}
	if diff := cmp.Diff([]string{"a", "b"}, hdr.Values("X-Trace")); diff != "" {
		t.Errorf("X-Trace: %s", diff)
	}
	if diff := cmp.Diff([]string{"application/json"}, hdr.Values("Content-Type")); diff != "" {
		t.Errorf("custom Content-Type must replace the default: %s", diff)
	}
	h.Set("X-Trace", "changed")
	if _, err := tr.RoundTrip(testenv.Context(t), srv.URL, connectBatch("2")); err != nil {
		t.Fatal(err)
	}
	if hdr := <-got; hdr.Get("X-Trace") != "a" {
		t.Errorf("WithHeaders must copy its argument; X-Trace = %q", hdr.Values("X-Trace"))
	}
}

// cookieServer sets BAYEUX_BROWSER on /meta/handshake, answers 500 with a
// cookie for /fail, and records every request's cookies.
type cookieServer struct {
	mu      sync.Mutex
	cookies []string // Cookie header of each request
	fail503 int      // answer 503 to this many requests first
}

func (cs *cookieServer) handler(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cs.mu.Lock()
		cs.cookies = append(cs.cookies, strings.Join(r.Header.Values("Cookie"), " | "))
		fail := cs.fail503 > 0
		if fail {
			cs.fail503--
		}
		cs.mu.Unlock()
		msgs := readBatch(t, r)
		if fail {
			http.SetCookie(w, &http.Cookie{Name: "LB", Value: "down", Path: "/"})
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path == "/fail" {
			http.SetCookie(w, &http.Cookie{Name: "ERR", Value: "1", Path: "/"})
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		if len(msgs) > 0 && msgs[0].Channel == bayeux.MetaHandshake {
			http.SetCookie(w, &http.Cookie{Name: "BAYEUX_BROWSER", Value: "b1", Path: "/", HttpOnly: true})
		}
		_, _ = w.Write(replies(msgs))
	}
}

func (cs *cookieServer) seen() []string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return append([]string(nil), cs.cookies...)
}

func handshakeBatch() []bayeux.Message {
	return []bayeux.Message{{ID: "1", Channel: bayeux.MetaHandshake, Version: "1.0", SupportedConnectionTypes: []string{"long-polling"}}}
}

func TestCookiesWithSessionJar(t *testing.T) {
	cs := &cookieServer{}
	srv := testenv.Server(t, cs.handler(t))
	jar, _ := cookiejar.New(nil)
	tr := newTransport(t, srv.Client(), jar, WithRetryWait(time.Millisecond, time.Millisecond))
	ctx := testenv.Context(t)
	if _, err := tr.RoundTrip(ctx, srv.URL+"/cometd", handshakeBatch()); err != nil {
		t.Fatal(err)
	}
	// The cookie was stored in the session jar...
	u := srv.URL + "/cometd"
	if got := cookieNames(jar, u); got != "BAYEUX_BROWSER=b1" {
		t.Fatalf("jar holds %q", got)
	}
	if _, err := tr.RoundTrip(ctx, u, connectBatch("2")); err != nil {
		t.Fatal(err)
	}
	// ...and is not stored from a failed answer,
	if _, err := tr.RoundTrip(ctx, srv.URL+"/fail", publishBatch("3")); err == nil {
		t.Fatal("no error for a 500 answer")
	}
	if got := cookieNames(jar, u); got != "BAYEUX_BROWSER=b1" {
		t.Errorf("cookies of a 500 answer were stored: jar holds %q", got)
	}
	// ...nor from the 503 answers a retry skips.
	cs.mu.Lock()
	cs.fail503 = 1
	cs.mu.Unlock()
	if _, err := tr.RoundTrip(ctx, u, connectBatch("4")); err != nil {
		t.Fatal(err)
	}
	want := []string{"", "BAYEUX_BROWSER=b1", "BAYEUX_BROWSER=b1", "BAYEUX_BROWSER=b1", "BAYEUX_BROWSER=b1"}
	if diff := cmp.Diff(want, cs.seen()); diff != "" {
		t.Errorf("Cookie headers (-want +got):\n%s", diff)
	}
}

func cookieNames(jar http.CookieJar, raw string) string {
	req, _ := http.NewRequest("GET", raw, nil)
	var s []string
	for _, c := range jar.Cookies(req.URL) {
		s = append(s, c.Name+"="+c.Value)
	}
	return strings.Join(s, "; ")
}

// With the client's own jar (TransportConfig.Jar nil), the http.Client does
// the cookies, and the transport does not add them a second time, not even
// on a retry.
func TestCookiesWithClientJar(t *testing.T) {
	cs := &cookieServer{}
	srv := testenv.Server(t, cs.handler(t))
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: srv.Client().Transport, Jar: jar}
	tr := newTransport(t, c, nil, WithRetryWait(time.Millisecond, time.Millisecond))
	ctx := testenv.Context(t)
	if _, err := tr.RoundTrip(ctx, srv.URL, handshakeBatch()); err != nil {
		t.Fatal(err)
	}
	cs.mu.Lock()
	cs.fail503 = 2
	cs.mu.Unlock()
	if _, err := tr.RoundTrip(ctx, srv.URL, connectBatch("2")); err != nil {
		t.Fatal(err)
	}
	// net/http's own jar stores cookies of every answer, the 503's too.
	want := []string{"", "BAYEUX_BROWSER=b1", "BAYEUX_BROWSER=b1; LB=down", "BAYEUX_BROWSER=b1; LB=down"}
	if diff := cmp.Diff(want, cs.seen()); diff != "" {
		t.Errorf("Cookie headers (-want +got):\n%s", diff)
	}
}

// snapshot is what must not change in the user's http.Client.
type snapshot struct {
	transport http.RoundTripper
	jar       http.CookieJar
	timeout   time.Duration
	redirect  string
}

func snap(c *http.Client) snapshot {
	return snapshot{c.Transport, c.Jar, c.Timeout, fmt.Sprintf("%p", c.CheckRedirect)}
}

func TestUserClientNotModifiedAndRoundTripperUsed(t *testing.T) {
	var calls atomic.Int64
	srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) {
		msgs := readBatch(t, r)
		switch {
		case calls.Add(1)%2 == 1 && msgs[0].Channel == bayeux.MetaConnect:
			w.WriteHeader(http.StatusServiceUnavailable) // retried
		case msgs[0].Channel == "/fail":
			w.WriteHeader(http.StatusBadRequest)
		default:
			_, _ = w.Write(replies(msgs))
		}
	})
	rt := &countingRT{base: srv.Client().Transport}
	jar, _ := cookiejar.New(nil)
	redirect := func(*http.Request, []*http.Request) error { return nil }
	for _, c := range []*http.Client{
		{Transport: rt},
		{Transport: rt, Jar: jar, Timeout: time.Hour, CheckRedirect: redirect},
	} {
		before := snap(c)
		tr := newTransport(t, c, nil, WithRetryWait(time.Millisecond, time.Millisecond))
		n0 := rt.n.Load()
		ctx := testenv.Context(t)
		if _, err := tr.RoundTrip(ctx, srv.URL, connectBatch("1")); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{{Channel: "/fail", Data: json.RawMessage("1")}}); err == nil {
			t.Fatal("no error for 400")
		}
		if _, err := tr.RoundTrip(ctx, "http://127.0.0.1:1/", connectBatch("2")); err == nil {
			t.Fatal("no error for a refused connection")
		}
		if _, err := tr.RoundTrip(ctx, srv.URL, publishBatch("3")); err != nil {
			t.Fatal(err)
		}
		_ = tr.Close()
		if after := snap(c); after != before {
			t.Errorf("http.Client modified: before %+v after %+v", before, after)
		}
		// 2 for the connect (503 then 200), 1 for /fail, 3 refused
		// attempts, 1 publish: all through the user's RoundTripper.
		if got := rt.n.Load() - n0; got != 7 {
			t.Errorf("user's RoundTripper saw %d requests, want 7", got)
		}
	}
}

// A publish completes while a /meta/connect is held: the server holds the
// connect until it has seen the publish, so a transport that made the
// publish wait behind the connect would deadlock until the deadline.
func TestPublishWhileConnectHeld(t *testing.T) {
	connectArrived := make(chan struct{})
	publishArrived := make(chan struct{})
	var once sync.Once
	srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) {
		msgs := readBatch(t, r)
		if msgs[0].Channel == bayeux.MetaConnect {
			close(connectArrived)
			select {
			case <-publishArrived:
			case <-r.Context().Done():
				return
			}
			_, _ = w.Write(replies(msgs, bayeux.Message{Channel: "/foo/bar", Data: json.RawMessage(`"event"`)}))
			return
		}
		once.Do(func() { close(publishArrived) })
		_, _ = w.Write(replies(msgs))
	})
	tr := newTransport(t, srv.Client(), nil)
	ctx := testenv.Context(t)
	type result struct {
		msgs []bayeux.Message
		err  error
	}
	connectDone := make(chan result, 1)
	go func() {
		m, err := tr.RoundTrip(ctx, srv.URL, connectBatch("1"))
		connectDone <- result{m, err}
	}()
	<-connectArrived
	out, err := tr.RoundTrip(ctx, srv.URL, publishBatch("2"))
	if err != nil || len(out) != 1 || out[0].ID != "2" || !out[0].Successful {
		t.Fatalf("publish = %+v, %v", out, err)
	}
	r := <-connectDone
	if r.err != nil || len(r.msgs) != 2 || r.msgs[1].Channel != "/foo/bar" {
		t.Fatalf("connect = %+v, %v", r.msgs, r.err)
	}
}

// No more than two requests are in flight, one of them the connect, and
// the other batches are sent one at a time in arrival order.
func TestAtMostTwoRequestsInFlight(t *testing.T) {
	var (
		mu       sync.Mutex
		inFlight int
		maxSeen  int
		order    []string
		release  = make(chan struct{})
	)
	srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) {
		msgs := readBatch(t, r)
		mu.Lock()
		inFlight++
		maxSeen = max(maxSeen, inFlight)
		order = append(order, msgs[0].ID)
		mu.Unlock()
		defer func() {
			mu.Lock()
			inFlight--
			mu.Unlock()
		}()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write(replies(msgs))
	})
	tr := newTransport(t, srv.Client(), nil)
	ctx := testenv.Context(t)
	state := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return inFlight, len(order)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	send := func(batch []bayeux.Message) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := tr.RoundTrip(ctx, srv.URL, batch); err != nil {
				errs <- err
			}
		}()
	}
	send(connectBatch("c"))
	testenv.Eventually(t, "the connect", func() bool { n, _ := state(); return n == 1 })
	const publishes = 5
	for i := 1; i <= publishes; i++ {
		send(publishBatch(strconv.Itoa(i)))
		if i == 1 {
			testenv.Eventually(t, "the first publish", func() bool { n, _ := state(); return n == 2 })
		} else {
			testenv.Eventually(t, "publish "+strconv.Itoa(i)+" to queue", func() bool { return tr.e.Waiting() == i-1 })
		}
	}
	// Everything is either in flight or queued: exactly two requests reached
	// the server.
	if n, total := state(); n != 2 || total != 2 {
		t.Fatalf("%d requests in flight, %d arrived; want 2 and 2", n, total)
	}
	for i := 0; i < publishes+1; i++ {
		release <- struct{}{}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if maxSeen != 2 {
		t.Errorf("max in flight = %d, want 2", maxSeen)
	}
	if diff := cmp.Diff([]string{"c", "1", "2", "3", "4", "5"}, order); diff != "" {
		t.Errorf("arrival order (-want +got):\n%s", diff)
	}
}

func TestRetry(t *testing.T) {
	subscribe := bayeux.Message{ID: "9", Channel: bayeux.MetaSubscribe, ClientID: "c1", Subscription: []bayeux.Channel{"/a"}}
	service := bayeux.Message{ID: "8", Channel: "/service/echo", ClientID: "c1", Data: json.RawMessage(`1`)}
	tests := []struct {
		name     string
		batch    []bayeux.Message
		failures int  // answers before success
		hangup   bool // fail by closing the connection instead of 503
		status   int  // failure status (default 503)
		retryMax int
		wantReqs int
		wantErr  int // expected StatusCode, -1 for a connection error, 0 for success
	}{
		{name: "connect 503 then ok", batch: connectBatch("1"), failures: 2, wantReqs: 3},
		{name: "connect 502", batch: connectBatch("1"), failures: 1, status: 502, wantReqs: 2},
		{name: "connect 504", batch: connectBatch("1"), failures: 1, status: 504, wantReqs: 2},
		{name: "connect 503 exhausted", batch: connectBatch("1"), failures: 5, wantReqs: 3, wantErr: 503},
		{name: "connect 500 not retried", batch: connectBatch("1"), failures: 1, status: 500, wantReqs: 1, wantErr: 500},
		{name: "connect 429 not retried", batch: connectBatch("1"), failures: 1, status: 429, wantReqs: 1, wantErr: 429},
		{name: "connect hangup then ok", batch: connectBatch("1"), failures: 1, hangup: true, wantReqs: 2},
		{name: "handshake+subscribe 503", batch: append(handshakeBatch(), subscribe), failures: 1, wantReqs: 2},
		{name: "retry max 0", batch: connectBatch("1"), failures: 1, retryMax: -1, wantReqs: 1, wantErr: 503},
		{name: "retry max 4", batch: connectBatch("1"), failures: 4, retryMax: 4, wantReqs: 5},
		{name: "publish 503", batch: publishBatch("1"), failures: 1, wantReqs: 1, wantErr: 503},
		{name: "publish hangup", batch: publishBatch("1"), failures: 1, hangup: true, wantReqs: 1, wantErr: -1},
		{name: "subscribe+publish 503", batch: append([]bayeux.Message{subscribe}, publishBatch("1")...), failures: 1, wantReqs: 1, wantErr: 503},
		{name: "service 503", batch: []bayeux.Message{service}, failures: 1, wantReqs: 1, wantErr: 503},
		{name: "unknown meta 503", batch: []bayeux.Message{{Channel: "/meta/custom"}}, failures: 1, wantReqs: 1, wantErr: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu     sync.Mutex
				bodies []string
			)
			srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				bodies = append(bodies, string(b))
				n := len(bodies)
				mu.Unlock()
				if n <= tt.failures {
					if tt.hangup {
						conn, _, err := http.NewResponseController(w).Hijack()
						if err == nil {
							conn.Close()
						}
						return
					}
					st := tt.status
					if st == 0 {
						st = http.StatusServiceUnavailable
					}
					w.WriteHeader(st)
					return
				}
				msgs, _ := bayeux.DecodeMessages(b)
				_, _ = w.Write(replies(msgs))
			})
			opts := []Option{WithRetryWait(time.Millisecond, 2*time.Millisecond)}
			if tt.retryMax != 0 {
				opts = append(opts, WithRetryMax(max(tt.retryMax, 0)))
			}
			tr := newTransport(t, srv.Client(), nil, opts...)
			out, err := tr.RoundTrip(testenv.Context(t), srv.URL, tt.batch)
			mu.Lock()
			defer mu.Unlock()
			if len(bodies) != tt.wantReqs {
				t.Errorf("%d requests, want %d", len(bodies), tt.wantReqs)
			}
			for i, b := range bodies {
				if b != bodies[0] {
					t.Errorf("retry %d sent %s, first attempt %s", i, b, bodies[0])
				}
			}
			switch tt.wantErr {
			case 0:
				if err != nil || len(out) != len(tt.batch) {
					t.Fatalf("RoundTrip = %v, %v", out, err)
				}
			default:
				var te *bayeux.TransportError
				if !errors.As(err, &te) || !errors.Is(err, bayeux.ErrTransport) {
					t.Fatalf("err = %v, want *bayeux.TransportError", err)
				}
				if want := max(tt.wantErr, 0); te.StatusCode != want {
					t.Errorf("StatusCode = %d, want %d", te.StatusCode, want)
				}
				if te.ConnectionType != "long-polling" {
					t.Errorf("ConnectionType = %q", te.ConnectionType)
				}
			}
		})
	}
}

func TestRetryWaitHonoursContext(t *testing.T) {
	arrived := make(chan struct{}, 10)
	srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	tr := newTransport(t, srv.Client(), nil, WithRetryWait(time.Hour, time.Hour))
	ctx, cancel := context.WithCancel(testenv.Context(t))
	done := make(chan error, 1)
	go func() {
		_, err := tr.RoundTrip(ctx, srv.URL, connectBatch("1"))
		done <- err
	}()
	<-arrived
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || !errors.Is(err, bayeux.ErrTransport) {
		t.Fatalf("err = %v, want a transport error wrapping context.Canceled", err)
	}
}

func TestBodyLimit(t *testing.T) {
	const limit = 1000
	big := []byte(`[{"channel":"/a","data":"` + strings.Repeat("x", 2000) + `"}]`)
	fits := []byte(`[{"channel":"/a","data":"` + strings.Repeat("x", limit-len(`[{"channel":"/a","data":""}]`)) + `"}]`)
	if len(fits) != limit {
		t.Fatalf("fits is %d bytes", len(fits))
	}
	tests := []struct {
		name    string
		body    []byte
		chunked bool
		wantErr bool
	}{
		{"content-length over", big, false, true},
		{"chunked over", big, true, true},
		{"content-length at limit", fits, false, false},
		{"chunked at limit", fits, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.chunked {
					for i := 0; i < len(tt.body); i += 100 {
						_, _ = w.Write(tt.body[i:min(i+100, len(tt.body))])
						w.(http.Flusher).Flush()
					}
					return
				}
				w.Header().Set("Content-Length", strconv.Itoa(len(tt.body)))
				_, _ = w.Write(tt.body)
			})
			tr := newTransport(t, srv.Client(), nil, WithMaxBodyBytes(limit))
			out, err := tr.RoundTrip(testenv.Context(t), srv.URL, publishBatch("1"))
			if !tt.wantErr {
				if err != nil || len(out) != 1 {
					t.Fatalf("RoundTrip = %v, %v", out, err)
				}
				return
			}
			var te *bayeux.TransportError
			if !errors.As(err, &te) || !errors.Is(err, bayeux.ErrTooLarge) {
				t.Fatalf("err = %v, want *TransportError wrapping ErrTooLarge", err)
			}
		})
	}
}

func TestStatusErrors(t *testing.T) {
	for _, status := range []int{201, 204, 301, 400, 401, 403, 404, 408, 500} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) {
				if status == 301 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(status)
				if status != 204 && status != 301 {
					_, _ = w.Write([]byte(`[{"channel":"/meta/connect","successful":true}]`))
				}
			})
			c := &http.Client{Transport: srv.Client().Transport,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			tr := newTransport(t, c, nil)
			_, err := tr.RoundTrip(testenv.Context(t), srv.URL, connectBatch("1"))
			var te *bayeux.TransportError
			if !errors.As(err, &te) || te.StatusCode != status || !bayeux.IsRetryable(err) {
				t.Fatalf("err = %#v, want *TransportError with StatusCode %d", err, status)
			}
		})
	}
}

func TestMalformedBody(t *testing.T) {
	tests := []struct{ name, body string }{
		{"empty", ""},
		{"whitespace", " \n"},
		{"text", "Bad request"},
		{"html", "<html><body>gateway</body></html>"},
		{"truncated", `[{"channel":"/meta/connect","successful":tr`},
		{"numbers", `[1,2]`},
		{"no channel", `[{"successful":true}]`},
		{"scalar", `42`},
		{"trailing", `[{"channel":"/a"}] x`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, tt.body) })
			tr := newTransport(t, srv.Client(), nil)
			out, err := tr.RoundTrip(testenv.Context(t), srv.URL, connectBatch("1"))
			var (
				te *bayeux.TransportError
				de *bayeux.DecodeError
			)
			if !errors.As(err, &te) || !errors.As(err, &de) || !errors.Is(err, bayeux.ErrMalformed) || out != nil {
				t.Fatalf("RoundTrip = %v, %v; want *TransportError wrapping *DecodeError", out, err)
			}
		})
	}
}

func TestContextCancel(t *testing.T) {
	arrived := make(chan struct{}, 2)
	srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // lets the server notice a closed connection
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	tr := newTransport(t, srv.Client(), nil)

	// Cancel while the request is held by the server.
	ctx, cancel := context.WithCancel(testenv.Context(t))
	done := make(chan error, 2)
	go func() { _, err := tr.RoundTrip(ctx, srv.URL, publishBatch("1")); done <- err }()
	<-arrived
	// A second batch waits for the lane; its own deadline ends the wait.
	ctx2, cancel2 := context.WithTimeout(testenv.Context(t), time.Millisecond)
	defer cancel2()
	_, err := tr.RoundTrip(ctx2, srv.URL, publishBatch("2"))
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, bayeux.ErrTransport) {
		t.Errorf("queued batch: err = %v, want a transport error wrapping DeadlineExceeded", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || !errors.Is(err, bayeux.ErrTransport) {
		t.Errorf("held batch: err = %v, want a transport error wrapping context.Canceled", err)
	}
	// The lane is free again.
	if tr.e.Waiting() != 0 {
		t.Errorf("%d batches still waiting", tr.e.Waiting())
	}
}

func TestClose(t *testing.T) {
	arrived := make(chan struct{}, 1)
	srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // lets the server notice a closed connection
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	tr := newTransport(t, srv.Client(), nil)
	ctx := testenv.Context(t)
	done := make(chan error, 2)
	go func() { _, err := tr.RoundTrip(ctx, srv.URL, connectBatch("1")); done <- err }()
	<-arrived
	go func() { _, err := tr.RoundTrip(ctx, srv.URL, publishBatch("2")); done <- err }()
	<-arrived
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := <-done; !errors.Is(err, bayeux.ErrClosed) {
			t.Errorf("in-flight RoundTrip: err = %v, want ErrClosed", err)
		}
	}
	if _, err := tr.RoundTrip(ctx, srv.URL, connectBatch("3")); !errors.Is(err, bayeux.ErrClosed) {
		t.Errorf("RoundTrip after Close: err = %v, want ErrClosed", err)
	}
	if _, err := tr.RoundTrip(ctx, srv.URL, nil); !errors.Is(err, bayeux.ErrClosed) {
		t.Errorf("empty RoundTrip after Close: err = %v, want ErrClosed", err)
	}
	if err := tr.Init(bayeux.TransportConfig{HTTPClient: srv.Client()}); !errors.Is(err, bayeux.ErrClosed) {
		t.Errorf("Init after Close: err = %v, want ErrClosed", err)
	}
	if err := tr.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestRoundTripBeforeInit(t *testing.T) {
	_, err := New().RoundTrip(context.Background(), "http://127.0.0.1:1/", connectBatch("1"))
	if !errors.Is(err, bayeux.ErrTransport) {
		t.Fatalf("err = %v", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	tr := newTransport(t, c, nil, WithRetryWait(time.Millisecond, time.Millisecond))
	_, err = tr.RoundTrip(testenv.Context(t), "http://"+addr+"/cometd?token=secret", publishBatch("1"))
	var te *bayeux.TransportError
	if !errors.As(err, &te) || te.StatusCode != 0 {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error leaks the query: %v", err)
	}
}
