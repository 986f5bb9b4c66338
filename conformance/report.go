package conformance

import (
	"slices"
	"time"
)

// Level is how strongly a rule binds a server.
type Level string

// Levels, strongest first.
const (
	// Security is a rule whose breach endangers the server or its users
	// (a JSONP callback echoed unescaped, a request that kills the
	// server): a breach fails the run whatever the MUST count.
	Security Level = "security"
	// Must is an absolute requirement of the Bayeux 1.0 specification.
	Must Level = "MUST"
	// Should is a recommendation of the specification.
	Should Level = "SHOULD"
	// Grammar is a rule that follows from the specification's grammar
	// (the BNF of channel names and clientIds) with no requirement word
	// on what a server does with a name outside it.
	Grammar Level = "grammar"
	// May is what the specification leaves to the server (it MAY), checked
	// when the server does it: an optional feature, a profile such as an
	// extension, an optional field.
	May Level = "MAY"
	// Convention is what the main implementations (CometD, Faye) agree on
	// where the specification is silent; clients rely on it.
	Convention Level = "convention"
)

// Levels lists the levels, strongest first.
var Levels = []Level{Security, Must, Should, Grammar, May, Convention}

// Status is the outcome of one case.
type Status string

// Outcomes of a case.
const (
	// Pass: the server followed the rule.
	Pass Status = "pass"
	// Fail: the server broke a MUST or security rule.
	Fail Status = "fail"
	// Warn: the server broke a rule below MUST (SHOULD, MAY, convention).
	Warn Status = "warn"
	// Skip: the case could not run (a transport or profile the server
	// lacks, or a case left out by the options); Seen says why.
	Skip Status = "skip"
)

// Result is the outcome of one case.
type Result struct {
	// ID names the case, such as "handshake.version".
	ID string `json:"id"`
	// Section is the part of the specification the rule belongs to.
	Section string `json:"section"`
	// Transport is the transport the case ran on, when it runs on several
	// (a transport matrix) or needs one; "" when it uses long-polling
	// requests of its own.
	Transport string `json:"transport,omitempty"`
	// Level is how strongly the rule binds.
	Level Level `json:"level"`
	// Rule states what the server must do.
	Rule string `json:"rule"`
	// Source is where the rule is written (a URL a reader can open).
	Source string `json:"source"`
	// Status is pass, fail, warn or skip.
	Status Status `json:"status"`
	// Seen describes what the server did: on failure the evidence, on a
	// skip the reason.
	Seen string `json:"seen"`
	// Duration is how long the case ran.
	Duration time.Duration `json:"durationNs"`
}

// Report is the outcome of a run.
type Report struct {
	// URL is the Bayeux endpoint tested.
	URL string `json:"url"`
	// Started is when the run began.
	Started time.Time `json:"started"`
	// Duration is how long the run took.
	Duration time.Duration `json:"durationNs"`
	// ConnectionTypes are the types the server advertised in its handshake
	// reply.
	ConnectionTypes []string `json:"connectionTypes"`
	// Results holds one entry per case run or skipped, in catalogue order
	// (cases left out by WithCases are not listed).
	Results []Result `json:"results"`
	// DiedAfter, when not empty, is the id of the case after which the
	// server stopped answering; the cases that had not run then are
	// skipped ("not run").
	DiedAfter string `json:"diedAfter,omitempty"`
}

// Result returns the result of the case with that id (of its first run,
// for a case that ran on several transports).
func (r *Report) Result(id string) (Result, bool) {
	for _, res := range r.Results {
		if res.ID == id {
			return res, true
		}
	}
	return Result{}, false
}

// ResultOn returns the result of the case with that id on transport.
func (r *Report) ResultOn(id, transport string) (Result, bool) {
	for _, res := range r.Results {
		if res.ID == id && res.Transport == transport {
			return res, true
		}
	}
	return Result{}, false
}

// Name is the case's id, with the transport it ran on in brackets when it
// has one ("subscribe.echo [websocket]").
func (res Result) Name() string {
	if res.Transport == "" {
		return res.ID
	}
	return res.ID + " [" + res.Transport + "]"
}

// Count returns how many results have the status at the level (an empty
// level counts every level).
func (r *Report) Count(level Level, status Status) int {
	n := 0
	for _, res := range r.Results {
		if res.Status == status && (level == "" || res.Level == level) {
			n++
		}
	}
	return n
}

// With returns the ids of the cases with a result of one of the statuses
// (on any transport), sorted, each once.
func (r *Report) With(statuses ...Status) []string {
	var ids []string
	for _, res := range r.Results {
		if slices.Contains(statuses, res.Status) {
			ids = append(ids, res.ID)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// withLevel returns the ids of the results at level with status, sorted.
func (r *Report) withLevel(level Level, status Status) []string {
	var ids []string
	for _, res := range r.Results {
		if res.Level == level && res.Status == status {
			ids = append(ids, res.Name())
		}
	}
	slices.Sort(ids)
	return ids
}

// Passed reports whether no MUST case failed.
func (r *Report) Passed() bool { return r.Count(Must, Fail) == 0 }

// Secure reports whether no security case failed and the server did not
// die during the run.
func (r *Report) Secure() bool { return r.Count(Security, Fail) == 0 && r.DiedAfter == "" }
