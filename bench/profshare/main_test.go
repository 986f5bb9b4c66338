package main

import (
	"strings"
	"testing"
	"time"
)

const traces = `File: bayeux.test
Type: cpu
Duration: 4.38s, Total samples = 3.64s (83.19%)
-----------+-------------------------------------------------------
      60ms   internal/runtime/syscall/linux.Syscall6
             internal/runtime/syscall/linux.EpollWait
             runtime.netpoll
             runtime.findRunnable
             runtime.schedule
             runtime.park_m
             runtime.mcall
-----------+-------------------------------------------------------
      10ms   runtime.scanObject
             runtime.gcDrain
             runtime.gcBgMarkWorker
-----------+-------------------------------------------------------
      20ms   runtime.mallocgc
             github.com/bayeux-go/sdk/bayeux.(*decoder).message
             github.com/bayeux-go/sdk/bayeux.decodeMessages
             github.com/bayeux-go/sdk/transport/longpoll.(*Transport).RoundTrip
-----------+-------------------------------------------------------
      10ms   github.com/bayeux-go/sdk/bayeux.(*Subscription).enqueue
             github.com/bayeux-go/sdk/bayeux.(*subRegistry).dispatch
             github.com/bayeux-go/sdk/bayeux.(*Client).receive
-----------+-------------------------------------------------------
      10ms   main.elsewhere
-----------+-------------------------------------------------------
`

func TestSplit(t *testing.T) {
	tab, err := split(strings.NewReader(traces))
	if err != nil {
		t.Fatal(err)
	}
	if tab.total != 110*time.Millisecond {
		t.Errorf("total = %v, want 110ms", tab.total)
	}
	want := map[string]time.Duration{
		"GC (mark workers, assists, sweep)":  10 * time.Millisecond,
		"decode (bayeux.DecodeMessages)":     20 * time.Millisecond,
		"queue (Subscription.enqueue)":       10 * time.Millisecond,
		"scheduler, netpoll, idle (runtime)": 60 * time.Millisecond,
	}
	for i, s := range stages {
		if got := tab.time[i]; got != want[s.name] {
			t.Errorf("%s = %v, want %v", s.name, got, want[s.name])
		}
	}
	if other := tab.time[len(stages)]; other != 10*time.Millisecond {
		t.Errorf("other = %v, want 10ms", other)
	}
	if tab.alloc[1] != 20*time.Millisecond {
		t.Errorf("decode allocating = %v, want 20ms", tab.alloc[1])
	}
}

func TestSplitEmpty(t *testing.T) {
	if _, err := split(strings.NewReader("File: x\n")); err == nil {
		t.Error("split of a profile without samples: no error")
	}
}
