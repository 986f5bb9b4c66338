package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/callbackpoll"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/websocket"
)

// defaultURL is the address "bayeux serve" listens on by default.
const defaultURL = "http://127.0.0.1:8080/bayeux"

// transportNames are the values of -transport.
var transportNames = []string{"auto", bayeux.ConnectionTypeWebSocket, bayeux.ConnectionTypeLongPolling, bayeux.ConnectionTypeCallbackPolling}

// clientFlags are the flags of the commands that connect to a server.
type clientFlags struct {
	url            string
	transport      string
	header         headerFlag
	ext            extFlag
	verbose        bool
	connectTimeout time.Duration
}

func (f *clientFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "url", defaultURL, "the Bayeux server's URL (the default is where 'bayeux serve' listens)")
	fs.StringVar(&f.transport, "transport", "auto",
		"the transport: "+strings.Join(transportNames, ", ")+"\n(auto: websocket, falling back to long-polling, then callback-polling; any other value means that transport only)")
	f.header = headerFlag{}
	fs.Var(f.header, "header", "an HTTP header `Key:Value` sent with every request and the websocket upgrade (repeatable)")
	fs.Var(&f.ext, "ext", "a JSON `object` merged into the ext field of every message sent, handshake included")
	fs.BoolVar(&f.verbose, "v", false, "report progress on stderr even when it is not a terminal, with the client's logs")
	fs.DurationVar(&f.connectTimeout, "connect-timeout", 15*time.Second, "how long to try to reach the server")
}

// headerFlag collects -header values.
type headerFlag http.Header

func (h headerFlag) String() string { return "" }

func (h headerFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, ":")
	k = strings.TrimSpace(k)
	if !ok || k == "" || strings.ContainsAny(k, " \t") {
		return fmt.Errorf("want Key:Value, got %q", v)
	}
	http.Header(h).Add(k, strings.TrimSpace(val))
	return nil
}

// extFlag holds the -ext object.
type extFlag struct{ m map[string]any }

func (e *extFlag) String() string { return "" }

func (e *extFlag) Set(v string) error {
	var m map[string]any
	if err := json.Unmarshal([]byte(v), &m); err != nil || m == nil {
		return fmt.Errorf("want a JSON object such as '{\"replay\":true}', got %q", v)
	}
	if e.m == nil {
		e.m = m
		return nil
	}
	maps.Copy(e.m, m)
	return nil
}

// transports returns the transports -transport names, each given the
// -header fields.
func (f *clientFlags) transports() ([]bayeux.Transport, error) {
	h := http.Header(f.header)
	ws := func() bayeux.Transport { return websocket.New(websocket.WithHeaders(h)) }
	lp := func() bayeux.Transport { return longpoll.New(longpoll.WithHeaders(h)) }
	cp := func() bayeux.Transport { return callbackpoll.New(callbackpoll.WithHeaders(h)) }
	switch f.transport {
	case "auto":
		return []bayeux.Transport{ws(), lp(), cp()}, nil
	case bayeux.ConnectionTypeWebSocket:
		return []bayeux.Transport{ws()}, nil
	case bayeux.ConnectionTypeLongPolling:
		return []bayeux.Transport{lp()}, nil
	case bayeux.ConnectionTypeCallbackPolling:
		return []bayeux.Transport{cp()}, nil
	}
	return nil, fmt.Errorf("unknown transport %q: choose %s", f.transport, strings.Join(transportNames, ", "))
}

// start creates a client from the flags (more adds options) and connects
// it. The caller disconnects it.
func (f *clientFlags) start(ctx context.Context, cmd string, s *status, more ...bayeux.Option) (*bayeux.Client, error) {
	c, err := f.newClient(cmd, s, more...)
	if err != nil {
		return nil, err
	}
	s.client.Store(c)
	if err := f.connect(ctx, c, s); err != nil {
		return nil, err
	}
	return c, nil
}

// newClient creates a client from the flags.
func (f *clientFlags) newClient(cmd string, s *status, more ...bayeux.Option) (*bayeux.Client, error) {
	if f.url == "" {
		return nil, &usageError{cmd: cmd, msg: "-url is empty"}
	}
	if u, err := url.Parse(f.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &usageError{cmd: cmd, msg: fmt.Sprintf("-url %q: want an absolute http:// or https:// URL", f.url)}
	}
	ts, err := f.transports()
	if err != nil {
		return nil, &usageError{cmd: cmd, msg: err.Error()}
	}
	opts := []bayeux.Option{bayeux.WithTransports(ts...)}
	if f.ext.m != nil {
		opts = append(opts, bayeux.WithExtensions(&extExtension{ext: f.ext.m}))
	}
	if f.verbose {
		opts = append(opts, bayeux.WithLogger(slog.New(toldOnce{slog.NewTextHandler(s.w, nil)})))
	}
	opts = append(opts, bayeux.WithStateListener(s.stateChanged))
	opts = append(opts, more...)
	// The command's error handler, behind the one that tells a failing
	// Connect once and leaves the session's failures to the state
	// listener.
	var o bayeux.Options
	for _, opt := range more {
		opt(&o)
	}
	handler := o.ErrorHandler
	opts = append(opts, bayeux.WithErrorHandler(func(err error) {
		if s.connectFailure(err, f.url, f.connectTimeout) || sessionError(err) {
			return
		}
		if handler != nil {
			handler(err)
		}
	}))
	return bayeux.NewClient(f.url, opts...)
}

// connect connects c within -connect-timeout and explains a refused
// transport.
func (f *clientFlags) connect(ctx context.Context, c *bayeux.Client, s *status) error {
	cctx, cancel := context.WithTimeout(ctx, f.connectTimeout)
	defer cancel()
	s.printf("connecting to %s (transport %s)", f.url, f.transport)
	s.connecting.Store(true)
	err := c.Connect(cctx)
	s.connecting.Store(false)
	switch {
	case err == nil:
		s.connected.Store(true)
		s.printf("connected over %s, clientId %s", c.TransportName(), c.ClientID())
		return nil
	case ctx.Err() != nil:
		return errors.New("interrupted while connecting")
	case errors.Is(err, context.DeadlineExceeded):
		var te *bayeux.TransportError
		var se *bayeux.ServerError
		last := ""
		switch {
		case errors.As(err, &te):
			last = ": " + cause(te)
		case errors.As(err, &se):
			last = ": " + cause(se)
		}
		return fmt.Errorf("could not connect to %s within %s (-connect-timeout)%s", f.url, f.connectTimeout, last)
	case f.transport != "auto" && (errors.Is(err, bayeux.ErrNoTransport) || errors.Is(err, bayeux.ErrNoCommonTransport)):
		return fmt.Errorf("the server refused transport %s (try -transport auto): %w", f.transport, err)
	}
	return err
}

// toldOnce is the -v log handler: it leaves out the client's records of
// the events the progress lines already tell (a failed request retried, a
// session renewed, a connection recovered, a session ended), so that one
// event is one line.
type toldOnce struct{ slog.Handler }

// told are the messages of those records.
var told = map[string]bool{
	"bayeux request failed; retrying":    true,
	"bayeux session renewed":             true,
	"bayeux connection recovered":        true,
	"bayeux session ended by the server": true,
}

func (h toldOnce) Handle(ctx context.Context, r slog.Record) error {
	if told[r.Message] {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h toldOnce) WithAttrs(attrs []slog.Attr) slog.Handler {
	return toldOnce{h.Handler.WithAttrs(attrs)}
}

func (h toldOnce) WithGroup(name string) slog.Handler { return toldOnce{h.Handler.WithGroup(name)} }

// disconnect ends the session, sending /meta/disconnect, within 5 s.
func disconnect(c *bayeux.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.Disconnect(ctx)
}

// extExtension merges the -ext object into the ext of every message sent.
type extExtension struct{ ext map[string]any }

// Name implements bayeux.NamedExtension.
func (e *extExtension) Name() string { return "cli-ext" }

// Outgoing implements bayeux.MessageExtender.
func (e *extExtension) Outgoing(m *bayeux.Message) {
	ext := maps.Clone(m.Ext)
	if ext == nil {
		ext = make(map[string]any, len(e.ext))
	}
	maps.Copy(ext, e.ext)
	m.Ext = ext
}

// Incoming implements bayeux.MessageExtender.
func (e *extExtension) Incoming(*bayeux.Message) {}

// Registered implements bayeux.MessageExtender.
func (e *extExtension) Registered(string, *bayeux.BayeuxClient) {}

// Unregistered implements bayeux.MessageExtender.
func (e *extExtension) Unregistered() {}
