package bayeux_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
)

var allStates = []bayeux.StateRepresentation{bayeux.Unconnected, bayeux.Connecting, bayeux.Connected}

var allEvents = []bayeux.Event{
	bayeux.HandshakeSent, bayeux.HandshakeFailed, bayeux.SuccessfulConnect,
	bayeux.ConnectRetry, bayeux.ConnectFailed, bayeux.Timeout, bayeux.DisconnectSent,
}

// machineIn returns a machine driven into state s through allowed events.
func machineIn(t *testing.T, s bayeux.StateRepresentation) *bayeux.ConnectionStateMachine {
	t.Helper()
	csm := bayeux.NewConnectionStateMachine()
	var path []bayeux.Event
	switch s {
	case bayeux.Connecting:
		path = []bayeux.Event{bayeux.HandshakeSent}
	case bayeux.Connected:
		path = []bayeux.Event{bayeux.HandshakeSent, bayeux.SuccessfulConnect}
	}
	for _, e := range path {
		if err := csm.ProcessEvent(e); err != nil {
			t.Fatalf("ProcessEvent(%q) on the way to %s = %v", e, s, err)
		}
	}
	if got := csm.CurrentState(); got != s {
		t.Fatalf("machine in %s, want %s", got, s)
	}
	return csm
}

// TestStateTable checks every (state, event) pair against the client state
// table of the specification, extended so that every state can return to
// UNCONNECTED.
func TestStateTable(t *testing.T) {
	const refused = bayeux.StateRepresentation("refused")
	U, C, K := bayeux.Unconnected, bayeux.Connecting, bayeux.Connected
	want := map[bayeux.Event]map[bayeux.StateRepresentation]bayeux.StateRepresentation{
		bayeux.HandshakeSent:     {U: C, C: refused, K: refused},
		bayeux.HandshakeFailed:   {U: refused, C: U, K: refused},
		bayeux.SuccessfulConnect: {U: refused, C: K, K: K},
		bayeux.ConnectRetry:      {U: refused, C: C, K: C},
		bayeux.ConnectFailed:     {U: refused, C: U, K: U},
		bayeux.Timeout:           {U: U, C: U, K: U},
		bayeux.DisconnectSent:    {U: U, C: U, K: U},
	}
	for _, e := range allEvents {
		for _, s := range allStates {
			t.Run(string(s)+"/"+string(e), func(t *testing.T) {
				csm := machineIn(t, s)
				err := csm.ProcessEvent(e)
				next := want[e][s]
				if next == refused {
					if !errors.Is(err, bayeux.ErrBadState) {
						t.Fatalf("ProcessEvent(%q) in %s = %v, want ErrBadState", e, s, err)
					}
					if errors.Is(err, bayeux.ErrUnknownEvent) {
						t.Fatalf("refused known event matches ErrUnknownEvent: %v", err)
					}
					var ste *bayeux.StateTransitionError
					if !errors.As(err, &ste) || ste.Event != e || ste.State != s {
						t.Fatalf("error = %#v, want *StateTransitionError{%q, %s}", err, e, s)
					}
					if got := csm.CurrentState(); got != s {
						t.Fatalf("refused event moved the machine from %s to %s", s, got)
					}
					return
				}
				if err != nil {
					t.Fatalf("ProcessEvent(%q) in %s = %v, want nil", e, s, err)
				}
				if got := csm.CurrentState(); got != next {
					t.Fatalf("ProcessEvent(%q) in %s: state %s, want %s", e, s, got, next)
				}
				if csm.IsConnected() != (next == bayeux.Connected) {
					t.Fatalf("IsConnected() = %v in %s", csm.IsConnected(), next)
				}
			})
		}
	}
}

func TestStateMachineUnknownEvent(t *testing.T) {
	for _, s := range allStates {
		csm := machineIn(t, s)
		err := csm.ProcessEvent("bogus")
		if !errors.Is(err, bayeux.ErrUnknownEvent) || errors.Is(err, bayeux.ErrBadState) {
			t.Fatalf("ProcessEvent(bogus) in %s = %v, want ErrUnknownEvent only", s, err)
		}
		if err.Error() != `bayeux: unknown state machine event "bogus" in state `+string(s) {
			t.Fatalf("error text = %q", err.Error())
		}
		if got := csm.CurrentState(); got != s {
			t.Fatalf("unknown event moved the machine from %s to %s", s, got)
		}
	}
}

func TestStateMachineInitialAndZeroValue(t *testing.T) {
	for name, csm := range map[string]*bayeux.ConnectionStateMachine{
		"constructor": bayeux.NewConnectionStateMachine(),
		"zero value":  new(bayeux.ConnectionStateMachine),
	} {
		if got := csm.CurrentState(); got != bayeux.Unconnected {
			t.Fatalf("%s: initial state %s, want UNCONNECTED", name, got)
		}
		if csm.IsConnected() {
			t.Fatalf("%s: IsConnected() in the initial state", name)
		}
		if err := csm.ProcessEvent(bayeux.HandshakeSent); err != nil {
			t.Fatalf("%s: HandshakeSent from the initial state = %v", name, err)
		}
	}
}

// TestStateMachineRetryHandshake is the scenario gobayeux could not
// run (bug B6): a failed handshake, a retried one, a lost session and a
// re-handshake, all on the same machine.
func TestStateMachineRetryHandshake(t *testing.T) {
	csm := bayeux.NewConnectionStateMachine()
	steps := []struct {
		event bayeux.Event
		want  bayeux.StateRepresentation
	}{
		{bayeux.HandshakeSent, bayeux.Connecting},
		{bayeux.HandshakeFailed, bayeux.Unconnected}, // denied handshake
		{bayeux.HandshakeSent, bayeux.Connecting},    // retried
		{bayeux.SuccessfulConnect, bayeux.Connected},
		{bayeux.SuccessfulConnect, bayeux.Connected}, // the connect loop goes on
		{bayeux.ConnectRetry, bayeux.Connecting},     // network failure, advice retry
		{bayeux.ConnectRetry, bayeux.Connecting},
		{bayeux.SuccessfulConnect, bayeux.Connected},
		{bayeux.ConnectFailed, bayeux.Unconnected}, // 402::Unknown client, advice handshake
		{bayeux.HandshakeSent, bayeux.Connecting},  // re-handshake
		{bayeux.SuccessfulConnect, bayeux.Connected},
		{bayeux.Timeout, bayeux.Unconnected},
		{bayeux.HandshakeSent, bayeux.Connecting},
		{bayeux.SuccessfulConnect, bayeux.Connected},
		{bayeux.DisconnectSent, bayeux.Unconnected},
		{bayeux.DisconnectSent, bayeux.Unconnected}, // idempotent
		{bayeux.HandshakeSent, bayeux.Connecting},   // the client can be used again
	}
	for i, st := range steps {
		if err := csm.ProcessEvent(st.event); err != nil {
			t.Fatalf("step %d: ProcessEvent(%q) = %v", i, st.event, err)
		}
		if got := csm.CurrentState(); got != st.want {
			t.Fatalf("step %d: after %q state %s, want %s", i, st.event, got, st.want)
		}
	}
}

// TestStateMachineConcurrent races handshakes: exactly one of many
// concurrent HandshakeSent events from UNCONNECTED wins. Run with -race.
func TestStateMachineConcurrent(t *testing.T) {
	const n = 32
	csm := bayeux.NewConnectionStateMachine()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		won     int
		refused int
	)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := csm.ProcessEvent(bayeux.HandshakeSent)
			_ = csm.CurrentState()
			_ = csm.IsConnected()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, bayeux.ErrBadState):
				refused++
			default:
				t.Errorf("unexpected error %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if won != 1 || refused != n-1 {
		t.Fatalf("%d handshakes accepted, %d refused; want 1 and %d", won, refused, n-1)
	}
	if got := csm.CurrentState(); got != bayeux.Connecting {
		t.Fatalf("state %s, want CONNECTING", got)
	}
}

func ExampleConnectionStateMachine() {
	csm := bayeux.NewConnectionStateMachine()
	fmt.Println(csm.CurrentState())
	_ = csm.ProcessEvent(bayeux.HandshakeSent)
	_ = csm.ProcessEvent(bayeux.SuccessfulConnect)
	fmt.Println(csm.CurrentState(), csm.IsConnected())
	err := csm.ProcessEvent(bayeux.HandshakeSent)
	fmt.Println(errors.Is(err, bayeux.ErrBadState))
	_ = csm.ProcessEvent(bayeux.ConnectFailed) // the server lost the session
	fmt.Println(csm.CurrentState())
	fmt.Println(csm.ProcessEvent(bayeux.HandshakeSent)) // re-handshake
	// Output:
	// UNCONNECTED
	// CONNECTED true
	// true
	// UNCONNECTED
	// <nil>
}
