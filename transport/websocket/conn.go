package websocket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	gws "github.com/gorilla/websocket"
)

// conn is one websocket connection and the requests awaiting replies on
// it. It has one reader goroutine (readLoop), which decodes frames and
// dispatches their messages, and a keep-alive that runs on a timer (no
// goroutine while it waits); writes are serialized by wsem.
type conn struct {
	t   *Transport
	ws  *gws.Conn
	url string // the URL RoundTrip was given
	// compressed is true when permessage-deflate was negotiated.
	compressed bool

	wsem       chan struct{} // one data writer at a time
	done       chan struct{} // closed when the connection is torn
	readerDone chan struct{} // closed when readLoop returns

	// activity counts frames and reads, so that the keep-alive can tell
	// whether anything arrived since its ping.
	activity atomic.Uint64
	// busy is set while the reader handles a frame (decoding it, running
	// Receive), and handled counts the frames handled: control frames wait
	// meanwhile, so a pong missing while the reader was busy proves
	// nothing.
	busy    atomic.Bool
	handled atomic.Uint64
	// frames counts the data frames whose reading began: a request whose
	// deadline passes with this count unchanged since it was sent, and no
	// frame in the reader's hands, found the server silent.
	frames atomic.Uint64

	// torn is set (before anything else) when the connection fails, so that
	// no new request picks it.
	torn atomic.Bool

	mu      sync.Mutex
	pending map[string]*call // message id -> request awaiting its reply
	err     error            // why the connection was torn; set once

	// ka is the keep-alive (nil timer when disabled).
	ka keepAlive

	// Reader state, used by readLoop only.
	hint int // capacity for the next large frame
}

// call is a RoundTrip waiting for the replies of its batch. Its fields are
// guarded by conn.mu.
type call struct {
	remaining int              // replies still expected
	replies   []bayeux.Message // replies received, in arrival order
	finished  bool             // all replies arrived, or failed, or abandoned
	err       error            // set when the connection failed the call
	done      chan struct{}    // closed when finished by the reader or a tear
	// frames is conn.frames when the call was registered.
	frames uint64
}

func newConn(t *Transport, ws *gws.Conn, rawURL string) *conn {
	c := &conn{
		t:          t,
		ws:         ws,
		url:        rawURL,
		wsem:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
		pending:    make(map[string]*call),
	}
	ws.SetReadLimit(t.o.maxMessageBytes)
	ws.SetPongHandler(func(string) error {
		c.activity.Add(1)
		return nil
	})
	ws.SetPingHandler(func(data string) error {
		c.activity.Add(1)
		err := ws.WriteControl(gws.PongMessage, []byte(data), time.Now().Add(t.o.writeTimeout))
		if err == nil || errors.Is(err, gws.ErrCloseSent) {
			return nil
		}
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			// The keep-alive and the writers notice a stuck connection.
			return nil
		}
		return err
	})
	return c
}

// register records the ids of msgs as awaiting replies. It returns a nil
// call when no message has an id.
func (c *conn) register(msgs []bayeux.Message, nIDs int) (*call, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	if nIDs == 0 {
		return nil, nil
	}
	for i := range msgs {
		if id := msgs[i].ID; id != "" && c.pending[id] != nil {
			return nil, fmt.Errorf("%w: %q", ErrDuplicateID, id)
		}
	}
	cl := &call{remaining: nIDs, done: make(chan struct{}), frames: c.frames.Load()}
	if !c.t.receiveReplies {
		cl.replies = make([]bayeux.Message, 0, nIDs)
	}
	for i := range msgs {
		if id := msgs[i].ID; id != "" {
			c.pending[id] = cl
		}
	}
	return cl, nil
}

// abandon forgets the ids of a call that gives up waiting, so that its
// late replies go to Receive. It reports whether the call had in fact
// finished (successfully or not) before being abandoned.
func (c *conn) abandon(cl *call, msgs []bayeux.Message) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl.finished {
		return true
	}
	cl.finished = true
	for i := range msgs {
		if id := msgs[i].ID; id != "" && c.pending[id] == cl {
			delete(c.pending, id)
		}
	}
	return false
}

// write sends one data frame. Writers take turns; each write is bounded by
// the write timeout and by ctx. A failed write leaves the connection in an
// unknown state, so it tears it.
func (c *conn) write(ctx context.Context, frame []byte) error {
	select {
	case c.wsem <- struct{}{}:
	case <-ctx.Done():
		return c.t.ctxError(ctx.Err())
	case <-c.done:
		return c.tornErr()
	}
	defer func() { <-c.wsem }()
	if err := c.tornErr(); err != nil {
		return err
	}
	deadline := time.Now().Add(c.t.o.writeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.ws.SetWriteDeadline(deadline); err != nil {
		c.tear(transportError(err))
		return c.tornErr()
	}
	// A cancellation (rather than a deadline) interrupts a blocked write
	// through the network connection's deadline.
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { _ = c.ws.NetConn().SetWriteDeadline(time.Now()) })
	}
	err := c.ws.WriteMessage(gws.TextMessage, frame)
	if stop != nil {
		stop()
	}
	if n := c.t.cfg.Counters; n != nil && err == nil {
		n.BytesOut.Add(uint64(len(frame)))
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = fmt.Errorf("%w (%w)", ctxErr, err)
		}
		c.tear(transportError(fmt.Errorf("websocket write: %w", err)))
		return c.tornErr()
	}
	return nil
}

// wait waits for the replies of cl.
func (c *conn) wait(ctx context.Context, cl *call, msgs []bayeux.Message) ([]bayeux.Message, error) {
	var timeout <-chan time.Time
	if d := c.t.o.messageTimeout; d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		timeout = timer.C
	}
	var failure error
	tear := false
	select {
	case <-cl.done:
	case <-ctx.Done():
		failure = c.t.ctxError(ctx.Err())
		// Only the client's own deadline says the server is silent; a
		// caller's deadline or cancellation ends this wait and nothing
		// else (bayeux.Transport's contract).
		if errors.Is(context.Cause(ctx), bayeux.ErrNetworkDelay) && c.silentSince(cl) {
			failure = c.t.ctxError(fmt.Errorf("%w (%w)", ctx.Err(), ErrSilent))
			tear = true
		}
	case <-timeout:
		failure = transportError(ErrMessageTimeout)
		tear = true
	}
	if failure != nil && !c.abandon(cl, msgs) {
		if tear {
			c.tear(failure)
		}
		c.mu.Lock()
		partial := cl.replies
		c.mu.Unlock()
		// Replies that did arrive are late replies now.
		c.t.deliver(partial)
		return nil, failure
	}
	c.mu.Lock()
	replies, err := cl.replies, cl.err
	c.mu.Unlock()
	if err != nil {
		c.t.deliver(replies)
		return nil, err
	}
	return replies, nil
}

// silentSince reports whether no data frame arrived (or is being read or
// handled) since cl was registered: the server has stopped answering.
func (c *conn) silentSince(cl *call) bool {
	return c.frames.Load() == cl.frames && !c.busy.Load()
}

// tornErr returns why the connection was torn, or nil.
func (c *conn) tornErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// fail records err as the reason the connection ends (the first reason
// wins), detaches the connection from the transport and fails every call
// awaiting replies with err, in that order, so that a RoundTrip woken by
// the failure finds the connection gone. It does not close the network
// connection. It reports whether this call was the first.
func (c *conn) fail(err error) bool {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return false
	}
	c.err = err
	c.torn.Store(true)
	if n := c.t.cfg.Counters; n != nil && pushesMayBeLost(err) {
		// Counted before any call wakes, so that a /meta/connect failing
		// with this connection sees it.
		n.LostResponses.Add(1)
	}
	var failed []*call
	for _, cl := range c.pending {
		if !cl.finished {
			cl.finished = true
			cl.err = err
			failed = append(failed, cl)
		}
	}
	clear(c.pending)
	c.mu.Unlock()
	c.t.mu.Lock()
	if c.t.conn == c {
		c.t.conn = nil
	}
	c.t.mu.Unlock()
	close(c.done)
	c.stopKeepAlive()
	for _, cl := range failed {
		close(cl.done)
	}
	return true
}

// pushesMayBeLost reports whether a connection that ends with err may have
// lost frames the server had sent (the events it pushes between
// /meta/connect replies, say): every end but Close's, and but the server's
// close frame, which comes after everything it sent. (gorilla reports a
// connection that ended with no close frame as a CloseError with code
// 1006, abnormal closure, which no close frame carries.)
func pushesMayBeLost(err error) bool {
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		return ce.Code == gws.CloseAbnormalClosure
	}
	return !errors.Is(err, bayeux.ErrClosed)
}

// tear fails the connection with err and closes it.
func (c *conn) tear(err error) {
	if c.fail(err) {
		c.t.logger.Debug("bayeux websocket connection torn", "client", c.t.cfg.ClientName, "url", c.url, "error", err)
	}
	c.ws.Close()
}

// close ends the connection for Close: calls fail with bayeux.ErrClosed, a
// close frame (1000) is sent, and the server gets a moment to answer it
// before the network connection is closed.
func (c *conn) close() {
	c.fail(bayeux.ErrClosed)
	msg := gws.FormatCloseMessage(gws.CloseNormalClosure, "")
	if c.ws.WriteControl(gws.CloseMessage, msg, time.Now().Add(min(c.t.o.writeTimeout, closeGrace))) == nil {
		timer := time.NewTimer(closeGrace)
		select {
		case <-c.readerDone:
		case <-timer.C:
		}
		timer.Stop()
	}
	c.ws.Close()
}

// smallFrame is the size of the reader's scratch buffers: frames that fit
// are copied out of one into a buffer of their exact size.
const smallFrame = 4096

// scratchPool holds the reader's scratch buffers, shared by the process's
// connections: a reader holds one only while it reads a frame, so an idle
// connection (its reader waiting for the next frame) holds none.
var scratchPool = sync.Pool{New: func() any { return new([smallFrame]byte) }}

// readLoop reads frames until the connection fails.
func (c *conn) readLoop() {
	defer c.t.wg.Done()
	defer close(c.readerDone)
	for {
		typ, r, err := c.ws.NextReader()
		if err != nil {
			c.tear(c.readError(err))
			return
		}
		c.activity.Add(1)
		c.frames.Add(1)
		if typ != gws.TextMessage {
			c.rejectBinary()
			return
		}
		frame, err := c.readFrame(r)
		if err != nil {
			c.tear(c.readError(err))
			return
		}
		if n := c.t.cfg.Counters; n != nil {
			n.BytesIn.Add(uint64(len(frame)))
		}
		c.busy.Store(true)
		err = c.handleFrame(frame)
		c.handled.Add(1)
		c.busy.Store(false)
		if err != nil {
			c.tear(err)
			return
		}
	}
}

// rejectBinary tears the connection after a binary frame: Bayeux frames
// are JSON text, so the frame's content is not read. The server is told
// why with close code 1003 (unsupported data); the requests in flight fail
// with a *bayeux.TransportError wrapping a *bayeux.DecodeError.
func (c *conn) rejectBinary() {
	err := transportError(&bayeux.DecodeError{Reason: "binary websocket frame (Bayeux frames are text)"})
	c.fail(err)
	c.t.logger.Debug("bayeux websocket connection torn", "client", c.t.cfg.ClientName, "url", c.url, "error", err)
	msg := gws.FormatCloseMessage(gws.CloseUnsupportedData, "binary frame")
	_ = c.ws.WriteControl(gws.CloseMessage, msg, time.Now().Add(min(c.t.o.writeTimeout, closeGrace)))
	c.ws.Close()
}

// readError maps a read failure to the error that tears the connection.
func (c *conn) readError(err error) error {
	if errors.Is(err, gws.ErrReadLimit) {
		return transportError(fmt.Errorf("%w: a websocket message exceeds %d bytes (%w)",
			bayeux.ErrTooLarge, c.t.o.maxMessageBytes, err))
	}
	return transportError(fmt.Errorf("websocket read: %w", err))
}

// readFrame reads the rest of a message into a new buffer, which is handed
// to the decoder and never reused (decoded messages alias it). A small
// message goes through a scratch buffer (from scratchPool) and is copied
// into a buffer of its size; a large one is read in place into a buffer
// sized after the previous large message.
func (c *conn) readFrame(r io.Reader) ([]byte, error) {
	scratch := scratchPool.Get().(*[smallFrame]byte)
	defer scratchPool.Put(scratch)
	n := 0
	for n < len(scratch) {
		k, err := r.Read(scratch[n:])
		n += k
		if err == io.EOF {
			return slices.Clone(scratch[:n]), nil
		}
		if err != nil {
			return nil, err
		}
	}
	limit := int(min(c.t.o.maxMessageBytes, 1<<30)) + 1
	buf := make([]byte, n, min(max(c.hint, 4*smallFrame), limit))
	copy(buf, scratch[:n])
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, len(buf))
		}
		k, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		c.activity.Add(1)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	c.hint = min(len(buf)+len(buf)/8+1024, limit)
	return buf, nil
}

// handleFrame decodes a frame and dispatches its messages: a reply to a
// pending request completes it; every other message (events, replies
// nobody waits for) goes to Receive. A malformed frame returns the error
// that tears the connection.
//
// When the client takes replies through Receive (ReceiveReplies), the
// whole frame goes to Receive in one call, and the requests it answers
// complete after that, with no messages of their own: the client handles
// the frame in the server's order, a /meta/connect reply with the events
// around it. Otherwise runs of consecutive non-replies are passed to
// Receive as they stand in the frame, and the replies are returned by
// the RoundTrips they answer.
func (c *conn) handleFrame(frame []byte) error {
	msgs, err := bayeux.DecodeMessages(frame)
	if err != nil {
		return transportError(err)
	}
	if c.t.receiveReplies {
		c.handleWhole(msgs)
		return nil
	}
	start := 0
	for i := range msgs {
		m := &msgs[i]
		if !isReply(m) {
			continue
		}
		c.mu.Lock()
		cl := c.pending[m.ID]
		complete := false
		if cl != nil {
			delete(c.pending, m.ID)
			cl.replies = append(cl.replies, *m)
			cl.remaining--
			if cl.remaining == 0 {
				cl.finished = true
				complete = true
			}
		}
		c.mu.Unlock()
		if cl == nil {
			continue
		}
		c.t.deliver(msgs[start:i:i])
		start = i + 1
		if complete {
			close(cl.done)
		}
	}
	c.t.deliver(msgs[start:len(msgs):len(msgs)])
	return nil
}

// isReply reports whether m may be the reply to a pending request.
func isReply(m *bayeux.Message) bool {
	return m.ID != "" && (m.HasSuccessful() || m.IsMeta())
}

// handleWhole passes a frame to Receive whole, then completes the
// requests whose replies it held (the client took the replies from
// Receive). A frame Receive no longer takes (Close is returning)
// completes nothing: Close fails those requests. A request that gave up
// or failed meanwhile is left as it is.
func (c *conn) handleWhole(msgs []bayeux.Message) {
	if !c.t.deliver(msgs) {
		return
	}
	var done []*call
	c.mu.Lock()
	for i := range msgs {
		m := &msgs[i]
		if !isReply(m) {
			continue
		}
		cl := c.pending[m.ID]
		if cl == nil {
			continue
		}
		delete(c.pending, m.ID)
		cl.remaining--
		if cl.remaining == 0 && !cl.finished {
			cl.finished = true
			done = append(done, cl)
		}
	}
	c.mu.Unlock()
	for _, cl := range done {
		close(cl.done)
	}
}

// keepAlive is the connection's keep-alive: it pings the server every
// ping interval and tears the connection when nothing arrives within the
// pong timeout after a ping. It runs on a timer (time.AfterFunc) rather
// than a goroutine of its own, so that an idle connection costs no
// goroutine stack for it: each firing runs one step (ping, or check after
// the pong timeout) and arms the timer for the next one.
//
// The keep-alive holds one count of the transport's WaitGroup from start
// until it stops: Close's wait covers a step in progress, and no step
// starts after the connection is torn.
type keepAlive struct {
	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
	// pinged is true between a ping and its check; seen and handled are
	// conn.activity and conn.handled when the ping was sent.
	pinged        bool
	seen, handled uint64
}

// startKeepAlive arms the keep-alive's first ping. The caller has added
// one to the transport's WaitGroup for it.
func (c *conn) startKeepAlive() {
	c.ka.mu.Lock()
	defer c.ka.mu.Unlock()
	if c.ka.stopped {
		// Torn before it started.
		c.t.wg.Done()
		return
	}
	c.ka.timer = time.AfterFunc(c.t.o.pingInterval, c.keepAliveStep)
}

// stopKeepAlive stops the keep-alive: no step starts after it returns, and
// a step in progress ends without arming the timer again. Whoever stops
// the timer (this or the step) releases the keep-alive's WaitGroup count.
func (c *conn) stopKeepAlive() {
	c.ka.mu.Lock()
	if c.ka.stopped {
		c.ka.mu.Unlock()
		return
	}
	c.ka.stopped = true
	// Without a timer, the keep-alive is disabled or not started yet
	// (startKeepAlive then sees stopped).
	pending := c.ka.timer != nil && c.ka.timer.Stop()
	c.ka.mu.Unlock()
	if pending {
		// The timer will not fire: no step runs, none will.
		c.t.wg.Done()
	}
	// Otherwise a step has started; it sees stopped and releases the count.
}

// keepAliveStep runs when the keep-alive's timer fires: it sends a ping,
// or, a pong timeout after the ping, tears the connection if nothing
// arrived meanwhile (and the reader was not busy with a frame, which
// delays the processing of the pong).
func (c *conn) keepAliveStep() {
	c.ka.mu.Lock()
	if c.ka.stopped {
		c.ka.mu.Unlock()
		c.t.wg.Done()
		return
	}
	interval, timeout := c.t.o.pingInterval, c.t.o.pongTimeout
	var failure error
	if !c.ka.pinged {
		c.ka.seen, c.ka.handled = c.activity.Load(), c.handled.Load()
		c.ka.mu.Unlock()
		// Not under the lock: the write may take up to the write timeout,
		// and a tear meanwhile stops the keep-alive.
		if err := c.ws.WriteControl(gws.PingMessage, nil, time.Now().Add(c.t.o.writeTimeout)); err != nil {
			failure = transportError(fmt.Errorf("websocket ping: %w", err))
		}
		c.ka.mu.Lock()
		c.ka.pinged = true
	} else {
		if c.activity.Load() == c.ka.seen && !c.busy.Load() && c.handled.Load() == c.ka.handled {
			failure = transportError(fmt.Errorf("%w (nothing received %v after a ping)", ErrPongTimeout, timeout))
		}
		c.ka.pinged = false
	}
	if c.ka.stopped || failure != nil {
		c.ka.stopped = true
		c.ka.mu.Unlock()
		if failure != nil {
			c.tear(failure)
		}
		c.t.wg.Done()
		return
	}
	next := timeout
	if !c.ka.pinged {
		next = max(interval-timeout, 0)
	}
	c.ka.timer.Reset(next)
	c.ka.mu.Unlock()
}
