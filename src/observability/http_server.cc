#include "observability/http_server.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace fxconnect::observability {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
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
  State(asio::io_context& io, std::map<std::string, Route> r, HttpLimits l, HttpSecurity s)
      : acceptor(io), retry(io), routes(std::move(r)), limits(l), security(std::move(s)) {}

  tcp::acceptor acceptor;
  asio::steady_timer retry;  // the pause after a failed accept
  const std::map<std::string, Route> routes;
  const HttpLimits limits;
  const HttpSecurity security;
  std::unique_ptr<ssl::context> tls;  // set when security.tls()
  bool closed = false;
  std::size_t open = 0;  // connections, up to limits.max_connections
  std::uint64_t accept_errors = 0;
  Report accept_error_report, over_cap_report;
};

namespace {

using State = std::shared_ptr<HttpServer::State>;
using Routes = std::map<std::string, HttpServer::Route>;

using Parser = http::request_parser<http::string_body>;

// SHA-256 of `text`: tokens are compared by their digests, so the comparison takes as long
// whatever the tokens' lengths and contents.
std::array<unsigned char, 32> sha256(std::string_view text) {
  std::array<unsigned char, 32> digest{};
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 || size != digest.size()) {
    throw std::runtime_error("SHA-256 failed");
  }
  return digest;
}

// The credentials of `Authorization: Bearer <token>` (the scheme is case-insensitive, RFC 9110
// 11.1), or nullopt when the request has no such header.
std::optional<std::string_view> bearer_of(const http::request<http::string_body>& request) {
  auto it = request.find(http::field::authorization);
  if (it == request.end()) return std::nullopt;
  std::string_view value = it->value();
  auto blank = value.find(' ');
  if (blank == std::string_view::npos || !beast::iequals(value.substr(0, blank), "bearer")) return std::nullopt;
  auto token = value.substr(blank);
  auto first = token.find_first_not_of(" \t");
  if (first == std::string_view::npos) return std::string_view();
  token.remove_prefix(first);
  token.remove_suffix(token.size() - token.find_last_not_of(" \t") - 1);
  return token;
}

// The answer to a request that was read whole (for HEAD, a connection sends only its header).
http::response<http::string_body> respond(const Routes& routes, const HttpSecurity& security,
                                          const http::request<http::string_body>& request) {
  Page page;
  std::string challenge;  // WWW-Authenticate of a 401
  std::string target(request.target());
  auto path = target.substr(0, target.find('?'));
  if (request.method() != http::verb::get && request.method() != http::verb::head) {
    page = Page{405, "text/plain; charset=utf-8", "only GET\n"};
  } else if (auto it = routes.find(path); it != routes.end()) {
    if (!security.bearer_token.empty() && security.token_paths.count(path) != 0) {
      auto token = bearer_of(request);
      if (!token) {
        page = Page{401, "text/plain; charset=utf-8", "a bearer token is required\n"};
        challenge = R"(Bearer realm="fxconnect")";
      } else if (CRYPTO_memcmp(sha256(*token).data(), sha256(security.bearer_token).data(), 32) != 0) {
        page = Page{401, "text/plain; charset=utf-8", "the bearer token is not valid\n"};
        challenge = R"(Bearer realm="fxconnect", error="invalid_token")";
      }
    }
    if (challenge.empty()) page = it->second();
  } else {
    std::string known;
    for (const auto& [p, route] : routes) known += p + "\n";
    page = Page{404, "text/plain; charset=utf-8", "not found; known paths:\n" + known};
  }
  http::response<http::string_body> response;
  response.result(static_cast<http::status>(page.status));
  response.set(http::field::content_type, page.content_type);
  if (!challenge.empty()) response.set(http::field::www_authenticate, challenge);
  response.set(http::field::connection, "close");
  response.body() = std::move(page.body);
  response.prepare_payload();
  return response;
}

// A parser for one request: its header, and its body, may each take up to max_request_bytes
// (header_within_limits() then holds both together to it).
void limit_header(Parser& parser, const HttpLimits& limits) {
  parser.header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(limits.max_request_bytes, std::numeric_limits<std::uint32_t>::max())));
  parser.body_limit(limits.max_request_bytes);
}

// Once the header (`header_bytes` long) is in: whether it has at most max_headers fields and
// leaves room for its body within max_request_bytes. The parser checks a Content-Length against
// its body limit only when the header ends, so that is checked here; a chunked body is held to
// what is left as its chunks arrive.
bool header_within_limits(Parser& parser, std::size_t header_bytes, const HttpLimits& limits) {
  // Beast 1.81 lets a header longer than header_limit through when it arrives whole in one read
  // with folded (obs-fold) lines, yet refuses the same bytes arriving in pieces: found by the
  // http_request fuzz target. Held to the limit here, whatever the reads.
  if (header_bytes > limits.max_request_bytes) {
    spdlog::debug("http: a request header of more than {} bytes: closed unanswered", limits.max_request_bytes);
    return false;
  }
  const auto& fields = parser.get();
  if (static_cast<std::size_t>(std::distance(fields.begin(), fields.end())) > limits.max_headers) {
    spdlog::debug("http: a request with more than {} header fields: closed unanswered", limits.max_headers);
    return false;
  }
  auto left = limits.max_request_bytes - std::min(header_bytes, limits.max_request_bytes);
  if (auto length = parser.content_length(); length && *length > left) {
    spdlog::debug("http: a request of more than {} bytes: closed unanswered", limits.max_request_bytes);
    return false;
  }
  parser.body_limit(left);
  return true;
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

// One connection: (TLS handshake,) read one request, answer it, close. `Stream` is a
// beast::tcp_stream or a beast::ssl_stream over one. Holds one of the server's slots while alive.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  Session(tcp::socket socket, State state) : stream_(make_stream(std::move(socket), *state)), state_(std::move(state)) {
    ++state_->open;
  }
  ~Session() { --state_->open; }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() {
    // For the whole exchange, the handshake included: a client that never sends (or never
    // finishes its handshake), or never reads, is dropped.
    beast::get_lowest_layer(stream_).expires_after(state_->limits.request_timeout);
    if constexpr (kTls) {
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) {
          spdlog::debug("http: TLS handshake failed: {}", ec == beast::error::timeout ? "timed out" : ec.message());
          return;
        }
        self->read();
      });
    } else {
      read();
    }
  }

 private:
  static Stream make_stream(tcp::socket socket, HttpServer::State& state) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *state.tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  void read() {
    limit_header(parser_, state_->limits);
    http::async_read_header(
        stream_, buffer_, parser_, [self = this->shared_from_this()](beast::error_code ec, std::size_t header_bytes) {
          if (ec) return;
          if (!header_within_limits(self->parser_, header_bytes, self->state_->limits)) return;
          http::async_read(self->stream_, self->buffer_, self->parser_, [self](beast::error_code read, std::size_t) {
            if (!read) self->answer();
          });
        });
  }

  void answer() {
    const auto& request = parser_.get();
    response_ = respond(state_->routes, state_->security, request);
    auto done = [self = this->shared_from_this()](beast::error_code, std::size_t) { self->close(); };
    if (request.method() == http::verb::head) {
      // The GET answer's status and headers (its Content-Length too, RFC 9110 9.3.2), no body.
      head_response_.emplace(std::move(response_.base()));
      http::async_write(stream_, *head_response_, std::move(done));
    } else {
      http::async_write(stream_, response_, std::move(done));
    }
  }

  void close() {
    if constexpr (kTls) {
      // close_notify, then the peer's, within what is left of request_timeout.
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        beast::get_lowest_layer(self->stream_).socket().shutdown(tcp::socket::shutdown_send, ignored);
      });
    } else {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

  Stream stream_;
  State state_;
  beast::flat_buffer buffer_;
  Parser parser_;
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
    } else if (state->tls) {
      std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(std::move(socket), state)->start();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(std::move(socket), state)->start();
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

// The server side of TLS: TLS 1.2 or later, the certificate chain and key of `security`.
std::unique_ptr<ssl::context> server_tls(const HttpSecurity& security) {
  if (security.cert_file.empty() || security.key_file.empty()) {
    throw std::runtime_error("TLS needs both cert_file and key_file");
  }
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use |
                       SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  context->use_certificate_chain_file(security.cert_file, ec);
  if (ec) throw std::runtime_error(fmt::format("tls.cert_file '{}': {}", security.cert_file, ec.message()));
  context->use_private_key_file(security.key_file, ssl::context::pem, ec);
  if (ec) throw std::runtime_error(fmt::format("tls.key_file '{}': {}", security.key_file, ec.message()));
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    throw std::runtime_error(
        fmt::format("tls.key_file '{}' is not the key of tls.cert_file '{}'", security.key_file, security.cert_file));
  }
  return context;
}

}  // namespace

std::optional<std::string> answer_request(std::string_view bytes, const Routes& routes, std::size_t chunk,
                                          const HttpLimits& limits, const HttpSecurity& security) {
  BytesStream stream(bytes, chunk);
  beast::flat_buffer buffer;
  Parser parser;
  limit_header(parser, limits);
  beast::error_code ec;
  auto header_bytes = http::read_header(stream, buffer, parser, ec);
  if (ec || !header_within_limits(parser, header_bytes, limits)) return std::nullopt;
  http::read(stream, buffer, parser, ec);
  if (ec) return std::nullopt;
  const auto& request = parser.get();
  auto response = respond(routes, security, request);
  std::ostringstream out;
  if (request.method() == http::verb::head) {
    out << http::response<http::empty_body>(std::move(response.base()));
  } else {
    out << response;
  }
  return std::move(out).str();
}

HttpServer::HttpServer(asio::io_context& io, const std::string& listen, std::map<std::string, Route> routes,
                       HttpLimits limits, HttpSecurity security)
    : state_(std::make_shared<State>(io, std::move(routes), limits, std::move(security))) {
  // spdlog's registry is made on first use: here, not by whichever thread first logs a connection
  // while another logs too (ThreadSanitizer saw that race in the endpoint's tests).
  spdlog::default_logger_raw();
  if (state_->security.tls() || !state_->security.key_file.empty()) state_->tls = server_tls(state_->security);
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

std::string HttpServer::url() const { return (state_->tls ? "https://" : "http://") + address(); }

void HttpServer::close() {
  state_->closed = true;
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  state_->retry.cancel();
}

std::uint64_t HttpServer::accept_errors() const { return state_->accept_errors; }

}  // namespace fxconnect::observability
