package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

func init() {
	register(&command{
		name:    "serve",
		summary: "run the embedded Bayeux server, to try the other commands against",
		about: `Serve Bayeux over long-polling, callback-polling and websocket (the in-process
server of package bayeuxtest) until interrupted, and print its URL. The
server has a remote-call service on /service/echo that answers with the data
it was sent.

With --replay, the server keeps a replay log shaped like Salesforce's
Streaming API: every message a client publishes on a broadcast channel is
delivered as {"event":{"replayId":N,"createdDate":...},"payload":DATA} and
kept for RETENTION (72h when not given; 0 keeps every event until the server
stops), and subscribers using the replay extension (bayeux sub --replay) may
start from a replay id, -1 (new events) or -2 (every event kept).

'bayeux conformance' against it passes every MUST rule and warns twice, by
design of a test server: session.hijack (it sets the BAYEUX_BROWSER cookie
but identifies sessions by clientId alone, so that clients without a cookie
jar, such as gobayeux, work) and session.multiple-clients (it holds the
connect of every session of one browser rather than advising
multiple-clients). With -cookie-binding it binds each session to its
BAYEUX_BROWSER cookie and advises multiple-clients, as CometD does, and
passes every case (clients then need a cookie jar).`,
		example: `bayeux serve
bayeux serve -addr 0.0.0.0:8098 -path /cometd
bayeux serve --replay=1h`,
		minArgs: 0, maxArgs: 0,
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			addr := fs.String("addr", "127.0.0.1:8080", "the `host:port` to listen on")
			path := fs.String("path", "/bayeux", "the URL path the server answers on")
			timeout := fs.Duration("timeout", 20*time.Second, "how long a /meta/connect is held when nothing happens")
			binding := fs.Bool("cookie-binding", false, "bind each session to its BAYEUX_BROWSER cookie, as CometD does (clients need a cookie jar)")
			var replay replayLogFlag
			fs.Var(&replay, "replay", "keep a replay log of the messages clients publish, each event for `RETENTION` (--replay alone: 72h)")
			return func(ctx context.Context, e *env, _ []string) error {
				return serve(ctx, e, *addr, *path, *timeout, *binding, replay)
			}
		},
	})
}

// defaultRetention is how long --replay keeps events: Salesforce's 72
// hours.
const defaultRetention = 72 * time.Hour

// replayLogFlag is serve's --replay[=RETENTION]: a boolean flag that may
// carry a duration.
type replayLogFlag struct {
	on        bool
	retention time.Duration
}

func (f *replayLogFlag) String() string {
	if f == nil || !f.on {
		return ""
	}
	return f.retention.String()
}

// IsBoolFlag lets --replay stand alone.
func (f *replayLogFlag) IsBoolFlag() bool { return true }

func (f *replayLogFlag) Set(v string) error {
	if on, err := strconv.ParseBool(v); err == nil {
		f.on, f.retention = on, defaultRetention
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return fmt.Errorf("want a retention such as 1h or 30m (0: keep every event), got %q", v)
	}
	f.on, f.retention = true, d
	return nil
}

func serve(ctx context.Context, e *env, addr, path string, timeout time.Duration, binding bool, replay replayLogFlag) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	opts := []bayeuxtest.Option{bayeuxtest.WithTimeout(timeout), bayeuxtest.WithPath(path), bayeuxtest.WithCookieBinding(binding)}
	if replay.on {
		opts = append(opts, bayeuxtest.WithReplay(replay.retention), bayeuxtest.WithReplayForPublishes(true))
	}
	srv := bayeuxtest.NewUnstartedServer(opts...)
	srv.HandleService("/service/echo", func(m bayeux.Message) (any, error) { return m.Data, nil })
	srv.StartOn(ln)
	defer srv.Close()
	u := reachableURL(addr, ln.Addr(), srv.URL)
	fmt.Fprintf(e.stdout, "serving Bayeux (long-polling, callback-polling, websocket) on %s\n", u)
	flag := ""
	if u != defaultURL {
		flag = " -url " + u
	}
	fmt.Fprintf(e.stdout, "try: bayeux sub%s '/chat/**'   and   bayeux pub%s /service/echo '\"hi\"'\n", flag, flag)
	if replay.on {
		kept := "until the server stops"
		if replay.retention > 0 {
			kept = "for " + shortDuration(replay.retention)
		}
		fmt.Fprintf(e.stdout, "replay log on: client publishes get replay ids and are kept %s; try: bayeux sub%s --replay -2 /chat/general\n", kept, flag)
	}
	<-ctx.Done()
	return nil
}

// reachableURL returns a URL a client on this machine can use for a server
// listening on ln (asked for as addr), whose URL is serverURL: an
// unspecified address (0.0.0.0 or an empty host: 127.0.0.1; "::":
// localhost) names this machine instead.
func reachableURL(addr string, ln net.Addr, serverURL string) string {
	u, err := url.Parse(serverURL)
	if err != nil {
		return serverURL
	}
	host, port, err := net.SplitHostPort(ln.String())
	if err != nil {
		return serverURL
	}
	asked, _, _ := net.SplitHostPort(addr)
	switch ip := net.ParseIP(asked); {
	case asked == "", ip != nil && ip.IsUnspecified() && ip.To4() != nil:
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "localhost"
	}
	u.Host = net.JoinHostPort(host, port)
	return u.String()
}

// shortDuration formats d without trailing zero units: 72h, 1h30m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
