package bayeux_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/websocket"
)

// tokenExtension is a client extension: it adds a token to the ext of
// every handshake.
type tokenExtension struct{ token string }

// Outgoing adds the token to handshakes.
func (e *tokenExtension) Outgoing(m *bayeux.Message) {
	if m.Channel == bayeux.MetaHandshake {
		if m.Ext == nil {
			m.Ext = map[string]any{}
		}
		m.Ext["token"] = e.token
	}
}

// Incoming leaves received messages alone.
func (e *tokenExtension) Incoming(*bayeux.Message) {}

// Registered is called when the extension is added to a client.
func (e *tokenExtension) Registered(string, *bayeux.BayeuxClient) {}

// Unregistered is called when the extension is removed.
func (e *tokenExtension) Unregistered() {}

// A client extension changes the messages a client sends: here it adds a
// token that the server checks.
func ExampleMessageExtender() {
	srv := bayeuxtest.NewServer(bayeuxtest.WithExtension(bayeuxtest.ExtensionFuncs{
		In: func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake && m.Ext["token"] != "s3cret" {
				m.Error = "401::Unauthorized"
			}
		},
	}))
	defer srv.Close()
	ctx := context.Background()

	c, _ := bayeux.NewClient(srv.URL, bayeux.WithTransports(longpoll.New()),
		bayeux.WithExtensions(&tokenExtension{token: "s3cret"}))
	fmt.Println("with the token:", c.Connect(ctx))
	c.Disconnect(ctx)

	c, _ = bayeux.NewClient(srv.URL, bayeux.WithTransports(longpoll.New()))
	err := c.Connect(ctx)
	fmt.Println("without:", errors.Is(err, bayeux.ErrHandshakeDenied))
	// Output:
	// with the token: <nil>
	// without: true
}

// WithLogger gives the client a log/slog logger. At level Info it logs
// what changes the session's course, such as a refused transport; Debug
// adds every state change and transport detail.
func ExampleWithLogger() {
	srv := bayeuxtest.NewServer()
	defer srv.Close()
	srv.RefuseWebSocket(true)

	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelInfo,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // keep the output stable
			}
			return a
		},
	}))
	c, _ := bayeux.NewClient(srv.URL, bayeux.WithLogger(logger),
		bayeux.WithTransports(websocket.New(), longpoll.New()))
	ctx := context.Background()
	if err := c.Connect(ctx); err != nil {
		panic(err)
	}
	defer c.Disconnect(ctx)
	fmt.Println("using", c.TransportName())
	// Output:
	// level=INFO msg="bayeux transport refused" transport=websocket retryIn=30s
	// using long-polling
}

// The state listener sees the session's life; it is called in order, on a
// goroutine of the client.
func ExampleWithStateListener() {
	srv := bayeuxtest.NewServer()
	defer srv.Close()
	changes := make(chan bayeux.StateChange, 16)
	c, _ := bayeux.NewClient(srv.URL, bayeux.WithTransports(longpoll.New()),
		bayeux.WithStateListener(func(sc bayeux.StateChange) { changes <- sc }))
	ctx := context.Background()
	if err := c.Connect(ctx); err != nil {
		panic(err)
	}
	waitState(changes, bayeux.StateConnected)
	c.Disconnect(ctx)
	waitState(changes, bayeux.StateDisconnected)
	// Output:
	// disconnected -> handshaking
	// handshaking -> connecting
	// connecting -> connected
	// connected -> disconnecting
	// disconnecting -> disconnected
}

// waitState prints state changes until the client reaches to.
func waitState(changes <-chan bayeux.StateChange, to bayeux.State) {
	for sc := range changes {
		fmt.Println(sc.From, "->", sc.To)
		if sc.To == to {
			return
		}
	}
}

// The error handler receives the failures the client recovers from by
// itself, here a /meta/connect answered with HTTP 500: the client retries
// after a backoff.
func ExampleWithErrorHandler() {
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(50 * time.Millisecond))
	defer srv.Close()
	errs := make(chan error, 16)
	c, _ := bayeux.NewClient(srv.URL, bayeux.WithTransports(longpoll.New()),
		bayeux.WithBackoff(10*time.Millisecond, 100*time.Millisecond),
		bayeux.WithErrorHandler(func(err error) { errs <- err }))
	ctx := context.Background()
	if err := c.Connect(ctx); err != nil {
		panic(err)
	}
	defer c.Disconnect(ctx)

	srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Status: 500})
	err := <-errs
	var te *bayeux.TransportError
	fmt.Println(errors.Is(err, bayeux.ErrTransport), errors.As(err, &te), te.StatusCode)
	// Output: true true 500
}

// When the server loses the session, the client handshakes again and
// renews its subscriptions by itself; the state listener tells when.
func ExampleClient_reconnect() {
	srv := bayeuxtest.NewServer()
	defer srv.Close()
	states := make(chan bayeux.StateChange, 16)
	c, _ := bayeux.NewClient(srv.URL, bayeux.WithTransports(longpoll.New()),
		bayeux.WithStateListener(func(sc bayeux.StateChange) { states <- sc }))
	ctx := context.Background()
	if err := c.Connect(ctx); err != nil {
		panic(err)
	}
	defer c.Disconnect(ctx)
	got := make(chan bayeux.Message, 1)
	if _, err := c.Subscribe(ctx, "/news", func(m bayeux.Message) { got <- m }); err != nil {
		panic(err)
	}
	for sc := range states {
		if sc.To == bayeux.StateConnected {
			break
		}
	}

	srv.ExpireSession(c.ClientID())
	for sc := range states {
		if sc.To == bayeux.StateRehandshaking {
			fmt.Println("session lost:", errors.Is(sc.Err, bayeux.ErrUnknownClient))
		}
		if sc.To == bayeux.StateConnected {
			fmt.Println("connected again")
			break
		}
	}
	if err := srv.WaitSubscribed(ctx, "/news"); err != nil {
		panic(err)
	}
	_ = srv.Publish("/news", "still subscribed")
	fmt.Println(string((<-got).Data), "after", srv.HandshakeCount(), "handshakes")
	// Output:
	// session lost: true
	// connected again
	// "still subscribed" after 2 handshakes
}

// Call makes a remote call to a /service/ channel and returns the server's
// answer.
func ExampleClient_Call() {
	srv := bayeuxtest.NewServer()
	defer srv.Close()
	srv.HandleService("/service/length", func(m bayeux.Message) (any, error) {
		var s string
		if err := json.Unmarshal(m.Data, &s); err != nil {
			return nil, err
		}
		return map[string]int{"length": len(s)}, nil
	})
	c, _ := bayeux.NewClient(srv.URL, bayeux.WithTransports(longpoll.New()))
	ctx := context.Background()
	if err := c.Connect(ctx); err != nil {
		panic(err)
	}
	defer c.Disconnect(ctx)

	reply, err := c.Call(ctx, "/service/length", "gopher")
	if err != nil {
		panic(err)
	}
	fmt.Println(string(reply.Data))
	// Output: {"length":6}
}

// A listener on a /meta/ channel sees the protocol's replies: here every
// confirmed subscription.
func ExampleClient_AddListener() {
	srv := bayeuxtest.NewServer()
	defer srv.Close()
	c, _ := bayeux.NewClient(srv.URL, bayeux.WithTransports(longpoll.New()))
	ctx := context.Background()
	confirmed := make(chan bayeux.Message, 4)
	if _, err := c.AddListener(bayeux.MetaSubscribe, func(m bayeux.Message) { confirmed <- m }); err != nil {
		panic(err)
	}
	if err := c.Connect(ctx); err != nil {
		panic(err)
	}
	defer c.Disconnect(ctx)

	if _, err := c.Subscribe(ctx, "/weather/*", func(bayeux.Message) {}); err != nil {
		panic(err)
	}
	m := <-confirmed
	fmt.Println(m.Subscription, m.Successful)
	// Output: [/weather/*] true
}

// WithHandshakeExt sends credentials in the ext of every handshake (and
// never logs them).
func ExampleWithHandshakeExt() {
	seen := make(chan any, 1)
	srv := bayeuxtest.NewServer(bayeuxtest.WithExtension(bayeuxtest.ExtensionFuncs{
		In: func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake {
				seen <- m.Ext["credentials"]
			}
		},
	}))
	defer srv.Close()
	c, _ := bayeux.NewClient(srv.URL, bayeux.WithTransports(longpoll.New()),
		bayeux.WithHandshakeExt(map[string]any{"credentials": map[string]any{"user": "ada", "token": "t0k3n"}}))
	ctx := context.Background()
	if err := c.Connect(ctx); err != nil {
		panic(err)
	}
	defer c.Disconnect(ctx)
	fmt.Println(<-seen)
	// Output: map[token:t0k3n user:ada]
}

// StrategyUpgrade is Faye's order: the handshake goes over HTTP
// long-polling, then the session moves to websocket. StrategyFallback, the
// default, handshakes over websocket at once.
func ExampleWithTransportStrategy() {
	var srv *bayeuxtest.Server
	socketsAtHandshake := make(chan int, 2)
	srv = bayeuxtest.NewServer(bayeuxtest.WithExtension(bayeuxtest.ExtensionFuncs{
		In: func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake {
				socketsAtHandshake <- srv.WebSockets()
			}
		},
	}))
	defer srv.Close()
	ctx := context.Background()
	for _, s := range []bayeux.Strategy{bayeux.StrategyUpgrade, bayeux.StrategyFallback} {
		c, _ := bayeux.NewClient(srv.URL, bayeux.WithTransportStrategy(s),
			bayeux.WithTransports(websocket.New(), longpoll.New()))
		if err := c.Connect(ctx); err != nil {
			panic(err)
		}
		fmt.Println("websockets open at the handshake:", <-socketsAtHandshake, "then using", c.TransportName())
		c.Disconnect(ctx)
		// The server sees the socket close a moment later.
		_ = srv.WaitFor(ctx, func(s *bayeuxtest.Server) bool { return s.WebSockets() == 0 })
	}
	// Output:
	// websockets open at the handshake: 0 then using websocket
	// websockets open at the handshake: 1 then using websocket
}
