package bayeux

// BayeuxClient is a way of acting as a client with a given Bayeux server:
// the low-level client of the gobayeux API, which sends one request at a
// time and returns the server's reply. The session Client is built on it.
type BayeuxClient struct {
}
