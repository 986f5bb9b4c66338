package callbackpoll_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/transport/callbackpoll"
)

// Against the SDK's in-process server: a JSONP session whose batch of
// publishes is split over several GETs; the events come back in order.
func TestBayeuxtestSession(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(5 * time.Second))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	tr := callbackpoll.New(callbackpoll.WithMaxURLLength(600), callbackpoll.WithRetryWait(time.Millisecond, time.Millisecond))
	if err := tr.Init(bayeux.TransportConfig{HTTPClient: srv.Client(), Jar: jar, Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rt := func(msgs ...bayeux.Message) []bayeux.Message {
		t.Helper()
		out, err := tr.RoundTrip(ctx, srv.URL, msgs)
		if err != nil {
			t.Fatalf("RoundTrip(%s): %v", msgs[0].Channel, err)
		}
		return out
	}
	hs := rt(bayeux.Message{ID: "1", Channel: bayeux.MetaHandshake, Version: "1.0", SupportedConnectionTypes: []string{"callback-polling"}})
	if !hs[0].Successful {
		t.Fatalf("handshake %+v", hs)
	}
	id := hs[0].ClientID
	connect := func(n string) bayeux.Message {
		return bayeux.Message{ID: n, Channel: bayeux.MetaConnect, ClientID: id, ConnectionType: "callback-polling"}
	}
	if c := rt(connect("2")); !c[0].Successful {
		t.Fatalf("connect %+v", c)
	}
	if s := rt(bayeux.Message{ID: "3", Channel: bayeux.MetaSubscribe, ClientID: id, Subscription: []bayeux.Channel{"/chat/**"}}); !s[0].Successful {
		t.Fatalf("subscribe %+v", s)
	}
	var batch []bayeux.Message
	for i := 0; i < 12; i++ {
		batch = append(batch, bayeux.Message{ID: "p" + strconv.Itoa(i), Channel: "/chat/room", ClientID: id,
			Data: json.RawMessage(strconv.Quote(strings.Repeat("é&", 10) + strconv.Itoa(i)))})
	}
	replies := rt(batch...)
	var acks, events []string
	for _, m := range replies {
		if m.HasSuccessful() {
			acks = append(acks, m.ID)
		} else {
			var s string
			_ = json.Unmarshal(m.Data, &s)
			events = append(events, s[strings.LastIndex(s, "&")+1:])
		}
	}
	if srv.Count("/chat/room") != 12 || len(acks) != 12 {
		t.Fatalf("server got %d publishes, %d acks: %v", srv.Count("/chat/room"), len(acks), acks)
	}
	for i, a := range acks {
		if a != "p"+strconv.Itoa(i) {
			t.Fatalf("acks out of order: %v", acks)
		}
	}
	// The events (delivered on the replies to the later parts, or on the
	// next connect) keep the publishing order.
	poll := connect("4")
	poll.Advice = &bayeux.Advice{}
	poll.Advice.SetTimeout(0) // answered at once
	events2 := rt(poll)
	for _, m := range events2[1:] {
		var s string
		_ = json.Unmarshal(m.Data, &s)
		events = append(events, s[strings.LastIndex(s, "&")+1:])
	}
	for i, e := range events {
		if e != strconv.Itoa(i) {
			t.Fatalf("events out of order: %v", events)
		}
	}
	if len(events) != 12 {
		t.Fatalf("%d events", len(events))
	}
	parts := 0
	for _, m := range srv.Received() {
		if m.ID == "p0" || m.ID == "p11" {
			parts++
		}
	}
	if parts != 2 {
		t.Fatalf("p0 and p11 received %d times", parts)
	}

	// A torn GET carrying a publish, processed by the server, is not
	// sent again, neither by the transport nor by net/http: the server
	// may have processed it (it did), and publishes are at-most-once
	// unless the client asked for at-least-once.
	srv.InjectFault(bayeuxtest.Fault{Channel: "/chat/**", Tear: true, Process: true, Times: 2})
	if _, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{{ID: "x1", Channel: "/chat/x", ClientID: id, Data: json.RawMessage(`1`)}}); !errors.Is(err, bayeux.ErrTransport) {
		t.Fatalf("torn publish: err = %v", err)
	}
	if n := srv.Count("/chat/x"); n != 1 {
		t.Errorf("the publish reached the server %d times, want 1", n)
	}
	srv.ClearFaults()

	// A hostile body is rejected.
	srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Raw: []byte("alert(document.cookie)")})
	_, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{connect("5")})
	var de *bayeux.DecodeError
	if !errors.As(err, &de) {
		t.Errorf("hostile body: err = %v", err)
	}
}
