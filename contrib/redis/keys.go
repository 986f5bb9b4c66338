package bayeuxredis

// keys are the Redis keys of one group. Both carry the group in a hash tag
// ({...}) so that they live in the same slot of a Redis Cluster, which the
// fenced write needs: its Lua script reads the lease and writes the
// positions in one step.
type keys struct {
	lease     string // the lease: a string holding the holder's token
	positions string // the shared position: a hash channel -> replay id
}

// KeyPrefix starts every key this package writes.
const KeyPrefix = "bayeux:"

func groupKeys(group string) keys {
	base := KeyPrefix + "{" + group + "}:"
	return keys{lease: base + "lease", positions: base + "positions"}
}
