package bayeuxtest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// FuzzExtensionFields sends hostile ext objects to a session that uses the
// built-in ack and replay extensions and timesync: on /meta/connect,
// /meta/subscribe and a publish, the server must answer 200 with
// decodable replies (or 400 for JSON the codec refuses), never hang or
// crash.
func FuzzExtensionFields(f *testing.F) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithAckExtension(true), bayeuxtest.WithReplay(0),
		bayeuxtest.WithOneChannelSubscriptions(true), bayeuxtest.WithExtension(bayeuxtest.NewTimesync(time.Second)),
		bayeuxtest.WithTimeout(5*time.Millisecond), bayeuxtest.WithMaxInterval(0))
	f.Cleanup(srv.Close)
	if _, err := srv.PublishEvent("/event/E", map[string]int{"n": 1}); err != nil {
		f.Fatal(err)
	}
	c := srv.Client()
	c.Timeout = 10 * time.Second
	post := func(body string) (int, []byte, error) {
		resp, err := c.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	_, b, err := post(`[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"ext":{"ack":true,"replay":true}}]`)
	if err != nil {
		f.Fatal(err)
	}
	hs, err := bayeux.DecodeMessages(b)
	if err != nil || len(hs) != 1 || hs[0].ClientID == "" {
		f.Fatalf("handshake: %s %v", b, err)
	}
	id := hs[0].ClientID
	for _, s := range []string{
		`{}`, `{"ack":3}`, `{"ack":-1e308}`, `{"ack":"x"}`, `{"ack":1.5}`, `{"ack":9007199254740993}`,
		`{"replay":{"/event/E":-2}}`, `{"replay":{"/event/E":1}}`, `{"replay":{"/event/E":"1"}}`, `{"replay":[1]}`,
		`{"replay":{"/event/*":-2}}`, `{"timesync":{"tc":1,"l":-5,"o":1e300}}`, `{"timesync":{"tc":"x"}}`, `{"timesync":7}`,
	} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(1))
		f.Add(s, uint8(2))
	}
	f.Fuzz(func(t *testing.T, ext string, which uint8) {
		if !json.Valid([]byte(ext)) || !strings.HasPrefix(strings.TrimSpace(ext), "{") {
			return
		}
		var body string
		switch which % 3 {
		case 0:
			body = fmt.Sprintf(`[{"channel":"/meta/connect","clientId":%q,"connectionType":"long-polling","advice":{"timeout":0},"ext":%s}]`, id, ext)
		case 1:
			body = fmt.Sprintf(`[{"channel":"/meta/subscribe","clientId":%q,"subscription":"/event/E","ext":%s}]`, id, ext)
		default:
			body = fmt.Sprintf(`[{"channel":"/event/E","clientId":%q,"data":1,"ext":%s}]`, id, ext)
		}
		status, b, err := post(body)
		if err != nil {
			t.Fatalf("request failed: %v", err)
		}
		if status == http.StatusBadRequest {
			return // JSON the codec refuses (a number out of range...)
		}
		if status != http.StatusOK {
			t.Fatalf("status %d for %s: %s", status, body, b)
		}
		if _, err := bayeux.DecodeMessages(b); err != nil {
			t.Fatalf("undecodable reply %q: %v", b, err)
		}
	})
}
