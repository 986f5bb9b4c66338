package conformance

import (
	"context"
	"fmt"
	"sync"

	"github.com/bayeux-go/sdk/conformance/internal/raw"
)

// wsSession reads one websocket and routes replies to their waiters and
// events to the session.
type wsSession struct {
	c *raw.WS

	mu         sync.Mutex
	waiters    map[string]chan raw.Msg
	frames     [][]byte // every frame read, for cases about framing
	err        error    // why reading ended
	done       chan struct{}
	connecting bool
	stop       context.CancelFunc
	bg         sync.WaitGroup // the goroutine of ensureConnect
}

// dial opens the websocket of s.
func (s *session) dial(ctx context.Context) error {
	c, err := raw.DialWS(ctx, s.t.e.wsURL, s.h.Jar(), 32<<20)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(context.Background())
	w := &wsSession{c: c, waiters: map[string]chan raw.Msg{}, done: make(chan struct{}), stop: cancel}
	s.ws = w
	go w.read(rctx, s)
	return nil
}

func (w *wsSession) read(ctx context.Context, s *session) {
	defer close(w.done)
	for {
		f, err := w.c.Read(ctx)
		if err != nil {
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
			return
		}
		w.mu.Lock()
		w.frames = append(w.frames, f.Data)
		w.mu.Unlock()
		msgs, derr := raw.DecodeArray(f.Data)
		if derr != nil {
			continue
		}
		var evs []raw.Msg
		for _, m := range msgs {
			if !m.IsReply() {
				evs = append(evs, m)
				continue
			}
			w.mu.Lock()
			ch := w.waiters[m.S("id")]
			delete(w.waiters, m.S("id"))
			w.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		}
		s.keep(evs)
	}
}

func (s *session) wsSend(ctx context.Context, body []byte, ids []string) (*exchange, error) {
	if s.ws == nil {
		if err := s.dial(ctx); err != nil {
			return nil, err
		}
	}
	w := s.ws
	chans := make([]chan raw.Msg, len(ids))
	w.mu.Lock()
	for i, id := range ids {
		chans[i] = make(chan raw.Msg, 1)
		w.waiters[id] = chans[i]
	}
	w.mu.Unlock()
	if err := w.c.Write(ctx, body); err != nil {
		return nil, err
	}
	x := &exchange{body: body}
	for i, ch := range chans {
		select {
		case m := <-ch:
			x.replies = append(x.replies, m)
			x.msgs = append(x.msgs, m)
		case <-w.done:
			return nil, fmt.Errorf("%w to id %s: websocket closed: %v", errNoReply, ids[i], w.readErr())
		case <-ctx.Done():
			return nil, fmt.Errorf("%w to id %s: %w", errNoReply, ids[i], ctx.Err())
		}
	}
	return x, nil
}

func (w *wsSession) readErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// ensureConnect keeps a /meta/connect outstanding on the socket.
func (w *wsSession) ensureConnect(s *session) {
	w.mu.Lock()
	if w.connecting {
		w.mu.Unlock()
		return
	}
	w.connecting = true
	w.mu.Unlock()
	w.bg.Add(1)
	go func() {
		defer w.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), s.t.e.hold+s.t.e.cfg.maxWait)
		defer cancel()
		go func() {
			select {
			case <-w.done:
				cancel()
			case <-ctx.Done():
			}
		}()
		_, _ = s.send(ctx, msg{"channel": "/meta/connect", "connectionType": WebSocket})
		w.mu.Lock()
		w.connecting = false
		w.mu.Unlock()
	}()
}

func (w *wsSession) close() {
	w.stop()
	_ = w.c.Close()
	<-w.done
	w.bg.Wait()
}
