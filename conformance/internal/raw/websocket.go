package raw

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// UpgradeRefusedError reports a websocket upgrade answered without 101.
type UpgradeRefusedError struct {
	Status int
	Err    error
}

func (e *UpgradeRefusedError) Error() string {
	return fmt.Sprintf("websocket upgrade refused with HTTP %d: %v", e.Status, e.Err)
}

func (e *UpgradeRefusedError) Unwrap() error { return e.Err }

// Frame is one websocket message as read.
type Frame struct {
	Type int // websocket.TextMessage, websocket.BinaryMessage
	Data []byte
}

// WS is a raw websocket connection. Write may be called concurrently with
// Read; Read must be called from one goroutine.
type WS struct {
	c  *websocket.Conn
	wm sync.Mutex // one writer at a time, as gorilla/websocket requires
}

// DialWS opens a websocket to url (ws:// or wss://) with the cookies of jar.
func DialWS(ctx context.Context, url string, jar http.CookieJar, maxFrame int64) (*WS, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, Jar: jar}
	c, resp, err := d.DialContext(ctx, url, nil)
	if err != nil {
		if resp != nil {
			return nil, &UpgradeRefusedError{Status: resp.StatusCode, Err: err}
		}
		return nil, err
	}
	if maxFrame > 0 {
		c.SetReadLimit(maxFrame)
	}
	return &WS{c: c}, nil
}

// Write sends one text frame.
func (w *WS) Write(b []byte) error {
	w.wm.Lock()
	defer w.wm.Unlock()
	return w.c.WriteMessage(websocket.TextMessage, b)
}

// Read reads the next frame, giving up when ctx ends (the connection is
// then unusable).
func (w *WS) Read(ctx context.Context) (Frame, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = w.c.SetReadDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = w.c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	t, b, err := w.c.ReadMessage()
	if err != nil {
		if ctx.Err() != nil {
			return Frame{}, ctx.Err()
		}
		return Frame{}, err
	}
	return Frame{Type: t, Data: b}, nil
}

// CloseCode returns the close code of an error returned by Read, or 0.
func CloseCode(err error) int {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

// Close closes the connection without a close handshake.
func (w *WS) Close() error { return w.c.Close() }
