#include "systems/soap/soap.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/json/object.hpp>

#include "observability/logging.h"

namespace fxconnect {
namespace {

constexpr const char* kSoap11 = "http://schemas.xmlsoap.org/soap/envelope/";
constexpr const char* kSoap12 = "http://www.w3.org/2003/05/soap-envelope";

struct DocDeleter {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
struct XPathContextDeleter {
  void operator()(xmlXPathContext* c) const { xmlXPathFreeContext(c); }
};
struct XPathObjectDeleter {
  void operator()(xmlXPathObject* o) const { xmlXPathFreeObject(o); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocDeleter>;

// No external entity, DTD or stylesheet is ever fetched, whatever an answer asks for.
xmlParserInputPtr refuse_external(const char*, const char*, xmlParserCtxtPtr) { return nullptr; }

void init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    xmlInitParser();
    xmlSetExternalEntityLoader(&refuse_external);
  });
}

// Parsed without network access, entity substitution or DTD loading; errors are not printed.
DocPtr parse(const std::string& xml) {
  init_once();
  return DocPtr(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "answer.xml", nullptr,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
}

std::string text_of(const xmlNode* node) {
  xmlChar* content = xmlNodeGetContent(node);
  std::string out = content ? reinterpret_cast<const char*>(content) : "";
  xmlFree(content);
  return out;
}

std::string local_name(const xmlNode* n) { return reinterpret_cast<const char*>(n->name); }

const xmlNode* child(const xmlNode* parent, const char* name, const char* ns = nullptr) {
  for (const xmlNode* c = parent ? parent->children : nullptr; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE || local_name(c) != name) continue;
    if (ns && (!c->ns || std::string_view(reinterpret_cast<const char*>(c->ns->href)) != ns)) continue;
    return c;
  }
  return nullptr;
}

// An element as JSON: its text when it has no element children, else an object of its children by
// local name (repeated names become arrays); attributes as "@name".
boost::json::value to_json(const xmlNode* e) {
  boost::json::object obj;
  for (const xmlAttr* a = e->properties; a; a = a->next) {
    xmlChar* v = xmlNodeListGetString(e->doc, a->children, 1);
    obj["@" + std::string(reinterpret_cast<const char*>(a->name))] = v ? reinterpret_cast<const char*>(v) : "";
    xmlFree(v);
  }
  bool elements = false;
  for (const xmlNode* c = e->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    elements = true;
    auto key = local_name(c);
    auto value = to_json(c);
    if (auto* existing = obj.if_contains(key)) {
      if (!existing->is_array()) *existing = boost::json::array{std::move(*existing)};
      existing->as_array().push_back(std::move(value));
    } else {
      obj[key] = std::move(value);
    }
  }
  if (!elements) {
    if (obj.empty()) return boost::json::string(text_of(e));
    obj["#text"] = text_of(e);
  }
  return obj;
}

}  // namespace

std::vector<std::string> SoapResponse::values(std::string_view xpath) const {
  std::vector<std::string> out;
  auto doc = parse(xml);
  if (!doc) return out;
  std::unique_ptr<xmlXPathContext, XPathContextDeleter> ctx(xmlXPathNewContext(doc.get()));
  if (!ctx) return out;
  for (const auto& [prefix, uri] : namespaces) {
    xmlXPathRegisterNs(ctx.get(), reinterpret_cast<const xmlChar*>(prefix.c_str()),
                       reinterpret_cast<const xmlChar*>(uri.c_str()));
  }
  std::string expr(xpath);
  std::unique_ptr<xmlXPathObject, XPathObjectDeleter> result(
      xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(expr.c_str()), ctx.get()));
  if (!result) return out;
  if (result->type == XPATH_NODESET && result->nodesetval) {
    for (int i = 0; i < result->nodesetval->nodeNr; ++i) out.push_back(text_of(result->nodesetval->nodeTab[i]));
  } else if (result->type == XPATH_STRING && result->stringval) {
    out.emplace_back(reinterpret_cast<const char*>(result->stringval));
  } else if (result->type == XPATH_NUMBER || result->type == XPATH_BOOLEAN) {
    xmlChar* s = xmlXPathCastToString(result.get());
    out.emplace_back(reinterpret_cast<const char*>(s));
    xmlFree(s);
  }
  return out;
}

namespace systems::soap {

Result<boost::json::value> xml_to_json(const std::string& xml) {
  auto doc = parse(xml);
  const xmlNode* root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  if (!root) return Error{ErrorCode::legacy_failed, "not well-formed XML", false, std::nullopt};
  return boost::json::value(boost::json::object{{local_name(root), to_json(root)}});
}

std::string check_xpath(const std::string& xpath, const std::vector<std::string>& prefixes) {
  init_once();
  // Compile errors would go to libxml2's generic handler (stderr): catch them here instead.
  std::string problem;
  xmlSetStructuredErrorFunc(&problem, [](void* out, xmlErrorPtr e) {
    auto& text = *static_cast<std::string*>(out);
    if (text.empty() && e && e->message) text = e->message;
  });
  xmlXPathCompExprPtr compiled = xmlXPathCompile(reinterpret_cast<const xmlChar*>(xpath.c_str()));
  xmlSetStructuredErrorFunc(nullptr, nullptr);
  if (!compiled) {
    while (!problem.empty() && (problem.back() == '\n' || problem.back() == ' ')) problem.pop_back();
    return fmt::format("'{}' is not an XPath 1.0 expression ({})", xpath, problem.empty() ? "syntax" : problem);
  }
  xmlXPathFreeCompExpr(compiled);
  // prefix:name, but not an axis (child::x) and not inside a string literal.
  char quote = 0;
  for (std::size_t i = 0; i < xpath.size(); ++i) {
    char c = xpath[i];
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      continue;
    }
    if (c != ':' || (i + 1 < xpath.size() && xpath[i + 1] == ':') || (i > 0 && xpath[i - 1] == ':')) continue;
    std::size_t start = i;
    while (start > 0 && (std::isalnum(static_cast<unsigned char>(xpath[start - 1])) || xpath[start - 1] == '_' ||
                         xpath[start - 1] == '-' || xpath[start - 1] == '.')) {
      --start;
    }
    std::string prefix = xpath.substr(start, i - start);
    if (!prefix.empty() && std::find(prefixes.begin(), prefixes.end(), prefix) == prefixes.end()) {
      return fmt::format("'{}': prefix '{}' is not declared; declared: {} (systems.<name>.soap.namespaces)", xpath,
                         prefix, fmt::join(prefixes, ", "));
    }
  }
  return {};
}

HttpRequest make_request(const std::string& version, const SoapRequest& request) {
  bool v12 = version == "1.2";
  HttpRequest out;
  out.method = "POST";
  out.path = request.path;
  out.body = fmt::format(
      R"(<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{}"><soap:Body>{}</soap:Body></soap:Envelope>)",
      v12 ? kSoap12 : kSoap11, request.body);
  if (v12) {
    out.headers.push_back(
        {"Content-Type", fmt::format(R"(application/soap+xml; charset=utf-8; action="{}")", request.action)});
  } else {
    out.headers.push_back({"Content-Type", "text/xml; charset=utf-8"});
    out.headers.push_back({"SOAPAction", fmt::format("\"{}\"", request.action)});
  }
  for (const auto& h : request.headers) out.headers.push_back(h);
  out.accept = {200, 500};  // a Fault comes with 500: read, then turned into its error
  return out;
}

Result<SoapResponse> read_response(const std::string& system, const std::string& version, int status, std::string xml,
                                   std::vector<std::pair<std::string, std::string>> namespaces) {
  const char* soap_ns = version == "1.2" ? kSoap12 : kSoap11;
  auto doc = parse(xml);
  const xmlNode* root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  if (!root || local_name(root) != "Envelope" || !root->ns ||
      std::string_view(reinterpret_cast<const char*>(root->ns->href)) != soap_ns) {
    return Error{ErrorCode::legacy_failed,
                 fmt::format("{}: the answer (HTTP {}) is not a SOAP {} envelope: {}", system, status, version,
                             observability::log_safe(xml, 1024)),
                 false, std::nullopt};
  }
  const xmlNode* body = child(root, "Body", soap_ns);
  if (!body) {
    return Error{ErrorCode::legacy_failed, fmt::format("{}: the SOAP answer has no Body", system), false, std::nullopt};
  }
  if (const xmlNode* fault = child(body, "Fault", soap_ns)) {
    std::string code, reason;
    if (version == "1.2") {
      code = text_of(child(child(fault, "Code", soap_ns), "Value", soap_ns));
      reason = text_of(child(child(fault, "Reason", soap_ns), "Text", soap_ns));
    } else {
      code = text_of(child(fault, "faultcode"));
      reason = text_of(child(fault, "faultstring"));
    }
    bool server = code.find("Server") != std::string::npos || code.find("Receiver") != std::string::npos;
    return Error{ErrorCode::legacy_failed,
                 fmt::format("{}: SOAP fault {}: {}", system, observability::log_safe(code, 256),
                             observability::log_safe(reason, 1024)),
                 server, std::nullopt};
  }
  if (status != 200) {
    return Error{ErrorCode::legacy_failed, fmt::format("{}: HTTP {} without a SOAP fault", system, status),
                 status >= 500, std::nullopt};
  }
  SoapResponse out;
  out.status = status;
  boost::json::object content;
  for (const xmlNode* c = body->children; c; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) content[local_name(c)] = to_json(c);
  }
  out.body = std::move(content);
  namespaces.emplace_back("soap", soap_ns);
  out.namespaces = std::move(namespaces);
  out.xml = std::move(xml);
  return out;
}

}  // namespace systems::soap
}  // namespace fxconnect
