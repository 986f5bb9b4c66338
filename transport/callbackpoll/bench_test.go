package callbackpoll

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/internal/transportbench"
)

// BenchmarkRoundTrip measures the cost per delivered message of a
// callback-polling response carrying 500 events of ~250 bytes: the GET
// with the batch in its URL, an in-process server answering
// "callback([...]);", reading the body, checking the JSONP wrapper and
// bayeux.DecodeMessages. ns/msg and allocs/msg are reported per message
// (the allocation count includes the in-process server's).
func BenchmarkRoundTrip(b *testing.B) {
	const events = 500
	array := transportbench.SalesforceReply(events)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cb := r.URL.Query().Get(CallbackParameter)
		body := make([]byte, 0, len(cb)+len(array)+3)
		body = append(append(append(append(body, cb...), '('), array...), ");"...)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Header().Set("Content-Type", "text/javascript;charset=UTF-8")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	tr := New()
	if err := tr.Init(bayeux.TransportConfig{HTTPClient: srv.Client(), Logger: slog.New(slog.DiscardHandler)}); err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	transportbench.MeasureRoundTrip(b, tr, srv.URL, transportbench.ConnectBatch(bayeux.ConnectionTypeCallbackPolling), events, len(array))
}
