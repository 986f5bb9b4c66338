package bayeux

// RawField returns the raw JSON of the value found by following path, a
// list of object keys, from the JSON object data: RawField(m.Data,
// "event", "replayId") reads a Salesforce replay id. It validates only
// what it walks through, allocates nothing for keys without escapes, and
// reports false when data is not an object, a key is missing, or the JSON
// is malformed. The result aliases data.
func RawField(data []byte, path ...string) ([]byte, bool) {
	d := decoder{b: data}
	var buf [64]byte
	for depth, name := range path {
		d.ws()
		if d.i >= len(d.b) || d.b[d.i] != '{' {
			return nil, false
		}
		d.i++
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == '}' {
			return nil, false
		}
		for {
			key, err := d.key(buf[:0])
			if err != nil {
				return nil, false
			}
			if string(key) == name {
				break
			}
			if d.skipValue(depth+1) != nil {
				return nil, false
			}
			end, err := d.nextMember()
			if err != nil || end {
				return nil, false
			}
		}
	}
	d.ws()
	start := d.i
	if d.i >= len(d.b) || d.skipValue(len(path)) != nil {
		return nil, false
	}
	return data[start:d.i], true
}

// RawInt returns the integer at path in data (see RawField): a JSON
// number without fraction or exponent that fits an int64.
func RawInt(data []byte, path ...string) (int64, bool) {
	b, ok := RawField(data, path...)
	if !ok || len(b) == 0 {
		return 0, false
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
		if n < 0 {
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	return n, true
}
