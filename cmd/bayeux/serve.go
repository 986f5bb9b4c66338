package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/url"
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
it was sent.`,
		example: `bayeux serve
bayeux serve -addr 0.0.0.0:8098 -path /cometd`,
		minArgs: 0, maxArgs: 0,
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			addr := fs.String("addr", "127.0.0.1:8080", "the `host:port` to listen on")
			path := fs.String("path", "/bayeux", "the URL path the server answers on")
			timeout := fs.Duration("timeout", 20*time.Second, "how long a /meta/connect is held when nothing happens")
			return func(ctx context.Context, e *env, _ []string) error {
				return serve(ctx, e, *addr, *path, *timeout)
			}
		},
	})
}

func serve(ctx context.Context, e *env, addr, path string, timeout time.Duration) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := bayeuxtest.NewUnstartedServer(bayeuxtest.WithTimeout(timeout), bayeuxtest.WithPath(path))
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
