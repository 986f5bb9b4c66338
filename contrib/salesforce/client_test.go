package salesforce_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/contrib/salesforce"
	"github.com/bayeux-go/sdk/ext/auth"
	"github.com/bayeux-go/sdk/ext/replay"
)

// collector gathers the replay ids of the events a handler got.
type collector struct {
	t    *testing.T
	mu   sync.Mutex
	ids  []int64
	more chan struct{}
}

func newCollector(t *testing.T) *collector { return &collector{t: t, more: make(chan struct{}, 1)} }

func (c *collector) handle(m bayeux.Message) {
	id := replayID(c.t, m)
	c.mu.Lock()
	c.ids = append(c.ids, id)
	c.mu.Unlock()
	select {
	case c.more <- struct{}{}:
	default:
	}
}

// wait waits until n events were handled and returns their ids.
func (c *collector) wait(ctx context.Context, n int) []int64 {
	c.t.Helper()
	for {
		c.mu.Lock()
		ids := slices.Clone(c.ids)
		c.mu.Unlock()
		if len(ids) >= n {
			return ids
		}
		select {
		case <-c.more:
		case <-ctx.Done():
			c.t.Fatalf("%d events handled, want %d: %v", len(ids), n, context.Cause(ctx))
		}
	}
}

// seq returns from..to.
func seq(from, to int64) []int64 {
	var s []int64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

// The preset connects to a Salesforce-like server at /cometd/62.0 with the
// endpoint built from the instance_url of the token response, long-polls,
// subscribes to a change event channel, replays the retained events
// (StartAll), receives the new ones, and when Salesforce refuses the token
// (expired or revoked) gets a new one from the token endpoint and resumes
// after the last event handled: every event once, in order. With the
// tokens of the refresh token flow and of the JWT bearer flow.
func TestPresetChangeEvents(t *testing.T) {
	_, pemKey := rsaKey(t)
	for _, flow := range []string{"refresh-token", "jwt-bearer"} {
		t.Run(flow, func(t *testing.T) {
			testPresetChangeEvents(t, func(ctx context.Context, loginURL string, opts ...salesforce.TokenOption) (*salesforce.TokenSource, error) {
				if flow == "jwt-bearer" {
					return salesforce.NewJWTSource(ctx, salesforce.JWTConfig{
						ClientID: "3MVG9consumer", Username: "integration@acme.com", PrivateKey: pemKey, LoginURL: loginURL,
					}, opts...)
				}
				return salesforce.NewRefreshTokenSource(ctx, salesforce.RefreshTokenConfig{
					ClientID: "3MVG9consumer", ClientSecret: "s3cret", RefreshToken: "5Aep861refresh", LoginURL: loginURL,
				}, opts...)
			})
		})
	}
}

func testPresetChangeEvents(t *testing.T, newSource func(ctx context.Context, loginURL string, opts ...salesforce.TokenOption) (*salesforce.TokenSource, error)) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tokens := bayeuxtest.NewTokens()
	srv, instance := salesforceLike(t, tokens)
	ep := newTokenEndpoint(t, func(int, url.Values) (int, map[string]any) {
		return http.StatusOK, tokenReply(tokens.Issue(time.Hour), instance)
	})
	// The goroutines of the servers; the client's must all end with
	// Disconnect.
	servers := goleak.IgnoreCurrent()
	oauthTransport := &http.Transport{}
	ts, err := newSource(ctx, ep.srv.URL, salesforce.WithHTTPClient(&http.Client{Transport: oauthTransport}))
	if err != nil {
		t.Fatal(err)
	}
	const channel = "/data/AccountChangeEvent"
	for range 3 { // retained before the client starts
		if _, err := srv.PublishEvent(channel, changePayload("001xx000003DGb2AAG")); err != nil {
			t.Fatal(err)
		}
	}

	store := replay.NewMemoryStore()
	var errs []error
	var emu sync.Mutex
	c, err := salesforce.NewClient(ctx, ts,
		salesforce.WithReplayStore(store),
		salesforce.WithReplayStart(replay.StartAll),
		salesforce.WithClientOptions(
			bayeux.WithBackoff(10*time.Millisecond, 100*time.Millisecond),
			bayeux.WithErrorHandler(func(err error) { emu.Lock(); errs = append(errs, err); emu.Unlock() }),
		))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.TransportName(); got != "long-polling" {
		t.Errorf("transport %s, want long-polling", got)
	}
	col := newCollector(t)
	sub, err := c.Subscribe(ctx, channel, col.handle)
	if err != nil {
		t.Fatal(err)
	}
	col.wait(ctx, 3)
	for range 2 {
		if _, err := srv.PublishEvent(channel, changePayload("001xx000003DGb3AAG")); err != nil {
			t.Fatal(err)
		}
	}
	col.wait(ctx, 5)
	if forms, _ := ep.requests(); len(forms) != 1 {
		t.Errorf("%d token requests before the token expired, want 1", len(forms))
	}

	// Salesforce refuses the token; the events published meanwhile come
	// once the client has a new one.
	tokens.ExpireAll()
	for range 3 {
		if _, err := srv.PublishEvent(channel, changePayload("001xx000003DGb4AAG")); err != nil {
			t.Fatal(err)
		}
	}
	got := col.wait(ctx, 8)
	// The held /meta/connect, sent with the old token, may have brought
	// those events: wait for the session of the new token before leaving.
	for c.Stats().Handshakes < 2 {
		if ctx.Err() != nil {
			t.Fatalf("no handshake with a new token: %+v", c.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := c.Disconnect(ctx); err != nil {
		t.Errorf("Disconnect: %v", err)
	}
	<-c.Done()
	// The token source's connections are the program's, not the
	// client's: closed here.
	oauthTransport.CloseIdleConnections()
	goleak.VerifyNone(t, servers)

	if want := seq(1, 8); !slices.Equal(got, want) {
		t.Errorf("replay ids handled %v, want %v", got, want)
	}
	if id, ok := store.Load(channel); !ok || id != 8 {
		t.Errorf("stored replay id %d, %v; want 8", id, ok)
	}
	if sub.Dropped() != 0 {
		t.Errorf("%d events dropped", sub.Dropped())
	}
	forms, _ := ep.requests()
	if len(forms) < 2 {
		t.Errorf("%d token requests: the refused token was not replaced", len(forms))
	}
	// One token for the endpoint and the first request: the preset does
	// not ask twice to learn the instance URL.
	if n := tokens.Issued(); n != len(forms) {
		t.Errorf("%d tokens issued for %d requests", n, len(forms))
	}
	emu.Lock()
	defer emu.Unlock()
	for _, err := range errs {
		if !errors.Is(err, auth.ErrAuthenticationInvalid) {
			t.Errorf("reported: %v", err)
		}
	}
}

// The preset's subscriptions apply backpressure: a replayed backlog larger
// than the subscription's queue, delivered while the handler is stuck, is
// handled whole once it resumes, none dropped (with bayeux's default
// OverflowDrop, the events past the queue's size would be dropped and
// their replay ids passed by the next ones).
func TestPresetBackpressure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tokens := bayeuxtest.NewTokens()
	srv, instance := salesforceLike(t, tokens)
	const channel = "/event/Order_Placed__e"
	backlog := bayeux.DefaultQueueSize + 500
	for range backlog {
		if _, err := srv.PublishEvent(channel, map[string]any{"payload": map[string]any{"OrderId__c": "801xx"}}); err != nil {
			t.Fatal(err)
		}
	}
	src := auth.TokenSourceFunc(func() (*auth.Token, error) { return &auth.Token{AccessToken: tokens.Issue(time.Hour)}, nil })
	c, err := salesforce.NewClient(ctx, src, salesforce.WithInstanceURL(instance), salesforce.WithReplayStart(replay.StartAll))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	gate := make(chan struct{})
	col := newCollector(t)
	sub, err := c.Subscribe(ctx, channel, func(m bayeux.Message) {
		<-gate
		col.handle(m)
	})
	if err != nil {
		t.Fatal(err)
	}
	// The handler is stuck on the first event until the whole backlog
	// has arrived.
	for c.Stats().Received < uint64(backlog) && c.Stats().Dropped.QueueFull == 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d events arrived", c.Stats().Received, backlog)
		case <-time.After(5 * time.Millisecond):
		}
	}
	close(gate)
	if d := c.Stats().Dropped.QueueFull; d > 0 {
		t.Fatalf("%d events dropped for a full queue", d)
	}
	got := col.wait(ctx, backlog)
	if !slices.Equal(got, seq(1, int64(backlog))) {
		t.Errorf("%d events handled, not 1..%d in order", len(got), backlog)
	}
	if sub.Dropped() != 0 {
		t.Errorf("%d events dropped", sub.Dropped())
	}
}

// The instance URL comes from WithInstanceURL, or from a token source
// that knows it; without either NewClient says so. A malformed instance
// URL or API version is refused with ErrConfig.
func TestPresetConfig(t *testing.T) {
	ctx := context.Background()
	static := auth.StaticToken("00Dxx!session")
	if _, err := salesforce.NewClient(ctx, static); !errors.Is(err, salesforce.ErrConfig) {
		t.Errorf("no instance URL: %v, want ErrConfig", err)
	}
	if _, err := salesforce.NewClient(ctx, nil, salesforce.WithInstanceURL("https://acme.my.salesforce.com")); !errors.Is(err, salesforce.ErrConfig) {
		t.Errorf("no token source: %v, want ErrConfig", err)
	}
	for _, tc := range []struct {
		instance, version, want string
	}{
		{"https://acme.my.salesforce.com", "", "https://acme.my.salesforce.com/cometd/62.0"},
		{"https://acme.my.salesforce.com/", "61.0", "https://acme.my.salesforce.com/cometd/61.0"},
		{"https://acme.my.salesforce.com/services", "62.0", ""},
		{"acme.my.salesforce.com", "62.0", ""},
		{"https://acme.my.salesforce.com", "v62", ""},
		{"https://acme.my.salesforce.com", "62.0/", ""},
	} {
		v := tc.version
		if v == "" {
			v = salesforce.DefaultAPIVersion
		}
		got, err := salesforce.Endpoint(tc.instance, v)
		if tc.want == "" {
			if !errors.Is(err, salesforce.ErrConfig) {
				t.Errorf("Endpoint(%q, %q) = %q, %v; want ErrConfig", tc.instance, v, got, err)
			}
			if _, err := salesforce.NewClient(ctx, static, salesforce.WithInstanceURL(tc.instance), salesforce.WithAPIVersion(v)); !errors.Is(err, salesforce.ErrConfig) {
				t.Errorf("NewClient(%q, %q): %v; want ErrConfig", tc.instance, v, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Endpoint(%q, %q) = %q, %v; want %q", tc.instance, v, got, err, tc.want)
		}
	}
	if salesforce.DefaultAPIVersion != "62.0" {
		t.Errorf("DefaultAPIVersion %s; the docs say 62.0", salesforce.DefaultAPIVersion)
	}
}

// NewClient fails with the token endpoint's refusal when it must learn the
// instance URL from it.
func TestPresetTokenRefused(t *testing.T) {
	ep := newTokenEndpoint(t, func(int, url.Values) (int, map[string]any) {
		return http.StatusBadRequest, map[string]any{"error": "invalid_grant", "error_description": "authentication failure"}
	})
	ts, err := salesforce.NewRefreshTokenSource(context.Background(), salesforce.RefreshTokenConfig{ClientID: "c", RefreshToken: "r", LoginURL: ep.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	var te *salesforce.TokenError
	if _, err := salesforce.NewClient(context.Background(), ts); !errors.As(err, &te) || te.Code != "invalid_grant" {
		t.Errorf("NewClient: %v, want the *TokenError", err)
	}
}

// With the preset's replay defaults, a channel with no stored id starts
// with the events published from now on (replay.StartNew), and a channel
// whose stored id Salesforce no longer retains resumes from every
// retained event (replay.StartAll), reported as a *replay.InvalidIDError.
func TestPresetReplayDefaults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tokens := bayeuxtest.NewTokens()
	srv, instance := salesforceLike(t, tokens)
	src := auth.TokenSourceFunc(func() (*auth.Token, error) { return &auth.Token{AccessToken: tokens.Issue(time.Hour)}, nil })
	const fresh, stale = "/data/AccountChangeEvent", "/event/Order_Placed__e"
	for _, ch := range []bayeux.Channel{fresh, fresh, stale, stale} {
		if _, err := srv.PublishEvent(ch, changePayload("001xx000003DGb2AAG")); err != nil {
			t.Fatal(err)
		}
	}
	store := replay.NewMemoryStore()
	store.Save(stale, 999) // not retained
	var invalid []error
	var mu sync.Mutex
	c, err := salesforce.NewClient(ctx, src, salesforce.WithInstanceURL(instance), salesforce.WithReplayStore(store),
		salesforce.WithClientOptions(bayeux.WithErrorHandler(func(err error) {
			var ie *replay.InvalidIDError
			if errors.As(err, &ie) {
				mu.Lock()
				invalid = append(invalid, err)
				mu.Unlock()
			}
		})))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	newOnly, all := newCollector(t), newCollector(t)
	if _, err := c.Subscribe(ctx, fresh, newOnly.handle); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(ctx, stale, all.handle); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.PublishEvent(fresh, changePayload("001xx000003DGb3AAG")); err != nil {
		t.Fatal(err)
	}
	// Replay ids count per server: 1, 2 on fresh, 3, 4 on stale, 5 new.
	if got := newOnly.wait(ctx, 1); !slices.Equal(got, []int64{5}) {
		t.Errorf("%s with no stored id: handled %v, want only the new event 5", fresh, got)
	}
	if got := all.wait(ctx, 2); !slices.Equal(got, []int64{3, 4}) {
		t.Errorf("%s with a stale stored id: handled %v, want every retained event 3, 4", stale, got)
	}
	// The report reaches the error handler on its own goroutine.
	for {
		mu.Lock()
		n := len(invalid)
		mu.Unlock()
		if n > 0 {
			if n != 1 {
				t.Errorf("%d InvalidIDError reported, want 1", n)
			}
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("no InvalidIDError reported for the stale replay id")
		case <-time.After(5 * time.Millisecond):
		}
	}
}
