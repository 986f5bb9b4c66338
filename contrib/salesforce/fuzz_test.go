package salesforce_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bayeux-go/sdk/contrib/salesforce"
)

// Whatever the token endpoint answers, a source returns a token with an
// access token, or an error on one line that matches ErrTokenRequest;
// never a panic.
func FuzzTokenResponse(f *testing.F) {
	f.Add(200, []byte(`{"access_token":"00Dxx!a","instance_url":"https://acme.my.salesforce.com","token_type":"Bearer"}`), "application/json")
	f.Add(400, []byte(`{"error":"invalid_grant","error_description":"expired access/refresh token"}`), "application/json")
	f.Add(200, []byte(`{"access_token":""}`), "application/json")
	f.Add(200, []byte("access_token=a&instance_url=x"), "application/x-www-form-urlencoded")
	f.Add(500, []byte("<html>\nmaintenance\n</html>"), "text/html")
	f.Add(200, []byte(`{"access_token":"a","instance_url":7}`), "application/json")
	f.Fuzz(func(t *testing.T, status int, body []byte, contentType string) {
		if status < 100 || status > 599 {
			status = 200
		}
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {contentType}},
				Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
		})
		ts, err := salesforce.NewRefreshTokenSource(context.Background(), salesforce.RefreshTokenConfig{
			ClientID: "c", RefreshToken: "r"}, salesforce.WithHTTPClient(&http.Client{Transport: rt}))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := ts.Token()
		switch {
		case err != nil:
			if !errors.Is(err, salesforce.ErrTokenRequest) {
				t.Errorf("error %v (%T) does not match ErrTokenRequest", err, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error on more than one line: %q", err)
			}
		case tok == nil || tok.AccessToken == "":
			t.Errorf("no error and no access token: %v", tok)
		}
	})
}

// Endpoint returns an error matching ErrConfig, or an absolute URL ending
// in /cometd/<version>; never a panic.
func FuzzEndpoint(f *testing.F) {
	f.Add("https://acme.my.salesforce.com", "62.0")
	f.Add("https://acme.my.salesforce.com/", "61.0")
	f.Add("http://127.0.0.1:8080", "1.0")
	f.Add("https://acme.my.salesforce.com/services?x=1", "62.0")
	f.Add("acme", "v62")
	f.Add("https://user:pw@acme.my.salesforce.com#f", "62.0/../x")
	f.Fuzz(func(t *testing.T, instance, version string) {
		got, err := salesforce.Endpoint(instance, version)
		if err != nil {
			if !errors.Is(err, salesforce.ErrConfig) {
				t.Errorf("error %v does not match ErrConfig", err)
			}
			return
		}
		u, perr := url.Parse(got)
		if perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "/cometd/"+version || u.RawQuery != "" {
			t.Errorf("Endpoint(%q, %q) = %q", instance, version, got)
		}
	})
}
