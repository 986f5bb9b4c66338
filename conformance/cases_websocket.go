package conformance

import (
	"context"

	"github.com/bayeux-go/sdk/conformance/internal/raw"
)

// websocketCases are the websocket rules about frames and sockets: several
// messages in a frame, a handshake's frame, a session on a new socket, an
// unknown client.
func websocketCases() []caseDef {
	return []caseDef{
		{id: "websocket.batch", section: secWS, level: Convention, source: srcCometDWS + " (each frame is a JSON array of messages; CometD and Faye process every one)", transport: WebSocket,
			rule: "A websocket frame holding several messages (subscribe, publish, connect) gets a reply to each",
			run: func(t *T) {
				s := t.open(WebSocket)
				ch := t.channel()
				ctx, cancel := context.WithTimeout(t.ctx, t.wait())
				defer cancel()
				x, err := s.send(ctx, msg{"channel": "/meta/subscribe", "subscription": ch}, msg{"channel": ch, "data": map[string]any{"n": 1}},
					msg{"channel": "/meta/connect", "connectionType": WebSocket, "advice": map[string]any{"timeout": 0}})
				if err != nil {
					t.Fatalf("one frame of three messages: %v", err)
				}
				for _, c := range []string{"/meta/subscribe", ch, "/meta/connect"} {
					if _, ok := x.reply(c, ""); !ok {
						t.Fatalf("no reply on %s: got %s", c, channelsOf(x.replies))
					}
				}
			}},
		{id: "websocket.handshake-batch-ignored", section: secWS, level: Must, source: srcHandshake + " (the server MUST ignore other messages in the request of a handshake; over websocket, the frame)", transport: WebSocket,
			rule: "Other messages in the websocket frame of a handshake are ignored (here, a publish that would reach a subscriber)",
			run: func(t *T) {
				sub := t.open(LongPolling)
				ch := t.channel()
				t.subscribe(sub, ch)
				other := t.open(LongPolling)
				s := t.newSession(WebSocket)
				ctx, cancel := context.WithTimeout(t.ctx, t.wait())
				defer cancel()
				// The publish has no id: the suite waits for the
				// handshake's reply only.
				x, err := s.send(ctx, handshakeMsg(WebSocket), msg{"channel": ch, "data": map[string]any{"batched": true}, "clientId": other.clientID, "id": nil})
				if err == nil {
					if r, ok := x.reply("/meta/handshake", ""); ok {
						s.clientID = r.S("clientId")
					}
				} else {
					t.Logf("handshake: %v", err)
				}
				t.publish(other, ch, map[string]any{"control": true})
				t.controlOn(sub, ch)
				if got := sub.received(func(m raw.Msg) bool { return m.S("channel") == ch && !isControl(m) }); len(got) > 0 {
					t.Fatalf("the publish in the frame of a handshake was delivered: %s", clip(got[0].Raw))
				}
			}},
		{id: "websocket.new-socket", section: secWS, level: Convention, source: srcCometDWS + " (requireHandshakePerConnection is off by default) " + srcFaye, transport: WebSocket,
			rule: "A session continues on a new websocket: after its socket closes, a /meta/connect with its clientId on a new socket succeeds and its subscriptions still deliver there",
			run: func(t *T) {
				s := t.open(WebSocket)
				ch := t.channel()
				t.subscribe(s, ch)
				s.ws.close()
				s.ws = nil
				x := t.must(s.connect(t.ctx, 0))
				if r, ok := x.reply("/meta/connect", ""); !ok || !r.Successful() {
					t.Fatalf("the connect on a new socket: %s", channelsOf(x.replies)+" "+clipMsgs(x.replies))
				}
				t.publish(t.open(LongPolling), ch, map[string]any{"n": 1})
				if got := s.await(t.ctx, onChannel(ch), 1, t.wait()); len(got) == 0 {
					t.Fatalf("the subscription made on the first socket delivers nothing on the second within %s", since(t.wait()))
				}
			}},
		{id: "websocket.unknown-client", section: secWS, level: Must, source: srcReconnect + " (an unknown clientId, whatever the transport)", transport: WebSocket,
			rule: `Over websocket, a /meta/connect with an unknown clientId is unsuccessful and advises reconnect "handshake"`,
			run: func(t *T) {
				s := t.newSession(WebSocket)
				ctx, cancel := context.WithTimeout(t.ctx, t.wait())
				defer cancel()
				x, err := s.send(ctx, msg{"channel": "/meta/connect", "connectionType": WebSocket, "clientId": t.unknownID()})
				if err != nil {
					t.Fatalf("no reply: %v", err)
				}
				r, ok := x.reply("/meta/connect", "")
				if !ok || r.Successful() {
					t.Fatalf("not refused: %s", clipMsgs(x.replies))
				}
				if v, _ := r.Member("advice", "reconnect"); string(v) != `"handshake"` {
					t.Fatalf(`advice.reconnect is not "handshake": %s`, clip(r.Raw))
				}
			}},
	}
}

// clipMsgs shows msgs for a report.
func clipMsgs(msgs []raw.Msg) string {
	var b []byte
	for i, m := range msgs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, m.Raw...)
	}
	return clip(b)
}
