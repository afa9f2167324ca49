// The connector's small HTTP endpoint: /metrics, /health/live, /health/ready. It runs on the
// runtime's loop (one request at a time per connection, `Connection: close`), so the pages it
// serves read the runtime's state without locks, and an answer at all proves the loop runs.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace fxconnect::observability {

struct Page {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// What keeps the endpoint from being a way to exhaust the connector's loop or file descriptors.
struct HttpLimits {
  // Connections open at once. One more is accepted and closed at once, without an answer: the
  // client learns immediately (and may retry) instead of waiting in the listen backlog behind
  // connections that may hold their slot for up to `request_timeout`.
  std::size_t max_connections = 64;
  // To complete the TLS handshake (HTTPS), receive a whole request and send its answer: a client
  // that connects and sends nothing, never finishes its handshake, or sends or reads slowly, loses
  // its connection (and slot) after this.
  std::chrono::milliseconds request_timeout{10000};
  // The largest request read, request line, headers and body together; a larger one is closed
  // unanswered (the parser stops at the limit: nothing beyond it is buffered).
  std::size_t max_request_bytes = 8192;
  // The most header fields in a request; a request with more is closed unanswered.
  std::size_t max_headers = 32;
  // After a failed accept (EMFILE, ENFILE, ENOBUFS...), the wait before the next one, instead of
  // a loop spinning on the error; such errors are logged at most once a minute.
  std::chrono::milliseconds accept_retry_delay{100};
};

// Who may read what, and how the endpoint is reached.
struct HttpSecurity {
  // Both set: the endpoint serves HTTPS only (TLS 1.2 or later) with this PEM certificate (chain)
  // and its PEM key; a client that does not complete a TLS handshake gets no answer.
  std::string cert_file, key_file;
  // Not empty: requests for `token_paths` need `Authorization: Bearer <token>`; without it, or
  // with another token, they get a 401 with `WWW-Authenticate: Bearer` (tokens are compared in
  // constant time). Other paths stay open (health checks for probes).
  std::string bearer_token;
  std::set<std::string> token_paths{"/metrics"};

  bool tls() const { return !cert_file.empty(); }
};

class HttpServer {
 public:
  // path → page; an unknown path is a 404 listing the known ones. GET and HEAD (same status and
  // headers, Content-Length included, no body); other methods get a 405.
  using Route = std::function<Page()>;

  // Binds `listen` ("host:port"; port 0 picks a free one). Throws std::runtime_error when the
  // address cannot be bound, or the TLS certificate or key cannot be loaded (the message names the
  // file and OpenSSL's reason).
  HttpServer(boost::asio::io_context& io, const std::string& listen, std::map<std::string, Route> routes,
             HttpLimits limits = {}, HttpSecurity security = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound address, e.g. "127.0.0.1:9464".
  std::string address() const;
  // The endpoint's base URL: http://ADDRESS, or https://ADDRESS when it serves TLS.
  std::string url() const;
  // Stops accepting; connections already open finish (within `request_timeout`).
  void close();
  // Failed accepts so far (each followed by `accept_retry_delay`).
  std::uint64_t accept_errors() const;

  // Defined in the .cc; shared with pending operations and connections, which may outlive the
  // server.
  struct State;

 private:
  std::shared_ptr<State> state_;
};

// What a connection answers when a client sends `bytes` and then shuts down its sending side, as
// one function over bytes (no socket; tests and test/fuzz call it): the request is read as a
// connection reads it after its TLS handshake, if any (Beast's http::read_header and http::read
// with the same parser, `limits` and header count as the connection's asynchronous reads; the
// bytes arrive at most `chunk` at a time), then answered from `routes` exactly as a connection
// answers, `security`'s bearer token included (its TLS files are not used). nullopt: no answer
// (the request is malformed, over a limit or incomplete; a connection then closes unanswered).
std::optional<std::string> answer_request(std::string_view bytes,
                                          const std::map<std::string, HttpServer::Route>& routes,
                                          std::size_t chunk = std::string_view::npos, const HttpLimits& limits = {},
                                          const HttpSecurity& security = {});

}  // namespace fxconnect::observability
