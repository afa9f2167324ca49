// Calls to the legacy systems a connector declares under `systems:` in its config: REST and SOAP
// over HTTP, SQL (PostgreSQL), file exchange (a folder or SFTP) and commands (scripts, RPA bots).
// Plain values only: the transport (libcurl, libpq, processes), retries, timeouts, the circuit
// breaker, the bulkhead, the rate limit, authentication and TLS are the runtime's, per system.
#pragma once

#include <chrono>
#include <cstdint>
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

// `text` with the five XML special characters escaped (&amp; &lt; &gt; &quot; &apos;): safe as element
// content and attribute values (`]]>` becomes `]]&gt;`); for putting request values into a SoapRequest's body.
std::string xml_escape(std::string_view text);

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

// A query on a `postgres` system. Values are bound as parameters ($1, $2, ...), never put into the
// query's text.
struct SqlRequest {
  std::string query;
  std::vector<std::optional<std::string>> params;  // in PostgreSQL's text form; nullopt is NULL
  std::size_t max_rows = 0;  // more rows is a legacy_failed error, never a truncated result; 0: the system's max_rows
};

struct SqlColumn {
  std::string name;
  std::string
      type;  // PostgreSQL's type name: int4, int8, numeric, text, bool, timestamptz, jsonb, ... ("oid:N" if unknown)
};

struct SqlResult {
  std::vector<SqlColumn> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;  // each value in PostgreSQL's text form; nullopt is NULL
  std::uint64_t affected = 0;  // rows an INSERT, UPDATE or DELETE touched (or a SELECT returned)

  // The rows as JSON text: an array of objects, column name → value. Exact: integers and numeric
  // keep every digit (NaN and Infinity become strings), bool is true/false, json and jsonb are
  // embedded as they are, NULL is null, everything else is a string.
  std::string json() const;
};

// A request file written to a `dir` or `sftp` system (under a temporary name, then renamed, so the
// other side never reads half a file) and, unless `answer` is empty, its answer file awaited.
struct FileExchangeRequest {
  std::string name;  // the request file's name in the system's folder; make it carry the request's identity
  std::string body;
  std::string answer;                    // the answer file's name; "" = write only
  std::chrono::milliseconds timeout{0};  // the wait for the answer (never past the deadline); 0: await_timeout
  // Where both files go once answered: a folder under the system's ("done/"), created if missing;
  // "" = both are removed.
  std::string archive;
};

struct FileExchangeResponse {
  std::string name;  // the answer file's name ("" for a write-only exchange)
  std::string body;
  // The request file was already there or already answered (a request delivered again, say after
  // a restart): it was not written a second time.
  bool already_sent = false;
};

// A run of an `exec` system's command with more arguments (an argument list: no shell).
struct ExecRequest {
  std::vector<std::string> args;  // after the system's `command`
  std::string input;              // written to its stdin, which is then closed
};

struct ExecResponse {
  int exit_code = 0;
  std::string out;  // what it wrote to stdout
  std::string err;  // what it wrote to stderr
};

}  // namespace fxconnect
