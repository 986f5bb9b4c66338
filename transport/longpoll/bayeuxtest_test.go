package longpoll_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

// session drives the protocol by hand over one transport.
type session struct {
	t   *testing.T
	tr  *longpoll.Transport
	url string
	id  string
}

func (s *session) roundTrip(ctx context.Context, msgs ...bayeux.Message) []bayeux.Message {
	s.t.Helper()
	out, err := s.tr.RoundTrip(ctx, s.url, msgs)
	if err != nil {
		s.t.Fatalf("RoundTrip(%s): %v", msgs[0].Channel, err)
	}
	return out
}

func startSession(t *testing.T, srv *bayeuxtest.Server, opts ...longpoll.Option) *session {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	tr := longpoll.New(opts...)
	if err := tr.Init(bayeux.TransportConfig{HTTPClient: srv.Client(), Jar: jar, Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	s := &session{t: t, tr: tr, url: srv.URL}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hs := s.roundTrip(ctx, bayeux.Message{ID: "1", Channel: bayeux.MetaHandshake, Version: "1.0", SupportedConnectionTypes: []string{"long-polling"}})
	if len(hs) != 1 || !hs[0].Successful {
		t.Fatalf("handshake: %+v", hs)
	}
	s.id = hs[0].ClientID
	if c := s.roundTrip(ctx, s.connect("2")); !c[0].Successful {
		t.Fatalf("first connect: %+v", c)
	}
	return s
}

func (s *session) connect(id string) bayeux.Message {
	return bayeux.Message{ID: id, Channel: bayeux.MetaConnect, ClientID: s.id, ConnectionType: "long-polling"}
}

// Scripted failures: a connect answered 503 is retried and succeeds; a
// publish whose connection is torn after processing is not re-sent.
func TestBayeuxtestFaults(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(200 * time.Millisecond))
	defer srv.Close()
	s := startSession(t, srv, longpoll.WithRetryWait(time.Millisecond, 5*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	connects := srv.Count(bayeux.MetaConnect)
	srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Status: http.StatusServiceUnavailable})
	if c := s.roundTrip(ctx, s.connect("3")); !c[0].Successful {
		t.Fatalf("connect after a 503: %+v", c)
	}
	// Received twice: the attempt answered 503, and the retry.
	if srv.PendingFaults() != 0 || srv.Count(bayeux.MetaConnect) != connects+2 {
		t.Errorf("pending faults %d, connects received %d; want 0 and 2", srv.PendingFaults(), srv.Count(bayeux.MetaConnect)-connects)
	}

	// Processed, then torn on a reused connection before any byte of the
	// answer: not sent again (publishes are at-most-once; the server did
	// process it).
	srv.InjectFault(bayeuxtest.Fault{Channel: "/orders/**", Tear: true, Process: true, Times: 2})
	_, err := s.tr.RoundTrip(ctx, s.url, []bayeux.Message{{ID: "4", Channel: "/orders/x", ClientID: s.id, Data: json.RawMessage(`1`)}})
	if !errors.Is(err, bayeux.ErrTransport) {
		t.Fatalf("torn publish: err = %v", err)
	}
	if n := srv.Count("/orders/x"); n != 1 {
		t.Errorf("the publish reached the server %d times, want 1", n)
	}
	// Torn on a fresh connection: not re-sent.
	srv.Client().CloseIdleConnections()
	srv.InjectFault(bayeuxtest.Fault{Channel: "/orders/**", Tear: true, Process: true})
	_, err = s.tr.RoundTrip(ctx, s.url, []bayeux.Message{{ID: "4b", Channel: "/orders/y", ClientID: s.id, Data: json.RawMessage(`1`)}})
	if !errors.Is(err, bayeux.ErrTransport) {
		t.Fatalf("torn publish: err = %v", err)
	}
	if n := srv.Count("/orders/y"); n != 1 {
		t.Errorf("the publish on a fresh connection reached the server %d times", n)
	}

	srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Raw: []byte("<html>proxy error</html>")})
	_, err = s.tr.RoundTrip(ctx, s.url, []bayeux.Message{s.connect("5")})
	var de *bayeux.DecodeError
	if !errors.As(err, &de) {
		t.Errorf("raw HTML body: err = %v, want a *bayeux.DecodeError", err)
	}
}
