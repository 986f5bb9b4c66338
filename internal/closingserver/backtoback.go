package closingserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/bayeux-go/sdk/bayeux"
)

// PublishBackToBack sends n publishes through tr (bound to a client with
// Init), one after the other, each as soon as the previous one is
// answered, and fails on the first error, on a missing or unsuccessful
// reply, or on a publish the server processed more than once.
func (s *Server) PublishBackToBack(ctx context.Context, tr bayeux.Transport, n int) error {
	for i := range n {
		id := "p" + strconv.Itoa(i)
		msgs := []bayeux.Message{{ID: id, Channel: "/chat/room", ClientID: "c1", Data: json.RawMessage(strconv.Itoa(i))}}
		out, err := tr.RoundTrip(ctx, s.URL, msgs)
		if err != nil {
			return fmt.Errorf("publish %d of %d: %w", i+1, n, err)
		}
		if len(out) != 1 || out[0].ID != id || !out[0].Successful {
			return fmt.Errorf("publish %d of %d answered %+v", i+1, n, out)
		}
		if p := s.Processed(id); p != 1 {
			return fmt.Errorf("publish %d of %d processed %d times", i+1, n, p)
		}
	}
	return nil
}

// BackToBack runs PublishBackToBack with n publishes against a server of
// each behaviour that keeps no request unanswered (CloseAfterResponse and
// CloseOnReuse), with a transport that newTransport binds to a private
// http.Client.
func BackToBack(ctx context.Context, n int, newTransport func(*http.Client) (bayeux.Transport, error)) error {
	for _, b := range []Behavior{CloseAfterResponse, CloseOnReuse} {
		if err := backToBack(ctx, b, n, newTransport); err != nil {
			return fmt.Errorf("behavior %d: %w", b, err)
		}
	}
	return nil
}

func backToBack(ctx context.Context, b Behavior, n int, newTransport func(*http.Client) (bayeux.Transport, error)) error {
	srv, err := Start(b)
	if err != nil {
		return err
	}
	defer srv.Close()
	c := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer c.CloseIdleConnections()
	tr, err := newTransport(c)
	if err != nil {
		return err
	}
	defer tr.Close()
	return srv.PublishBackToBack(ctx, tr, n)
}
