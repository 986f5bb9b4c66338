package closingserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/internal/staleconn"
)

// PublishBackToBack sends n publishes through tr (bound to a client with
// Init), one after the other, each as soon as the previous one is
// answered, and fails on the first error, on a missing or unsuccessful
// reply, or on a publish the server processed more than once.
func (s *Server) PublishBackToBack(ctx context.Context, tr bayeux.Transport, n int) error {
	_, err := s.publishBackToBack(ctx, tr, n, false)
	return err
}

// publishBackToBack is PublishBackToBack; with unsent, a publish may also
// fail with a transport error when the server never read it, and the
// count of those is returned.
func (s *Server) publishBackToBack(ctx context.Context, tr bayeux.Transport, n int, unsent bool) (int, error) {
	failed := 0
	for i := range n {
		id := "p" + strconv.Itoa(i)
		msgs := []bayeux.Message{{ID: id, Channel: "/chat/room", ClientID: "c1", Data: json.RawMessage(strconv.Itoa(i))}}
		out, err := tr.RoundTrip(ctx, s.URL, msgs)
		if err != nil {
			if unsent && errors.Is(err, bayeux.ErrTransport) && s.Processed(id) == 0 {
				failed++
				continue
			}
			return failed, fmt.Errorf("publish %d of %d: %w (processed %d times)", i+1, n, err, s.Processed(id))
		}
		if len(out) != 1 || out[0].ID != id || !out[0].Successful {
			return failed, fmt.Errorf("publish %d of %d answered %+v", i+1, n, out)
		}
		if p := s.Processed(id); p != 1 {
			return failed, fmt.Errorf("publish %d of %d processed %d times", i+1, n, p)
		}
	}
	return failed, nil
}

// BackToBack runs n back-to-back publishes through a transport that
// newTransport binds to a private http.Client like the SDK's own (with
// resend, the
// TransportConfig.ResendPublishes to give it), against each kind of
// server that keeps no request unanswered:
//
//   - CloseAfterResponse (Ruby Faye under puma), publishes at-most-once:
//     every publish is processed at most once, and succeeds, since the
//     closed connection is found before a request is written (or learnt,
//     and publishes then go on connections of their own). The one
//     exception is a close that lands between the client's check and its
//     write (a descheduled client on a loaded machine): the publish fails
//     with a transport error, never read by the server. At most one
//     publish in a hundred may fail so;
//   - CloseOnReuse, publishes at-least-once: every publish succeeds and is
//     processed once (the server never processed a request it closed the
//     connection on);
//   - CloseOnReuse, publishes at-most-once: a publish the server may have
//     read fails rather than being sent again; none is processed twice.
func BackToBack(ctx context.Context, n int, newTransport func(c *http.Client, resend bool) (bayeux.Transport, error)) error {
	for _, run := range []struct {
		b      Behavior
		resend bool
	}{{CloseAfterResponse, false}, {CloseOnReuse, true}} {
		if err := backToBack(ctx, run.b, run.resend, n, newTransport); err != nil {
			return fmt.Errorf("behavior %d, resend %t: %w", run.b, run.resend, err)
		}
	}
	return atMostOnce(ctx, n/10, newTransport)
}

func backToBack(ctx context.Context, b Behavior, resend bool, n int, newTransport func(*http.Client, bool) (bayeux.Transport, error)) error {
	srv, tr, done, err := start(b, resend, newTransport)
	if err != nil {
		return err
	}
	defer done()
	unsent := b == CloseAfterResponse && !resend
	failed, err := srv.publishBackToBack(ctx, tr, n, unsent)
	if err == nil && failed > n/100 {
		err = fmt.Errorf("%d of %d publishes failed, unread by the server: more than the rare close between the client's check and its write", failed, n)
	}
	return err
}

// atMostOnce sends n publishes to a CloseOnReuse server without
// re-sending: some fail, none is processed twice.
func atMostOnce(ctx context.Context, n int, newTransport func(*http.Client, bool) (bayeux.Transport, error)) error {
	srv, tr, done, err := start(CloseOnReuse, false, newTransport)
	if err != nil {
		return err
	}
	defer done()
	failed := 0
	for i := range n {
		id := "q" + strconv.Itoa(i)
		msgs := []bayeux.Message{{ID: id, Channel: "/chat/room", ClientID: "c1", Data: json.RawMessage(strconv.Itoa(i))}}
		if _, err := tr.RoundTrip(ctx, srv.URL, msgs); err != nil {
			if !errors.Is(err, bayeux.ErrTransport) {
				return fmt.Errorf("publish %d: %w, want a transport error", i, err)
			}
			failed++
		}
		if p := srv.Processed(id); p > 1 {
			return fmt.Errorf("publish %d processed %d times without re-sending", i, p)
		}
	}
	if failed == 0 {
		return errors.New("at-most-once: no publish failed against a server closing reused connections")
	}
	return nil
}

func start(b Behavior, resend bool, newTransport func(*http.Client, bool) (bayeux.Transport, error)) (*Server, bayeux.Transport, func(), error) {
	srv, err := Start(b)
	if err != nil {
		return nil, nil, nil, err
	}
	// A client like the SDK's own: its connections check, before a
	// request, that the server has not closed them (staleconn).
	t := http.DefaultTransport.(*http.Transport).Clone()
	staleconn.Install(t)
	c := &http.Client{Transport: t}
	tr, err := newTransport(c, resend)
	if err != nil {
		srv.Close()
		return nil, nil, nil, err
	}
	return srv, tr, func() {
		_ = tr.Close()
		c.CloseIdleConnections()
		staleconn.Forget(t)
		srv.Close()
	}, nil
}
