package bayeuxtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// long is a hold timeout no test waits for: a held connect that should
// have been answered at once makes the test fail on its context deadline.
const long = time.Minute

// newServer starts a server closed at the end of the test.
func newServer(t *testing.T, opts ...bayeuxtest.Option) *bayeuxtest.Server {
	t.Helper()
	srv := bayeuxtest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// peer is a raw HTTP Bayeux client with its own cookie jar.
type peer struct {
	t   *testing.T
	srv *bayeuxtest.Server
	c   *http.Client
	id  string // clientId after handshake
}

func newPeer(t *testing.T, srv *bayeuxtest.Server) *peer {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := srv.Client()
	c.Jar = jar
	return &peer{t: t, srv: srv, c: c}
}

// do POSTs body and returns the status, raw body and headers.
func (p *peer) do(ctx context.Context, body string) (int, []byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.srv.URL, strings.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header, err
}

// postRaw POSTs body, requires 200 and returns the raw response body.
func (p *peer) postRaw(body string) []byte {
	p.t.Helper()
	status, b, _, err := p.do(testCtx(p.t), body)
	if err != nil {
		p.t.Fatalf("POST %s: %v", body, err)
	}
	if status != http.StatusOK {
		p.t.Fatalf("POST %s: status %d: %s", body, status, b)
	}
	return b
}

// post POSTs body and decodes the reply.
func (p *peer) post(body string) []bayeux.Message {
	p.t.Helper()
	return decode(p.t, p.postRaw(body))
}

func decode(t *testing.T, b []byte) []bayeux.Message {
	t.Helper()
	msgs, err := bayeux.DecodeMessages(b)
	if err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return msgs
}

const handshakeBody = `[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling","callback-polling"],"id":"1"}]`

// handshake creates a session and sends the first (immediate) connect.
func (p *peer) handshake() string {
	p.t.Helper()
	msgs := p.post(handshakeBody)
	if len(msgs) != 1 || !msgs[0].Successful || msgs[0].ClientID == "" {
		p.t.Fatalf("handshake failed: %+v", msgs)
	}
	p.id = msgs[0].ClientID
	r := p.connect(`,"advice":{"timeout":0}`)
	if !r[0].Successful {
		p.t.Fatalf("first connect failed: %+v", r)
	}
	return p.id
}

// connect sends a lone /meta/connect (extra is appended to the message
// object) and returns the response.
func (p *peer) connect(extra string) []bayeux.Message {
	p.t.Helper()
	msgs := p.post(p.connectBody("c", extra))
	if len(msgs) == 0 || msgs[0].Channel != bayeux.MetaConnect {
		p.t.Fatalf("connect reply: %+v", msgs)
	}
	return msgs
}

func (p *peer) connectBody(id, extra string) string {
	return fmt.Sprintf(`[{"channel":"/meta/connect","clientId":%q,"connectionType":"long-polling","id":%q%s}]`, p.id, id, extra)
}

// poll drains queued events with a connect {timeout:0}.
func (p *peer) poll() []bayeux.Message {
	p.t.Helper()
	msgs := p.connect(`,"advice":{"timeout":0}`)
	return msgs[1:]
}

func (p *peer) subscribe(sub string) bayeux.Message {
	p.t.Helper()
	msgs := p.post(fmt.Sprintf(`[{"channel":"/meta/subscribe","clientId":%q,"subscription":%s,"id":"s"}]`, p.id, sub))
	return msgs[0]
}

func (p *peer) publish(channel, data string) []bayeux.Message {
	p.t.Helper()
	return p.post(fmt.Sprintf(`[{"channel":%q,"clientId":%q,"data":%s,"id":"p"}]`, channel, p.id, data))
}

// asyncPost POSTs body on a goroutine; the result arrives on the channel.
type postResult struct {
	status int
	body   []byte
	err    error
}

func (p *peer) asyncPost(ctx context.Context, body string) <-chan postResult {
	ch := make(chan postResult, 1)
	go func() {
		status, b, _, err := p.do(ctx, body)
		ch <- postResult{status, b, err}
	}()
	return ch
}

func (p *peer) await(ch <-chan postResult) []bayeux.Message {
	p.t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			p.t.Fatalf("request failed: %v", r.err)
		}
		if r.status != http.StatusOK {
			p.t.Fatalf("status %d: %s", r.status, r.body)
		}
		return decode(p.t, r.body)
	case <-time.After(10 * time.Second):
		p.t.Fatal("no response")
		return nil
	}
}

// rawObjects decodes a response into generic objects, to check which fields
// are present on the wire.
func rawObjects(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return out
}

func requireError(t *testing.T, m bayeux.Message, code int) bayeux.MessageError {
	t.Helper()
	if m.Successful || !m.HasSuccessful() {
		t.Fatalf("want unsuccessful reply with code %d, got %+v", code, m)
	}
	me, err := m.ParseError()
	if err != nil {
		t.Fatalf("error %q does not follow the grammar: %v", m.Error, err)
	}
	if me.ErrorCode != code {
		t.Fatalf("error %q: want code %d", m.Error, code)
	}
	return me
}

func dataString(t *testing.T, m bayeux.Message) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(m.Data, &s); err != nil {
		t.Fatalf("data %s: %v", m.Data, err)
	}
	return s
}

func channels(msgs []bayeux.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Channel)
	}
	return out
}

func containsBytes(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }
