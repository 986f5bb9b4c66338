package wire_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/internal/closingserver"
	"github.com/bayeux-go/sdk/wire"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func startClosing(t *testing.T, b closingserver.Behavior) *closingserver.Server {
	t.Helper()
	s, err := closingserver.Start(b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func newHTTP(t *testing.T, opts ...wire.HTTPOption) *wire.HTTP {
	h := wire.NewHTTP(opts...)
	t.Cleanup(h.CloseIdleConnections)
	return h
}

func publish(id string) []byte {
	return []byte(`[{"channel":"/chat","id":"` + id + `","clientId":"c1","data":1}]`)
}

// A server that closes every kept-alive connection right after a response
// (as several Rack servers do): back-to-back publishes all succeed, and
// none is processed twice.
func TestReuseRetryServerClosingAfterResponse(t *testing.T) {
	srv := startClosing(t, closingserver.CloseAfterResponse)
	h := newHTTP(t, wire.WithReuseRetry(true))
	ctx := testCtx(t)
	resent := 0
	const n = 2000
	for i := range n {
		id := strconv.Itoa(i)
		ex, err := h.Post(ctx, wire.LaneOther, srv.URL, publish(id))
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		if ex.StatusCode != 200 {
			t.Fatalf("publish %d: status %d", i, ex.StatusCode)
		}
		if ex.Resent {
			resent++
		}
	}
	if d := srv.Duplicates(); len(d) > 0 {
		t.Fatalf("processed more than once: %v", d)
	}
	t.Logf("%d publishes, %d re-sent after a stale kept-alive connection", n, resent)
}

// A server that closes a kept-alive connection when its next request
// arrives, unread: without the re-send, those requests fail; with it, each
// is sent once more on a fresh connection and processed once.
func TestReuseRetryServerClosingOnReuse(t *testing.T) {
	const n = 200
	t.Run("off", func(t *testing.T) {
		srv := startClosing(t, closingserver.CloseOnReuse)
		h := newHTTP(t)
		ctx := testCtx(t)
		failed := 0
		for i := range n {
			if _, err := h.Post(ctx, wire.LaneOther, srv.URL, publish(strconv.Itoa(i))); err != nil {
				failed++
			}
		}
		if failed == 0 {
			t.Fatal("no request failed: the server does not close reused connections")
		}
	})
	t.Run("on", func(t *testing.T) {
		srv := startClosing(t, closingserver.CloseOnReuse)
		// A publish whose fate is unknown is re-sent only at-least-once.
		h := newHTTP(t, wire.WithReuseRetry(true), wire.WithResendUncertain(true))
		ctx := testCtx(t)
		resent := 0
		for i := range n {
			id := strconv.Itoa(i)
			ex, err := h.Post(ctx, wire.LaneOther, srv.URL, publish(id))
			if err != nil {
				t.Fatalf("publish %d: %v", i, err)
			}
			if ex.Resent {
				resent++
				if ex.Attempts != 2 {
					t.Errorf("publish %d re-sent with %d attempts", i, ex.Attempts)
				}
			}
			if p := srv.Processed(id); p != 1 {
				t.Fatalf("publish %d processed %d times", i, p)
			}
		}
		if resent == 0 {
			t.Fatal("no request was re-sent")
		}
	})
}

// A request that received a byte of its answer, or that failed on a fresh
// connection, is never re-sent.
func TestNoReuseRetryAfterResponseByteOrOnFreshConn(t *testing.T) {
	t.Run("response byte", func(t *testing.T) {
		srv := startClosing(t, closingserver.PartialOnReuse)
		h := newHTTP(t, wire.WithReuseRetry(true))
		ctx := testCtx(t)
		if _, err := h.Post(ctx, wire.LaneOther, srv.URL, publish("1")); err != nil {
			t.Fatal(err)
		}
		// On the reused connection: processed, then part of a status line.
		if _, err := h.Post(ctx, wire.LaneOther, srv.URL, publish("2")); err == nil {
			t.Fatal("a partial status line was accepted")
		}
		if p, r := srv.Processed("2"), srv.Requests(); p != 1 || r != 2 {
			t.Fatalf("processed %d times, %d requests; want 1 and 2", p, r)
		}
	})
	t.Run("fresh connection", func(t *testing.T) {
		srv := startClosing(t, closingserver.CloseFresh)
		h := newHTTP(t, wire.WithReuseRetry(true))
		ctx := testCtx(t)
		if _, err := h.Post(ctx, wire.LaneOther, srv.URL, publish("1")); err == nil {
			t.Fatal("a connection closed without an answer gave no error")
		}
		if p, r := srv.Processed("1"), srv.Requests(); p != 1 || r != 1 {
			t.Fatalf("processed %d times, %d requests; want 1 and 1", p, r)
		}
	})
}

// The retry policy applies only to requests marked Retry, after a 502, 503
// or 504 or a connection error.
func TestRetryPolicy(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1)%2 == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	var retries atomic.Int64
	h := newHTTP(t, wire.WithClient(srv.Client()), wire.WithRetry(wire.RetryPolicy{Max: 2, WaitMin: time.Millisecond, WaitMax: time.Millisecond,
		OnRetry: func(_ context.Context, status int, err error) {
			if status != 503 || err != nil {
				t.Errorf("OnRetry(%d, %v)", status, err)
			}
			retries.Add(1)
		}}))
	ctx := testCtx(t)
	ex, err := h.Do(ctx, &wire.Request{URL: srv.URL, Body: []byte(`[]`), Retry: true})
	if err != nil || ex.StatusCode != 200 || ex.Attempts != 2 || retries.Load() != 1 {
		t.Fatalf("marked Retry: %+v, %v (retries %d)", ex, err, retries.Load())
	}
	ex, err = h.Do(ctx, &wire.Request{URL: srv.URL, Body: []byte(`[]`)})
	if err != nil || ex.StatusCode != 503 || ex.Attempts != 1 {
		t.Fatalf("not marked Retry: %+v, %v", ex, err)
	}
}

// Without clients given, each lane has its own connection pool: a request
// held on the connect lane never delays one on the other lane, even with a
// single connection per host.
func TestLanesHaveTheirOwnConnections(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("hold") != "" {
			<-release
		}
		_, _ = w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	defer close(release)
	h := newHTTP(t)
	for _, lane := range []wire.Lane{wire.LaneConnect, wire.LaneOther} {
		h.Client(lane).Transport.(*http.Transport).MaxConnsPerHost = 1
	}
	if h.Client(wire.LaneConnect).Transport == h.Client(wire.LaneOther).Transport {
		t.Fatal("the lanes share a transport")
	}
	ctx := testCtx(t)
	held := make(chan error, 1)
	go func() {
		_, err := h.Post(ctx, wire.LaneConnect, srv.URL+"?hold=1", []byte(`[]`))
		held <- err
	}()
	time.Sleep(20 * time.Millisecond) // let the held request take its connection
	for i := range 3 {
		octx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ex, err := h.Post(octx, wire.LaneOther, srv.URL, []byte(`[]`))
		cancel()
		if err != nil || ex.StatusCode != 200 {
			t.Fatalf("request %d behind the held one: %v", i, err)
		}
	}
	select {
	case err := <-held:
		t.Fatalf("held request returned: %v", err)
	default:
	}
}

// Everything of the answer is returned as received; the jar gets the
// cookies of 200 answers only.
func TestExchangeAndCookies(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("BAYEUX_BROWSER"); err == nil {
			w.Header().Set("X-Seen", c.Value)
		}
		if r.URL.Query().Get("fail") != "" {
			http.SetCookie(w, &http.Cookie{Name: "BAYEUX_BROWSER", Value: "proxy"})
			http.Error(w, "gateway", http.StatusBadGateway)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "BAYEUX_BROWSER", Value: "b1"})
		w.Header().Set("X-Custom", r.Header.Get("X-Token"))
		_, _ = w.Write([]byte(`[{"channel":"/meta/connect","successful":true}]`))
	}))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	h := newHTTP(t, wire.WithClient(srv.Client()), wire.WithJar(jar), wire.WithHeader(http.Header{"X-Token": {"t"}}))
	ctx := testCtx(t)
	ex, err := h.Post(ctx, wire.LaneConnect, srv.URL, []byte(`[]`))
	if err != nil {
		t.Fatal(err)
	}
	if ex.StatusCode != 200 || ex.Status != "200 OK" || ex.Header.Get("X-Custom") != "t" || len(ex.Cookies) != 1 ||
		string(ex.Body) != `[{"channel":"/meta/connect","successful":true}]` || ex.URL.String() != srv.URL {
		t.Fatalf("exchange %+v", ex)
	}
	ex, err = h.Post(ctx, wire.LaneOther, srv.URL+"?fail=1", []byte(`[]`))
	if err != nil || ex.StatusCode != 502 || ex.Header.Get("X-Seen") != "b1" || len(ex.Cookies) != 1 || ex.Cookies[0].Value != "proxy" {
		t.Fatalf("502 exchange %+v, %v", ex, err)
	}
	ex, _ = h.Post(ctx, wire.LaneOther, srv.URL, []byte(`[]`))
	if ex.Header.Get("X-Seen") != "b1" {
		t.Fatalf("cookie of a 502 answer stored: sent %q", ex.Header.Get("X-Seen"))
	}
}

// A callback-polling GET carries the message and the caller's callback
// name as they are.
func TestGetJSONP(t *testing.T) {
	var got url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Query()
		if r.Method != http.MethodGet || r.ContentLength > 0 {
			t.Errorf("%s with Content-Length %d", r.Method, r.ContentLength)
		}
		_, _ = w.Write([]byte(got.Get("jsonp") + `([]);`))
	}))
	defer srv.Close()
	h := newHTTP(t, wire.WithClient(srv.Client()))
	msg := `[{"channel":"/meta/handshake","ext":{"a":"&é+ "}}]`
	ex, err := h.GetJSONP(testCtx(t), wire.LaneOther, srv.URL+"/cometd?x=1#frag", "alert(1)//", []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	if got.Get("message") != msg || got.Get("jsonp") != "alert(1)//" || got.Get("x") != "1" {
		t.Fatalf("query %v", got)
	}
	if string(ex.Body) != "alert(1)//([]);" {
		t.Fatalf("body %q", ex.Body)
	}
	if _, err := wire.CallbackURL("ftp://h/", "cb", nil); err == nil {
		t.Fatal("ftp URL accepted")
	}
}

// A body over the limit fails with bayeux.ErrTooLarge; the exchange keeps
// the status and headers. Errors do not show the query.
func TestBodyLimitAndRedaction(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(make([]byte, 2000))
	}))
	h := newHTTP(t, wire.WithClient(srv.Client()), wire.WithMaxBodyBytes(1000))
	ctx := testCtx(t)
	ex, err := h.Post(ctx, wire.LaneOther, srv.URL, []byte(`[]`))
	if !errors.Is(err, bayeux.ErrTooLarge) || ex == nil || ex.StatusCode != 200 {
		t.Fatalf("%+v, %v", ex, err)
	}
	srv.Close()
	_, err = h.GetJSONP(ctx, wire.LaneOther, srv.URL, "cb", []byte(`[{"ext":{"secret":"s3"}}]`))
	if err == nil || strings.Contains(err.Error(), "s3") || strings.Contains(err.Error(), "message=") {
		t.Fatalf("error shows the query: %v", err)
	}
}

// Nothing queues requests of one lane: two lone connects are in flight at
// once, so that a suite can probe how a server treats a second one.
func TestNoQueueWithinALane(t *testing.T) {
	var inFlight atomic.Int64
	both := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if inFlight.Add(1) == 2 {
			close(both)
		}
		select {
		case <-both:
		case <-time.After(5 * time.Second):
		}
		_, _ = w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	h := newHTTP(t)
	ctx := testCtx(t)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := h.Post(ctx, wire.LaneConnect, srv.URL, []byte(`[{"channel":"/meta/connect"}]`))
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-both:
	default:
		t.Fatal("the two requests of the connect lane were not in flight together")
	}
}

// A request marked Retry whose first answer was torn after the server read
// it (it may have answered, with events) comes back with Lost counting
// that attempt; one whose first attempt got an HTTP 503 lost nothing.
func TestExchangeCountsLostAnswers(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			// Read the request, then close without a byte of answer.
			_, _ = io.ReadAll(r.Body)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		case 3:
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	h := newHTTP(t, wire.WithClient(srv.Client()), wire.WithRetry(wire.RetryPolicy{Max: 2, WaitMin: time.Millisecond, WaitMax: time.Millisecond}))
	ctx := testCtx(t)
	ex, err := h.Do(ctx, &wire.Request{URL: srv.URL, Body: []byte(`[]`), Retry: true})
	if err != nil || ex.StatusCode != 200 || ex.Lost != 1 {
		t.Fatalf("after a torn answer: %+v, %v; want Lost 1", ex, err)
	}
	ex, err = h.Do(ctx, &wire.Request{URL: srv.URL, Body: []byte(`[]`), Retry: true})
	if err != nil || ex.StatusCode != 200 || ex.Attempts != 2 || ex.Lost != 0 {
		t.Fatalf("after a 503: %+v, %v; want 2 attempts, Lost 0", ex, err)
	}
}
