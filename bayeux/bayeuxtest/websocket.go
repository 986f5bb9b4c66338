package bayeuxtest

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bayeux-go/sdk/bayeux"
)

const (
	closeGoingAway      = websocket.CloseGoingAway
	closeServiceRestart = websocket.CloseServiceRestart
	wsWriteTimeout      = 10 * time.Second
	wsCoalesceMax       = 1024
	// wsSpareMax is the largest queue a writer keeps for reuse.
	wsSpareMax = 256
)

// wsItem is one frame waiting to be written.
type wsItem struct {
	msgs   []bayeux.Message
	events bool   // pushed events: Outgoing runs in the writer; may coalesce
	raw    []byte // a Raw fault frame
	// enc is a pushed event already encoded (push.enc), shared with the
	// other recipients of its publish; msgs is then empty. Consecutive
	// encoded events are written as one frame.
	enc []byte
}

// wsConn is one websocket connection. One goroutine reads frames (the
// upgraded handler) and one writes them (writeLoop), in the order they were
// queued.
type wsConn struct {
	s       *Server
	c       *websocket.Conn
	browser string
	token   string // bearer token of the upgrade (auth.go)
	// sessions are the sessions bound to this connection; guarded by
	// Server.mu.
	sessions map[*session]struct{}

	mu     sync.Mutex // guards out and closed
	out    []wsItem
	closed bool

	signal chan struct{} // capacity 1: out has items
	urgent chan struct{} // capacity 1: out has an item that is not a pushed event
	done   chan struct{} // closed by shutdown
	once   sync.Once
}

// serveWebSocket upgrades the request and serves Bayeux frames on it.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	refuse := s.refuseWS || s.closed || !s.supports(bayeux.ConnectionTypeWebSocket)
	s.mu.Unlock()
	if refuse {
		http.Error(w, "bayeuxtest: websocket refused", http.StatusBadRequest)
		return
	}
	if s.authRejectUpgrade(w, r) {
		return
	}
	browser := cookieValue(r)
	hdr := http.Header{}
	if browser == "" {
		browser = newBrowserID()
		hdr.Add("Set-Cookie", browserCookie(browser).String())
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	c, err := up.Upgrade(w, r, hdr)
	if err != nil {
		return // Upgrade has answered with an HTTP error
	}
	c.SetReadLimit(s.cfg.maxBody)
	wc := &wsConn{
		s: s, c: c, browser: browser, token: bearer(r.Header),
		sessions: make(map[*session]struct{}),
		signal:   make(chan struct{}, 1),
		urgent:   make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = c.Close()
		return
	}
	s.wsConns[wc] = struct{}{}
	s.wg.Add(2) // this reader and the writer
	s.notifyLocked()
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		wc.writeLoop()
	}()
	defer s.wg.Done()
	wc.readLoop()
}

// readLoop processes frames until the connection ends.
func (wc *wsConn) readLoop() {
	s := wc.s
	defer func() {
		wc.shutdown()
		s.unregister(wc)
	}()
	for {
		mt, data, err := wc.c.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				wc.linger() // gorilla has sent close 1009
			}
			return
		}
		if mt != websocket.TextMessage {
			wc.violation(websocket.CloseUnsupportedData, "text frames only")
			return
		}
		msgs, err := bayeux.DecodeMessages(data)
		if err != nil {
			s.log.Debug("bayeuxtest: malformed websocket frame", "err", err)
			wc.violation(websocket.ClosePolicyViolation, "malformed JSON")
			return
		}
		if len(msgs) == 0 {
			wc.violation(websocket.CloseProtocolError, "empty message array")
			return
		}
		s.record(msgs)
		if wc.authRejectFrame(msgs) {
			continue
		}
		f := s.takeFault(bayeux.ConnectionTypeWebSocket, msgs)
		if f != nil && !f.processes() {
			wc.after(f.Delay, func() { wc.applyFault(f) })
			continue
		}
		ri := &reqInfo{transport: bayeux.ConnectionTypeWebSocket, browser: wc.browser, ws: wc}
		res := s.process(ri, msgs)
		for _, old := range ri.superseded {
			if old.ws == wc {
				// The superseded connect is answered first.
				select {
				case <-old.answered:
				case <-wc.done:
				case <-s.done:
				}
			}
		}
		if hc := res.held; hc != nil {
			s.spawn(func() {
				defer close(hc.answered)
				out, tear := s.awaitHeld(hc, wc.done)
				if hc.replying {
					defer s.replied(hc.sess)
				}
				if tear || out == nil {
					return // Close or Restart closes the socket itself
				}
				wc.respond(out, f)
			})
			continue
		}
		wc.respond(res.replies, f)
		s.replied(res.replying)
	}
}

// respond queues a reply frame, applying a processed fault's delay and
// action.
func (wc *wsConn) respond(out []bayeux.Message, f *Fault) {
	if f == nil {
		wc.enqueue(wsItem{msgs: out})
		return
	}
	wc.after(f.Delay, func() {
		if f.hasAction() {
			wc.applyFault(f)
		} else {
			wc.enqueue(wsItem{msgs: out})
		}
	})
}

// after runs fn after d on a server goroutine (at once when d <= 0); fn is
// skipped if the connection or the server ends first. Delayed frames may
// overtake each other.
func (wc *wsConn) after(d time.Duration, fn func()) {
	if d <= 0 {
		fn()
		return
	}
	wc.s.spawn(func() {
		if wc.s.sleep(d, wc.done) {
			fn()
		}
	})
}

func (wc *wsConn) applyFault(f *Fault) {
	switch {
	case f.Tear:
		wc.tear()
	case f.Status != 0:
		wc.closeWith(websocket.CloseInternalServerErr, "injected fault")
	default:
		wc.enqueue(wsItem{raw: f.Raw})
	}
}

// push queues an event frame (enc, when set, is its encoding); it reports
// false if the connection is closed.
func (wc *wsConn) push(ev bayeux.Message, enc []byte) bool {
	if enc != nil {
		return wc.enqueue(wsItem{enc: enc, events: true})
	}
	return wc.enqueue(wsItem{msgs: []bayeux.Message{ev}, events: true})
}

func (wc *wsConn) enqueue(it wsItem) bool {
	wc.mu.Lock()
	if wc.closed {
		wc.mu.Unlock()
		return false
	}
	wc.out = append(wc.out, it)
	if !it.events {
		// Sent with mu held, so that the writer taking the queue also
		// takes the token (see writeLoop).
		select {
		case wc.urgent <- struct{}{}:
		default:
		}
	}
	wc.mu.Unlock()
	select {
	case wc.signal <- struct{}{}:
	default:
	}
	return true
}

// writeLoop writes queued frames in order until the connection ends.
// Consecutive pushed events (all those queued while the previous frame was
// being written, or held back by WithPushInterval) are coalesced into one
// frame.
func (wc *wsConn) writeLoop() {
	var (
		buf      []byte
		spare    []wsItem
		lastPush time.Time // when the last frame of events was written
		pacer    *time.Timer
	)
	for {
		select {
		case <-wc.signal:
		case <-wc.done:
			return
		}
		for {
			if !wc.pace(lastPush, &pacer) {
				return
			}
			wc.mu.Lock()
			items := wc.out
			if len(items) == 0 {
				wc.mu.Unlock()
				break
			}
			wc.out = spare[:0]
			select {
			case <-wc.urgent: // a reply taken now: no later wait ends for it
			default:
			}
			wc.mu.Unlock()
			for i := 0; i < len(items); {
				var payload []byte
				events := items[i].events
				buf, payload, i = wc.frame(buf[:0], items, i)
				if payload == nil {
					continue
				}
				if wc.s.cfg.mis.WebSocketFrame != nil {
					payload = wc.s.cfg.mis.WebSocketFrame(payload)
				}
				_ = wc.c.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
				if err := wc.c.WriteMessage(websocket.TextMessage, payload); err != nil {
					wc.shutdown()
					return
				}
				if events && wc.s.cfg.pushInterval > 0 {
					lastPush = time.Now()
				}
			}
			// items becomes the next queue (wc.out holds the other one).
			spare = nil
			if cap(items) <= wsSpareMax {
				clear(items)
				spare = items
			}
		}
	}
}

// pace waits, under WithPushInterval, until the push interval has passed
// since last, unless something other than pushed events is queued (or gets
// queued meanwhile). It reports false once the connection is shut down.
func (wc *wsConn) pace(last time.Time, timer **time.Timer) bool {
	d := wc.s.cfg.pushInterval
	if d <= 0 || last.IsZero() {
		return true
	}
	wait := time.Until(last.Add(d))
	if wait <= 0 || !wc.onlyEvents() {
		return true
	}
	if *timer == nil {
		*timer = time.NewTimer(wait)
	} else {
		(*timer).Reset(wait)
	}
	defer (*timer).Stop()
	select {
	case <-(*timer).C:
		return true
	case <-wc.urgent:
		return true
	case <-wc.done:
		return false
	}
}

// onlyEvents reports whether frames are queued and all of them are pushed
// events.
func (wc *wsConn) onlyEvents() bool {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	for _, it := range wc.out {
		if !it.events {
			return false
		}
	}
	return len(wc.out) > 0
}

// frame builds the payload of the frame starting at items[i] into buf:
// a Raw fault frame, a reply, or consecutive pushed events coalesced (up
// to wsCoalesceMax). It returns buf, the payload (nil when the frame
// cannot be encoded and is skipped) and the index of the next frame's
// first item.
func (wc *wsConn) frame(buf []byte, items []wsItem, i int) ([]byte, []byte, int) {
	it := items[i]
	i++
	switch {
	case it.raw != nil:
		return buf, it.raw, i
	case it.enc != nil:
		buf = append(append(buf, '['), it.enc...)
		for n := 1; i < len(items) && items[i].enc != nil && n < wsCoalesceMax; n++ {
			buf = append(append(buf, ','), items[i].enc...)
			i++
		}
		buf = append(buf, ']')
		return buf, buf, i
	}
	msgs := it.msgs
	if it.events {
		for i < len(items) && items[i].events && items[i].enc == nil && len(msgs) < wsCoalesceMax {
			msgs = append(msgs, items[i].msgs...)
			i++
		}
		wc.s.outgoing(msgs)
		msgs = wc.s.rewrite(msgs)
	}
	out, err := bayeux.AppendMessages(buf, msgs)
	if err != nil {
		wc.s.log.Debug("bayeuxtest: cannot encode websocket frame", "err", err)
		return buf, nil, i
	}
	return out, out, i
}

// closeWith sends a close frame with code and reason, then closes the
// connection.
func (wc *wsConn) closeWith(code int, reason string) {
	_ = wc.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	wc.shutdown()
}

// violation answers a protocol violation by the client: a close frame with
// code and reason, then a short linger so that the client reads it rather
// than a reset. The caller then shuts the connection down.
func (wc *wsConn) violation(code int, reason string) {
	_ = wc.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	wc.linger()
}

// linger discards what the client still sends for a moment (until it
// closes, or 250 ms), so that closing does not reset the connection under
// a close frame the client has not read yet. Close and Restart cut it short
// by closing the connection.
func (wc *wsConn) linger() {
	nc := wc.c.UnderlyingConn()
	_ = nc.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
	_, _ = io.Copy(io.Discard, io.LimitReader(nc, 4*wc.s.cfg.maxBody))
}

// tear closes the connection without a close frame.
func (wc *wsConn) tear() { wc.shutdown() }

// shutdown closes the connection (once): the reader and writer end.
func (wc *wsConn) shutdown() {
	wc.once.Do(func() {
		wc.mu.Lock()
		wc.closed = true
		wc.out = nil
		wc.mu.Unlock()
		close(wc.done)
		_ = wc.c.Close()
	})
}

// unregister forgets a closed connection; sessions bound to it queue their
// events again until their next request.
func (s *Server) unregister(wc *wsConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.wsConns, wc)
	for sess := range wc.sessions {
		if sess.ws == wc {
			sess.ws = nil
		}
	}
	clear(wc.sessions)
	s.notifyLocked()
}
