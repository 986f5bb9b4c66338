package chaosproxy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/bayeux-go/sdk/internal/chaosproxy"
)

// A server behind the proxy: the first request is answered 503 by the
// proxy, the second goes through.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	defer srv.Close()
	p, err := chaosproxy.New(srv.Listener.Addr().String())
	if err != nil {
		panic(err)
	}
	defer p.Close()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}

	p.Inject(chaosproxy.Status5xx, 0)
	for range 2 {
		resp, err := hc.Get("http://" + p.Addr() + "/")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}
	fmt.Println(p.Counts())
	// Output:
	// 503 chaos: 503
	// 200 hello
	// map[http-503:1]
}
