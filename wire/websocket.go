package wire

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	gws "github.com/gorilla/websocket"
)

// FrameType is the type of a websocket frame.
type FrameType int

// The frame types a WebSocket reads and writes.
const (
	TextFrame   FrameType = gws.TextMessage
	BinaryFrame FrameType = gws.BinaryMessage
	CloseFrame  FrameType = gws.CloseMessage
)

// String returns "text", "binary" or "close".
func (t FrameType) String() string {
	switch t {
	case TextFrame:
		return "text"
	case BinaryFrame:
		return "binary"
	case CloseFrame:
		return "close"
	}
	return "frame type " + strconv.Itoa(int(t))
}

// Frame is one websocket message (a data message, reassembled from its
// fragments, or a close frame).
type Frame struct {
	Type FrameType
	// Data is the payload of a text or binary frame, or the reason text of
	// a close frame.
	Data []byte
	// Code is the status code of a close frame (gws.CloseNoStatusReceived
	// when the frame had none).
	Code int
}

// DialOptions configure DialWebSocket.
type DialOptions struct {
	// Header is sent with the upgrade request.
	Header http.Header
	// Jar, if not nil, gives the upgrade request its cookies and stores
	// those of the answer.
	Jar http.CookieJar
	// Subprotocols are offered in Sec-WebSocket-Protocol.
	Subprotocols []string
	// TLSClientConfig is used for wss URLs (nil: the system's roots).
	TLSClientConfig *tls.Config
	// EnableCompression offers permessage-deflate.
	EnableCompression bool
	// ReadLimit bounds the size of a frame read (<= 0: DefaultMaxBodyBytes).
	ReadLimit int64
}

// WebSocket is a raw websocket connection: frames are written and read as
// they are. One goroutine may read while another writes. A close frame
// from the server is returned by ReadFrame and not answered: the caller
// decides (WriteFrame of a CloseFrame, then Close). Pings are answered
// with pongs.
type WebSocket struct {
	ws  *gws.Conn
	wmu sync.Mutex

	cmu    sync.Mutex
	closed *Frame // the close frame received, once
}

// DialWebSocket opens a websocket to url (ws:// or wss://) and returns it
// with the server's upgrade answer (whose body is closed). When the server
// refuses the upgrade, the error is ErrBadHandshake (errors.Is) and the
// answer is returned with it when there was one.
func DialWebSocket(ctx context.Context, url string, o DialOptions) (*WebSocket, *http.Response, error) {
	d := gws.Dialer{
		Proxy:             http.ProxyFromEnvironment,
		HandshakeTimeout:  45 * time.Second,
		Jar:               o.Jar,
		Subprotocols:      o.Subprotocols,
		TLSClientConfig:   o.TLSClientConfig,
		EnableCompression: o.EnableCompression,
	}
	ws, resp, err := d.DialContext(ctx, url, o.Header)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if errors.Is(err, gws.ErrBadHandshake) {
			err = ErrBadHandshake
		}
		return nil, resp, redact(err)
	}
	limit := o.ReadLimit
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	ws.SetReadLimit(limit)
	c := &WebSocket{ws: ws}
	ws.SetCloseHandler(func(code int, text string) error {
		c.cmu.Lock()
		c.closed = &Frame{Type: CloseFrame, Code: code, Data: []byte(text)}
		c.cmu.Unlock()
		return nil
	})
	return c, resp, nil
}

// ErrBadHandshake is returned by DialWebSocket when the server did not
// answer the upgrade with 101 Switching Protocols.
var ErrBadHandshake = errors.New("websocket: upgrade refused (no 101 Switching Protocols)")

// Subprotocol returns the subprotocol the server chose.
func (c *WebSocket) Subprotocol() string { return c.ws.Subprotocol() }

// WriteFrame writes f as one frame. For a CloseFrame, f.Code and f.Data
// make the payload (no code at all when f.Code is 0 and f.Data is empty).
// It returns when ctx ends or its deadline passes.
func (c *WebSocket) WriteFrame(ctx context.Context, f Frame) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	stop := deadline(ctx, c.ws.SetWriteDeadline)
	defer stop()
	data := f.Data
	if f.Type == CloseFrame && (f.Code != 0 || len(f.Data) > 0) {
		data = gws.FormatCloseMessage(f.Code, string(f.Data))
	}
	err := c.ws.WriteMessage(int(f.Type), data)
	return ctxErr(ctx, err)
}

// ReadFrame reads the next text, binary or close frame. After a close
// frame (returned once) the connection reads no more and ReadFrame returns
// an error. It returns when ctx ends or its deadline passes; the
// connection is then unusable (close it).
func (c *WebSocket) ReadFrame(ctx context.Context) (Frame, error) {
	stop := deadline(ctx, c.ws.SetReadDeadline)
	defer stop()
	typ, data, err := c.ws.ReadMessage()
	if err != nil {
		var ce *gws.CloseError
		if errors.As(err, &ce) {
			c.cmu.Lock()
			f := c.closed
			c.closed = nil
			c.cmu.Unlock()
			if f != nil {
				return *f, nil
			}
		}
		return Frame{}, ctxErr(ctx, err)
	}
	return Frame{Type: FrameType(typ), Data: data}, nil
}

// Close closes the underlying connection without a close frame.
func (c *WebSocket) Close() error { return c.ws.Close() }

// deadline applies ctx's deadline with set, and makes the operation end
// when ctx is canceled. The returned function stops that.
func deadline(ctx context.Context, set func(time.Time) error) func() {
	if d, ok := ctx.Deadline(); ok {
		_ = set(d)
	} else {
		_ = set(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { _ = set(time.Unix(1, 0)) })
	return func() { stop() }
}

// ctxErr returns ctx's error when ctx ended (the cause of a deadline error
// in that case), err otherwise.
func ctxErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return errors.Join(ctx.Err(), err)
	}
	// The connection's deadline can pass a moment before ctx's own timer
	// fires: a timeout at or after ctx's deadline is ctx's.
	var ne net.Error
	if d, ok := ctx.Deadline(); ok && errors.As(err, &ne) && ne.Timeout() && !time.Now().Before(d) {
		return errors.Join(context.DeadlineExceeded, err)
	}
	return err
}
