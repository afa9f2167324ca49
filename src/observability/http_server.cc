#include "observability/http_server.h"

#include <map>
#include <stdexcept>

#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

namespace fxconnect::observability {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// One connection: read one request, answer it, close.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<std::map<std::string, HttpServer::Route>> routes)
      : stream_(std::move(socket)), routes_(std::move(routes)) {}

  void start() {
    stream_.expires_after(std::chrono::seconds(10));  // a client that never sends is dropped
    http::async_read(stream_, buffer_, request_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) self->answer();
    });
  }

 private:
  void answer() {
    Page page;
    std::string target(request_.target());
    auto path = target.substr(0, target.find('?'));
    if (request_.method() != http::verb::get && request_.method() != http::verb::head) {
      page = Page{405, "text/plain; charset=utf-8", "only GET\n"};
    } else if (auto it = routes_->find(path); it != routes_->end()) {
      page = it->second();
    } else {
      std::string known;
      for (const auto& [p, route] : *routes_) known += p + "\n";
      page = Page{404, "text/plain; charset=utf-8", "not found; known paths:\n" + known};
    }
    response_.result(static_cast<http::status>(page.status));
    response_.set(http::field::content_type, page.content_type);
    response_.set(http::field::connection, "close");
    response_.body() = std::move(page.body);
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, std::size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  std::shared_ptr<std::map<std::string, HttpServer::Route>> routes_;
};

tcp::endpoint parse_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("'" + listen + "' is not host:port");
  boost::system::error_code ec;
  auto address = asio::ip::make_address(listen.substr(0, colon), ec);
  if (ec) throw std::runtime_error("'" + listen + "': not an IP address");
  int port = std::stoi(listen.substr(colon + 1));
  if (port < 0 || port > 65535) throw std::runtime_error("'" + listen + "': port out of range");
  return {address, static_cast<unsigned short>(port)};
}

}  // namespace

HttpServer::HttpServer(asio::io_context& io, const std::string& listen, std::map<std::string, Route> routes)
    : acceptor_(io), routes_(std::make_shared<std::map<std::string, Route>>(std::move(routes))) {
  auto endpoint = parse_listen(listen);
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot listen on {}: {}", listen, ec.message()));
  accept();
}

HttpServer::~HttpServer() { close(); }

std::string HttpServer::address() const {
  auto e = acceptor_.local_endpoint();
  return fmt::format("{}:{}", e.address().to_string(), e.port());
}

void HttpServer::close() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void HttpServer::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) std::make_shared<Session>(std::move(socket), routes_)->start();
    accept();
  });
}

}  // namespace fxconnect::observability
