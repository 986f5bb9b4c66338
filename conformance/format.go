package conformance

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// WriteText writes the report as a readable table: one line per case
// (status, level, id, rule), what was seen under every case that did not
// pass, and a summary by level.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Bayeux conformance of %s\nconnection types offered: %s; %d cases in %s\n",
		r.URL, strings.Join(r.ConnectionTypes, ", "), len(r.Results), r.Duration.Round(time.Millisecond))
	section, transport := "", ""
	for _, res := range r.bySection() {
		if res.Section != section {
			section, transport = res.Section, ""
			fmt.Fprintf(&b, "\n%s\n", section)
		}
		if res.Transport != transport {
			transport = res.Transport
			fmt.Fprintf(&b, "  over %s\n", transport)
		}
		fmt.Fprintf(&b, "  %-4s  %-10s  %-34s %s\n", strings.ToUpper(res.Status.String()), res.Level, res.ID, res.Rule)
		if res.Status != Pass {
			fmt.Fprintf(&b, "        seen: %s\n", res.Seen)
			if res.Status != Skip {
				fmt.Fprintf(&b, "        rule from: %s\n", res.Source)
			}
		}
	}
	b.WriteString("\nSummary by level\n")
	fmt.Fprintf(&b, "  %-10s  %5s %5s %5s %5s\n", "level", "pass", "fail", "warn", "skip")
	for _, l := range Levels {
		fmt.Fprintf(&b, "  %-10s  %5d %5d %5d %5d\n", l, r.Count(l, Pass), r.Count(l, Fail), r.Count(l, Warn), r.Count(l, Skip))
	}
	fmt.Fprintf(&b, "  %-10s  %5d %5d %5d %5d\n", "all", r.Count("", Pass), r.Count("", Fail), r.Count("", Warn), r.Count("", Skip))
	if r.DiedAfter != "" {
		fmt.Fprintf(&b, "\nTHE SERVER DIED: it stopped answering after %s; the cases that had not run are skipped\n", r.DiedAfter)
	}
	if n := r.Count(Security, Fail); n > 0 {
		fmt.Fprintf(&b, "\nSECURITY: %d finding(s): %s\n", n, strings.Join(r.withLevel(Security, Fail), ", "))
	}
	if r.Passed() {
		b.WriteString("\nRESULT: no MUST rule broken\n")
	} else {
		fmt.Fprintf(&b, "\nRESULT: %d MUST rules broken: %s\n", r.Count(Must, Fail), strings.Join(r.withLevel(Must, Fail), ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// bySection returns the results grouped by section, each section where
// its first case stands in the catalogue, then by transport (the cases
// with none first, then long-polling, callback-polling, websocket), the
// cases in catalogue order.
func (r *Report) bySection() []Result {
	first := map[string]int{}
	for i, res := range r.Results {
		if _, ok := first[res.Section]; !ok {
			first[res.Section] = i
		}
	}
	rank := func(tr string) int { return slices.Index([]string{"", LongPolling, CallbackPolling, WebSocket}, tr) }
	out := slices.Clone(r.Results)
	slices.SortStableFunc(out, func(a, b Result) int {
		if d := first[a.Section] - first[b.Section]; d != 0 {
			return d
		}
		return rank(a.Transport) - rank(b.Transport)
	})
	return out
}

// String returns the status name.
func (s Status) String() string { return string(s) }

// WriteJSON writes the report as indented JSON (durations in
// nanoseconds).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		*Report
		Summary map[Level]map[Status]int `json:"summary"`
	}{r, r.summary()})
}

// summary counts the results by level and status ("all" for every level).
func (r *Report) summary() map[Level]map[Status]int {
	out := map[Level]map[Status]int{}
	for _, l := range append(slices.Clone(Levels), "all") {
		lv := l
		if l == "all" {
			lv = ""
		}
		out[l] = map[Status]int{}
		for _, st := range []Status{Pass, Fail, Warn, Skip} {
			out[l][st] = r.Count(lv, st)
		}
	}
	return out
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Name    string       `xml:"name,attr"`
	Tests   int          `xml:"tests,attr"`
	Fails   int          `xml:"failures,attr"`
	Skips   int          `xml:"skipped,attr"`
	Time    float64      `xml:"time,attr"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name  string      `xml:"name,attr"`
	Tests int         `xml:"tests,attr"`
	Fails int         `xml:"failures,attr"`
	Skips int         `xml:"skipped,attr"`
	Cases []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name       string          `xml:"name,attr"`
	Classname  string          `xml:"classname,attr"`
	Time       float64         `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Failure    *junitMessage   `xml:"failure,omitempty"`
	Skipped    *junitMessage   `xml:"skipped,omitempty"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

// junitProperty is a name and value of a test case: its level and
// status, so that a warning (a passing test case to JUnit) is visible.
type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML for CI systems: one test
// suite per section, a failure per failed case, skipped cases as skipped,
// and warnings (rules below MUST broken) as passing cases whose output
// starts with "WARN".
func (r *Report) WriteJUnit(w io.Writer) error {
	out := junitSuites{Name: "bayeux conformance " + r.URL, Time: r.Duration.Seconds()}
	idx := map[string]int{}
	for _, res := range r.Results {
		i, ok := idx[res.Section]
		if !ok {
			i = len(out.Suites)
			idx[res.Section] = i
			out.Suites = append(out.Suites, junitSuite{Name: res.Section})
		}
		s := &out.Suites[i]
		c := junitCase{Name: res.Name(), Classname: res.Section, Time: res.Duration.Seconds(),
			Properties: []junitProperty{{"level", string(res.Level)}, {"status", string(res.Status)}, {"source", res.Source}}}
		if res.Transport != "" {
			c.Properties = append(c.Properties, junitProperty{"transport", res.Transport})
		}
		detail := fmt.Sprintf("[%s] %s (%s)\nseen: %s", res.Level, res.Rule, res.Source, res.Seen)
		switch res.Status {
		case Fail:
			c.Failure = &junitMessage{Message: res.Seen, Text: detail}
			s.Fails++
			out.Fails++
		case Skip:
			c.Skipped = &junitMessage{Message: res.Seen}
			s.Skips++
			out.Skips++
		case Warn:
			c.SystemOut = "WARN " + detail
		default:
			c.SystemOut = detail
		}
		s.Tests++
		out.Tests++
		s.Cases = append(s.Cases, c)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
