package loadgen

import (
	"runtime"
	"time"
)

// Result is the outcome of a load run, as `bayeux bench -o` writes it in
// JSON. Rates are per second; latencies in milliseconds.
type Result struct {
	Config Config    `json:"config"`
	Start  time.Time `json:"start"`
	Host   Host      `json:"host"`

	// Subscriptions is the number of room subscriptions made.
	Subscriptions int `json:"subscriptions"`
	// SetupSeconds is how long the clients took to connect and subscribe.
	SetupSeconds float64 `json:"setupSeconds"`
	// PublishSeconds is how long the publishers published.
	PublishSeconds float64 `json:"publishSeconds"`

	// Sent counts the messages published successfully, SendFailures
	// those whose publication failed.
	Sent         int64 `json:"sent"`
	SendFailures int64 `json:"sendFailures"`
	// Expected is the number of deliveries the messages sent call for
	// (each message once at each subscriber of its room); Received the
	// deliveries counted; Lost the expected ones that never arrived and
	// Unexpected the deliveries beyond those expected.
	Expected int64 `json:"expected"`
	Received int64 `json:"received"`
	Lost     int64 `json:"lost"`
	// Interrupted is set when the run was interrupted (Ctrl-C): the figures
	// cover what was published until then, and deliveries still missing
	// after a short grace are in flight, not lost.
	Interrupted bool  `json:"interrupted,omitempty"`
	Unexpected  int64 `json:"unexpected"`
	// Dropped counts the messages the clients dropped because a
	// subscription's queue was full.
	Dropped uint64 `json:"dropped"`
	// ClientErrors counts the errors the clients reported (dropped
	// messages, failed requests, lost sessions); Errors holds the first
	// few of them.
	ClientErrors int64    `json:"clientErrors"`
	Errors       []string `json:"errors,omitempty"`

	// SendRate is Sent over PublishSeconds; ReceiveRate is Received over
	// the time from the first publication to the last delivery.
	SendRate    float64     `json:"sendRate"`
	ReceiveRate float64     `json:"receiveRate"`
	Latency     Percentiles `json:"latencyMs"`

	// ClientCPUSeconds is the CPU time of this process during the run
	// (setup excluded); ServerCPUSeconds that of the server process,
	// when it was started by StartServer and stopped before the result
	// was written, else 0.
	ClientCPUSeconds float64 `json:"clientCpuSeconds"`
	ServerCPUSeconds float64 `json:"serverCpuSeconds,omitempty"`
	// ServerPushInterval is the bayeuxtest server's
	// bayeuxtest.WithPushInterval, when bayeux bench started the server
	// (its -push-interval flag).
	ServerPushInterval time.Duration `json:"serverPushIntervalNs,omitempty"`
	// MachineBusyCPUSeconds is the CPU time every process of the machine
	// used during the run (setup excluded; Linux only): what exceeds the
	// client's and the server's was taken by other processes.
	// MachineCPUSeconds is what the machine had: its CPUs times the
	// run's wall time.
	MachineBusyCPUSeconds float64 `json:"machineBusyCpuSeconds,omitempty"`
	MachineCPUSeconds     float64 `json:"machineCpuSeconds,omitempty"`
}

// Host describes the machine the load ran on.
type Host struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"goVersion"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
}

func thisHost() Host {
	return Host{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		OS: runtime.GOOS, Arch: runtime.GOARCH}
}

// OK reports whether the run lost nothing: every expected delivery
// arrived, none more, none was dropped and no publication failed.
func (r *Result) OK() bool {
	return r.Lost == 0 && r.Unexpected == 0 && r.Dropped == 0 && r.SendFailures == 0 && r.Received == r.Expected
}
