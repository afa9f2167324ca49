// http_stub: the legacy system of the HTTP benchmark (scripts/bench.sh). Answers every request
// with 200 and a small JSON body after a fixed delay, on one thread, keeping connections open.
// Lean on purpose: the figure is the connector's, and the stub shares its 2 cores.
//   http_stub PORT DELAY_MS      (PORT 0 picks one; prints "port=N" once listening)
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::chrono::milliseconds delay)
      : stream_(std::move(socket)), timer_(stream_.get_executor()), delay_(delay) {}
  void read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->timer_.expires_after(self->delay_);
      self->timer_.async_wait([self](beast::error_code) { self->answer(); });
    });
  }

 private:
  void answer() {
    auto response = std::make_shared<http::response<http::string_body>>(http::status::ok, request_.version());
    response->set(http::field::content_type, "application/json");
    response->keep_alive(request_.keep_alive());
    response->body() = R"({"status":"OK","id":"ACC-1"})";
    response->prepare_payload();
    http::async_write(stream_, *response, [self = shared_from_this(), response](beast::error_code ec, std::size_t) {
      if (!ec && response->keep_alive()) self->read();
    });
  }

  beast::tcp_stream stream_;
  asio::steady_timer timer_;
  std::chrono::milliseconds delay_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
};

void accept(tcp::acceptor& acceptor, std::chrono::milliseconds delay) {
  acceptor.async_accept([&acceptor, delay](beast::error_code ec, tcp::socket socket) {
    if (!ec) {
      socket.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(socket), delay)->read();
    }
    accept(acceptor, delay);
  });
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 3) {
    std::fprintf(stderr, "usage: http_stub PORT DELAY_MS\n");
    return 2;
  }
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::atoi(argv[1]))});
  acceptor.listen(asio::socket_base::max_listen_connections);
  std::printf("port=%u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
  std::fflush(stdout);
  asio::signal_set stop(io, SIGTERM, SIGINT);
  stop.async_wait([&](beast::error_code, int) { io.stop(); });
  accept(acceptor, std::chrono::milliseconds(std::atoi(argv[2])));
  io.run();
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "http_stub: %s\n", e.what());
  return 1;
}
