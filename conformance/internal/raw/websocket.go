package raw

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/bayeux-go/sdk/wire"
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

// ErrClosed is returned by Read after the server's close frame; the
// frame's code is in CloseError.
var ErrClosed = errors.New("websocket closed by the server")

// CloseError is the error of Read after a close frame.
type CloseError struct{ Code int }

func (e *CloseError) Error() string { return fmt.Sprintf("%v with code %d", ErrClosed, e.Code) }

func (e *CloseError) Unwrap() error { return ErrClosed }

// Frame is one websocket message as read.
type Frame = wire.Frame

// WS is a raw websocket connection. Write may be called concurrently with
// Read; Read must be called from one goroutine.
type WS struct {
	c *wire.WebSocket
}

// DialWS opens a websocket to url (ws:// or wss://) with the cookies of
// jar, reading frames of up to maxFrame bytes.
func DialWS(ctx context.Context, url string, jar http.CookieJar, maxFrame int64) (*WS, error) {
	c, resp, err := wire.DialWebSocket(ctx, url, wire.DialOptions{Jar: jar, ReadLimit: maxFrame})
	if err != nil {
		if resp != nil {
			return nil, &UpgradeRefusedError{Status: resp.StatusCode, Err: err}
		}
		return nil, err
	}
	return &WS{c: c}, nil
}

// Write sends one text frame.
func (w *WS) Write(ctx context.Context, b []byte) error {
	return w.c.WriteFrame(ctx, wire.Frame{Type: wire.TextFrame, Data: b})
}

// Read reads the next text or binary frame; a close frame ends the
// connection with a *CloseError.
func (w *WS) Read(ctx context.Context) (Frame, error) {
	f, err := w.c.ReadFrame(ctx)
	if err != nil {
		return Frame{}, err
	}
	if f.Type == wire.CloseFrame {
		return Frame{}, &CloseError{Code: f.Code}
	}
	return f, nil
}

// Close closes the connection without a close handshake.
func (w *WS) Close() error { return w.c.Close() }
