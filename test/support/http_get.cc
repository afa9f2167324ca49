#include "http_get.h"

#include <cstdint>
#include <limits>
#include <stdexcept>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>

namespace fxconnect::testing {

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (boost::beast::iequals(n, name)) return v;
  return {};
}

HttpResponse http_get(const std::string& base, const std::string& path) { return http_request(base, "GET", path); }

HttpResponse http_request(const std::string& base, std::string_view method, const std::string& path,
                          const std::string& body, const HttpHeaders& headers, std::chrono::milliseconds timeout) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  std::string address = base.rfind("http://", 0) == 0 ? base.substr(7) : base;
  while (!address.empty() && address.back() == '/') address.pop_back();
  auto colon = address.rfind(':');
  HttpResponse out;
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no port in '" + base + "'");
    boost::asio::io_context io;
    boost::asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(timeout);
    stream.connect(resolver.resolve(address.substr(0, colon), address.substr(colon + 1)));
    http::request<http::string_body> req;
    auto verb = http::string_to_verb(method);
    if (verb == http::verb::unknown) throw std::invalid_argument("unknown method '" + std::string(method) + "'");
    req.method(verb);
    req.target(path);
    req.version(11);
    req.set(http::field::host, address);
    bool content_type = false;
    for (const auto& [name, value] : headers) {
      req.insert(name, value);
      content_type = content_type || boost::beast::iequals(name, "Content-Type");
    }
    if (!body.empty() && !content_type) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // WireMock's journal can be large
    http::read(stream, buffer, parser);
    auto& res = parser.get();
    for (const auto& field : res) out.headers.emplace_back(field.name_string(), field.value());
    out.body = std::move(res.body());
    out.status = static_cast<int>(res.result_int());
    beast::error_code ignored;
    stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  } catch (const std::exception& e) {
    HttpResponse failed;
    failed.error = std::string(method) + " " + base + path + ": " + e.what();
    return failed;
  }
  return out;
}

}  // namespace fxconnect::testing
