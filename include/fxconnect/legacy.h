// Calls to the legacy systems a connector declares under `systems:` in its config (REST and SOAP
// over HTTP). Plain values only: the transport (libcurl), retries, timeouts, the circuit breaker,
// the bulkhead, the rate limit, authentication and TLS are the runtime's, configured per system.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "fxconnect/message.h"

namespace fxconnect {

struct HttpRequest {
  std::string method = "GET";
  std::string path = "/";                                  // appended to the system's endpoint, e.g. "/accounts/42"
  std::vector<std::pair<std::string, std::string>> query;  // added to the URL, percent-encoded
  Headers headers;  // besides the system's own (`systems.<name>.headers`, auth, traceparent)
  std::string body;
  // The statuses that answer the call; any other is a `legacy_failed` error. Empty: 200-299.
  std::vector<int> accept;
};

struct HttpResponse {
  int status = 0;
  Headers headers;
  std::string body;
  std::string version;  // the HTTP version that answered: "1.0", "1.1", "2" or "3"

  // The first value of header `name`, compared case-insensitively.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct SoapRequest {
  std::string path;    // appended to the system's endpoint ("" = the endpoint itself)
  std::string action;  // the SOAPAction (SOAP 1.1 header; SOAP 1.2 `action` content-type parameter)
  std::string body;    // the XML inside soap:Body, e.g. "<kyc:CheckCustomer xmlns:kyc=...>...</kyc:CheckCustomer>"
  Headers headers;
};

struct SoapResponse {
  int status = 0;
  std::string xml;  // the whole envelope as received
  // The Body's content as JSON: elements by local name, text as strings, repeated elements as
  // arrays, attributes as "@name". E.g. {"CheckCustomerResponse": {"status": "CLEAR", "riskScore": "12"}}.
  boost::json::value body;
  // The namespace prefixes the system declares (`systems.<name>.soap.namespaces`), plus `soap`
  // for the envelope's namespace, for values().
  std::vector<std::pair<std::string, std::string>> namespaces;

  // The text of every node `xpath` selects in the envelope (XPath 1.0 with the prefixes above),
  // in document order. Empty when nothing matches or the expression is invalid.
  std::vector<std::string> values(std::string_view xpath) const;
};

}  // namespace fxconnect
