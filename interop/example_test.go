package interop_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/bayeux-go/sdk/interop"
)

// A Proxy sits between a client and a server, relays their TCP connections,
// and can tear them to simulate a network failure.
func ExampleProxy() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello through the proxy")
	}))
	defer srv.Close()

	p, err := interop.NewProxy(srv.Listener.Addr().String())
	if err != nil {
		panic(err)
	}
	defer p.Close()

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + p.Addr() + "/")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))

	p.Refuse() // from now on, connections are closed at once
	_, err = client.Get("http://" + p.Addr() + "/")
	fmt.Println("refused:", err != nil)

	p.Accept()
	resp, err = client.Get("http://" + p.Addr() + "/")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println("accepted again:", resp.StatusCode)
	// Output:
	// hello through the proxy
	// refused: true
	// accepted again: 200
}
