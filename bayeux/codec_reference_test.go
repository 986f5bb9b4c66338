package bayeux

// The reference decoder: encoding/json, message by message. The fast
// decoder (DecodeMessages, decode.go) is checked against it by the
// differential fuzz test and the decode tests, and measured against it by
// the codec benchmarks; the package itself never uses it.

import (
	"bytes"
	"encoding/json"
)

// wireMessage is the encoding/json view of a message used by the reference
// decoder.
type wireMessage struct {
	Advice                   *Advice                `json:"advice"`
	ID                       json.RawMessage        `json:"id"`
	Channel                  *string                `json:"channel"`
	ClientID                 string                 `json:"clientId"`
	Data                     json.RawMessage        `json:"data"`
	Version                  string                 `json:"version"`
	MinimumVersion           string                 `json:"minimumVersion"`
	SupportedConnectionTypes []string               `json:"supportedConnectionTypes"`
	ConnectionType           string                 `json:"connectionType"`
	Timestamp                string                 `json:"timestamp"`
	Successful               *bool                  `json:"successful"`
	AuthSuccessful           bool                   `json:"authSuccessful"`
	Subscription             json.RawMessage        `json:"subscription"`
	Error                    string                 `json:"error"`
	Ext                      map[string]interface{} `json:"ext"`
}

func decodeMessagesStd(body []byte) ([]Message, error) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return nil, &DecodeError{Reason: "empty payload"}
	}
	switch b[0] {
	case '{':
		var m Message
		if err := decodeMessageStd(b, &m); err != nil {
			return nil, err
		}
		return []Message{m}, nil
	case '[':
		var raws []json.RawMessage
		if err := json.Unmarshal(b, &raws); err != nil {
			return nil, &DecodeError{Reason: err.Error(), Input: truncate(b)}
		}
		out := make([]Message, len(raws))
		for i, r := range raws {
			if err := decodeMessageStd(r, &out[i]); err != nil {
				return nil, err
			}
		}
		return out, nil
	default:
		return nil, &DecodeError{Reason: "payload is neither a JSON array nor an object", Input: truncate(b)}
	}
}

func decodeMessageStd(b []byte, m *Message) error {
	var w wireMessage
	if err := json.Unmarshal(b, &w); err != nil {
		return &DecodeError{Reason: err.Error(), Input: truncate(b)}
	}
	if w.Channel == nil {
		return &DecodeError{Reason: "message has no channel", Input: truncate(b)}
	}
	*m = Message{
		Advice: w.Advice, Channel: Channel(*w.Channel), ClientID: w.ClientID,
		Version: w.Version, MinimumVersion: w.MinimumVersion,
		SupportedConnectionTypes: w.SupportedConnectionTypes, ConnectionType: w.ConnectionType,
		Timestamp: w.Timestamp, AuthSuccessful: w.AuthSuccessful, Error: w.Error, Ext: w.Ext,
	}
	if len(w.Data) > 0 && string(w.Data) != "null" {
		m.Data = w.Data
	}
	if len(w.ID) > 0 && string(w.ID) != "null" {
		// Some servers send numeric ids; keep their text.
		var s string
		if w.ID[0] == '"' {
			if err := json.Unmarshal(w.ID, &s); err != nil {
				return &DecodeError{Reason: "id: " + err.Error()}
			}
		} else {
			s = string(w.ID)
		}
		m.ID = s
	}
	if w.Successful != nil {
		m.SetSuccessful(*w.Successful)
	}
	if len(w.Subscription) > 0 && string(w.Subscription) != "null" {
		switch w.Subscription[0] {
		case '"':
			var s string
			if err := json.Unmarshal(w.Subscription, &s); err != nil {
				return &DecodeError{Reason: "subscription: " + err.Error()}
			}
			m.Subscription = []Channel{Channel(s)}
		case '[':
			var ss []Channel
			if err := json.Unmarshal(w.Subscription, &ss); err != nil {
				return &DecodeError{Reason: "subscription: " + err.Error()}
			}
			m.Subscription = ss
			m.subscriptionArray = true
		default:
			return &DecodeError{Reason: "subscription is neither a string nor an array", Input: truncate(w.Subscription)}
		}
	}
	return nil
}

func truncate(b []byte) string {
	const max = 64
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
