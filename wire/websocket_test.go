package wire_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/wire"
	gws "github.com/gorilla/websocket"
)

// wsServer echoes text frames, answers "binary" with a binary frame and
// "close" with a close frame 4000 "bye", and stays silent on "hush".
func wsServer(t *testing.T) *httptest.Server {
	up := gws.Upgrader{Subprotocols: []string{"bayeux"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Refuse") != "" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		c, err := up.Upgrade(w, r, http.Header{"Set-Cookie": {"BAYEUX_BROWSER=w1"}})
		if err != nil {
			return
		}
		defer c.Close()
		for {
			typ, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			switch string(data) {
			case "binary":
				_ = c.WriteMessage(gws.BinaryMessage, []byte{0, 1, 2})
			case "close":
				_ = c.WriteMessage(gws.CloseMessage, gws.FormatCloseMessage(4000, "bye"))
			case "hush":
			default:
				_ = c.WriteMessage(typ, data)
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestWebSocketFrames(t *testing.T) {
	srv := wsServer(t)
	ctx := testCtx(t)
	ws, resp, err := wire.DialWebSocket(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), wire.DialOptions{Subprotocols: []string{"bayeux"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols || ws.Subprotocol() != "bayeux" || len(resp.Cookies()) != 1 {
		t.Fatalf("upgrade answer %d, subprotocol %q, cookies %v", resp.StatusCode, ws.Subprotocol(), resp.Cookies())
	}
	exchange := func(send wire.Frame) wire.Frame {
		t.Helper()
		if err := ws.WriteFrame(ctx, send); err != nil {
			t.Fatal(err)
		}
		f, err := ws.ReadFrame(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if f := exchange(wire.Frame{Type: wire.TextFrame, Data: []byte(`[{"channel":"/meta/connect"}]`)}); f.Type != wire.TextFrame || string(f.Data) != `[{"channel":"/meta/connect"}]` {
		t.Fatalf("echo %v %q", f.Type, f.Data)
	}
	if f := exchange(wire.Frame{Type: wire.TextFrame, Data: []byte("binary")}); f.Type != wire.BinaryFrame || string(f.Data) != "\x00\x01\x02" {
		t.Fatalf("binary %v %q", f.Type, f.Data)
	}
	// A deadline ends a read on a silent server.
	if err := ws.WriteFrame(ctx, wire.Frame{Type: wire.TextFrame, Data: []byte("hush")}); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := ws.ReadFrame(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read past the deadline: %v", err)
	}
}

func TestWebSocketCloseFrame(t *testing.T) {
	srv := wsServer(t)
	ctx := testCtx(t)
	ws, _, err := wire.DialWebSocket(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), wire.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteFrame(ctx, wire.Frame{Type: wire.TextFrame, Data: []byte("close")}); err != nil {
		t.Fatal(err)
	}
	f, err := ws.ReadFrame(ctx)
	if err != nil || f.Type != wire.CloseFrame || f.Code != 4000 || string(f.Data) != "bye" || f.Type.String() != "close" {
		t.Fatalf("close frame %+v, %v", f, err)
	}
	if err := ws.WriteFrame(ctx, wire.Frame{Type: wire.CloseFrame, Code: 1000}); err != nil {
		t.Fatal(err)
	}
	if _, err := ws.ReadFrame(ctx); err == nil {
		t.Fatal("read after the close frame")
	}
}

func TestWebSocketRefused(t *testing.T) {
	srv := wsServer(t)
	_, resp, err := wire.DialWebSocket(testCtx(t), "ws"+strings.TrimPrefix(srv.URL, "http"), wire.DialOptions{Header: http.Header{"X-Refuse": {"1"}}})
	if !errors.Is(err, wire.ErrBadHandshake) || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("refused upgrade: %v, %v", resp, err)
	}
}
