// Blocking HTTPS/1.1 requests for tests (the connector's endpoint served over TLS): the server's
// certificate and name are verified, as a careful client does. Test code only.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "http_get.h"

namespace fxconnect::testing {

struct TlsClientOptions {
  std::string ca_file;              // the CAs to trust (PEM); "" = the system's trust store
  std::string cert_file, key_file;  // a client certificate, when both are set
  int max_version = 0;              // e.g. TLS1_1_VERSION: offer nothing newer (0 = no cap)
};

// `base` is https://host:port; the certificate must name `host` (an IP address or a DNS name).
// Never throws: no answer (refused, handshake failed, timed out) is status 0 with `error` saying
// why, OpenSSL's reason included.
HttpResponse https_request(const std::string& base, std::string_view method, const std::string& path,
                           const HttpHeaders& headers = {}, const TlsClientOptions& tls = {},
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace fxconnect::testing
