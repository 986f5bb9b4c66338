package bayeuxtest

import (
	"encoding/json"
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
)

// FuzzFilterMatches: a filtered channel's query and an event's data of
// any shape never make the filter panic, and an event whose payload has
// the fields and values of the query matches it.
func FuzzFilterMatches(f *testing.F) {
	f.Add("/topic/A?Status__c=Open", `{"sobject":{"Status__c":"Open"}}`)
	f.Add("/topic/A?a=1&b=x", `{"payload":{"a":1,"b":"x"}}`)
	f.Add("/topic/A?a", `[1]`)
	f.Add("/topic/A?=&&=", `{"":""}`)
	f.Fuzz(func(t *testing.T, ch, data string) {
		_ = filterMatches(bayeux.Channel(ch), json.RawMessage(data))
		_ = appendFiltered(nil, bayeux.Channel(ch), bayeux.Message{Channel: "/topic/A", Data: json.RawMessage(data)})
		k, v := "Status__c", data
		b, err := json.Marshal(map[string]any{"sobject": map[string]any{k: v}})
		if err != nil {
			t.Fatal(err)
		}
		q := bayeux.Channel("/topic/A?" + k + "=" + v)
		if plain(v) && !filterMatches(q, b) {
			t.Fatalf("%s does not match %s", q, b)
		}
	})
}

// plain reports whether v can be a query value as it is: printable
// ASCII, without the "&" the query is split on.
func plain(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] >= 0x7f || v[i] == '&' {
			return false
		}
	}
	return true
}
