package callbackpoll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/internal/testenv"
	"github.com/bayeux-go/sdk/wire"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newTransport(t *testing.T, c *http.Client, jar http.CookieJar, opts ...Option) *Transport {
	t.Helper()
	tr := New(opts...)
	if err := tr.Init(bayeux.TransportConfig{HTTPClient: c, Jar: jar, Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

var callbackRE = regexp.MustCompile(`^_bayeux_jsonp_[0-9]+$`)

// jsonpRequest is what the test server saw.
type jsonpRequest struct {
	method   string
	url      string // the full URL as sent
	callback string
	msgs     []bayeux.Message
}

// parseRequest decodes a callback-polling request.
func parseRequest(t *testing.T, r *http.Request) jsonpRequest {
	t.Helper()
	q := r.URL.Query()
	jr := jsonpRequest{method: r.Method, url: "http://" + r.Host + r.RequestURI, callback: q.Get("jsonp")}
	msgs, err := bayeux.DecodeMessages([]byte(q.Get("message")))
	if err != nil {
		t.Errorf("server: message parameter %q: %v", q.Get("message"), err)
	}
	jr.msgs = msgs
	return jr
}

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

// writeJSONP answers like Faye does.
func writeJSONP(w http.ResponseWriter, callback string, array []byte) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = fmt.Fprintf(w, "/**/%s(%s);", callback, array)
}

func echoJSONP(t *testing.T, seen func(jsonpRequest)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		jr := parseRequest(t, r)
		if seen != nil {
			seen(jr)
		}
		writeJSONP(w, jr.callback, replies(jr.msgs))
	}
}

func connectBatch(id string) []bayeux.Message {
	return []bayeux.Message{{ID: id, Channel: bayeux.MetaConnect, ClientID: "c1", ConnectionType: "callback-polling"}}
}

func publish(id string, data string) bayeux.Message {
	return bayeux.Message{ID: id, Channel: "/chat/room", ClientID: "c1", Data: json.RawMessage(strconv.Quote(data))}
}

func TestName(t *testing.T) {
	if got := New().Name(); got != "callback-polling" {
		t.Fatalf("Name() = %q", got)
	}
}

func TestRequestFormat(t *testing.T) {
	var got []jsonpRequest
	var mu sync.Mutex
	srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > 0 || r.Header.Get("Content-Type") != "" {
			t.Errorf("GET with a body or Content-Type: %d %q", r.ContentLength, r.Header.Get("Content-Type"))
		}
		jr := parseRequest(t, r)
		mu.Lock()
		got = append(got, jr)
		mu.Unlock()
		writeJSONP(w, jr.callback, replies(jr.msgs, bayeux.Message{Channel: "/chat/room", Data: json.RawMessage(`{"text":"hi & bye"}`)}))
	})
	tr := newTransport(t, srv.Client(), nil, WithHeader("Authorization", "Bearer t"))
	batch := []bayeux.Message{
		{ID: "1", Channel: bayeux.MetaSubscribe, ClientID: "c1", Subscription: []bayeux.Channel{"/chat/*"}},
		publish("2", "héllo wörld & <friends> +1 %20 \u2028"),
	}
	out, err := tr.RoundTrip(testenv.Context(t), srv.URL+"/cometd?tenant=a%20b#frag", batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d requests", len(got))
	}
	r := got[0]
	if r.method != http.MethodGet || !callbackRE.MatchString(r.callback) {
		t.Errorf("method %s callback %q", r.method, r.callback)
	}
	u, _ := url.Parse(r.url)
	if u.Path != "/cometd" || u.Query().Get("tenant") != "a b" || strings.Contains(r.url, "frag") {
		t.Errorf("URL %s", r.url)
	}
	if !strings.Contains(r.url, "?tenant=a%20b&jsonp=") {
		t.Errorf("URL does not keep the existing query first: %s", r.url)
	}
	want, _ := bayeux.EncodeMessages(batch)
	sent, _ := bayeux.EncodeMessages(r.msgs)
	if string(sent) != string(want) {
		t.Errorf("message parameter\n got %s\nwant %s", sent, want)
	}
	if len(out) != 3 || out[0].ID != "1" || out[1].ID != "2" || string(out[2].Data) != `{"text":"hi & bye"}` {
		t.Errorf("replies %+v", out)
	}
}

func TestCallbackNamesDiffer(t *testing.T) {
	names := map[string]bool{}
	var mu sync.Mutex
	srv := testenv.Server(t, echoJSONP(t, func(jr jsonpRequest) {
		mu.Lock()
		names[jr.callback] = true
		mu.Unlock()
	}))
	tr := newTransport(t, srv.Client(), nil)
	for i := 0; i < 5; i++ {
		if _, err := tr.RoundTrip(testenv.Context(t), srv.URL, connectBatch(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if len(names) != 5 {
		t.Fatalf("callback names %v", names)
	}
}

// A batch too long for one URL is split into several GETs, sent one at a
// time in order, every URL within the limit; the answers keep the order.
func TestSplit(t *testing.T) {
	const limit = 700
	var (
		mu       sync.Mutex
		reqs     []jsonpRequest
		inFlight int
		maxSeen  int
	)
	srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		maxSeen = max(maxSeen, inFlight)
		mu.Unlock()
		jr := parseRequest(t, r)
		mu.Lock()
		reqs = append(reqs, jr)
		inFlight--
		mu.Unlock()
		writeJSONP(w, jr.callback, replies(jr.msgs))
	})
	tr := newTransport(t, srv.Client(), nil, WithMaxURLLength(limit))
	var batch []bayeux.Message
	for i := 0; i < 20; i++ {
		batch = append(batch, publish(strconv.Itoa(i), strings.Repeat("é", i*4)))
	}
	out, err := tr.RoundTrip(testenv.Context(t), srv.URL+"/cometd", batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) < 3 {
		t.Fatalf("%d requests, want a split", len(reqs))
	}
	var sentIDs, gotIDs []string
	for _, r := range reqs {
		if len(r.url) > limit {
			t.Errorf("URL of %d bytes > %d", len(r.url), limit)
		}
		for _, m := range r.msgs {
			sentIDs = append(sentIDs, m.ID)
		}
	}
	for _, m := range out {
		gotIDs = append(gotIDs, m.ID)
	}
	var want []string
	for _, m := range batch {
		want = append(want, m.ID)
	}
	if diff := cmp.Diff(want, sentIDs); diff != "" {
		t.Errorf("sent order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, gotIDs); diff != "" {
		t.Errorf("reply order (-want +got):\n%s", diff)
	}
	if maxSeen != 1 {
		t.Errorf("%d parts in flight at once", maxSeen)
	}
	// Each part but the last is full: adding the next message would have
	// exceeded the limit (greedy packing).
	for i, r := range reqs[:len(reqs)-1] {
		next := reqs[i+1].msgs[0]
		enc, _ := bayeux.AppendMessage(nil, &next)
		if len(r.url)+len("%2C")+wire.EscapedLen(enc) <= limit {
			t.Errorf("part %d (%d bytes) had room for the next message", i, len(r.url))
		}
	}
}

func TestMessageTooLarge(t *testing.T) {
	var n atomic.Int64
	srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) { n.Add(1) })
	tr := newTransport(t, srv.Client(), nil)
	batch := []bayeux.Message{publish("1", "small"), publish("2", strings.Repeat("x", 3000)), publish("3", "small")}
	_, err := tr.RoundTrip(testenv.Context(t), srv.URL, batch)
	if !errors.Is(err, bayeux.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	var te *bayeux.TransportError
	if errors.As(err, &te) || bayeux.IsRetryable(err) {
		t.Errorf("err = %v must not be a retryable transport error", err)
	}
	if !strings.Contains(err.Error(), "message 1") || !strings.Contains(err.Error(), "2000") {
		t.Errorf("unclear error: %v", err)
	}
	if n.Load() != 0 {
		t.Errorf("%d requests sent before failing", n.Load())
	}
	// The same message fits with a larger limit.
	tr2 := newTransport(t, srv.Client(), nil, WithMaxURLLength(1<<20))
	if parts, err := tr2.split(srv.URL, batch); err != nil || len(parts) != 1 {
		t.Errorf("split = %d parts, %v", len(parts), err)
	}
}

func TestParseResponseAccepts(t *testing.T) {
	const cb = "_bayeux_jsonp_7"
	arr := `[{"channel":"/a","data":"x)(;"}]`
	for _, body := range []string{
		cb + "(" + arr + ")",
		cb + "(" + arr + ");",
		"/**/" + cb + "(" + arr + ");",
		" \n/**/ " + cb + " ( \n" + arr + "\n ) ; \r\n",
		"\t" + cb + "(" + arr + ")\n",
	} {
		got, err := ParseResponse([]byte(body), cb)
		if err != nil || string(got) != arr {
			t.Errorf("ParseResponse(%q) = %q, %v", body, got, err)
		}
	}
}

func TestHostileResponses(t *testing.T) {
	arr := `[{"channel":"/meta/connect","successful":true}]`
	tests := []struct{ name, body string }{
		{"alert", `alert(1)`},
		{"alert then call", `alert(1);CB(` + arr + `)`},
		{"wrong callback", `other(` + arr + `);`},
		{"callback prefix", `CB2(` + arr + `);`},
		{"callback as property", `window.CB(` + arr + `);`},
		{"two calls", `CB(` + arr + `);CB(` + arr + `);`},
		{"two calls comma", `CB(` + arr + `),CB(` + arr + `)`},
		{"trailing code", `CB(` + arr + `);alert(1)`},
		{"trailing code semicolon", `CB(` + arr + `);alert(1);`},
		{"trailing comment", `CB(` + arr + `)//x`},
		{"object", `CB({"channel":"/meta/connect","successful":true});`},
		{"string", `CB("[]");`},
		{"number", `CB(1);`},
		{"empty call", `CB();`},
		{"two arguments", `CB(` + arr + `, 1);`},
		{"expression", `CB(` + arr + `+alert(1));`},
		{"unclosed", `CB(` + arr},
		{"invalid JSON", `CB([{"channel":}]);`},
		{"double comment", `/**/ /**/CB(` + arr + `);`},
		{"other comment", `/*x*/CB(` + arr + `);`},
		{"plain JSON", arr},
		{"name only", `CB`},
		{"array of non-messages", `CB([1,2]);`},
		{"two semicolons", `CB(` + arr + `);;`},
		{"html", `<script>CB(` + arr + `)</script>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) {
				cb := r.URL.Query().Get("jsonp")
				w.Header().Set("Content-Type", "text/javascript")
				_, _ = io.WriteString(w, strings.ReplaceAll(tt.body, "CB", cb))
			})
			tr := newTransport(t, srv.Client(), nil)
			out, err := tr.RoundTrip(testenv.Context(t), srv.URL, connectBatch("1"))
			var (
				te *bayeux.TransportError
				de *bayeux.DecodeError
			)
			if !errors.As(err, &te) || !errors.As(err, &de) || !errors.Is(err, bayeux.ErrMalformed) || out != nil {
				t.Fatalf("RoundTrip = %v, %v; want *TransportError wrapping *DecodeError", out, err)
			}
			if te.ConnectionType != "callback-polling" {
				t.Errorf("ConnectionType %q", te.ConnectionType)
			}
		})
	}
}

func TestStatusAndBodyErrors(t *testing.T) {
	tests := []struct {
		name    string
		h       http.HandlerFunc
		status  int
		tooBig  bool
		decode  bool
		options []Option
	}{
		{name: "404", h: func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, status: 404},
		{name: "400", h: func(w http.ResponseWriter, r *http.Request) { http.Error(w, "Bad request", 400) }, status: 400},
		{name: "empty", h: func(w http.ResponseWriter, r *http.Request) {}, decode: true},
		{name: "too big", h: func(w http.ResponseWriter, r *http.Request) {
			writeJSONP(w, r.URL.Query().Get("jsonp"), []byte(`[{"channel":"/a","data":"`+strings.Repeat("x", 500)+`"}]`))
		}, tooBig: true, options: []Option{WithMaxBodyBytes(200)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testenv.Server(t, tt.h)
			tr := newTransport(t, srv.Client(), nil, tt.options...)
			_, err := tr.RoundTrip(testenv.Context(t), srv.URL, []bayeux.Message{publish("1", "x")})
			var te *bayeux.TransportError
			if !errors.As(err, &te) || te.StatusCode != tt.status {
				t.Fatalf("err = %v, want *TransportError with StatusCode %d", err, tt.status)
			}
			if tt.tooBig != errors.Is(err, bayeux.ErrTooLarge) || tt.decode != errors.Is(err, bayeux.ErrMalformed) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestRetry(t *testing.T) {
	for _, tt := range []struct {
		name  string
		batch []bayeux.Message
		want  int
	}{
		{"connect retried", connectBatch("1"), 2},
		{"publish not retried", []bayeux.Message{publish("1", "x")}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				jr := parseRequest(t, r)
				writeJSONP(w, jr.callback, replies(jr.msgs))
			})
			tr := newTransport(t, srv.Client(), nil, WithRetryWait(time.Millisecond, time.Millisecond))
			_, err := tr.RoundTrip(testenv.Context(t), srv.URL, tt.batch)
			if int(n.Load()) != tt.want {
				t.Errorf("%d requests, want %d (err %v)", n.Load(), tt.want, err)
			}
			if (tt.want == 1) != (err != nil) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func TestCookies(t *testing.T) {
	var (
		mu      sync.Mutex
		cookies []string
	)
	srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cookies = append(cookies, r.Header.Get("Cookie"))
		mu.Unlock()
		jr := parseRequest(t, r)
		http.SetCookie(w, &http.Cookie{Name: "BAYEUX_BROWSER", Value: "jp" + strconv.Itoa(len(cookies)), Path: "/"})
		writeJSONP(w, jr.callback, replies(jr.msgs))
	})
	jar, _ := cookiejar.New(nil)
	tr := newTransport(t, srv.Client(), jar)
	for i := 0; i < 3; i++ {
		if _, err := tr.RoundTrip(testenv.Context(t), srv.URL, connectBatch(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"", "BAYEUX_BROWSER=jp1", "BAYEUX_BROWSER=jp2"}, cookies); diff != "" {
		t.Errorf("Cookie headers (-want +got):\n%s", diff)
	}
}

// The two lanes: a publish completes while the connect is held.
func TestPublishWhileConnectHeld(t *testing.T) {
	connectArrived := make(chan struct{})
	publishArrived := make(chan struct{})
	srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) {
		jr := parseRequest(t, r)
		if jr.msgs[0].Channel == bayeux.MetaConnect {
			close(connectArrived)
			select {
			case <-publishArrived:
			case <-r.Context().Done():
				return
			}
		} else {
			close(publishArrived)
		}
		writeJSONP(w, jr.callback, replies(jr.msgs))
	})
	tr := newTransport(t, srv.Client(), nil)
	ctx := testenv.Context(t)
	done := make(chan error, 1)
	go func() { _, err := tr.RoundTrip(ctx, srv.URL, connectBatch("1")); done <- err }()
	<-connectArrived
	if _, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{publish("2", "x")}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestCloseAndCancel(t *testing.T) {
	arrived := make(chan struct{}, 2)
	srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	tr := newTransport(t, srv.Client(), nil)
	ctx, cancel := context.WithCancel(testenv.Context(t))
	done := make(chan error, 2)
	go func() { _, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{publish("1", "x")}); done <- err }()
	<-arrived
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || !errors.Is(err, bayeux.ErrTransport) {
		t.Errorf("cancel: err = %v", err)
	}
	go func() { _, err := tr.RoundTrip(testenv.Context(t), srv.URL, connectBatch("2")); done <- err }()
	<-arrived
	_ = tr.Close()
	if err := <-done; !errors.Is(err, bayeux.ErrClosed) {
		t.Errorf("close: err = %v", err)
	}
	if _, err := tr.RoundTrip(testenv.Context(t), srv.URL, connectBatch("3")); !errors.Is(err, bayeux.ErrClosed) {
		t.Errorf("after close: err = %v", err)
	}
}

func TestBadURL(t *testing.T) {
	tr := newTransport(t, http.DefaultClient, nil)
	for _, u := range []string{"/relative", "ftp://x/y", "http://%zz", ""} {
		_, err := tr.RoundTrip(testenv.Context(t), u, connectBatch("1"))
		if !errors.Is(err, bayeux.ErrTransport) {
			t.Errorf("RoundTrip(%q): err = %v", u, err)
		}
	}
}

func TestBaseURL(t *testing.T) {
	tests := map[string]string{
		"http://h/c":         "http://h/c?",
		"http://h/c?":        "http://h/c?",
		"http://h/c?a=1":     "http://h/c?a=1&",
		"https://h/c#f":      "https://h/c?",
		"https://h:8443/c/d": "https://h:8443/c/d?",
	}
	for in, want := range tests {
		if got, err := wire.QueryBase(in); err != nil || got != want {
			t.Errorf("baseURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func FuzzParseResponse(f *testing.F) {
	const cb = "_bayeux_jsonp_12"
	for _, s := range []string{
		`/**/_bayeux_jsonp_12([{"channel":"/a"}]);`,
		`_bayeux_jsonp_12([])`,
		` _bayeux_jsonp_12 ( [1] ) ; `,
		`alert(1)`,
		`_bayeux_jsonp_12([]);_bayeux_jsonp_12([])`,
		`_bayeux_jsonp_12({});`,
		`_bayeux_jsonp_12([]);alert(1)`,
		`_bayeux_jsonp_12(`,
		`/**/`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		arg, err := ParseResponse(body, cb)
		// The transport skips ParseResponse's json.Valid and lets
		// bayeux.DecodeMessages check the argument: it must accept
		// nothing that ParseResponse refuses.
		if raw, rerr := callbackArgument(body, cb); rerr == nil && err != nil {
			if _, derr := bayeux.DecodeMessages(raw); derr == nil {
				t.Fatalf("the transport accepts %q, which ParseResponse refuses: %v", body, err)
			}
		}
		if err != nil {
			var de *bayeux.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a *bayeux.DecodeError", err)
			}
			return
		}
		if len(arg) == 0 || arg[0] != '[' || !json.Valid(arg) {
			t.Fatalf("accepted argument %q is not a JSON array", arg)
		}
		// What surrounds the argument is only the allowed framing.
		i := strings.Index(string(body), string(arg))
		before := strings.Join(strings.Fields(string(body[:i])), "")
		after := strings.Join(strings.Fields(string(body[i+len(arg):])), "")
		if before != cb+"(" && before != "/**/"+cb+"(" {
			t.Fatalf("accepted prefix %q", body[:i])
		}
		if after != ")" && after != ");" {
			t.Fatalf("accepted suffix %q", body[i+len(arg):])
		}
	})
}

// FuzzSplit checks the packing of batches into URLs: every URL within the
// limit, every message once, in order.
func FuzzSplit(f *testing.F) {
	f.Add(uint16(300), []byte{10, 200, 0, 50, 255, 3})
	f.Add(uint16(2000), []byte{1, 2, 3})
	f.Add(uint16(150), []byte{100})
	f.Fuzz(func(t *testing.T, limit uint16, sizes []byte) {
		if len(sizes) == 0 || len(sizes) > 50 {
			return
		}
		tr := New(WithMaxURLLength(int(limit)))
		var batch []bayeux.Message
		for i, s := range sizes {
			batch = append(batch, publish(strconv.Itoa(i), strings.Repeat("a&é", int(s))))
		}
		parts, err := tr.split("http://127.0.0.1:8080/cometd?x=1", batch)
		if err != nil {
			if !errors.Is(err, bayeux.ErrTooLarge) {
				t.Fatalf("split: %v", err)
			}
			return
		}
		next := 0
		for _, p := range parts {
			if len(p.url) > tr.maxURL || (limit > 0 && len(p.url) > int(limit)) {
				t.Fatalf("URL of %d bytes > %d", len(p.url), limit)
			}
			u, err := url.Parse(p.url)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if q.Get("jsonp") != p.callback || q.Get("x") != "1" {
				t.Fatalf("query %v", q)
			}
			msgs, err := bayeux.DecodeMessages([]byte(q.Get("message")))
			if err != nil {
				t.Fatal(err)
			}
			if p.lo != next || p.hi-p.lo != len(msgs) {
				t.Fatalf("part [%d,%d) after %d with %d messages", p.lo, p.hi, next, len(msgs))
			}
			for i, m := range msgs {
				if m.ID != batch[p.lo+i].ID || string(m.Data) != string(batch[p.lo+i].Data) {
					t.Fatalf("message %d is %+v", p.lo+i, m)
				}
			}
			next = p.hi
		}
		if next != len(batch) {
			t.Fatalf("%d of %d messages sent", next, len(batch))
		}
	})
}

// net/http re-sends an idempotent request (a GET) by itself when a reused
// connection breaks before the answer, as often as it finds another idle
// connection. A GET carrying a publish that the server processed before
// the connection broke is not re-sent by default (at-most-once); with
// TransportConfig.ResendPublishes the transport sends it once more, on a
// fresh connection, when it failed on a reused one before any byte of the
// answer; a failure on a fresh connection is never re-sent.
func TestPublishResentOnlyOnceAfterReusedConn(t *testing.T) {
	for _, resend := range []bool{false, true} {
		t.Run(fmt.Sprintf("resend=%t", resend), func(t *testing.T) { testPublishResentOnlyOnce(t, resend) })
	}
}

func testPublishResentOnlyOnce(t *testing.T, resend bool) {
	var publishes atomic.Int64
	broken := int64(2) // the publish on a reused connection, then the one on a fresh one
	if resend {
		broken = 3 // and the re-sent copy of the first
	}
	srv := testenv.Server(t, func(w http.ResponseWriter, r *http.Request) {
		jr := parseRequest(t, r)
		if r.ContentLength != 0 || len(r.TransferEncoding) != 0 {
			t.Errorf("GET sent with a body: Content-Length %d, Transfer-Encoding %v", r.ContentLength, r.TransferEncoding)
		}
		if jr.msgs[0].Channel != bayeux.MetaConnect && publishes.Add(1) <= broken {
			// Processed, then the connection breaks before the answer.
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		writeJSONP(w, jr.callback, replies(jr.msgs))
	})
	tr := New(WithRetryWait(time.Millisecond, time.Millisecond))
	if err := tr.Init(bayeux.TransportConfig{HTTPClient: srv.Client(), Logger: slog.New(slog.DiscardHandler), ResendPublishes: resend}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	ctx := testenv.Context(t)
	// The first request leaves an idle keep-alive connection to reuse.
	if _, err := tr.RoundTrip(ctx, srv.URL, connectBatch("1")); err != nil {
		t.Fatal(err)
	}
	want := int64(1) // processed once, not re-sent
	if resend {
		want = 2 // reused connection, then a fresh one
	}
	_, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{publish("2", "twice")})
	if !errors.Is(err, bayeux.ErrTransport) {
		t.Errorf("err = %v, want a transport error", err)
	}
	if n := publishes.Load(); n != want {
		t.Errorf("the publish reached the server %d times, want %d", n, want)
	}
	// On a fresh connection: sent once.
	srv.Client().CloseIdleConnections()
	_, err = tr.RoundTrip(ctx, srv.URL, []bayeux.Message{publish("3", "once")})
	if !errors.Is(err, bayeux.ErrTransport) {
		t.Errorf("err = %v, want a transport error", err)
	}
	if n := publishes.Load(); n != want+1 {
		t.Errorf("the publish on a fresh connection reached the server %d times", n-want)
	}
	// A later publish works normally.
	if _, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{publish("4", "x")}); err != nil {
		t.Fatal(err)
	}
}
