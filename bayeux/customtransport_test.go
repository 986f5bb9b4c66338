package bayeux_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

// handlerTransport is a third-party transport written outside the bayeux
// package: it hands each batch to an http.Handler in memory, with no
// network.
type handlerTransport struct {
	h   http.Handler
	cfg bayeux.TransportConfig
}

func (t *handlerTransport) Name() string { return bayeux.ConnectionTypeLongPolling }

func (t *handlerTransport) Init(cfg bayeux.TransportConfig) error { t.cfg = cfg; return nil }

func (t *handlerTransport) RoundTrip(ctx context.Context, url string, msgs []bayeux.Message) ([]bayeux.Message, error) {
	body, err := bayeux.EncodeMessages(msgs)
	if err != nil {
		return nil, err
	}
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return nil, &bayeux.TransportError{ConnectionType: t.Name(), StatusCode: rec.Code}
	}
	return bayeux.DecodeMessages(rec.Body.Bytes())
}

func (t *handlerTransport) Close() error { return nil }

func TestThirdPartyTransport(t *testing.T) {
	leakCheck(t)
	srv := newServer(t)
	c, err := bayeux.NewClient(srv.URL, bayeux.WithTransports(&handlerTransport{h: srv.Handler()}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	col := newCollector()
	if _, err := c.Subscribe(ctx, "/in/memory", col.handle); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, "/in/memory", "no network"); err != nil {
		t.Fatal(err)
	}
	if got := dataOf(t, col.waitN(t, 1)[0]); got != "no network" {
		t.Errorf("got %q", got)
	}
	if err := c.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
}

// scripted is a transport whose answers a test writes; it also pushes
// messages through Receive, as a websocket does.
type scripted struct {
	mu      sync.Mutex
	cfg     bayeux.TransportConfig
	answer  func(msgs []bayeux.Message) ([]bayeux.Message, error)
	closed  chan struct{}
	connect int
}

func (s *scripted) Name() string                          { return "long-polling" }
func (s *scripted) Init(cfg bayeux.TransportConfig) error { s.cfg = cfg; return nil }
func (s *scripted) Close() error                          { close(s.closed); return nil }
func (s *scripted) RoundTrip(ctx context.Context, _ string, msgs []bayeux.Message) ([]bayeux.Message, error) {
	if msgs[0].Channel == bayeux.MetaConnect {
		s.mu.Lock()
		s.connect++
		n := s.connect
		s.mu.Unlock()
		if n > 2 {
			// Hold later connects like a server until the test ends.
			select {
			case <-ctx.Done():
				return nil, &bayeux.TransportError{ConnectionType: "long-polling", Err: ctx.Err()}
			case <-s.closed:
				return nil, bayeux.ErrClosed
			}
		}
	}
	return s.answer(msgs)
}

func reply(req bayeux.Message, ok bool) bayeux.Message {
	r := bayeux.Message{ID: req.ID, Channel: req.Channel, Subscription: req.Subscription}
	r.SetSuccessful(ok)
	return r
}

func TestClientIgnoresSupersededConnectReplyAndTakesPushedEvents(t *testing.T) {
	leakCheck(t)
	tr := &scripted{closed: make(chan struct{})}
	tr.answer = func(msgs []bayeux.Message) ([]bayeux.Message, error) {
		var out []bayeux.Message
		for _, m := range msgs {
			r := reply(m, true)
			switch m.Channel {
			case bayeux.MetaHandshake:
				r.ClientID, r.Version, r.SupportedConnectionTypes = "abc123", "1.0", []string{"long-polling"}
			case bayeux.MetaConnect:
				// A reply to a connect that no longer exists, telling the
				// client to stop: it must be ignored.
				stale := bayeux.Message{ID: "zzz", Channel: bayeux.MetaConnect, Error: "403::stale",
					Advice: &bayeux.Advice{Reconnect: bayeux.ReconnectNone}}
				stale.SetSuccessful(false)
				out = append(out, stale)
			case bayeux.MetaSubscribe:
				// The server pushes an event outside any reply.
				ev := bayeux.Message{Channel: m.Subscription[0], Data: json.RawMessage(`"pushed"`)}
				go tr.cfg.Receive([]bayeux.Message{ev})
			}
			out = append(out, r)
		}
		return out, nil
	}
	c, err := bayeux.NewClient("http://example.invalid/cometd", bayeux.WithTransports(tr))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	connects := newCollector()
	if _, err := c.AddListener("/meta/connect", connects.handle); err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	col := newCollector()
	if _, err := c.Subscribe(ctx, "/push", col.handle); err != nil {
		t.Fatal(err)
	}
	if got := dataOf(t, col.waitN(t, 1)[0]); got != "pushed" {
		t.Errorf("pushed event = %q", got)
	}
	// Two connects answered, each with a stale reply beside the real one.
	connects.waitN(t, 4)
	time.Sleep(50 * time.Millisecond)
	if c.Err() != nil || c.State() != bayeux.StateConnected {
		t.Fatalf("stale connect reply acted on: state %v, err %v", c.State(), c.Err())
	}
	if err := c.Disconnect(ctx); err != nil {
		t.Logf("disconnect: %v", err)
	}
}
