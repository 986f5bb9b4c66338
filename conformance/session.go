package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bayeux-go/sdk/conformance/internal/raw"
)

// msg is a message to send; keys are sent as given. A nil "id" removes the
// id the session would otherwise add.
type msg map[string]any

// exchange is one request and what came back.
type exchange struct {
	resp    *raw.Response // nil over websocket
	body    []byte        // the response body (the JSON inside a JSONP callback)
	msgs    []raw.Msg     // every message of the response, in order
	replies []raw.Msg
	events  []raw.Msg
	elapsed time.Duration
	err     error // the body could not be decoded
}

// reply returns the reply on channel with id, if any.
func (x *exchange) reply(channel, id string) (raw.Msg, bool) {
	for _, m := range x.replies {
		if m.S("channel") == channel && (id == "" || m.S("id") == id) {
			return m, true
		}
	}
	return raw.Msg{}, false
}

// session is one Bayeux client talking raw to the server over one
// transport.
type session struct {
	t         *T
	transport string
	h         *raw.HTTP
	ws        *wsSession
	clientID  string
	handshake raw.Msg
	gone      bool // disconnected or expired: close sends nothing

	mu     sync.Mutex
	seq    int
	events []raw.Msg
	wake   chan struct{}
}

func (t *T) newSession(transport string) *session {
	s := &session{t: t, transport: transport, h: raw.NewHTTP(t.e.cfg.rt), wake: make(chan struct{}, 1)}
	t.cleanup(s.close)
	return s
}

func (s *session) nextID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return strconv.Itoa(s.seq)
}

// prepare completes msgs with ids (and the clientId once known, unless the
// message sets its own or sets it to nil) and encodes them as an array.
func (s *session) prepare(msgs []msg) ([]byte, []string) {
	var ids []string
	for _, m := range msgs {
		if v, ok := m["id"]; !ok {
			m["id"] = s.nextID()
		} else if v == nil {
			delete(m, "id")
		}
		if id, ok := m["id"].(string); ok {
			ids = append(ids, id)
		}
		if v, ok := m["clientId"]; !ok && s.clientID != "" && m["channel"] != "/meta/handshake" {
			m["clientId"] = s.clientID
		} else if ok && v == nil {
			delete(m, "clientId")
		}
	}
	b, _ := json.Marshal(msgs)
	return b, ids
}

// send sends msgs in one request (an HTTP request or a websocket frame) and
// returns what came back. Over websocket it waits for a reply to every
// message that has an id.
func (s *session) send(ctx context.Context, msgs ...msg) (*exchange, error) {
	body, ids := s.prepare(msgs)
	return s.sendRaw(ctx, body, ids)
}

// sendRaw sends body as is.
func (s *session) sendRaw(ctx context.Context, body []byte, ids []string) (*exchange, error) {
	var x *exchange
	var err error
	switch s.transport {
	case WebSocket:
		x, err = s.wsSend(ctx, body, ids)
	case CallbackPolling:
		x, err = s.jsonp(ctx, body, "cb")
	default:
		x, err = s.post(ctx, "application/json;charset=UTF-8", body)
	}
	if err != nil {
		return nil, err
	}
	s.keep(x.events)
	return x, nil
}

// heldKey marks the context of a request the server may hold (see
// T.async): it goes on a connection of its own and is never sent again
// (raw.HTTP.Held).
type heldKey struct{}

// httpFor returns the HTTP to send a request with ctx on.
func (s *session) httpFor(ctx context.Context) *raw.HTTP {
	if ctx.Value(heldKey{}) != nil {
		return s.h.Held()
	}
	return s.h
}

func (s *session) post(ctx context.Context, contentType string, body []byte) (*exchange, error) {
	resp, err := s.httpFor(ctx).Post(ctx, s.t.e.url, contentType, body)
	if err != nil {
		return nil, err
	}
	x := &exchange{resp: resp, body: resp.Body, elapsed: resp.Elapsed}
	x.decode()
	s.t.resent(resp)
	return x, nil
}

// jsonp sends body as a callback-polling GET with callback name cb.
func (s *session) jsonp(ctx context.Context, body []byte, cb string) (*exchange, error) {
	q := url.Values{"message": {string(body)}}
	if cb != "" {
		q.Set("jsonp", cb)
	}
	resp, err := s.httpFor(ctx).Get(ctx, s.t.e.url+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	x := &exchange{resp: resp, elapsed: resp.Elapsed}
	s.t.resent(resp)
	if resp.Status == 200 {
		if inner, ok := unwrapJSONP(resp.Body, cb); ok {
			x.body = inner
		} else {
			x.body = resp.Body
			x.err = fmt.Errorf("body is not a call of %s(...): %s", cb, clip(resp.Body))
			return x, nil
		}
	}
	x.decode()
	return x, nil
}

// unwrapJSONP returns the argument of "cb(...)" (after an optional /**/).
func unwrapJSONP(b []byte, cb string) ([]byte, bool) {
	b = bytes.TrimSpace(b)
	b = bytes.TrimPrefix(b, []byte("/**/"))
	b = bytes.TrimSpace(b)
	if cb == "" {
		cb = "jsonpcallback"
	}
	if !bytes.HasPrefix(b, []byte(cb+"(")) {
		return nil, false
	}
	b = bytes.TrimSuffix(bytes.TrimSpace(b[len(cb)+1:]), []byte(";"))
	if !bytes.HasSuffix(b, []byte(")")) {
		return nil, false
	}
	return b[:len(b)-1], true
}

func (x *exchange) decode() {
	if x.resp != nil && x.resp.Status != 200 {
		x.err = fmt.Errorf("HTTP %d %s", x.resp.Status, clip(x.resp.Body))
		return
	}
	msgs, err := raw.DecodeArray(x.body)
	if err != nil {
		x.err = fmt.Errorf("%v: %s", err, clip(x.body))
		return
	}
	x.msgs = msgs
	for _, m := range msgs {
		if m.IsReply() {
			x.replies = append(x.replies, m)
		} else {
			x.events = append(x.events, m)
		}
	}
}

// keep adds events to the session's buffer.
func (s *session) keep(evs []raw.Msg) {
	if len(evs) == 0 {
		return
	}
	s.mu.Lock()
	s.events = append(s.events, evs...)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// received returns the buffered events matching pred.
func (s *session) received(pred func(raw.Msg) bool) []raw.Msg {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []raw.Msg
	for _, m := range s.events {
		if pred(m) {
			out = append(out, m)
		}
	}
	return out
}

// onChannel matches events on a channel.
func onChannel(ch string) func(raw.Msg) bool {
	return func(m raw.Msg) bool { return m.S("channel") == ch }
}

// await collects events until n match pred or within ends, polling with
// /meta/connect over HTTP (each asking the server, through advice, to
// hold no longer than what is left). It returns the matching events.
func (s *session) await(ctx context.Context, pred func(raw.Msg) bool, n int, within time.Duration) []raw.Msg {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		got := s.received(pred)
		if len(got) >= n || ctx.Err() != nil {
			return got
		}
		if s.transport == WebSocket {
			s.ws.ensureConnect(s)
			select {
			case <-s.wake:
			case <-ctx.Done():
			}
			continue
		}
		left := time.Until(deadline(ctx))
		hold := min(left-200*time.Millisecond, s.t.e.hold)
		if hold < 0 {
			hold = 0
		}
		// The connect runs on the case's context, not the wait's: a connect
		// cancelled while the server answers it would lose its events.
		if _, err := s.connect(s.t.ctx, hold); err != nil {
			return s.received(pred)
		}
	}
}

func deadline(ctx context.Context) time.Time {
	dl, _ := ctx.Deadline()
	return dl
}

// connect sends a lone /meta/connect with advice {timeout: hold}.
func (s *session) connect(ctx context.Context, hold time.Duration) (*exchange, error) {
	return s.send(ctx, msg{"channel": "/meta/connect", "connectionType": s.transport,
		"advice": map[string]any{"timeout": hold.Milliseconds()}})
}

// close disconnects the session (best effort) and closes its socket.
func (s *session) close() {
	if s.clientID != "" && !s.gone {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, _ = s.send(ctx, msg{"channel": "/meta/disconnect"})
		cancel()
	}
	if s.ws != nil {
		s.ws.close()
	}
}

// clip shortens b for a report.
func clip(b []byte) string {
	const n = 300
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		return s[:n] + fmt.Sprintf("... (%d bytes)", len(b))
	}
	return s
}

// errNoReply is returned when a websocket request is not answered.
var errNoReply = errors.New("no reply")
