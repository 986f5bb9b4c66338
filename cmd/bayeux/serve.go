package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

func serve(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	timeout := fs.Duration("timeout", 20*time.Second, "how long /meta/connect is held")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := bayeuxtest.NewUnstartedServer(bayeuxtest.WithTimeout(*timeout))
	srv.StartOn(ln)
	defer srv.Close()
	fmt.Fprintf(stdout, "serving Bayeux (long-polling, callback-polling, websocket) on %s\n", srv.URL)
	<-ctx.Done()
	return nil
}
