// Package runner is the main function the examples share: it parses -url,
// starts an embedded bayeuxtest server when -url is empty, and runs the
// example with a deadline, so that each example runs with a bare "go run".
package runner

import (
	"context"
	"flag"
	"io"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// Func is an example: it talks to the Bayeux server at url and writes what
// happens to out.
type Func func(ctx context.Context, url string, out io.Writer) error

// Main runs fn as a program: it parses the command line, and exits with
// status 1 when fn fails.
func Main(fn Func) {
	url := flag.String("url", "", "the Bayeux server's URL (empty: start an embedded server)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := Run(ctx, *url, os.Stdout, fn); err != nil {
		log.Print(err)
		stop()
		os.Exit(1)
	}
}

// Run runs fn against url, or against an embedded server when url is
// empty, for at most 30 seconds.
func Run(ctx context.Context, url string, out io.Writer, fn Func) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if url == "" {
		srv := bayeuxtest.NewServer()
		defer srv.Close()
		url = srv.URL
	}
	return fn(ctx, url, out)
}
