//go:build unix

package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os/exec"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/websocket"
)

// TestCannedServer runs our client against the canned server over both
// transports and checks that every /meta/connect brings its 500 events.
func TestCannedServer(t *testing.T) {
	srv := httptest.NewServer(cannedServer(500))
	defer srv.Close()
	for _, tr := range []bayeux.Transport{longpoll.New(), websocket.New()} {
		t.Run(tr.Name(), func(t *testing.T) {
			c, err := bayeux.NewClient(srv.URL+"/cometd", bayeux.WithTransports(tr))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := c.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			defer c.Disconnect(ctx)
			got := make(chan bayeux.Message, 1500)
			if _, err := c.Subscribe(ctx, "/event/Order__e", func(m bayeux.Message) {
				select {
				case got <- m:
				default:
				}
			}); err != nil {
				t.Fatal(err)
			}
			for range 1000 {
				select {
				case m := <-got:
					if len(m.Data) < 200 {
						t.Fatalf("event data %q", m.Data)
					}
				case <-ctx.Done():
					t.Fatal("fewer than 1,000 events delivered")
				}
			}
		})
	}
}

// TestCannedServerGobayeux builds the gobayeux client (a module of its own
// in gobayeuxclient) and runs it against the canned server: gobayeux
// handshakes, subscribes and reports the messages it measured.
func TestCannedServerGobayeux(t *testing.T) {
	bin := buildGobayeuxClient(t.TempDir())
	if bin == "" {
		t.Fatal("the gobayeux client did not build")
	}
	srv := httptest.NewServer(cannedServer(500))
	defer srv.Close()
	out, err := exec.Command(bin, "-url", srv.URL+"/cometd", "-messages", "2000", "-warmup", "1000").Output()
	if err != nil {
		t.Fatalf("gobayeux client: %v: %s", err, out)
	}
	var m measurement
	if err := json.Unmarshal(lastLine(out), &m); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if m.Messages < 2000 || m.CPUNs <= 0 || m.WallNs <= 0 {
		t.Errorf("gobayeux client measured %+v, want at least 2000 messages and some CPU and wall time", m)
	}
}

func TestAnswerBadRequest(t *testing.T) {
	if got := string(answer([]byte(`not json`), nil)); got != "[]" {
		t.Errorf("answer to a bad request = %q, want []", got)
	}
}
