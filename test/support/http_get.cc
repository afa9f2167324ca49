#include "http_get.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace fxconnect::testing {

HttpResponse http_get(const std::string& base, const std::string& path) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  std::string address = base.rfind("http://", 0) == 0 ? base.substr(7) : base;
  while (!address.empty() && address.back() == '/') address.pop_back();
  auto colon = address.rfind(':');
  try {
    boost::asio::io_context io;
    boost::asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(resolver.resolve(address.substr(0, colon), address.substr(colon + 1)));
    http::request<http::empty_body> req{http::verb::get, path, 11};
    req.set(http::field::host, address);
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    return {static_cast<int>(res.result_int()), res.body()};
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace fxconnect::testing
