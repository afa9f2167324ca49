#include "https_get.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <stdexcept>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace fxconnect::testing {

HttpResponse https_request(const std::string& base, std::string_view method, const std::string& path,
                           const HttpHeaders& headers, const TlsClientOptions& tls, std::chrono::milliseconds timeout) {
  namespace asio = boost::asio;
  namespace ssl = asio::ssl;
  namespace beast = boost::beast;
  namespace http = beast::http;
  HttpResponse out;
  auto fail = [&](const std::string& why) {
    HttpResponse failed;
    failed.error = std::string(method) + " " + base + path + ": " + why;
    return failed;
  };
  std::string address = base.rfind("https://", 0) == 0 ? base.substr(8) : base;
  while (!address.empty() && address.back() == '/') address.pop_back();
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return fail("no port");
  auto host = address.substr(0, colon);
  auto verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) return fail("unknown method");

  ssl::context context(ssl::context::tls_client);
  context.set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (tls.ca_file.empty()) {
    context.set_default_verify_paths(ec);
  } else {
    context.load_verify_file(tls.ca_file, ec);
  }
  if (ec) return fail("CA: " + ec.message());
  if (!tls.cert_file.empty()) {
    context.use_certificate_chain_file(tls.cert_file, ec);
    if (!ec) context.use_private_key_file(tls.key_file, ssl::context::pem, ec);
    if (ec) return fail("client certificate: " + ec.message());
  }
  if (tls.max_version != 0) {
    // An old client: lowered security level, so that OpenSSL offers the old version at all.
    SSL_CTX_set_security_level(context.native_handle(), 0);
    SSL_CTX_set_min_proto_version(context.native_handle(), 0);
    SSL_CTX_set_max_proto_version(context.native_handle(), tls.max_version);
    SSL_CTX_set_cipher_list(context.native_handle(), "DEFAULT:@SECLEVEL=0");
  }

  asio::io_context io;
  beast::ssl_stream<beast::tcp_stream> stream(io, context);
  boost::system::error_code not_ip;
  asio::ip::make_address(host, not_ip);
  if (not_ip) {
    SSL_set1_host(stream.native_handle(), host.c_str());
    SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(stream.native_handle()), host.c_str());
  }
  http::request<http::string_body> req{verb, path, 11};
  req.set(http::field::host, address);
  for (const auto& [name, value] : headers) req.insert(name, value);
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.skip(verb == http::verb::head);  // a HEAD answer has a Content-Length but no body
  std::string error;
  auto failed = [&](const char* step, const beast::error_code& e) {
    error = std::string(step) + ": " + (e == beast::error::timeout ? std::string("timed out") : e.message());
    if (auto verified = SSL_get_verify_result(stream.native_handle()); verified != X509_V_OK) {
      error += std::string(" (") + X509_verify_cert_error_string(verified) + ")";
    }
  };
  asio::ip::tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(host, address.substr(colon + 1), ec);
  if (ec) return fail("resolve: " + ec.message());
  auto& tcp = beast::get_lowest_layer(stream);
  tcp.expires_after(timeout);
  tcp.async_connect(endpoints, [&](const beast::error_code& connected, const asio::ip::tcp::endpoint&) {
    if (connected) return failed("connect", connected);
    stream.async_handshake(ssl::stream_base::client, [&](const beast::error_code& shaken) {
      if (shaken) return failed("TLS handshake", shaken);
      http::async_write(stream, req, [&](const beast::error_code& written, std::size_t) {
        if (written) return failed("write", written);
        http::async_read(stream, buffer, parser, [&](const beast::error_code& read, std::size_t) {
          if (read) return failed("read", read);
          out.status = static_cast<int>(parser.get().result_int());
        });
      });
    });
  });
  io.run();
  if (out.status == 0) return fail(error.empty() ? "no answer" : error);
  auto& res = parser.get();
  for (const auto& field : res) out.headers.emplace_back(field.name_string(), field.value());
  out.body = std::move(res.body());
  return out;
}

}  // namespace fxconnect::testing
