package reliability

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// TLS over https (long-polling, callback-polling) and wss (websocket):
// certificates are verified by default, a custom CA comes from the
// user's http.Client, and nothing in the SDK turns verification off.

// tlsServer serves a bayeuxtest server over TLS and returns its Bayeux
// URL and its certificate.
func tlsServer(t *testing.T, srv *bayeuxtest.Server) (string, *x509.Certificate) {
	t.Helper()
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts.URL + "/bayeux", ts.Certificate()
}

func isCertError(err error) bool {
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	var ve *tls.CertificateVerificationError
	return errors.As(err, &ue) || errors.As(err, &he) || errors.As(err, &ve)
}

func TestTLS(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(300 * time.Millisecond))
			defer srv.Close()
			u, cert := tlsServer(t, srv)
			pool := x509.NewCertPool()
			pool.AddCert(cert)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			// refused connects with opts and checks that a certificate
			// error was reported and no handshake reached the server.
			refused := func(t *testing.T, u string, opts ...bayeux.Option) {
				t.Helper()
				certErrs := make(chan error, 1)
				opts = append(opts, bayeux.WithTransports(tr.new()), bayeux.WithErrorHandler(func(err error) {
					if isCertError(err) {
						select {
						case certErrs <- err:
						default:
						}
					}
				}))
				c, err := bayeux.NewClient(u, opts...)
				if err != nil {
					t.Fatal(err)
				}
				cctx, ccancel := context.WithTimeout(ctx, time.Second)
				defer ccancel()
				// A certificate that does not verify never heals: Connect
				// fails at once, with the certificate error as its cause
				// (an error handler hears of it only if it was retried).
				err = c.Connect(cctx)
				if err == nil {
					t.Fatal("Connect succeeded")
				}
				if cctx.Err() != nil {
					t.Fatalf("Connect retried a certificate error until its deadline: %v", err)
				}
				_ = c.Disconnect(ctx)
				select {
				case <-certErrs:
				default:
					if !isCertError(err) {
						t.Fatalf("Connect = %v: the certificate error is lost", err)
					}
				}
				if n := srv.HandshakeCount(); n != 0 {
					t.Fatalf("%d handshakes went through", n)
				}
			}
			t.Run("unknown authority", func(t *testing.T) { refused(t, u) })
			withCA := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
			defer withCA.CloseIdleConnections()
			t.Run("wrong host name", func(t *testing.T) {
				// The certificate names 127.0.0.1 and example.com, not localhost.
				refused(t, strings.Replace(u, "127.0.0.1", "localhost", 1), bayeux.WithHTTPClient(withCA))
			})
			t.Run("custom CA", func(t *testing.T) {
				c, err := bayeux.NewClient(u, bayeux.WithHTTPClient(withCA), bayeux.WithTransports(tr.new()))
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Connect(ctx); err != nil {
					t.Fatal(err)
				}
				if got := c.TransportName(); got != tr.name {
					t.Fatalf("transport %q", got)
				}
				got := make(chan bayeux.Message, 1)
				if _, err := c.Subscribe(ctx, "/tls", func(m bayeux.Message) { got <- m }); err != nil {
					t.Fatal(err)
				}
				if err := c.Publish(ctx, "/tls", "over TLS"); err != nil {
					t.Fatal(err)
				}
				select {
				case m := <-got:
					if string(m.Data) != `"over TLS"` {
						t.Fatalf("got %s", m.Data)
					}
				case <-ctx.Done():
					t.Fatal("no event")
				}
				if err := c.Disconnect(ctx); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
	t.Cleanup(func() {
		if tr, ok := http.DefaultTransport.(*http.Transport); ok && tr.TLSClientConfig != nil && tr.TLSClientConfig.InsecureSkipVerify {
			t.Error("http.DefaultTransport skips verification")
		}
	})
}

// TestNoInsecureSkipVerify checks that no code of the SDK (tests aside)
// turns certificate verification off.
func TestNoInsecureSkipVerify(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		if strings.Contains(string(b), "InsecureSkipVerify") {
			t.Errorf("%s mentions InsecureSkipVerify", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Fatalf("only %d Go files checked under %s", checked, root)
	}
}
