// SOAP over the HTTP systems: the envelope around a request body, and the answer read with
// libxml2 (namespace-aware; never loading external entities, DTDs or anything from the network).
// A SOAP Fault becomes a legacy_failed error carrying faultcode and faultstring.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "fxconnect/error.h"
#include "fxconnect/legacy.h"

namespace fxconnect::systems::soap {

// The HTTP request for `request` in a SOAP `version` ("1.1" or "1.2") envelope, to `path`.
HttpRequest make_request(const std::string& version, const SoapRequest& request);

// The answer to a SOAP call: the envelope parsed, or an error: a Fault (legacy_failed, retriable
// for a Server/Receiver fault), or an answer that is not a SOAP envelope (legacy_failed).
// `namespaces` are the system's declared prefixes (kept in the response for values()).
Result<SoapResponse> read_response(const std::string& system, const std::string& version, int status, std::string xml,
                                   std::vector<std::pair<std::string, std::string>> namespaces);

// An XML document as JSON: {"<root's local name>": <root>}, each element its text when it has no
// element children, else an object of its children by local name (repeated names become arrays),
// attributes as "@name". Parsed like answers (no network, entities or DTDs); legacy_failed when
// it is not well-formed XML.
Result<boost::json::value> xml_to_json(const std::string& xml);

// Why `xpath` (XPath 1.0) cannot be used with the namespace `prefixes` declared, or "" when it can:
// a syntax error, or a prefix that is not declared (libxml2 would fail every evaluation).
std::string check_xpath(const std::string& xpath, const std::vector<std::string>& prefixes);

}  // namespace fxconnect::systems::soap
