package salesforce

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/ext/auth"
	"github.com/bayeux-go/sdk/ext/replay"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

// DefaultAPIVersion is the API version of the endpoint NewClient uses
// unless WithAPIVersion says otherwise.
const DefaultAPIVersion = "62.0"

// ErrConfig reports a configuration NewClient or a token source cannot
// work with: a missing field, a malformed URL, API version or key.
var ErrConfig = errors.New("salesforce: invalid configuration")

// apiVersionRE is the form of Salesforce's API versions.
var apiVersionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)

// options is what Option functions set.
type options struct {
	instanceURL string
	version     string
	store       replay.Store
	start       int64
	fallback    int64
	client      []bayeux.Option
	auth        []auth.Option
}

// Option configures NewClient.
type Option func(*options)

// WithInstanceURL sets the org's instance URL
// (https://MyDomain.my.salesforce.com). Without it (or with ""),
// NewClient takes the instance_url of the token source's token response,
// when the source has an InstanceURL(context.Context) (string, error)
// method, as a *TokenSource has.
func WithInstanceURL(u string) Option {
	return func(o *options) { o.instanceURL = u }
}

// WithAPIVersion sets the API version of the endpoint, such as "62.0"
// (default DefaultAPIVersion).
func WithAPIVersion(v string) Option {
	return func(o *options) { o.version = v }
}

// WithReplayStore sets the store of the replay ids (default: a
// replay.MemoryStore, which forgets them when the program ends). Give a
// replay.FileStore, or a store of your own, to resume after a restart.
func WithReplayStore(s replay.Store) Option {
	return func(o *options) { o.store = s }
}

// WithReplayStart sets where a channel with no stored replay id starts:
// replay.StartNew (-1, the default: events published from now on),
// replay.StartAll (-2: every event Salesforce retains) or a replay id.
func WithReplayStart(id int64) Option {
	return func(o *options) { o.start = id }
}

// WithReplayFallback sets where a channel whose stored replay id
// Salesforce no longer retains resumes: replay.StartAll (-2, the default)
// or replay.StartNew (-1).
func WithReplayFallback(id int64) Option {
	return func(o *options) { o.fallback = id }
}

// WithClientOptions adds options of the client, applied after those of
// the preset, so that they override them: an error handler, a logger, a
// queue size (bayeux.WithDeliveryQueue), more extensions.
func WithClientOptions(opts ...bayeux.Option) Option {
	return func(o *options) { o.client = append(o.client, opts...) }
}

// WithAuthOptions adds options of the ext/auth extension.
func WithAuthOptions(opts ...auth.Option) Option {
	return func(o *options) { o.auth = append(o.auth, opts...) }
}

// instanceURLSource is a token source that knows the instance URL its
// tokens belong to.
type instanceURLSource interface {
	InstanceURL(ctx context.Context) (string, error)
}

// NewClient returns a client of Salesforce's Streaming API, configured as
// a consumer that must not miss an event needs it: the endpoint
// INSTANCE/cometd/VERSION, the long-polling transport (the only one
// Salesforce serves), ext/auth with the tokens of tokens, ext/replay with
// the store of WithReplayStore, and subscription queues that apply
// backpressure (bayeux.OverflowBlock) rather than drop an event whose
// replay id would then be passed by the next ones. Connect it, then
// subscribe.
//
// ctx is used only to learn the instance URL from tokens when
// WithInstanceURL is not given; the token it fetches for that is the one
// the client's first request sends.
func NewClient(ctx context.Context, tokens auth.TokenSource, opts ...Option) (*bayeux.Client, error) {
	o := options{version: DefaultAPIVersion, start: replay.StartNew, fallback: replay.StartAll}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if tokens == nil {
		return nil, fmt.Errorf("%w: no token source", ErrConfig)
	}
	if o.instanceURL == "" {
		src, ok := tokens.(instanceURLSource)
		if !ok {
			return nil, fmt.Errorf("%w: no instance URL: give WithInstanceURL, or a token source with an InstanceURL method", ErrConfig)
		}
		u, err := src.InstanceURL(ctx)
		if err != nil {
			return nil, err
		}
		o.instanceURL = u
	}
	endpoint, err := Endpoint(o.instanceURL, o.version)
	if err != nil {
		return nil, err
	}
	copts := []bayeux.Option{
		bayeux.WithTransports(longpoll.New()),
		bayeux.WithDeliveryQueue(bayeux.DefaultQueueSize, bayeux.OverflowBlock),
		bayeux.WithExtensions(
			auth.New(tokens, o.auth...),
			replay.New(replay.WithStore(o.store), replay.WithStart(o.start), replay.WithFallback(o.fallback)),
		),
	}
	return bayeux.NewClient(endpoint, append(copts, o.client...)...)
}

// Endpoint returns the Streaming API endpoint of an org:
// instanceURL/cometd/apiVersion, for example
// https://acme.my.salesforce.com/cometd/62.0.
func Endpoint(instanceURL, apiVersion string) (string, error) {
	base, err := baseURL(instanceURL)
	if err != nil {
		return "", fmt.Errorf("instance URL: %w", err)
	}
	if !apiVersionRE.MatchString(apiVersion) {
		return "", fmt.Errorf("%w: API version %q is not of the form 62.0", ErrConfig, apiVersion)
	}
	return base + "/cometd/" + apiVersion, nil
}

// baseURL checks that u is an absolute http or https URL with no path
// but "/", query or fragment, and returns it without the trailing slash.
func baseURL(u string) (string, error) {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return "", fmt.Errorf("%w: %q is not an absolute https URL", ErrConfig, u)
	}
	if (p.Path != "" && p.Path != "/") || p.RawQuery != "" || p.Fragment != "" || p.User != nil {
		return "", fmt.Errorf("%w: %q has more than a scheme and a host", ErrConfig, u)
	}
	return strings.TrimSuffix(u, "/"), nil
}
