package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestEmbedded checks that an empty URL gets a working embedded server,
// closed when the example returns.
func TestEmbedded(t *testing.T) {
	var seen string
	var out bytes.Buffer
	err := Run(context.Background(), "", &out, func(ctx context.Context, url string, out io.Writer) error {
		seen = url
		c, err := bayeux.NewClient(url, bayeux.WithTransports(longpoll.New()))
		if err != nil {
			return err
		}
		if err := c.Connect(ctx); err != nil {
			return err
		}
		defer c.Disconnect(ctx)
		_, err = fmt.Fprintln(out, c.Publish(ctx, "/x", 1))
		return err
	})
	if err != nil || out.String() != "<nil>\n" || !strings.HasPrefix(seen, "http://127.0.0.1:") {
		t.Errorf("err %v, output %q, url %q", err, out.String(), seen)
	}
}

func TestGivenURL(t *testing.T) {
	want := errors.New("example failed")
	err := Run(context.Background(), "http://example.com/cometd", io.Discard, func(_ context.Context, url string, _ io.Writer) error {
		if url != "http://example.com/cometd" {
			return fmt.Errorf("url %q", url)
		}
		return want
	})
	if !errors.Is(err, want) {
		t.Errorf("got %v", err)
	}
}
