package salesforce_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tokenEndpoint is a Salesforce-like OAuth 2.0 token endpoint on
// 127.0.0.1, at /services/oauth2/token. It answers the nth request (from
// 1) with reply, and records the forms posted.
type tokenEndpoint struct {
	srv   *httptest.Server
	reply func(n int, form url.Values) (status int, body map[string]any)

	mu    sync.Mutex
	forms []url.Values
	paths []string
}

func newTokenEndpoint(t *testing.T, reply func(n int, form url.Values) (int, map[string]any)) *tokenEndpoint {
	t.Helper()
	e := &tokenEndpoint{reply: reply}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *tokenEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, "POST a form", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	e.forms = append(e.forms, r.PostForm)
	e.paths = append(e.paths, r.URL.Path)
	n := len(e.forms)
	e.mu.Unlock()
	status, body := e.reply(n, r.PostForm)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// requests returns the forms posted so far and their paths.
func (e *tokenEndpoint) requests() ([]url.Values, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]url.Values(nil), e.forms...), append([]string(nil), e.paths...)
}

// tokenReply is a successful answer of Salesforce's token endpoint: no
// expires_in, an instance_url.
func tokenReply(accessToken, instanceURL string) map[string]any {
	return map[string]any{
		"access_token": accessToken,
		"instance_url": instanceURL,
		"id":           "https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001X8UzAAK",
		"token_type":   "Bearer",
		"issued_at":    "1733400000000",
		"signature":    "dGVzdA==",
		"scope":        "api refresh_token",
	}
}

// salesforceLike starts a bayeuxtest server that behaves like Salesforce's
// Streaming API at /cometd/62.0, with tokens checked on every request,
// and returns it with its instance URL.
func salesforceLike(t *testing.T, tokens *bayeuxtest.Tokens) (*bayeuxtest.Server, string) {
	t.Helper()
	srv := bayeuxtest.NewServer(
		bayeuxtest.WithPath("/cometd/62.0"),
		bayeuxtest.WithReplay(72*time.Hour),
		bayeuxtest.WithOneChannelSubscriptions(true),
		bayeuxtest.WithBearerAuth(tokens.Valid, bayeuxtest.AuthBayeuxError),
		bayeuxtest.WithConnectionTypes("long-polling"),
		bayeuxtest.WithTimeout(time.Second),
	)
	t.Cleanup(srv.Close)
	instance, ok := strings.CutSuffix(srv.URL, "/cometd/62.0")
	if !ok {
		t.Fatalf("server URL %s is not at /cometd/62.0", srv.URL)
	}
	return srv, instance
}

// changePayload is the payload of an Account change event.
func changePayload(record string) map[string]any {
	return map[string]any{
		"ChangeEventHeader": map[string]any{
			"entityName":    "Account",
			"recordIds":     []string{record},
			"changeType":    "UPDATE",
			"changedFields": []string{"Name"},
		},
	}
}

// replayID returns the replay id of an event.
func replayID(t *testing.T, m bayeux.Message) int64 {
	t.Helper()
	id, ok := bayeux.RawInt(m.Data, "event", "replayId")
	if !ok {
		t.Errorf("event without replay id: %s", m.Data)
	}
	return id
}

// rsaKey generates a test RSA key and returns it with its PKCS #8 PEM.
func rsaKey(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
