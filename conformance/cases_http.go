package conformance

import (
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	srcFetchCORS = "https://fetch.spec.whatwg.org/#http-cors-protocol"
	srcHTTPPipe  = specRef + " (HTTP transports: a request must not be queued behind the long poll; no more than two connections per client)"
	// corsOrigin is the origin the cross-origin cases send.
	corsOrigin = "http://conformance.example"
)

// httpCases are the long-polling rules about HTTP itself: character sets,
// URLs, cross-origin use, concurrent requests.
func httpCases() []caseDef {
	return []caseDef{
		{id: "long-polling.response-charset", section: secLP, level: Should, source: srcConnTypes + " (the response SHOULD be application/json, UTF-8)", transport: LongPolling,
			rule: "A long-polling response body is UTF-8: its Content-Type names no other charset and the body is valid UTF-8",
			run: func(t *T) {
				s := t.newSession(LongPolling)
				x := t.must(s.post(t.ctx, "application/json;charset=UTF-8", s.encode(handshakeMsg(LongPolling))))
				ct := x.resp.Header.Get("Content-Type")
				_, params, _ := mime.ParseMediaType(ct)
				if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
					t.Fatalf("Content-Type %q", ct)
				}
				if !utf8.Valid(x.body) {
					t.Fatalf("the body is not valid UTF-8: %q", clip(x.body))
				}
				if r, ok := x.reply("/meta/handshake", ""); ok {
					s.clientID = r.S("clientId")
				}
				t.Logf("Content-Type %q", ct)
			}},
		{id: "long-polling.request-charset", section: secLP, level: Should, source: srcConnTypes + " (the request SHOULD be an application/json UTF-8 POST body)", transport: LongPolling,
			rule: "A POST body is accepted as application/json with or without a charset parameter (application/json, application/json;charset=UTF-8, application/json; charset=utf-8)",
			run: func(t *T) {
				for _, ct := range []string{"application/json", "application/json;charset=UTF-8", "application/json; charset=utf-8"} {
					s := t.newSession(LongPolling)
					x, err := s.post(t.ctx, ct, s.encode(handshakeMsg(LongPolling)))
					if err != nil {
						t.Fatalf("Content-Type %s: %v", ct, err)
					}
					if x.err != nil {
						t.Fatalf("Content-Type %s: %v", ct, x.err)
					}
					r, ok := x.reply("/meta/handshake", "")
					if !ok || !r.Successful() {
						t.Fatalf("Content-Type %s: %s", ct, clip(x.body))
					}
					s.clientID = r.S("clientId")
				}
			}},
		{id: "long-polling.path-suffixes", section: secLP, level: Convention, source: srcCometDWS + " (CometD clients append the message type to the URL: /connect, /subscribe, /unsubscribe, /disconnect)", transport: LongPolling,
			rule: "The server answers connect, subscribe, unsubscribe and disconnect POSTed to the URL with /connect, /subscribe, /unsubscribe or /disconnect appended",
			run: func(t *T) {
				s := t.open(LongPolling)
				ch := t.channel()
				base := strings.TrimRight(t.e.url, "/")
				for _, step := range []struct {
					suffix string
					m      msg
				}{
					{"/connect", msg{"channel": "/meta/connect", "connectionType": LongPolling, "advice": map[string]any{"timeout": 0}}},
					{"/subscribe", msg{"channel": "/meta/subscribe", "subscription": ch}},
					{"/unsubscribe", msg{"channel": "/meta/unsubscribe", "subscription": ch}},
					{"/disconnect", msg{"channel": "/meta/disconnect"}},
				} {
					body, _ := s.prepare([]msg{step.m})
					resp, err := s.h.Post(t.ctx, base+step.suffix, "application/json", body)
					if err != nil {
						t.Fatalf("POST ...%s: %v", step.suffix, err)
					}
					x := &exchange{resp: resp, body: resp.Body}
					x.decode()
					if x.err != nil {
						t.Fatalf("POST ...%s: %v", step.suffix, x.err)
					}
					if r, ok := x.reply(step.m["channel"].(string), ""); !ok || !r.Successful() {
						t.Fatalf("POST ...%s: %s", step.suffix, clip(x.body))
					}
				}
				s.gone = true
			}},
		{id: "long-polling.cors-preflight", section: secLP, level: May, source: srcFetchCORS + " (cross-origin use is optional: Faye answers preflights, CometD with its cross-origin filter)", transport: LongPolling,
			rule: "A server that answers CORS preflights allows the requesting origin and POST with a Content-Type header",
			run: func(t *T) {
				s := t.newSession(LongPolling)
				h := http.Header{"Origin": {corsOrigin}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"content-type"}}
				resp, err := s.h.Do(t.ctx, http.MethodOptions, t.e.url, "", h, nil)
				if err != nil {
					t.Fatalf("OPTIONS: %v", err)
				}
				acao := resp.Header.Get("Access-Control-Allow-Origin")
				if acao == "" {
					t.Skipf("not offered: the preflight was answered HTTP %d without Access-Control-Allow-Origin (cross-origin use is optional)", resp.Status)
				}
				if resp.Status >= 300 {
					t.Fatalf("the preflight was answered HTTP %d", resp.Status)
				}
				if acao != corsOrigin && acao != "*" {
					t.Fatalf("Access-Control-Allow-Origin %q for the origin %s", acao, corsOrigin)
				}
				if m := resp.Header.Get("Access-Control-Allow-Methods"); m != "" && !slices.ContainsFunc(strings.Split(m, ","), func(v string) bool { return strings.EqualFold(strings.TrimSpace(v), "POST") }) {
					t.Fatalf("Access-Control-Allow-Methods %q lacks POST", m)
				}
				if hs := resp.Header.Get("Access-Control-Allow-Headers"); hs != "" && hs != "*" && !strings.Contains(strings.ToLower(hs), "content-type") {
					t.Fatalf("Access-Control-Allow-Headers %q lacks Content-Type", hs)
				}
				t.Logf("HTTP %d, Access-Control-Allow-Origin %q", resp.Status, acao)
			}},
		{id: "long-polling.cors-headers", section: secLP, level: May, source: srcFetchCORS + " (a credentialed response cannot allow the origin *)", transport: LongPolling,
			rule: "A server that allows a cross-origin POST names the origin (or *), and never * together with Access-Control-Allow-Credentials: true",
			run: func(t *T) {
				s := t.newSession(LongPolling)
				body, _ := s.prepare([]msg{handshakeMsg(LongPolling)})
				resp, err := s.h.Do(t.ctx, http.MethodPost, t.e.url, "application/json", http.Header{"Origin": {corsOrigin}}, body)
				if err != nil {
					t.Fatalf("POST: %v", err)
				}
				x := &exchange{resp: resp, body: resp.Body}
				x.decode()
				if r, ok := x.reply("/meta/handshake", ""); ok {
					s.clientID = r.S("clientId")
				}
				acao := resp.Header.Get("Access-Control-Allow-Origin")
				if acao == "" {
					t.Skipf("not offered: a POST with Origin %s was answered without Access-Control-Allow-Origin (cross-origin use is optional)", corsOrigin)
				}
				if acao != corsOrigin && acao != "*" {
					t.Fatalf("Access-Control-Allow-Origin %q for the origin %s", acao, corsOrigin)
				}
				if acao == "*" && strings.EqualFold(resp.Header.Get("Access-Control-Allow-Credentials"), "true") {
					t.Fatalf("Access-Control-Allow-Origin * with Access-Control-Allow-Credentials: true (browsers refuse it)")
				}
				t.Logf("Access-Control-Allow-Origin %q, credentials %q", acao, resp.Header.Get("Access-Control-Allow-Credentials"))
			}},
		{id: "long-polling.not-queued", section: secLP, level: Must, source: srcHTTPPipe, transport: LongPolling,
			rule: "While a session's /meta/connect is held, another request of that session (a subscribe, on a second connection) is answered at once",
			run:  func(t *T) { t.notQueued(LongPolling) }},
		{id: "callback-polling.not-queued", section: secCP, level: Must, source: srcHTTPPipe, transport: CallbackPolling,
			rule: "While a session's /meta/connect is held over callback-polling, another JSONP request of that session (a subscribe) is answered at once",
			run:  func(t *T) { t.notQueued(CallbackPolling) }},
	}
}

// notQueued holds a connect of a session over transport, then checks that
// a subscribe of the session is answered at once.
func (t *T) notQueued(transport string) {
	d := t.needHold(time.Second)
	s := t.open(transport)
	m, _ := t.holdMsg(s)
	first := t.async(s, m)
	time.Sleep(300 * time.Millisecond)
	if first.answered(0) {
		t.Skipf("not run: the connect was not held (%s)", heldSeen(first))
	}
	x := t.must(s.send(t.ctx, msg{"channel": "/meta/subscribe", "subscription": t.channel()}))
	if x.elapsed > d/2 {
		t.Fatalf("the subscribe was answered after %s, behind the held connect", since(x.elapsed))
	}
	t.Logf("answered in %s", since(x.elapsed))
}

// encode completes and encodes msgs as a request body (see prepare).
func (s *session) encode(msgs ...msg) []byte {
	b, _ := s.prepare(msgs)
	return b
}
