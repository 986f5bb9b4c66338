package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/conformance"
)

// breach configures a bayeuxtest server to break one rule.
type breach struct {
	opts  []bayeuxtest.Option
	setup func(*bayeuxtest.Server)
	wrap  func(http.Handler) http.Handler // an HTTP-level breach
}

// mis is a breach by Misbehaviour.
func mis(m bayeuxtest.Misbehaviour) breach {
	return breach{opts: []bayeuxtest.Option{bayeuxtest.WithMisbehaviour(m)}}
}

// rewrite is a breach changing each outgoing message with f.
func rewrite(f func(m *bayeux.Message)) breach {
	return mis(bayeuxtest.Misbehaviour{Rewrite: func(msgs []bayeux.Message) []bayeux.Message {
		for i := range msgs {
			f(&msgs[i])
		}
		return msgs
	}})
}

// rewriteAll is a breach changing each outgoing list of messages.
func rewriteAll(f func(msgs []bayeux.Message) []bayeux.Message) breach {
	return mis(bayeuxtest.Misbehaviour{Rewrite: f})
}

// incoming is a breach changing each incoming message before the server
// acts on it.
func incoming(f func(m *bayeux.Message)) breach {
	return breach{opts: []bayeuxtest.Option{bayeuxtest.WithExtension(bayeuxtest.ExtensionFuncs{In: f})}}
}

// outgoing is a breach by an Outgoing extension (a fake, broken profile).
func outgoing(f func(m *bayeux.Message)) breach {
	return breach{opts: []bayeuxtest.Option{bayeuxtest.WithExtension(bayeuxtest.ExtensionFuncs{Out: f})}}
}

func fault(f bayeuxtest.Fault) breach {
	return breach{setup: func(s *bayeuxtest.Server) { s.InjectFault(f) }}
}

// httpBreach rewrites HTTP exchanges (websocket upgrades pass through):
// f gets the request (its body restored) and the recorded response, which
// it may change before it is sent.
func httpBreach(f func(r *http.Request, body []byte, rec *httptest.ResponseRecorder)) breach {
	return breach{wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
				h.ServeHTTP(w, r)
				return
			}
			var body []byte
			if r.Body != nil {
				body, _ = readAll(r)
			}
			rec := httptest.NewRecorder()
			r.Body = http.NoBody
			if body != nil {
				r.Body = readCloser{bytes.NewReader(body)}
			}
			h.ServeHTTP(rec, r)
			f(r, body, rec)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		})
	}}
}

// bodyBreach replaces old with new in every response body.
func bodyBreach(old, new string) breach {
	return httpBreach(func(_ *http.Request, _ []byte, rec *httptest.ResponseRecorder) {
		b := bytes.ReplaceAll(rec.Body.Bytes(), []byte(old), []byte(new))
		rec.Body = bytes.NewBuffer(b)
	})
}

// statusBreach answers with status and body wherever the server answered
// from.
func statusBreach(from, status int, body string) breach {
	return httpBreach(func(_ *http.Request, _ []byte, rec *httptest.ResponseRecorder) {
		if rec.Code == from {
			rec.Code = status
			rec.Body = bytes.NewBufferString(body)
		}
	})
}

func isReply(m *bayeux.Message) bool { return m.HasSuccessful() }
func isEvent(m *bayeux.Message) bool { return !m.HasSuccessful() && m.Data != nil }
func isPublishReply(m *bayeux.Message) bool {
	return isReply(m) && m.Channel.Type() == bayeux.BroadcastChannel
}

var (
	acceptUnknown = rewrite(func(m *bayeux.Message) {
		if strings.Contains(m.Error, "Unknown client") {
			m.Error = ""
			m.SetSuccessful(true)
			m.Advice = nil
		}
	})
	alterData = rewrite(func(m *bayeux.Message) {
		if isEvent(m) {
			m.Data = []byte(`{"s":"altered"}`)
		}
	})
	dropEvents = rewriteAll(func(msgs []bayeux.Message) []bayeux.Message {
		return slices.DeleteFunc(msgs, func(m bayeux.Message) bool { return isEvent(&m) })
	})
	delayConnects = fault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Delay: 1500 * time.Millisecond, Process: true, Times: -1})
	laxChannels   = mis(bayeuxtest.Misbehaviour{LaxChannels: true})
	// neverHold advertises a 2 s timeout but answers every connect at once.
	neverHold = breach{opts: []bayeuxtest.Option{bayeuxtest.WithTimeout(0), bayeuxtest.WithMisbehaviour(bayeuxtest.Misbehaviour{
		Rewrite: func(msgs []bayeux.Message) []bayeux.Message {
			for i := range msgs {
				if msgs[i].Advice != nil {
					msgs[i].Advice.Timeout = 2000
				}
			}
			return msgs
		}})}}
	metaAsBroadcast = incoming(func(m *bayeux.Message) {
		switch m.Channel {
		case bayeux.MetaHandshake, bayeux.MetaConnect, bayeux.MetaSubscribe, bayeux.MetaUnsubscribe, bayeux.MetaDisconnect:
		default:
			if m.Channel.Type() == bayeux.MetaChannel {
				m.Channel = "/lookalike" + bayeux.Channel(strings.TrimPrefix(string(m.Channel), "/meta"))
			}
		}
	})
	badErrorBody400to200 = statusBreach(400, 200, "[]")
	// unknownWithoutAdvice refuses unknown clients without advice.
	unknownWithoutAdvice = rewrite(func(m *bayeux.Message) {
		if strings.Contains(m.Error, "Unknown client") {
			m.Advice = nil
		}
	})
)

// serialized answers one HTTP request at a time: a request waits behind
// a held connect.
func serialized() breach {
	var mu sync.Mutex
	return breach{wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
				mu.Lock()
				defer mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	}}
}

// oneSocket accepts one websocket upgrade and refuses the others: a
// session cannot continue on a new socket (the case under test opens one
// websocket session).
func oneSocket() breach {
	var upgrades atomic.Int64
	return breach{wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") && upgrades.Add(1) > 1 {
				http.Error(w, "one socket only", http.StatusBadRequest)
				return
			}
			h.ServeHTTP(w, r)
		})
	}}
}

// firstMessageOnly processes the first message of a request that holds a
// /meta/connect among others, and drops the rest.
func firstMessageOnly() breach {
	return breach{wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := readAll(r)
			var msgs []json.RawMessage
			if json.Unmarshal(body, &msgs) == nil && len(msgs) > 1 && bytes.Contains(body, []byte(`"/meta/connect"`)) {
				body, _ = json.Marshal(msgs[:1])
			}
			r.Body = readCloser{bytes.NewReader(body)}
			r.ContentLength = int64(len(body))
			h.ServeHTTP(w, r)
		})
	}}
}

// counter numbers batches for the fake ack extension.
var counter struct {
	sync.Mutex
	n int
}

func nextBatch() int {
	counter.Lock()
	defer counter.Unlock()
	counter.n++
	return counter.n
}

// breachTable maps every case to a server that breaks its rule (state
// such as counters is fresh on each call).
func breachTable() map[string]breach {
	var requests atomic.Int64 // the fields.array breach lets the first through
	return map[string]breach{
		"fields.array": httpBreach(func(_ *http.Request, _ []byte, rec *httptest.ResponseRecorder) {
			if requests.Add(1) > 1 { // not the first handshake, which Run needs
				rec.Body = bytes.NewBuffer(bytes.TrimSuffix(bytes.TrimPrefix(rec.Body.Bytes(), []byte("[")), []byte("]")))
			}
		}),
		"fields.bare-object": httpBreach(func(r *http.Request, body []byte, rec *httptest.ResponseRecorder) {
			if bytes.HasPrefix(body, []byte("{")) {
				rec.Body = bytes.NewBufferString(`{"channel":"/meta/handshake","successful":true}`)
			}
		}),
		"fields.channel": rewrite(func(m *bayeux.Message) {
			if isPublishReply(m) {
				setChannel(m, "")
			}
		}),
		"fields.meta-id": rewrite(func(m *bayeux.Message) {
			if m.Channel.Type() == bayeux.MetaChannel {
				clearID(m)
			}
		}),
		"fields.service-id": rewrite(func(m *bayeux.Message) {
			if m.Channel.Type() == bayeux.ServiceChannel {
				clearID(m)
			}
		}),
		"fields.successful": httpBreach(func(_ *http.Request, _ []byte, rec *httptest.ResponseRecorder) {
			if !bytes.Contains(rec.Body.Bytes(), []byte("/meta/handshake")) {
				rec.Body = bytes.NewBuffer(bytes.ReplaceAll(rec.Body.Bytes(), []byte(`"successful":true`), []byte(`"successful":"true"`)))
			}
		}),
		"fields.error-grammar": rewrite(func(m *bayeux.Message) {
			if m.Error != "" {
				m.Error = "something went wrong"
			}
		}),
		"fields.unique-keys": bodyBreach(`"successful":true`, `"successful":true,"successful":true`),
		"fields.exact-names": bodyBreach(`"successful":true`, `"successful":true,"Successful":true`),
		"fields.types":       bodyBreach(`"successful":true`, `"successful":true,"ext":1`),
		"fields.ext-ignored": incoming(func(m *bayeux.Message) {
			if _, ok := m.Ext["org.example.conformance"]; ok {
				m.Error = "403::unknown extension"
			}
		}),
		"fields.advice":                bodyBreach(`"reconnect":"retry"`, `"reconnect":"again"`),
		"fields.timestamp":             rewrite(func(m *bayeux.Message) { m.Timestamp = "yesterday" }),
		"fields.message-id-grammar":    {opts: []bayeuxtest.Option{bayeuxtest.WithStrictMessageIDs(false)}},
		"fields.unicode":               alterData,
		"channels.invalid-subscribe":   laxChannels,
		"channels.invalid-unsubscribe": laxChannels,
		"channels.invalid-publish":     laxChannels,
		"channels.wildcard-publish":    laxChannels,
		"channels.star":                mis(bayeuxtest.Misbehaviour{GreedyStar: true}),
		"channels.starstar":            mis(bayeuxtest.Misbehaviour{ShallowStarStar: true}),
		"channels.root-starstar":       mis(bayeuxtest.Misbehaviour{ShallowStarStar: true}),
		"channels.one-copy":            mis(bayeuxtest.Misbehaviour{NoDedup: true}),
		"channels.grammar-marks": incoming(func(m *bayeux.Message) {
			if strings.Contains(string(m.Channel), "!") || slices.ContainsFunc(m.Subscription, func(c bayeux.Channel) bool { return strings.Contains(string(c), "!") }) {
				m.Error = "405::Invalid channel"
			}
		}),
		"meta.publish-refused":   metaAsBroadcast,
		"meta.lookalike-publish": metaAsBroadcast,
		"meta.not-delivered": rewriteAll(func(msgs []bayeux.Message) []bayeux.Message {
			if len(msgs) > 0 && msgs[0].Channel == bayeux.MetaConnect {
				msgs = append(msgs, bayeux.Message{Channel: bayeux.MetaConnect, Data: []byte(`{"leaked":true}`)})
			}
			return msgs
		}),
		"meta.lookalike-subscribe": incoming(func(m *bayeux.Message) {
			if strings.HasPrefix(string(m.Channel), "/meta/subscribe") {
				m.Channel = bayeux.MetaSubscribe
			}
		}),
		"meta.subscribe-refused":     mis(bayeuxtest.Misbehaviour{MetaSubscribable: true}),
		"meta.service-not-recorded":  mis(bayeuxtest.Misbehaviour{BroadcastService: true}),
		"meta.service-not-broadcast": mis(bayeuxtest.Misbehaviour{BroadcastService: true}),
		"handshake.success": rewrite(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake {
				setVersion(m, "")
			}
		}),
		"handshake.common-type": rewrite(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake {
				m.SupportedConnectionTypes = []string{"carrier-pigeon"}
			}
		}),
		"handshake.no-common-type": incoming(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake {
				m.SupportedConnectionTypes = append(m.SupportedConnectionTypes, bayeux.ConnectionTypeLongPolling)
			}
		}),
		"handshake.missing-version": incoming(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake && m.Version == "" {
				m.Version = "1.0"
			}
		}),
		"handshake.missing-types": incoming(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake && len(m.SupportedConnectionTypes) == 0 {
				m.SupportedConnectionTypes = []string{bayeux.ConnectionTypeLongPolling}
			}
		}),
		"handshake.failure-fields": rewrite(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake && !m.Successful {
				m.ClientID = "abc"
			}
		}),
		"handshake.failure-advice": rewrite(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake && !m.Successful {
				m.Advice = &bayeux.Advice{Reconnect: "retry"}
			}
		}),
		"handshake.clientid-unique": rewrite(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake {
				setClientID(m, "fixed0client0id")
			}
		}),
		"handshake.clientid-alnum": rewrite(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake {
				setClientID(m, m.ClientID+"-x")
			}
		}),
		"handshake.clientid-entropy": rewrite(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake {
				setClientID(m, m.ClientID[:min(8, len(m.ClientID))])
			}
		}),
		"handshake.batch-ignored": {opts: []bayeuxtest.Option{bayeuxtest.WithCookieBinding(false),
			bayeuxtest.WithMisbehaviour(bayeuxtest.Misbehaviour{ProcessWithHandshake: true})}},
		"handshake.no-events": rewriteAll(func(msgs []bayeux.Message) []bayeux.Message {
			if len(msgs) == 1 && msgs[0].Channel == bayeux.MetaHandshake {
				msgs = append(msgs, bayeux.Message{Channel: "/welcome", Data: []byte(`{}`)})
			}
			return msgs
		}),
		"handshake.advice": rewrite(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake {
				m.Advice = nil
			}
		}),
		"handshake.success-advice": rewrite(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaConnect && m.Successful && m.Advice != nil {
				m.Advice.Reconnect = "handshake"
			}
		}),
		"handshake.browser-cookie": httpBreach(func(_ *http.Request, _ []byte, rec *httptest.ResponseRecorder) { rec.Header().Del("Set-Cookie") }),
		"handshake.version-reply": rewrite(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake {
				setVersion(m, "x.y")
			}
		}),
		"connect.missing-clientid": acceptUnknown,
		"connect.missing-type": incoming(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaConnect && m.ConnectionType == "" {
				m.ConnectionType = bayeux.ConnectionTypeLongPolling
			}
		}),
		"connect.unknown-type": incoming(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaConnect && m.ConnectionType == "carrier-pigeon" {
				m.ConnectionType = bayeux.ConnectionTypeLongPolling
			}
		}),
		"connect.unknown-client":       unknownWithoutAdvice,
		"connect.first-immediate":      fault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Delay: 1500 * time.Millisecond}),
		"connect.timeout-zero":         delayConnects,
		"connect.client-timeout":       delayConnects,
		"connect.held":                 neverHold,
		"connect.wake":                 delayConnects,
		"connect.one-outstanding":      delayConnects,
		"connect.superseded-reply":     superseded500,
		"connect.second-held":          answerSecondAtOnce,
		"connect.piggyback":            mis(bayeuxtest.Misbehaviour{DeliverOnConnectOnly: true}),
		"connect.batched-not-held":     fault(bayeuxtest.Fault{Channel: bayeux.MetaSubscribe, Delay: 1500 * time.Millisecond, Times: -1}),
		"session.expiry":               {opts: []bayeuxtest.Option{bayeuxtest.WithMaxInterval(0)}},
		"session.unknown-subscribe":    acceptUnknown,
		"session.unknown-unsubscribe":  acceptUnknown,
		"session.unknown-publish":      acceptUnknown,
		"session.no-clientid-answered": fault(bayeuxtest.Fault{Channel: "/cf/**", Tear: true, Times: -1}),
		"session.hijack":               {opts: []bayeuxtest.Option{bayeuxtest.WithCookieBinding(false)}},
		"disconnect.success": incoming(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaDisconnect {
				m.Error = "500::cannot disconnect"
			}
		}),
		"disconnect.forgets":          mis(bayeuxtest.Misbehaviour{KeepSessionOnDisconnect: true}),
		"disconnect.releases-connect": delayConnects,
		"disconnect.unknown":          acceptUnknown,
		"subscribe.echo": rewrite(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaSubscribe {
				m.Subscription = []bayeux.Channel{"/other"}
			}
		}),
		"subscribe.echo-array": rewrite(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaSubscribe && len(m.Subscription) > 1 {
				m.Subscription = m.Subscription[:1]
			}
		}),
		"subscribe.array": incoming(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaSubscribe && len(m.Subscription) > 1 {
				m.Subscription = m.Subscription[:1]
			}
		}),
		"subscribe.missing": incoming(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaSubscribe && len(m.Subscription) == 0 {
				m.Subscription = []bayeux.Channel{"/x"}
			}
		}),
		"subscribe.delivers": dropEvents,
		"unsubscribe.echo": rewrite(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaUnsubscribe {
				m.Subscription = []bayeux.Channel{"/other"}
			}
		}),
		"unsubscribe.stops": mis(bayeuxtest.Misbehaviour{IgnoreUnsubscribe: true}),
		"unsubscribe.array": mis(bayeuxtest.Misbehaviour{IgnoreUnsubscribe: true}),
		"unsubscribe.missing": incoming(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaUnsubscribe && len(m.Subscription) == 0 {
				m.Subscription = []bayeux.Channel{"/x"}
			}
		}),
		"publish.reply": httpBreach(func(_ *http.Request, body []byte, rec *httptest.ResponseRecorder) {
			if bytes.Contains(body, []byte(`"id":"42"`)) && bytes.Contains(body, []byte(`"data"`)) {
				rec.Body = bytes.NewBuffer(bytes.ReplaceAll(rec.Body.Bytes(), []byte(`"successful":true`), []byte(`"successful":"yes"`)))
			}
		}),
		"publish.reply-id": rewrite(func(m *bayeux.Message) {
			if isPublishReply(m) {
				clearID(m)
			}
		}),
		"publish.reply-no-data": rewrite(func(m *bayeux.Message) {
			if isPublishReply(m) {
				m.Data = []byte(`{}`)
			}
		}),
		"publish.event-fields": rewrite(func(m *bayeux.Message) {
			if isEvent(m) {
				m.Data = nil
			}
		}),
		"publish.no-clientid-leak": rewrite(func(m *bayeux.Message) {
			if isEvent(m) {
				setClientID(m, "leak")
			}
		}),
		"publish.to-self": mis(bayeuxtest.Misbehaviour{ExcludePublisher: true}),
		"publish.missing-data": incoming(func(m *bayeux.Message) {
			if m.Channel.Type() == bayeux.BroadcastChannel && len(m.Data) == 0 {
				m.Data = []byte(`{}`)
			}
		}),
		"publish.order": rewriteAll(func(msgs []bayeux.Message) []bayeux.Message {
			slices.Reverse(msgs)
			return msgs
		}),
		"publish.data-shapes": alterData,
		"binary.passthrough":  alterData,
		"ack.negotiate": outgoing(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake {
				setExt(m, "ack", "yes")
			}
		}),
		"ack.connect-ids": outgoing(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake {
				setExt(m, "ack", true)
			}
		}),
		"ack.redelivery": outgoing(func(m *bayeux.Message) {
			switch m.Channel {
			case bayeux.MetaHandshake:
				setExt(m, "ack", true)
			case bayeux.MetaConnect:
				setExt(m, "ack", nextBatch())
			}
		}),
		"timesync.reply": outgoing(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake {
				setExt(m, "timesync", map[string]any{"ts": time.Now().UnixMilli(), "p": 0})
			}
		}),
		"replay.negotiate": outgoing(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake {
				setExt(m, "replay", "maybe")
			}
		}),
		"replay.ids": outgoing(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake {
				setExt(m, "replay", true)
			}
		}),
		"robust.prototype-clientid": acceptUnknown,
		"robust.prototype-channel": rewriteAll(func(msgs []bayeux.Message) []bayeux.Message {
			return slices.DeleteFunc(msgs, func(m bayeux.Message) bool { return isEvent(&m) && strings.HasSuffix(string(m.Channel), "/__proto__") })
		}),
		"robust.prototype-id": rewrite(func(m *bayeux.Message) {
			if m.ID == "constructor" {
				clearID(m)
			}
		}),
		"robust.prototype-data": alterData,
		// Echoes a hostile callback as it was sent.
		"robust.jsonp-injection": {wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				q := r.URL.Query()
				cb := q.Get("jsonp")
				if r.Method != http.MethodGet || cb == "" || bayeuxtest.ValidCallback(cb) {
					h.ServeHTTP(w, r)
					return
				}
				q.Set("jsonp", "x")
				r.URL.RawQuery = q.Encode()
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.Header().Del("Content-Length")
				w.WriteHeader(rec.Code)
				_, _ = w.Write(bytes.Replace(rec.Body.Bytes(), []byte("x("), []byte(cb+"("), 1))
			})
		}},
		"robust.jsonp-callback": {wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if q := r.URL.Query(); r.Method == http.MethodGet && q.Get("jsonp") != "" && !bayeuxtest.ValidCallback(q.Get("jsonp")) {
					q.Set("jsonp", "x")
					r.URL.RawQuery = q.Encode()
				}
				h.ServeHTTP(w, r)
			})
		}},
		"robust.oversized":      {opts: []bayeuxtest.Option{bayeuxtest.WithMaxBodyBytes(64 << 20)}},
		"robust.malformed-json": badErrorBody400to200,
		"robust.not-messages":   badErrorBody400to200,
		"robust.deep-nesting":   statusBreach(400, 500, "internal error"),
		"long-polling.content-type": httpBreach(func(r *http.Request, _ []byte, rec *httptest.ResponseRecorder) {
			if r.Method == http.MethodPost {
				rec.Header().Set("Content-Type", "text/html")
			}
		}),
		"long-polling.path-suffix": statusBreachPath("/handshake"),
		"long-polling.form": httpBreach(func(r *http.Request, _ []byte, rec *httptest.ResponseRecorder) {
			if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
				rec.Code = 200
				rec.Body = bytes.NewBufferString("ok")
			}
		}),
		"callback-polling.jsonp": httpBreach(func(r *http.Request, _ []byte, rec *httptest.ResponseRecorder) {
			if r.Method == http.MethodGet {
				rec.Header().Set("Content-Type", "application/json")
			}
		}),
		"callback-polling.default-callback": bodyBreach("jsonpcallback(", "callback("),
		"callback-polling.delivery":         dropEvents,
		"websocket.delivery":                dropEvents,
		"websocket.frames": mis(bayeuxtest.Misbehaviour{WebSocketFrame: func(b []byte) []byte {
			if bytes.Contains(b, []byte(`"data"`)) && !bytes.Contains(b, []byte(`"successful"`)) {
				return bytes.TrimSuffix(bytes.TrimPrefix(b, []byte("[")), []byte("]"))
			}
			return b
		}}),
		"websocket.connect-held":   neverHold,
		"session.multiple-clients": {opts: []bayeuxtest.Option{bayeuxtest.WithCookieBinding(false)}},
		"long-polling.offered": rewrite(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake {
				m.SupportedConnectionTypes = slices.DeleteFunc(m.SupportedConnectionTypes, func(s string) bool { return s == "long-polling" })
			}
		}),
		"callback-polling.offered": {opts: []bayeuxtest.Option{bayeuxtest.WithConnectionTypes("long-polling", "websocket")}},
		"long-polling.response-charset": httpBreach(func(r *http.Request, _ []byte, rec *httptest.ResponseRecorder) {
			rec.Header().Set("Content-Type", "application/json; charset=ISO-8859-1")
		}),
		"long-polling.request-charset": httpBreach(func(r *http.Request, _ []byte, rec *httptest.ResponseRecorder) {
			if r.Header.Get("Content-Type") == "application/json" {
				rec.Code, rec.Body = http.StatusUnsupportedMediaType, new(bytes.Buffer)
			}
		}),
		"long-polling.path-suffixes": statusBreachPath("/unsubscribe"),
		"long-polling.cors-preflight": {wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodOptions {
					w.Header().Set("Access-Control-Allow-Origin", "http://other.example")
					w.WriteHeader(http.StatusNoContent)
					return
				}
				h.ServeHTTP(w, r)
			})
		}},
		"long-polling.cors-headers": httpBreach(func(r *http.Request, _ []byte, rec *httptest.ResponseRecorder) {
			if r.Header.Get("Origin") != "" {
				rec.Header().Set("Access-Control-Allow-Origin", "*")
				rec.Header().Set("Access-Control-Allow-Credentials", "true")
			}
		}),
		"long-polling.not-queued":     serialized(),
		"callback-polling.not-queued": serialized(),
		"websocket.batch": rewriteAll(func(msgs []bayeux.Message) []bayeux.Message {
			replies := 0
			return slices.DeleteFunc(msgs, func(m bayeux.Message) bool {
				if isReply(&m) {
					replies++
					return replies > 1
				}
				return false
			})
		}),
		"websocket.handshake-batch-ignored": {opts: []bayeuxtest.Option{bayeuxtest.WithCookieBinding(false),
			bayeuxtest.WithMisbehaviour(bayeuxtest.Misbehaviour{ProcessWithHandshake: true})}},
		"websocket.new-socket":     oneSocket(),
		"websocket.unknown-client": unknownWithoutAdvice,
		"connect.same-transport": rewriteAll(func(msgs []bayeux.Message) []bayeux.Message {
			return slices.DeleteFunc(msgs, func(m bayeux.Message) bool { return m.Channel == bayeux.MetaConnect })
		}),
		"session.expired-advice":    unknownWithoutAdvice,
		"disconnect.forgets-advice": unknownWithoutAdvice,
		"fields.handshake-id": rewrite(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake {
				clearID(m)
			}
		}),
		"fields.disconnect-id": rewrite(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaDisconnect {
				clearID(m)
			}
		}),
		"unsubscribe.never-subscribed": rewrite(func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaUnsubscribe {
				m.Subscription = nil
			}
		}),
		"unsubscribe.wildcard": mis(bayeuxtest.Misbehaviour{IgnoreUnsubscribe: true}),
		"subscribe.duplicate": rewriteAll(func(msgs []bayeux.Message) []bayeux.Message {
			var out []bayeux.Message
			for _, m := range msgs {
				out = append(out, m)
				if isEvent(&m) && strings.Contains(string(m.Channel), "subscribe-duplicate") {
					out = append(out, m)
				}
			}
			return out
		}),
		"publish.batched": firstMessageOnly(),
		"robust.empty-array": httpBreach(func(_ *http.Request, body []byte, rec *httptest.ResponseRecorder) {
			if string(body) == "[]" {
				rec.Code, rec.Body = http.StatusInternalServerError, bytes.NewBufferString("internal error")
			}
		}),
		"websocket.refused-upgrade": {setup: func(s *bayeuxtest.Server) { s.RefuseWebSocket(true) }},
	}
}

// statusBreachPath answers 404 for paths ending with suffix.
func statusBreachPath(suffix string) breach {
	return breach{wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, suffix) {
				http.NotFound(w, r)
				return
			}
			h.ServeHTTP(w, r)
		})
	}}
}

func setChannel(m *bayeux.Message, c bayeux.Channel) bool { m.Channel = c; return true }
func clearID(m *bayeux.Message) bool                      { m.ID = ""; return true }
func setVersion(m *bayeux.Message, v string) bool         { m.Version = v; return true }
func setClientID(m *bayeux.Message, id string) bool       { m.ClientID = id; return true }
func setExt(m *bayeux.Message, k string, v any) {
	if m.Ext == nil {
		m.Ext = map[string]any{}
	}
	m.Ext[k] = v
}

// baseOptions are the options of every server in these tests: short
// timeouts, sessions bound to their cookie.
func baseOptions() []bayeuxtest.Option {
	return []bayeuxtest.Option{bayeuxtest.WithTimeout(2 * time.Second), bayeuxtest.WithMaxInterval(5 * time.Second), bayeuxtest.WithCookieBinding(true)}
}

// serve starts a bayeuxtest server with b and returns its URL.
func serve(t *testing.T, b breach) string {
	srv := bayeuxtest.NewServer(append(baseOptions(), b.opts...)...)
	t.Cleanup(srv.Close)
	if b.setup != nil {
		b.setup(srv)
	}
	if b.wrap == nil {
		return srv.URL
	}
	hs := httptest.NewServer(b.wrap(srv.Handler()))
	t.Cleanup(hs.Close)
	u, _ := url.Parse(srv.URL)
	return hs.URL + u.Path
}

// TestEveryCaseCanFail runs each case against a server that breaks its
// rule and checks the case reports it: fail for a MUST, warn otherwise.
func TestEveryCaseCanFail(t *testing.T) {
	breaches := breachTable()
	cases := conformance.Cases()
	for _, c := range cases {
		if _, ok := breaches[c.ID]; !ok {
			t.Errorf("no breach for case %s", c.ID)
		}
	}
	for id := range breaches {
		if !slices.ContainsFunc(cases, func(c conformance.Case) bool { return c.ID == id }) {
			t.Errorf("breach for unknown case %s", id)
		}
	}
	results := make([]conformance.Result, len(cases))
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 24)
	for i, c := range cases {
		b, ok := breaches[c.ID]
		if !ok {
			continue
		}
		u := serve(t, b)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			// Long-polling (and the transport the case needs): a matrix
			// case is shown failing on one transport here, on the others
			// in TestTransportMatrix.
			trs := []string{conformance.LongPolling}
			if c.Transport != "" {
				trs = append(trs, c.Transport)
			}
			rep, err := conformance.Run(context.Background(), u, conformance.WithCases(c.ID), conformance.WithMaxWait(5*time.Second), conformance.WithTransports(trs...))
			if err != nil {
				errs[i] = err
				return
			}
			results[i], _ = rep.Result(c.ID)
		})
	}
	wg.Wait()
	for i, c := range cases {
		t.Run(c.ID, func(t *testing.T) {
			if errs[i] != nil {
				t.Fatalf("Run: %v", errs[i])
			}
			want := conformance.Warn
			if c.Level == conformance.Must || c.Level == conformance.Security {
				want = conformance.Fail
			}
			if r := results[i]; r.Status != want {
				t.Errorf("against a server breaking %q: status %s (%s), want %s", c.Rule, r.Status, r.Seen, want)
			}
		})
	}
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func readAll(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(r.Body)
	return buf.Bytes(), err
}
