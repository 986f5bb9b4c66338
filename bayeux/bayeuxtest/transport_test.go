package bayeuxtest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// get sends a callback-polling GET with the given query.
func (p *peer) get(query string) (int, []byte, http.Header) {
	p.t.Helper()
	req, err := http.NewRequestWithContext(testCtx(p.t), http.MethodGet, p.srv.URL+"?"+query, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	resp, err := p.c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

// unwrapJSONP checks the /**/cb(...); envelope and decodes the array.
func unwrapJSONP(t *testing.T, cb string, b []byte) []bayeux.Message {
	t.Helper()
	s := string(b)
	prefix := "/**/" + cb + "("
	if !strings.HasPrefix(s, prefix) || !strings.HasSuffix(s, ");") {
		t.Fatalf("not a JSONP call of %s: %s", cb, s)
	}
	return decode(t, []byte(s[len(prefix):len(s)-2]))
}

func jsonpQuery(msg, cb string) string {
	q := url.Values{"message": {msg}}
	if cb != "" {
		q.Set("jsonp", cb)
	}
	return q.Encode()
}

func TestCallbackPolling(t *testing.T) {
	srv := newServer(t)
	p := newPeer(t, srv)
	status, b, hdr := p.get(jsonpQuery(`[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["callback-polling"],"id":"1"}]`, "cb1"))
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, b)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("Content-Type %q", ct)
	}
	r := unwrapJSONP(t, "cb1", b)[0]
	if !r.Successful {
		t.Fatalf("handshake %+v", r)
	}
	p.id = r.ClientID

	// Default callback name.
	connect := fmt.Sprintf(`[{"channel":"/meta/connect","clientId":%q,"connectionType":"callback-polling","id":"2"}]`, p.id)
	_, b, _ = p.get(jsonpQuery(connect, ""))
	if r := unwrapJSONP(t, bayeuxtest.DefaultCallback, b); !r[0].Successful {
		t.Fatalf("connect %+v", r)
	}

	// Events carried in a JSONP response get U+2028/U+2029 escaped.
	sub := fmt.Sprintf(`[{"channel":"/meta/subscribe","clientId":%q,"subscription":"/ls","id":"3"}]`, p.id)
	p.get(jsonpQuery(sub, "my.cb_$2"))
	other := newPeer(t, srv)
	other.handshake()
	other.publish("/ls", "\"a\u2028b\u2029c\"")
	_, b, _ = p.get(jsonpQuery(strings.Replace(connect, `"id":"2"`, `"id":"4","advice":{"timeout":0}`, 1), "cb"))
	if strings.ContainsRune(string(b), '\u2028') || strings.ContainsRune(string(b), '\u2029') || !strings.Contains(string(b), `\u2028`) {
		t.Errorf("line terminators not escaped: %q", b)
	}
	msgs := unwrapJSONP(t, "cb", b)
	if len(msgs) != 2 || dataString(t, msgs[1]) != "a\u2028b\u2029c" {
		t.Errorf("event %+v", msgs)
	}

	for _, tc := range []struct {
		name, query string
		status      int
	}{
		{"script callback", jsonpQuery(handshakeBody, "alert(1)"), 400},
		{"empty callback", jsonpQuery(handshakeBody, "") + "&jsonp=", 400},
		{"empty segment", jsonpQuery(handshakeBody, "a..b"), 400},
		{"leading digit", jsonpQuery(handshakeBody, "1a"), 400},
		{"long callback", jsonpQuery(handshakeBody, strings.Repeat("a", 65)), 400},
		{"no message", "jsonp=cb", 400},
		{"malformed message", jsonpQuery(`[{"channel":`, "cb"), 400},
		{"bad escape", "message=%zz", 400},
	} {
		if status, b, _ := p.get(tc.query); status != tc.status {
			t.Errorf("%s: status %d (%s), want %d", tc.name, status, b, tc.status)
		}
	}
}

func TestFormEncodedPost(t *testing.T) {
	srv := newServer(t)
	p := newPeer(t, srv)
	form := url.Values{"message": {handshakeBody}}.Encode()
	resp, err := p.c.Post(srv.URL, "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !decode(t, b)[0].Successful {
		t.Fatalf("form handshake: %d %s", resp.StatusCode, b)
	}
	resp, err = p.c.Post(srv.URL, "application/x-www-form-urlencoded", strings.NewReader("other=1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("form without message: %d", resp.StatusCode)
	}
}

func TestMalformedRequests(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithMaxBodyBytes(1024))
	c := srv.Client()
	do := func(method, path, ctype, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name, method, path, ctype, body string
		status                          int
	}{
		{"bad JSON", "POST", "", "application/json", `[{"channel":`, 400},
		{"empty body", "POST", "", "application/json", ``, 400},
		{"JSON string", "POST", "", "application/json", `"hello"`, 400},
		{"JSON null", "POST", "", "application/json", `null`, 400},
		{"array of numbers", "POST", "", "application/json", `[1,2]`, 400},
		{"array of null", "POST", "", "application/json", `[null]`, 400},
		{"message without channel", "POST", "", "application/json", `[{"data":1}]`, 400},
		{"channel of wrong type", "POST", "", "application/json", `[{"channel":5}]`, 400},
		{"subscription of wrong type", "POST", "", "application/json", `[{"channel":"/meta/subscribe","subscription":5}]`, 400},
		{"deep nesting", "POST", "", "application/json", `[{"channel":"/x","data":` + strings.Repeat("[", 20000) + `}]`, 413},
		{"too large", "POST", "", "application/json", `[{"channel":"/x","data":"` + strings.Repeat("x", 2000) + `"}]`, 413},
		{"bad charset", "POST", "", "application/json; charset=ISO-8859-1", handshakeBody, 415},
		{"wrong method", "PUT", "", "application/json", handshakeBody, 405},
		{"wrong path", "POST", "/../other", "application/json", handshakeBody, 404},
		{"empty array", "POST", "", "application/json", `[]`, 200},
		{"bare object", "POST", "", "application/json", strings.Trim(handshakeBody, "[]"), 200},
		{"no content type", "POST", "", "", handshakeBody, 200},
		{"meta suffix path", "POST", "/handshake", "application/json", handshakeBody, 200},
		{"too large JSONP", "GET", "?" + jsonpQuery(strings.Repeat(" ", 2000)+handshakeBody, "cb"), "", "", 413},
	} {
		status, body := do(tc.method, tc.path, tc.ctype, tc.body)
		if status != tc.status {
			t.Errorf("%s: status %d (%s), want %d", tc.name, status, body, tc.status)
		}
		if tc.name == "empty array" && body != "[]" {
			t.Errorf("empty array: body %q", body)
		}
	}
	if srv.HandshakeCount() != 3 {
		t.Errorf("HandshakeCount %d", srv.HandshakeCount())
	}
}

func TestConnectionTypesOption(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithConnectionTypes("long-polling"))
	p := newPeer(t, srv)
	r := p.post(`[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["websocket"]}]`)[0]
	requireError(t, r, 301)
	p.handshake()
	msgs := p.post(fmt.Sprintf(`[{"channel":"/meta/connect","clientId":%q,"connectionType":"websocket"}]`, p.id))
	requireError(t, msgs[0], 301)
	msgs = p.post(fmt.Sprintf(`[{"channel":"/meta/connect","clientId":%q}]`, p.id))
	requireError(t, msgs[0], 402)
	if status, _, _ := p.get(jsonpQuery(handshakeBody, "cb")); status != 400 {
		t.Errorf("callback-polling served: %d", status)
	}
	_, resp, err := websocket.DefaultDialer.Dial(wsURL(srv), nil)
	if err == nil || resp == nil || resp.StatusCode != 400 {
		t.Errorf("websocket upgrade not refused: %v", err)
	}
	if resp != nil {
		resp.Body.Close()
	}
}

// --- websocket -----------------------------------------------------------

func wsURL(srv *bayeuxtest.Server) string { return "ws" + strings.TrimPrefix(srv.URL, "http") }

type wsPeer struct {
	t  *testing.T
	c  *websocket.Conn
	id string
}

func dialWS(t *testing.T, srv *bayeuxtest.Server, jar http.CookieJar) (*wsPeer, *http.Response) {
	t.Helper()
	d := websocket.Dialer{Jar: jar, HandshakeTimeout: 5 * time.Second}
	c, resp, err := d.Dial(wsURL(srv), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &wsPeer{t: t, c: c}, resp
}

func (w *wsPeer) send(frame string) {
	w.t.Helper()
	if err := w.c.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		w.t.Fatal(err)
	}
}

func (w *wsPeer) read() []bayeux.Message {
	w.t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := w.c.ReadMessage()
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	return decode(w.t, b)
}

// readErr reads until the connection fails and returns the error.
func (w *wsPeer) readErr() error {
	_ = w.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := w.c.ReadMessage(); err != nil {
			return err
		}
	}
}

func (w *wsPeer) handshake() {
	w.t.Helper()
	w.send(`[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["websocket"],"id":"1"}]`)
	r := w.read()
	if len(r) != 1 || !r[0].Successful {
		w.t.Fatalf("handshake %+v", r)
	}
	w.id = r[0].ClientID
	w.send(w.connect("2", `,"advice":{"timeout":0}`))
	if r := w.read(); !r[0].Successful || r[0].ID != "2" {
		w.t.Fatalf("first connect %+v", r)
	}
}

func (w *wsPeer) connect(id, extra string) string {
	return fmt.Sprintf(`[{"channel":"/meta/connect","clientId":%q,"connectionType":"websocket","id":%q%s}]`, w.id, id, extra)
}

func TestWebSocket(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithTimeout(long))
	jar, _ := cookiejar.New(nil)
	w, resp := dialWS(t, srv, jar)
	if !slices.ContainsFunc(resp.Cookies(), func(c *http.Cookie) bool { return c.Name == bayeuxtest.BrowserCookie }) {
		t.Error("upgrade response sets no BAYEUX_BROWSER cookie")
	}
	w.handshake()
	w.send(fmt.Sprintf(`[{"channel":"/meta/subscribe","clientId":%q,"subscription":"/ws","id":"3"}]`, w.id))
	if r := w.read(); !r[0].Successful || r[0].Subscription[0] != "/ws" {
		t.Fatalf("subscribe %+v", r)
	}
	// A lone connect is held over the socket...
	w.send(w.connect("4", ""))
	if err := srv.WaitHeld(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	// ...and events are pushed as their own frames at once.
	pub := newPeer(t, srv)
	pub.handshake()
	pub.publish("/ws", `"pushed"`)
	ev := w.read()
	if len(ev) != 1 || ev[0].Channel != "/ws" || dataString(t, ev[0]) != "pushed" || ev[0].ClientID != "" {
		t.Fatalf("pushed frame %+v", ev)
	}
	if srv.HeldConnects() != 1 {
		t.Error("the push released the held connect")
	}
	// A new connect supersedes the held one: both are answered, in order.
	w.send(w.connect("5", `,"advice":{"timeout":0}`))
	if r := w.read(); r[0].ID != "4" || !r[0].Successful {
		t.Fatalf("superseded connect %+v", r)
	}
	if r := w.read(); r[0].ID != "5" || !r[0].Successful {
		t.Fatalf("new connect %+v", r)
	}
	// The session can also be used over HTTP with the same cookies.
	hp := newPeer(t, srv)
	hp.c.Jar = jar
	hp.id = w.id
	if r := hp.publish("/ws", `"self"`); !r[0].Successful {
		t.Fatalf("HTTP publish on the websocket session %+v", r)
	}
	if ev := w.read(); ev[0].Channel != "/ws" {
		t.Fatalf("event %+v", ev)
	}
	w.send(fmt.Sprintf(`[{"channel":"/meta/disconnect","clientId":%q,"id":"6"}]`, w.id))
	if r := w.read(); r[0].ID != "6" || !r[0].Successful {
		t.Fatalf("disconnect %+v", r)
	}
}

func TestWebSocketHeldConnectTimeout(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithTimeout(100*time.Millisecond))
	w, _ := dialWS(t, srv, nil)
	w.handshake()
	w.send(w.connect("3", ""))
	if r := w.read(); r[0].ID != "3" || !r[0].Successful {
		t.Fatalf("held connect %+v", r)
	}
}

func TestWebSocketEventsQueuedWhileOffline(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithTimeout(long))
	w, _ := dialWS(t, srv, nil)
	w.handshake()
	w.send(fmt.Sprintf(`[{"channel":"/meta/subscribe","clientId":%q,"subscription":"/q","id":"3"}]`, w.id))
	w.read()
	srv.TearWebSockets()
	if err := w.readErr(); err == nil {
		t.Fatal("socket survived TearWebSockets")
	}
	if err := srv.WaitFor(testCtx(t), func(s *bayeuxtest.Server) bool { return s.WebSockets() == 0 }); err != nil {
		t.Fatal(err)
	}
	pub := newPeer(t, srv)
	pub.handshake()
	pub.publish("/q", `"while away"`)
	// The session survived; a new socket continues it and gets the event on
	// its next reply.
	w2, _ := dialWS(t, srv, nil)
	w2.id = w.id
	w2.send(w2.connect("4", ""))
	if r := w2.read(); len(r) != 2 || r[1].Channel != "/q" {
		t.Fatalf("reconnect reply %+v", r)
	}
}

func TestWebSocketProtocolViolations(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithMaxBodyBytes(4096))
	for _, tc := range []struct {
		name  string
		frame string
		bin   bool
		code  int
	}{
		{"empty array", `[]`, false, websocket.CloseProtocolError},
		{"malformed JSON", `[{"channel":`, false, websocket.ClosePolicyViolation},
		{"scalar", `42`, false, websocket.ClosePolicyViolation},
		{"binary frame", handshakeBody, true, websocket.CloseUnsupportedData},
		{"too large", `[{"channel":"/x","data":"` + strings.Repeat("x", 8192) + `"}]`, false, websocket.CloseMessageTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := dialWS(t, srv, nil)
			mt := websocket.TextMessage
			if tc.bin {
				mt = websocket.BinaryMessage
			}
			if err := w.c.WriteMessage(mt, []byte(tc.frame)); err != nil {
				t.Fatalf("write: %v", err)
			}
			err := w.readErr()
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != tc.code {
				t.Errorf("got %v, want close code %d", err, tc.code)
			}
		})
	}
}

func TestRefuseWebSocket(t *testing.T) {
	srv := newServer(t)
	srv.RefuseWebSocket(true)
	_, resp, err := websocket.DefaultDialer.Dial(wsURL(srv), nil)
	if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil || resp.StatusCode != 400 {
		t.Fatalf("refused upgrade: %v %v", err, resp)
	}
	resp.Body.Close()
	// Long-polling still works.
	newPeer(t, srv).handshake()
	srv.RefuseWebSocket(false)
	w, _ := dialWS(t, srv, nil)
	w.handshake()
}

func TestRestartClosesWebSockets(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithTimeout(long))
	w, _ := dialWS(t, srv, nil)
	w.handshake()
	w.send(w.connect("3", ""))
	if err := srv.WaitHeld(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	var ce *websocket.CloseError
	if err := w.readErr(); !errors.As(err, &ce) || ce.Code != websocket.CloseServiceRestart {
		t.Fatalf("got %v, want close 1012", err)
	}
	w2, _ := dialWS(t, srv, nil)
	w2.id = w.id
	w2.send(w2.connect("4", ""))
	requireError(t, w2.read()[0], 402)
}

func TestCloseClosesWebSockets(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(long))
	w, _ := dialWS(t, srv, nil)
	w.handshake()
	w.send(w.connect("3", ""))
	if err := srv.WaitHeld(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	var ce *websocket.CloseError
	if err := w.readErr(); !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Fatalf("got %v, want close 1001", err)
	}
}

// TestWebSocketPushInterval checks WithPushInterval: the first event goes
// at once, events published within the interval wait and go together in
// one frame, and a reply queued meanwhile ends the wait.
func TestWebSocketPushInterval(t *testing.T) {
	// An interval far longer than the test: only a reply ends the wait.
	srv := newServer(t, bayeuxtest.WithTimeout(long), bayeuxtest.WithPushInterval(time.Hour))
	w, _ := dialWS(t, srv, nil)
	w.handshake()
	w.send(fmt.Sprintf(`[{"channel":"/meta/subscribe","clientId":%q,"subscription":"/ws","id":"3"}]`, w.id))
	if r := w.read(); !r[0].Successful {
		t.Fatalf("subscribe %+v", r)
	}
	pub := newPeer(t, srv)
	pub.handshake()
	pub.publish("/ws", `"1"`)
	if ev := w.read(); len(ev) != 1 || dataString(t, ev[0]) != "1" {
		t.Fatalf("first event %+v", ev)
	}
	pub.publish("/ws", `"2"`)
	pub.publish("/ws", `"3"`)
	w.send(fmt.Sprintf(`[{"channel":"/other","clientId":%q,"data":0,"id":"4"}]`, w.id))
	ev := w.read()
	if len(ev) != 2 || dataString(t, ev[0]) != "2" || dataString(t, ev[1]) != "3" {
		t.Fatalf("held events: want one frame [2, 3], got %+v", ev)
	}
	if r := w.read(); len(r) != 1 || r[0].ID != "4" || !r[0].Successful {
		t.Fatalf("publish reply %+v", r)
	}
}
