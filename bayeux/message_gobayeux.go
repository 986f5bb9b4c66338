package bayeux

import "time"

// TimestampAsTime returns the message's Timestamp as a time.Time
// (gobayeux v2.7.0's method). The Bayeux form, YYYY-MM-DDThh:mm:ss with
// optional fractions of a second, is in GMT and gives a UTC time; an RFC
// 3339 timestamp with a zone is accepted too. An empty or malformed
// Timestamp returns the *time.ParseError.
func (m *Message) TimestampAsTime() (time.Time, error) {
	t, err := time.Parse("2006-01-02T15:04:05", m.Timestamp)
	if err == nil {
		return t, nil
	}
	if t, err2 := time.Parse(time.RFC3339Nano, m.Timestamp); err2 == nil {
		return t, nil
	}
	return time.Time{}, err
}
