// A throwaway PKI for TLS tests: a CA and the certificates it signs, generated with the OpenSSL API
// into a fresh temporary directory (removed when the test process exits).
#pragma once

#include <string>

namespace sluice::test {

// Paths of PEM files (keys are PKCS#8, EC P-256).
struct TestPki {
  std::string dir, ca_cert, server_cert, server_key, soon_cert, soon_key, client_cert, client_key;
};

// A self-signed CA; a server certificate valid days_valid days and a "soon" server certificate
// valid soon_days days (both for IP:127.0.0.1 and DNS:localhost, EKU serverAuth); a client
// certificate for mTLS (EKU clientAuth). All are signed by the CA and valid from an hour ago. A day
// count of 0 or less gives a certificate that has already expired (valid for one day before its
// end). Throws std::runtime_error on failure.
TestPki make_test_pki(int days_valid = 365, int soon_days = 5);

}  // namespace sluice::test
