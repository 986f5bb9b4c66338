package bayeux_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

// logrusLike has the methods of a logrus.FieldLogger that WithFieldLogger
// uses.
type logrusLike struct {
	mu    sync.Mutex
	lines []string
}

func (l *logrusLike) add(level string, args []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range args {
		l.lines = append(l.lines, level+" "+a.(string))
	}
}
func (l *logrusLike) Debug(args ...any) { l.add("debug", args) }
func (l *logrusLike) Info(args ...any)  { l.add("info", args) }
func (l *logrusLike) Warn(args ...any)  { l.add("warn", args) }
func (l *logrusLike) Error(args ...any) { l.add("error", args) }

// WithFieldLogger sends the client's records to a logrus-style logger, one
// call per record at its level, with its attributes.
func TestWithFieldLogger(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	l := &logrusLike{}
	c := newScriptedClient(t, f, bayeux.WithFieldLogger(l))
	f.expire(c.ClientID())
	eventually(t, "the renewal logged", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, s := range l.lines {
			if strings.HasPrefix(s, "info bayeux session renewed clientId=") {
				return true
			}
		}
		return false
	})
}

// WithIgnoreError: a renewal the server denies ends the session when the
// function says not to go on (gobayeux v2.7.0's default stop), and is
// retried when it says to go on.
func TestWithIgnoreError(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		t.Run(map[bool]string{false: "stop", true: "go on"}[ignore], func(t *testing.T) {
			leakCheck(t)
			f := newScripted(t)
			var seen []error
			var mu sync.Mutex
			c := newClientOver(t, f, false, bayeux.WithIgnoreError(func(err error) bool {
				mu.Lock()
				seen = append(seen, err)
				mu.Unlock()
				return ignore
			}))
			if err := c.Connect(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Subscribe(ctxT(t), "/a", func(bayeux.Message) {}); err != nil {
				t.Fatal(err)
			}
			f.setHook(func(ctx context.Context, m bayeux.Message) (*bayeux.Message, <-chan struct{}) {
				if isSubscribe("/a")(m) && m.ClientID != "c1" {
					r := deny(m, "403::no")
					return &r, nil
				}
				return nil, nil
			})
			f.expire("c1")
			eventually(t, "the denied renewal", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) > 0 })
			if !ignore {
				select {
				case <-c.Done():
				case <-time.After(5 * time.Second):
					t.Fatal("the session did not end")
				}
				if err := c.Err(); !errors.Is(err, bayeux.ErrSubscriptionDenied) {
					t.Fatalf("Err = %v, want the denial", err)
				}
				return
			}
			eventually(t, "a retried renewal", func() bool { return f.count(isSubscribe("/a")) >= 3 })
			if c.Err() != nil {
				t.Fatalf("Err = %v", c.Err())
			}
		})
	}
}
