package bayeux_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

// Stats.Add sums every counter (a field added to Stats and forgotten in Add
// fails here), keeps the larger high-water mark and the later times, and
// takes the state of the first snapshot that has a transport.
func TestStatsAdd(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	var a, b bayeux.Stats
	n := uint64(0)
	var fill func(v, w reflect.Value)
	fill = func(v, w reflect.Value) {
		for i := range v.NumField() {
			f, g := v.Field(i), w.Field(i)
			switch f.Kind() {
			case reflect.Uint64:
				n++
				f.SetUint(n)
				g.SetUint(100 * n)
			case reflect.Struct:
				if f.Type() != reflect.TypeFor[time.Time]() {
					fill(f, g)
				}
			}
		}
	}
	fill(reflect.ValueOf(&a).Elem(), reflect.ValueOf(&b).Elem())
	a.Queued, b.Queued = 3, 4
	a.QueueHighWater, b.QueueHighWater = 7, 5
	a.LastEvent, b.LastEvent = t0, t0.Add(time.Second)
	a.LastConnect, b.LastConnect = t0.Add(time.Minute), t0
	b.State, b.Transport = bayeux.StateConnected, "websocket"

	sum := a.Add(b)
	var check func(v, x, y reflect.Value, path string)
	check = func(v, x, y reflect.Value, path string) {
		for i := range v.NumField() {
			name := path + v.Type().Field(i).Name
			f, fx, fy := v.Field(i), x.Field(i), y.Field(i)
			switch f.Kind() {
			case reflect.Uint64:
				if f.Uint() != fx.Uint()+fy.Uint() {
					t.Errorf("%s = %d, want %d", name, f.Uint(), fx.Uint()+fy.Uint())
				}
			case reflect.Struct:
				if f.Type() != reflect.TypeFor[time.Time]() {
					check(f, fx, fy, name+".")
				}
			}
		}
	}
	check(reflect.ValueOf(sum), reflect.ValueOf(a), reflect.ValueOf(b), "")
	if sum.Queued != 7 || sum.QueueHighWater != 7 {
		t.Errorf("Queued %d, QueueHighWater %d; want 7 and 7", sum.Queued, sum.QueueHighWater)
	}
	if !sum.LastEvent.Equal(t0.Add(time.Second)) || !sum.LastConnect.Equal(t0.Add(time.Minute)) {
		t.Errorf("LastEvent %v, LastConnect %v: want the later of each", sum.LastEvent, sum.LastConnect)
	}
	if sum.State != bayeux.StateConnected || sum.Transport != "websocket" {
		t.Errorf("a without a transport plus b: state %v over %q, want b's", sum.State, sum.Transport)
	}
	a.State, a.Transport = bayeux.StateReconnecting, "long-polling"
	if s := a.Add(b); s.State != bayeux.StateReconnecting || s.Transport != "long-polling" {
		t.Errorf("a plus b: state %v over %q, want a's", s.State, s.Transport)
	}
}

// Two clients, reported as one: the counts add up, the state is the
// first's.
func ExampleStats_Add() {
	a := bayeux.Stats{State: bayeux.StateConnected, Transport: "websocket", Received: 120, Delivered: 118,
		Dropped: bayeux.Drops{QueueFull: 2}, QueueHighWater: 40}
	b := bayeux.Stats{State: bayeux.StateReconnecting, Transport: "long-polling", Received: 30, Delivered: 30,
		QueueHighWater: 64}
	sum := a.Add(b)
	fmt.Println(sum.State, sum.Transport, sum.Received, sum.Delivered, sum.Dropped.Total(), sum.QueueHighWater)
	// Output: connected websocket 150 148 2 64
}
