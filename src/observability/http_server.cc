#include "observability/http_server.h"

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace fxconnect::observability {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// How often a repeated problem (accept errors, connections over the cap) may be logged.
constexpr std::chrono::seconds kReportInterval{60};

// A line at most once per kReportInterval, with how many were held back meanwhile.
struct Report {
  std::chrono::steady_clock::time_point next{};
  std::uint64_t held_back = 0;

  // Whether a line may be written now; `held_back` then says how many were not since the last.
  bool due() {
    auto now = std::chrono::steady_clock::now();
    if (now < next) {
      ++held_back;
      return false;
    }
    next = now + kReportInterval;
    return true;
  }
  std::string since_last() {
    auto n = std::exchange(held_back, 0);
    return n ? fmt::format(" ({} more since the last report)", n) : std::string();
  }
};

}  // namespace

struct HttpServer::State {
  State(asio::io_context& io, std::map<std::string, Route> r, HttpLimits l)
      : acceptor(io), retry(io), routes(std::move(r)), limits(l) {}

  tcp::acceptor acceptor;
  asio::steady_timer retry;  // the pause after a failed accept
  const std::map<std::string, Route> routes;
  const HttpLimits limits;
  bool closed = false;
  std::size_t open = 0;  // connections, up to limits.max_connections
  std::uint64_t accept_errors = 0;
  Report accept_error_report, over_cap_report;
};

namespace {

using State = std::shared_ptr<HttpServer::State>;
using Routes = std::map<std::string, HttpServer::Route>;

// The answer to a request that was read whole (for HEAD, a connection sends only its header).
http::response<http::string_body> respond(const Routes& routes, const http::request<http::string_body>& request) {
  Page page;
  std::string target(request.target());
  auto path = target.substr(0, target.find('?'));
  if (request.method() != http::verb::get && request.method() != http::verb::head) {
    page = Page{405, "text/plain; charset=utf-8", "only GET\n"};
  } else if (auto it = routes.find(path); it != routes.end()) {
    page = it->second();
  } else {
    std::string known;
    for (const auto& [p, route] : routes) known += p + "\n";
    page = Page{404, "text/plain; charset=utf-8", "not found; known paths:\n" + known};
  }
  http::response<http::string_body> response;
  response.result(static_cast<http::status>(page.status));
  response.set(http::field::content_type, page.content_type);
  response.set(http::field::connection, "close");
  response.body() = std::move(page.body);
  response.prepare_payload();
  return response;
}

// A synchronous read stream over bytes in memory, handing out at most `chunk` bytes per read and
// then end of stream: what a client that sends those bytes and shuts down its side looks like.
class BytesStream {
 public:
  BytesStream(std::string_view bytes, std::size_t chunk) : rest_(bytes), chunk_(chunk == 0 ? 1 : chunk) {}

  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, beast::error_code& ec) {
    if (rest_.empty()) {
      ec = asio::error::eof;
      return 0;
    }
    ec = {};
    auto n = asio::buffer_copy(buffers, asio::buffer(rest_.data(), std::min(rest_.size(), chunk_)));
    rest_.remove_prefix(n);
    return n;
  }
  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers) {
    beast::error_code ec;
    auto n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

 private:
  std::string_view rest_;
  std::size_t chunk_;
};

// One connection: read one request, answer it, close. Holds one of the server's slots while alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, State state) : stream_(std::move(socket)), state_(std::move(state)) { ++state_->open; }
  ~Session() { --state_->open; }

  void start() {
    // For the whole exchange: a client that never sends, or never reads, is dropped.
    stream_.expires_after(state_->limits.request_timeout);
    http::async_read(stream_, buffer_, request_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) self->answer();
    });
  }

 private:
  void answer() {
    response_ = respond(state_->routes, request_);
    auto done = [self = shared_from_this()](beast::error_code, std::size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    };
    if (request_.method() == http::verb::head) {
      // The GET answer's status and headers (its Content-Length too, RFC 9110 9.3.2), no body.
      head_response_.emplace(std::move(response_.base()));
      http::async_write(stream_, *head_response_, std::move(done));
    } else {
      http::async_write(stream_, response_, std::move(done));
    }
  }

  beast::tcp_stream stream_;
  State state_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  std::optional<http::response<http::empty_body>> head_response_;
};

void accept_next(const State& state) {
  state->acceptor.async_accept([state](boost::system::error_code ec, tcp::socket socket) {
    if (state->closed || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors, say: accepting again at once would fail again at once, in a loop
      // that starves the runtime. Pause, and let connections close meanwhile.
      ++state->accept_errors;
      if (state->accept_error_report.due()) {
        spdlog::warn("http: accept failed: {}; retrying every {} ms{}", ec.message(),
                     state->limits.accept_retry_delay.count(), state->accept_error_report.since_last());
      }
      state->retry.expires_after(state->limits.accept_retry_delay);
      state->retry.async_wait([state](boost::system::error_code waited) {
        if (!waited && !state->closed) accept_next(state);
      });
      return;
    }
    if (state->open >= state->limits.max_connections) {
      if (state->over_cap_report.due()) {
        spdlog::warn("http: {} connections open, the most allowed: a new one is closed unanswered{}", state->open,
                     state->over_cap_report.since_last());
      }
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      std::make_shared<Session>(std::move(socket), state)->start();
    }
    accept_next(state);
  });
}

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

std::optional<std::string> answer_request(std::string_view bytes, const Routes& routes, std::size_t chunk) {
  BytesStream stream(bytes, chunk);
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  beast::error_code ec;
  http::read(stream, buffer, request, ec);
  if (ec) return std::nullopt;
  auto response = respond(routes, request);
  std::ostringstream out;
  if (request.method() == http::verb::head) {
    out << http::response<http::empty_body>(std::move(response.base()));
  } else {
    out << response;
  }
  return std::move(out).str();
}

HttpServer::HttpServer(asio::io_context& io, const std::string& listen, std::map<std::string, Route> routes,
                       HttpLimits limits)
    : state_(std::make_shared<State>(io, std::move(routes), limits)) {
  auto endpoint = parse_listen(listen);
  auto& acceptor = state_->acceptor;
  boost::system::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot listen on {}: {}", listen, ec.message()));
  accept_next(state_);
}

HttpServer::~HttpServer() {
  try {
    close();
  } catch (const std::exception& e) {  // a timer's cancel() may throw; a destructor must not
    spdlog::warn("http: closing the endpoint: {}", e.what());
  }
}

std::string HttpServer::address() const {
  auto e = state_->acceptor.local_endpoint();
  return fmt::format("{}:{}", e.address().to_string(), e.port());
}

void HttpServer::close() {
  state_->closed = true;
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  state_->retry.cancel();
}

std::uint64_t HttpServer::accept_errors() const { return state_->accept_errors; }

}  // namespace fxconnect::observability
