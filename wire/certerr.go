package wire

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
)

// isCertError reports whether err comes from verifying the server's
// certificate, which no retry fixes.
func isCertError(err error) bool {
	var (
		cv *tls.CertificateVerificationError
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
	)
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}
