package auth_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/ext/auth"
	"github.com/bayeux-go/sdk/transport/callbackpoll"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/websocket"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// source issues bayeuxtest tokens and remembers them.
type source struct {
	tokens *bayeuxtest.Tokens
	ttl    time.Duration
	mu     sync.Mutex
	issued []string
}

func (s *source) Token() (*auth.Token, error) {
	tok := s.tokens.Issue(s.ttl)
	s.mu.Lock()
	s.issued = append(s.issued, tok)
	s.mu.Unlock()
	t := &auth.Token{AccessToken: tok}
	if s.ttl > 0 {
		t.Expiry = time.Now().Add(s.ttl)
	}
	return t, nil
}

func (s *source) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTransport(name string) bayeux.Transport {
	switch name {
	case "websocket":
		return websocket.New()
	case "callback-polling":
		return callbackpoll.New()
	}
	return longpoll.New()
}

// The client keeps working when its token is revoked or expires in the
// middle of its session, on every transport, whether the server refuses
// the token in Bayeux (as Salesforce does) or with HTTP 401; and no token
// appears in the client's Debug log or its errors.
func TestSurvivesTokenExpiry(t *testing.T) {
	for _, transport := range []string{"long-polling", "callback-polling", "websocket"} {
		for _, mode := range []struct {
			name    string
			failure bayeuxtest.AuthFailure
		}{{"bayeux-401", bayeuxtest.AuthBayeuxError}, {"http-401", bayeuxtest.AuthHTTPStatus}} {
			for _, expiry := range []string{"revoked", "expired"} {
				t.Run(transport+"/"+mode.name+"/"+expiry, func(t *testing.T) {
					t.Parallel()
					testSurvives(t, transport, mode.failure, expiry == "expired")
				})
			}
		}
	}
}

func testSurvives(t *testing.T, transport string, failure bayeuxtest.AuthFailure, expire bool) {
	tokens := bayeuxtest.NewTokens()
	srv := bayeuxtest.NewServer(bayeuxtest.WithBearerAuth(tokens.Valid, failure),
		bayeuxtest.WithTimeout(300*time.Millisecond), bayeuxtest.WithMaxInterval(300*time.Millisecond))
	defer srv.Close()
	src := &source{tokens: tokens}
	if expire {
		src.ttl = 700 * time.Millisecond
	}
	logs := &syncBuffer{}
	var reported []error
	var rmu sync.Mutex
	c, err := bayeux.NewClient(srv.URL,
		bayeux.WithTransports(newTransport(transport)),
		bayeux.WithBackoff(20*time.Millisecond, 200*time.Millisecond),
		bayeux.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		bayeux.WithErrorHandler(func(err error) { rmu.Lock(); reported = append(reported, err); rmu.Unlock() }),
		bayeux.WithExtensions(auth.New(src)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	got := make(chan string, 100)
	if _, err := c.Subscribe(ctx, "/news", func(m bayeux.Message) { got <- string(m.Data) }); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, "/news", "before"); err != nil {
		t.Fatal(err)
	}
	if m := <-got; m != `"before"` {
		t.Fatalf("got %s", m)
	}
	if expire {
		time.Sleep(src.ttl + 100*time.Millisecond)
	} else {
		tokens.ExpireAll()
	}
	// Until the client has a new token, its publishes may fail; one goes
	// through, then the server's events arrive again.
	for i := 0; ; i++ {
		if ctx.Err() != nil {
			t.Fatalf("no publish went through after the token expired; state %v, tokens %d", c.State(), len(src.all()))
		}
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		err := c.Publish(pctx, "/news", fmt.Sprint("after ", i))
		pcancel()
		// A publish may go through on the old session before the server
		// tears it: only one sent once a new token was issued counts.
		if err == nil && len(src.all()) >= 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !drainUntil(ctx, got, `"after `) {
		t.Fatal("own publish never delivered after the refresh")
	}
	// The server's event goes to the sessions subscribed when it is
	// published: wait until the client's current one is.
	if err := srv.WaitFor(ctx, func(s *bayeuxtest.Server) bool {
		return slices.Contains(s.Subscriptions(c.ClientID()), "/news")
	}); err != nil {
		t.Fatalf("the renewed session never subscribed: %v", err)
	}
	if err := srv.Publish("/news", "server"); err != nil {
		t.Fatal(err)
	}
	if !drainUntil(ctx, got, `"server"`) {
		t.Fatal("server's event never delivered after the refresh")
	}
	if n := len(src.all()); n < 2 {
		t.Errorf("%d tokens issued: the token was never refreshed", n)
	}
	_ = c.Disconnect(ctx)

	out := logs.String()
	rmu.Lock()
	for _, err := range reported {
		out += "\n" + err.Error()
	}
	rmu.Unlock()
	for _, tok := range src.all() {
		if strings.Contains(out, tok) {
			t.Fatalf("token %s appears in the log or errors:\n%s", tok, out)
		}
	}
	if !strings.Contains(out, "level=DEBUG") {
		t.Error("the Debug log is empty: the leak check proves nothing")
	}
}

func drainUntil(ctx context.Context, got <-chan string, prefix string) bool {
	for {
		select {
		case m := <-got:
			if strings.HasPrefix(m, prefix) {
				return true
			}
		case <-ctx.Done():
			return false
		}
	}
}

// TestOneRefreshPerExpiry: when a token is revoked while the client works
// against a real server, one new token is fetched and one new session
// made, however the refusals of the held /meta/connect and of a publish
// interleave. (The interleaving in which a refusal of the old token comes
// after the refresh is played deterministically by
// TestLateRefusalOfOldToken.)
func TestOneRefreshPerExpiry(t *testing.T) {
	for _, transport := range []string{"long-polling", "callback-polling"} {
		t.Run(transport, func(t *testing.T) {
			for range 3 {
				tokens := bayeuxtest.NewTokens()
				srv := bayeuxtest.NewServer(bayeuxtest.WithBearerAuth(tokens.Valid, bayeuxtest.AuthBayeuxError))
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				src := auth.TokenSourceFunc(func() (*auth.Token, error) {
					return &auth.Token{AccessToken: tokens.Issue(0)}, nil
				})
				c, err := bayeux.NewClient(srv.URL, bayeux.WithTransports(newTransport(transport)),
					bayeux.WithBackoff(10*time.Millisecond, 100*time.Millisecond), bayeux.WithExtensions(auth.New(src)))
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Connect(ctx); err != nil {
					t.Fatal(err)
				}
				tokens.ExpireAll() // the first /meta/connect may be on its way
				for c.Publish(ctx, "/news", "hello") != nil && ctx.Err() == nil {
					time.Sleep(20 * time.Millisecond)
				}
				// Let the refused held connect's reply, if late, come in.
				if err := srv.WaitHeld(ctx, 1); err != nil {
					t.Fatal(err)
				}
				n, handshakes := tokens.Issued(), srv.HandshakeCount()
				_ = c.Disconnect(ctx)
				cancel()
				srv.Close()
				if n != 2 || handshakes != 2 {
					t.Fatalf("%d tokens issued and %d handshakes, want 2 and 2 (one refresh, one renewed session)", n, handshakes)
				}
			}
		})
	}
}

// TestLateRefusalOfOldToken: a publish sent with the first token is
// refused after the held /meta/connect's refusal already made the
// extension fetch a second token and the client renew its session. The
// late refusal must neither discard the second token nor end the renewed
// session; a refusal of the second token does both.
func TestLateRefusalOfOldToken(t *testing.T) {
	fetched := 0
	e := auth.New(auth.TokenSourceFunc(func() (*auth.Token, error) {
		fetched++
		return &auth.Token{AccessToken: fmt.Sprint("token-", fetched)}, nil
	}))
	sess := &countingSession{}
	e.AttachSession(sess)
	header := func() string {
		h := http.Header{}
		e.SetHeaders(h)
		return h.Get("Authorization")
	}
	send := func(m bayeux.Message) string {
		e.Outgoing(&m)
		return header()
	}
	refuse := func(id string, ch bayeux.Channel) {
		r := bayeux.Message{ID: id, Channel: ch, Error: "401::Authentication invalid"}
		r.SetSuccessful(false)
		e.Incoming(&r)
	}
	if got := send(bayeux.Message{ID: "1", Channel: bayeux.MetaHandshake}); got != "Bearer token-1" {
		t.Fatalf("handshake sent with %q", got)
	}
	send(bayeux.Message{ID: "2", Channel: bayeux.MetaConnect})
	send(bayeux.Message{ID: "3", Channel: "/news", Data: []byte(`1`)})
	refuse("2", bayeux.MetaConnect) // the token was revoked
	if sess.rehandshakes != 1 {
		t.Fatalf("%d re-handshakes after the connect's refusal, want 1", sess.rehandshakes)
	}
	if got := send(bayeux.Message{ID: "4", Channel: bayeux.MetaHandshake}); got != "Bearer token-2" {
		t.Fatalf("renewed handshake sent with %q, want the second token", got)
	}
	send(bayeux.Message{ID: "5", Channel: bayeux.MetaConnect})
	refuse("3", "/news") // late: the publish went with token-1
	if sess.rehandshakes != 1 {
		t.Errorf("the late refusal of the old token ended the renewed session (%d re-handshakes)", sess.rehandshakes)
	}
	if got := send(bayeux.Message{ID: "6", Channel: "/news", Data: []byte(`2`)}); got != "Bearer token-2" || fetched != 2 {
		t.Errorf("after the late refusal: sent with %q, %d tokens fetched; want token-2, 2", got, fetched)
	}
	refuse("6", "/news") // the second token refused: a real refusal
	if sess.rehandshakes != 2 {
		t.Errorf("%d re-handshakes after the second token was refused, want 2", sess.rehandshakes)
	}
	if got := header(); got != "Bearer token-3" {
		t.Errorf("after the second token was refused: %q, want a third token", got)
	}
}

// countingSession is a bayeux.SessionHandle that counts re-handshakes.
type countingSession struct{ rehandshakes int }

func (s *countingSession) ClientID() string     { return "c1" }
func (s *countingSession) Rehandshake(error)    { s.rehandshakes++ }
func (s *countingSession) ReportError(error)    {}
func (s *countingSession) Logger() *slog.Logger { return slog.New(slog.DiscardHandler) }
