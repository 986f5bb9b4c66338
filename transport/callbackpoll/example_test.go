package callbackpoll_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/callbackpoll"
)

func Example() {
	t := callbackpoll.New(callbackpoll.WithMaxURLLength(4000))
	fmt.Println(t.Name())
	// It is opt-in: give it to a client after the preferred transports,
	//
	//	bayeux.NewClient(url, bayeux.WithTransports(longpoll.New(), t))
	//
	// Output: callback-polling
}

// RoundTrip can be called directly: here against a tiny JSONP server.
func ExampleTransport_RoundTrip() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		fmt.Println(r.Method, q.Get("jsonp"), q.Get("message"))
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, "/**/"+q.Get("jsonp")+`([{"id":"1","channel":"/meta/handshake","successful":true,`+
			`"version":"1.0","supportedConnectionTypes":["callback-polling"],"clientId":"xyz"}]);`)
	}))
	defer srv.Close()

	t := callbackpoll.New()
	if err := t.Init(bayeux.TransportConfig{HTTPClient: srv.Client(), Logger: slog.Default()}); err != nil {
		panic(err)
	}
	defer t.Close()
	replies, err := t.RoundTrip(context.Background(), srv.URL, []bayeux.Message{{
		ID: "1", Channel: bayeux.MetaHandshake, Version: "1.0",
		SupportedConnectionTypes: []string{"callback-polling"},
	}})
	if err != nil {
		panic(err)
	}
	fmt.Println(replies[0].Channel, replies[0].Successful, replies[0].ClientID)
	// Output:
	// GET _bayeux_jsonp_1 [{"id":"1","channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["callback-polling"]}]
	// /meta/handshake true xyz
}
