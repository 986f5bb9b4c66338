package bayeux

// SubscriptionState is where a Subscription stands with the server.
type SubscriptionState int

const (
	// SubscriptionSubscribing: the first /meta/subscribe is under way;
	// Subscribe has not returned yet.
	SubscriptionSubscribing SubscriptionState = iota
	// SubscriptionSubscribed: the server confirmed the subscription in the
	// current session.
	SubscriptionSubscribed
	// SubscriptionResubscribing: the session was lost; the subscription is
	// being renewed in the next one.
	SubscriptionResubscribing
	// SubscriptionFailed: the server denied the renewal (Err says why,
	// for example Salesforce's "400::The replayId ... you provided was
	// invalid"); the client retries with backoff, each attempt going
	// through the outgoing extensions again.
	SubscriptionFailed
	// SubscriptionUnsubscribed: removed by Unsubscribe or Disconnect, or
	// the first subscription was denied (Err says why). Nothing is
	// delivered to it any more.
	SubscriptionUnsubscribed
)

var subscriptionStateNames = [...]string{"subscribing", "subscribed", "resubscribing", "failed", "unsubscribed"}

// String returns the state's name.
func (s SubscriptionState) String() string {
	if s >= 0 && int(s) < len(subscriptionStateNames) {
		return subscriptionStateNames[s]
	}
	return "unknown"
}
