package longpoll_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

// A session Client using long-polling, against the SDK's in-process test
// server.
func Example_client() {
	srv := bayeuxtest.NewServer()
	defer srv.Close()

	c, err := bayeux.NewClient(srv.URL,
		bayeux.WithHTTPClient(srv.Client()),
		bayeux.WithTransports(longpoll.New(longpoll.WithMaxBodyBytes(4<<20))))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	if err := c.Connect(ctx); err != nil {
		panic(err)
	}
	defer c.Disconnect(ctx)

	got := make(chan bayeux.Message, 1)
	if _, err := c.Subscribe(ctx, "/greetings", func(m bayeux.Message) { got <- m }); err != nil {
		panic(err)
	}
	if err := c.Publish(ctx, "/greetings", "hello"); err != nil {
		panic(err)
	}
	m := <-got
	fmt.Println(m.Channel, string(m.Data))
	// Output: /greetings "hello"
}

func Example() {
	t := longpoll.New(longpoll.WithHeader("Authorization", "Bearer token"))
	fmt.Println(t.Name())
	// A client is told to use it with
	//
	//	bayeux.NewClient(url, bayeux.WithTransports(t))
	//
	// Output: long-polling
}

// RoundTrip can be called directly: here against a tiny server that
// answers every handshake the same way.
func ExampleTransport_RoundTrip() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("%s %s\n%s\n", r.Method, r.Header.Get("Content-Type"), body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `[{"id":"1","channel":"/meta/handshake","successful":true,"version":"1.0",`+
			`"supportedConnectionTypes":["long-polling"],"clientId":"abc123","advice":{"reconnect":"retry","interval":0,"timeout":30000}}]`)
	}))
	defer srv.Close()

	t := longpoll.New()
	jar, _ := cookiejar.New(nil)
	if err := t.Init(bayeux.TransportConfig{HTTPClient: srv.Client(), Jar: jar, Logger: slog.Default()}); err != nil {
		panic(err)
	}
	defer t.Close()

	replies, err := t.RoundTrip(context.Background(), srv.URL, []bayeux.Message{{
		ID: "1", Channel: bayeux.MetaHandshake, Version: "1.0",
		SupportedConnectionTypes: []string{"long-polling"},
	}})
	if err != nil {
		panic(err)
	}
	r := replies[0]
	fmt.Println(r.Channel, r.Successful, r.ClientID, r.Advice.Reconnect, r.Advice.Timeout)
	// Output:
	// POST application/json;charset=UTF-8
	// [{"id":"1","channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"]}]
	// /meta/handshake true abc123 retry 30000
}
