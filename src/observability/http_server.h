// The connector's small HTTP endpoint: /metrics, /health/live, /health/ready. It runs on the
// runtime's loop (one request at a time per connection, `Connection: close`), so the pages it
// serves read the runtime's state without locks, and an answer at all proves the loop runs.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace fxconnect::observability {

struct Page {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpServer {
 public:
  // path → page; an unknown path is a 404 listing the known ones.
  using Route = std::function<Page()>;

  // Binds `listen` ("host:port"; port 0 picks a free one). Throws std::runtime_error when the
  // address cannot be bound.
  HttpServer(boost::asio::io_context& io, const std::string& listen, std::map<std::string, Route> routes);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound address, e.g. "127.0.0.1:9464".
  std::string address() const;
  void close();

 private:
  void accept();

  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<std::map<std::string, Route>> routes_;
};

}  // namespace fxconnect::observability
