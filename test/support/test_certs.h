// Certificates for TLS tests, made with the openssl CLI (apt package openssl) into a fresh
// directory under the test temp dir, once per test process: a test CA, a server certificate for
// 127.0.0.1 and localhost, a client certificate, a server certificate that names another host,
// and an unrelated CA with a server certificate of its own (for 127.0.0.1 and localhost too).
// Keys are EC P-256, unencrypted PEM. Test code only.
#pragma once

#include <string>

namespace fxconnect::testing {

struct TestCerts {
  std::string dir;
  std::string ca, ca_key;          // the test CA
  std::string server, server_key;  // serverAuth, IP:127.0.0.1 and DNS:localhost, issued by `ca`
  std::string client, client_key;  // clientAuth, issued by `ca`
  // serverAuth for DNS:elsewhere.invalid only, issued by `ca`: trusted, but not for 127.0.0.1.
  std::string wrong_name_server, wrong_name_server_key;
  // A CA that issued nothing the others trust, and its own server certificate for 127.0.0.1 and
  // localhost (a collector or system "with an untrusted certificate").
  std::string other_ca, other_server, other_server_key;
};

// Made on the first call (a few hundred milliseconds); throws std::runtime_error with openssl's
// output when that fails.
const TestCerts& test_certs();

}  // namespace fxconnect::testing
