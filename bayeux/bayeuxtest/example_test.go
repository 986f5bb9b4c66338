package bayeuxtest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// A raw handshake against the test server.
func ExampleNewServer() {
	srv := bayeuxtest.NewServer()
	defer srv.Close()

	body := `[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"id":"1"}]`
	resp, err := srv.Client().Post(srv.URL, "application/json", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	msgs, err := bayeux.DecodeMessages(b)
	if err != nil {
		panic(err)
	}
	fmt.Println(msgs[0].Channel, msgs[0].Successful, len(msgs[0].ClientID), srv.HandshakeCount())
	// Output: /meta/handshake true 32 1
}

// Scripting a failure: the next /meta/connect gets HTTP 500, other
// requests are untouched.
func ExampleServer_InjectFault() {
	srv := bayeuxtest.NewServer()
	defer srv.Close()
	srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Status: http.StatusInternalServerError})

	post := func(body string) int {
		resp, err := srv.Client().Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	fmt.Println(post(`[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"]}]`))
	fmt.Println(post(`[{"channel":"/meta/connect","clientId":"x","connectionType":"long-polling"}]`))
	fmt.Println(post(`[{"channel":"/meta/connect","clientId":"x","connectionType":"long-polling"}]`))
	// Output:
	// 200
	// 500
	// 200
}

// A remote-call handler on a /service channel.
func ExampleServer_HandleService() {
	srv := bayeuxtest.NewServer()
	defer srv.Close()
	srv.HandleService("/service/upper", func(m bayeux.Message) (any, error) {
		var s string
		if err := m.Decode(&s); err != nil {
			return nil, err
		}
		return strings.ToUpper(s), nil
	})

	post := func(body string) []bayeux.Message {
		resp, err := srv.Client().Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		msgs, _ := bayeux.DecodeMessages(b)
		return msgs
	}
	id := post(`[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"]}]`)[0].ClientID
	reply := post(`[{"channel":"/service/upper","clientId":"` + id + `","data":"hello","id":"7"}]`)[0]
	fmt.Println(reply.ID, reply.Successful, string(reply.Data))
	// Output: 7 true "HELLO"
}
