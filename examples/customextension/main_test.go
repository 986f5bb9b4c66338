package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	srv := bayeuxtest.NewServer()
	defer srv.Close()
	var out bytes.Buffer
	if err := run(context.Background(), srv.URL, &out); err != nil {
		t.Fatal(err)
	}
	want := "order \"tea\", trace producer-1\norder \"cake\", trace producer-2\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	// The server saw the trace on the publishes and on nothing else.
	for _, m := range srv.Received() {
		_, traced := m.Ext["trace"]
		if traced != (m.Channel == "/orders") {
			t.Errorf("%s: ext %v", m.Channel, m.Ext)
		}
	}
}

func TestRegistered(t *testing.T) {
	srv := bayeuxtest.NewServer()
	defer srv.Close()
	tr := &tracer{prefix: "x"}
	c, err := bayeux.NewClient(srv.URL, bayeux.WithTransports(longpoll.New()), bayeux.WithExtensions(tr))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.name != "tracer" {
		t.Errorf("registered as %q", tr.name)
	}
}

func TestIncomingDropsMalformedTrace(t *testing.T) {
	m := bayeux.Message{Channel: "/orders", Ext: map[string]any{"trace": 42.0}}
	(&tracer{}).Incoming(&m)
	if traceOf(m) != "" || len(m.Ext) != 0 {
		t.Errorf("ext %v", m.Ext)
	}
}
