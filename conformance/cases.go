package conformance

// Case describes one case of the catalogue.
type Case struct {
	ID        string `json:"id"`
	Section   string `json:"section"`
	Level     Level  `json:"level"`
	Rule      string `json:"rule"`
	Source    string `json:"source"`
	Transport string `json:"transport,omitempty"` // the transport it needs, if any
	// Matrix: the case runs on each transport the server offers.
	Matrix bool `json:"matrix,omitempty"`
}

// Cases returns the catalogue, grouped by section in the order of the
// specification.
func Cases() []Case {
	defs := catalogue()
	out := make([]Case, len(defs))
	for i, d := range defs {
		out[i] = Case{ID: d.id, Section: d.section, Level: d.level, Rule: d.rule, Source: d.source, Transport: d.transport, Matrix: d.matrix}
	}
	return out
}
