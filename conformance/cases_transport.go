package conformance

import (
	"errors"
	"mime"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bayeux-go/sdk/conformance/internal/raw"
)

func transportCases() []caseDef {
	return []caseDef{
		{id: "long-polling.offered", section: secLP, level: Must, source: srcConnTypes,
			rule: "The server offers long-polling (every implementation must support it)",
			run: func(t *T) {
				r, _ := t.rawHandshake(handshakeMsg(LongPolling, CallbackPolling, WebSocket))
				if ts, _ := r.Strings("supportedConnectionTypes"); !slices.Contains(ts, LongPolling) {
					t.Fatalf("supportedConnectionTypes %v", ts)
				}
			}},
		{id: "callback-polling.offered", section: secCP, level: Should, source: srcConnTypes,
			rule: "The server offers callback-polling (implementations should support it)",
			run: func(t *T) {
				r, _ := t.rawHandshake(handshakeMsg(LongPolling, CallbackPolling, WebSocket))
				if ts, _ := r.Strings("supportedConnectionTypes"); !slices.Contains(ts, CallbackPolling) {
					t.Fatalf("supportedConnectionTypes %v", ts)
				}
			}},
		{id: "long-polling.content-type", section: secLP, level: Should, source: srcConnTypes, transport: LongPolling,
			rule: "A long-polling response is application/json",
			run: func(t *T) {
				_, x := t.rawHandshake(handshakeMsg(LongPolling))
				if mt, _, _ := mime.ParseMediaType(x.resp.Header.Get("Content-Type")); mt != "application/json" {
					t.Fatalf("Content-Type %q", x.resp.Header.Get("Content-Type"))
				}
			}},
		{id: "long-polling.path-suffix", section: secLP, level: Convention, source: srcCometDWS + " (CometD clients append the message type to the URL)", transport: LongPolling,
			rule: "The server answers on the URL with /handshake, /connect... appended, as CometD clients send",
			run: func(t *T) {
				s := t.newSession(LongPolling)
				body, _ := s.prepare([]msg{handshakeMsg(LongPolling)})
				resp, err := s.h.Post(t.ctx, strings.TrimRight(t.e.url, "/")+"/handshake", "application/json", body)
				if err != nil {
					t.Fatalf("%v", err)
				}
				x := &exchange{resp: resp, body: resp.Body}
				x.decode()
				if x.err != nil {
					t.Fatalf("POST .../handshake: %v", x.err)
				}
				r, ok := x.reply("/meta/handshake", "")
				if !ok || !r.Successful() {
					t.Fatalf("POST .../handshake: %s", clip(x.body))
				}
				s.clientID = r.S("clientId")
			}},
		{id: "long-polling.form", section: secLP, level: May, source: srcConnTypes, transport: LongPolling,
			rule: "A form-encoded POST (message=<json>) may be accepted; if it is, it is answered like a JSON body",
			run: func(t *T) {
				s := t.newSession(LongPolling)
				body, _ := s.prepare([]msg{handshakeMsg(LongPolling)})
				x, err := s.post(t.ctx, "application/x-www-form-urlencoded", []byte(url.Values{"message": {string(body)}}.Encode()))
				if err != nil {
					t.Fatalf("%v", err)
				}
				if x.resp.Status >= 400 {
					t.Skipf("form-encoded requests are not accepted (HTTP %d), which is allowed", x.resp.Status)
				}
				if x.err != nil {
					t.Fatalf("%v", x.err)
				}
				r, ok := x.reply("/meta/handshake", "")
				if !ok || !r.Successful() {
					t.Fatalf("%s", clip(x.body))
				}
				s.clientID = r.S("clientId")
			}},
		{id: "callback-polling.jsonp", section: secCP, level: Should, source: srcConnTypes, transport: CallbackPolling,
			rule: "A GET with message and jsonp=cb is answered with JavaScript calling cb with an array of messages",
			run: func(t *T) {
				s := t.newSession(CallbackPolling)
				x := t.must(s.send(t.ctx, handshakeMsg(CallbackPolling)))
				r, ok := x.reply("/meta/handshake", "")
				if !ok || !r.Successful() {
					t.Fatalf("%s", clip(x.body))
				}
				s.clientID = r.S("clientId")
				if mt, _, _ := mime.ParseMediaType(x.resp.Header.Get("Content-Type")); mt != "text/javascript" && mt != "application/javascript" {
					t.Fatalf("Content-Type %q", x.resp.Header.Get("Content-Type"))
				}
			}},
		{id: "callback-polling.default-callback", section: secCP, level: Should, source: srcConnTypes, transport: CallbackPolling,
			rule: `Without a jsonp parameter the callback is "jsonpcallback"`,
			run: func(t *T) {
				s := t.newSession(CallbackPolling)
				body, _ := s.prepare([]msg{handshakeMsg(CallbackPolling)})
				x, err := s.jsonp(t.ctx, body, "")
				if err != nil {
					t.Fatalf("%v", err)
				}
				if x.err != nil {
					t.Fatalf("%v", x.err)
				}
				if r, ok := x.reply("/meta/handshake", ""); ok {
					s.clientID = r.S("clientId")
				}
			}},
		{id: "callback-polling.delivery", section: secCP, level: Should, source: srcConnTypes, transport: CallbackPolling,
			rule: "Over callback-polling a session subscribes, holds /meta/connect and receives events",
			run:  func(t *T) { t.deliveryOver(CallbackPolling) }},
		{id: "websocket.delivery", section: secWS, level: Convention, source: srcCometDWS + " " + srcFaye, transport: WebSocket,
			rule: "Over websocket a session handshakes, subscribes and receives events pushed on the socket",
			run:  func(t *T) { t.deliveryOver(WebSocket) }},
		{id: "websocket.frames", section: secWS, level: Convention, source: srcCometDWS, transport: WebSocket,
			rule: "Every websocket frame the server sends is a text frame holding a JSON array of messages",
			run: func(t *T) {
				s := t.open(WebSocket)
				ch := t.channel()
				t.subscribe(s, ch)
				s.ws.ensureConnect(s)
				t.publish(t.open(LongPolling), ch, map[string]any{"n": 1})
				s.await(t.ctx, onChannel(ch), 1, t.wait())
				s.ws.mu.Lock()
				frames := s.ws.frames
				s.ws.mu.Unlock()
				for _, f := range frames {
					if _, err := raw.DecodeArray(f); err != nil {
						t.Fatalf("frame %s: %v", clip(f), err)
					}
				}
				t.Logf("%d frames", len(frames))
			}},
		{id: "websocket.connect-held", section: secWS, level: Convention, source: srcCometDWS, transport: WebSocket,
			rule: "Over websocket a lone /meta/connect is still held about the timeout",
			run: func(t *T) {
				d := t.needHold(400 * time.Millisecond)
				s := t.open(WebSocket)
				m, _ := t.holdMsg(s)
				start := time.Now()
				x := t.must(s.send(t.ctx, m))
				el := time.Since(start)
				if r, ok := x.reply("/meta/connect", ""); !ok || !r.Successful() {
					t.Fatalf("not successful: %s", channelsOf(x.replies))
				}
				if el < d/2 || el > d+2*time.Second {
					t.Fatalf("held %s, the timeout is %s", since(el), since(d))
				}
				t.Logf("held %s of %s", since(el), since(d))
			}},
		{id: "websocket.refused-upgrade", section: secWS, level: Convention, source: srcCometDWS,
			rule: "A server that does not offer websocket refuses the upgrade with an HTTP status and keeps serving long-polling; one that offers it accepts the upgrade",
			run: func(t *T) {
				offers := false
				for _, ty := range t.e.types {
					offers = offers || ty == WebSocket
				}
				c, err := raw.DialWS(t.ctx, t.e.wsURL, nil, 0)
				var refused *raw.UpgradeRefusedError
				switch {
				case err == nil:
					_ = c.Close()
					if !offers {
						t.Logf("upgrade accepted although websocket is not offered")
					}
				case errors.As(err, &refused):
					if offers {
						t.Fatalf("websocket is offered but the upgrade was refused with HTTP %d", refused.Status)
					}
					t.Logf("upgrade refused with HTTP %d", refused.Status)
				default:
					t.Fatalf("upgrade neither accepted nor refused with a status: %v", err)
				}
				t.alive()
			}},
	}
}

// deliveryOver opens a session over transport, subscribes it, has a
// long-polling session publish, and checks the event arrives.
func (t *T) deliveryOver(transport string) *session {
	s := t.open(transport)
	ch := t.channel()
	t.subscribe(s, ch)
	if transport == WebSocket {
		s.ws.ensureConnect(s)
		time.Sleep(200 * time.Millisecond)
	}
	t.publish(t.open(LongPolling), ch, map[string]any{"over": transport})
	if got := s.await(t.ctx, onChannel(ch), 1, t.wait()); len(got) == 0 {
		t.Fatalf("the event never arrived over %s", transport)
	}
	return s
}
