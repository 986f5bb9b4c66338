package wire_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/bayeux-go/sdk/wire"
	gws "github.com/gorilla/websocket"
)

// A long-polling POST and a callback-polling GET with a chosen callback
// name, their answers returned as received.
func ExampleHTTP() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cb := r.URL.Query().Get("jsonp"); cb != "" {
			fmt.Fprintf(w, "%s([]);", cb)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `[{"channel":"/meta/handshake","successful":false}]`)
	}))
	defer srv.Close()
	h := wire.NewHTTP(wire.WithClient(srv.Client()))
	ctx := context.Background()

	ex, err := h.Post(ctx, wire.LaneOther, srv.URL, []byte(`[{"channel":"/meta/handshake"}]`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ex.StatusCode, ex.Header.Get("Content-Type"), string(ex.Body))

	ex, err = h.GetJSONP(ctx, wire.LaneOther, srv.URL, "my_callback", []byte(`[]`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ex.StatusCode, string(ex.Body))
	// Output:
	// 400 application/json [{"channel":"/meta/handshake","successful":false}]
	// 200 my_callback([]);
}

// What a forgiving decoder would hide.
func ExampleDecode() {
	p, err := wire.Decode([]byte(`[{"Channel":"/meta/connect","id":42,"successful":true,"successful":false,"x":1}]`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range p.Findings {
		fmt.Println(f)
	}
	fmt.Println(string(p.Messages[0].Raw))
	// Output:
	// message 0: folded key "Channel": the field is "channel"
	// message 0: wrong type "id": a JSON number where a string belongs
	// message 0: duplicate key "successful": the key appears more than once
	// message 0: unknown field "x": not a Bayeux field
	// {"Channel":"/meta/connect","id":42,"successful":true,"successful":false,"x":1}
}

// Frames written and read as they are.
func ExampleDialWebSocket() {
	up := gws.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		_, data, _ := c.ReadMessage()
		_ = c.WriteMessage(gws.BinaryMessage, data)
		_ = c.WriteMessage(gws.CloseMessage, gws.FormatCloseMessage(gws.CloseGoingAway, "restart"))
	}))
	defer srv.Close()
	ctx := context.Background()
	ws, _, err := wire.DialWebSocket(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), wire.DialOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ws.Close()
	_ = ws.WriteFrame(ctx, wire.Frame{Type: wire.TextFrame, Data: []byte(`[{"channel":"/meta/connect"}]`)})
	for range 2 {
		f, err := ws.ReadFrame(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(f.Type, f.Code, string(f.Data))
	}
	// Output:
	// binary 0 [{"channel":"/meta/connect"}]
	// close 1001 restart
}
