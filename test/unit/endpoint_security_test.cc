// The connector's own endpoints, secured (issue 12): the metrics/health endpoint over HTTPS with a
// bearer token on /metrics and caps on connections, request size, header count and slow clients;
// the OTLP exporter over HTTPS (trust store or CA file, the collector's name verified, a client
// certificate, custom headers never logged). Everything runs in process on loopback with
// certificates the openssl CLI makes at test time (test/support/test_certs.h); the collectors here
// are real TLS servers (Asio + OpenSSL). The same exporter against WireMock over mutual TLS, and
// the endpoint as the connector serves it: test/integration/endpoint_security_test.cc.
#include <sys/socket.h>
#include <sys/time.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/secrets.h"
#include "https_get.h"
#include "observability/http_server.h"
#include "observability/tracer.h"
#include "test_certs.h"

namespace fxconnect::observability {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using ::testing::HasSubstr;
using testing::https_request;
using ::testing::Not;
using testing::test_certs;
using testing::TlsClientOptions;
using namespace std::chrono_literals;

const std::string kToken = "metrics-token-7f3a9c";  // NOLINT(cert-err58-cpp)
const std::string kMetrics = "fxconnect_up 1\n";    // NOLINT(cert-err58-cpp)

std::map<std::string, HttpServer::Route> routes() {
  return {{"/metrics",
           [] {
             return Page{200, "text/plain; version=0.0.4", kMetrics};
           }},
          {"/health/live",
           [] {
             return Page{200, "text/plain; charset=utf-8", "live\n"};
           }},
          {"/health/ready", [] {
             return Page{200, "text/plain; charset=utf-8", "ready\n"};
           }}};
}

HttpSecurity tls_with_token() {
  HttpSecurity s;
  s.cert_file = test_certs().server;
  s.key_file = test_certs().server_key;
  s.bearer_token = kToken;
  return s;
}

// A server on its own loop thread, like the runtime's, from start() on (until then, clients
// connect to the listen backlog).
class Served {
 public:
  Served(HttpLimits limits, HttpSecurity security)
      : server_(io_, "127.0.0.1:0", routes(), limits, std::move(security)), work_(io_.get_executor()) {
    url_ = server_.url();
    auto address = server_.address();
    endpoint_ = {asio::ip::make_address("127.0.0.1"),
                 static_cast<unsigned short>(std::stoi(address.substr(address.rfind(':') + 1)))};
  }
  void start() {
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Served() {
    asio::post(io_, [this] {
      server_.close();
      work_.reset();
    });
    if (!thread_.joinable()) start();
    thread_.join();
  }
  tcp::endpoint endpoint() const { return endpoint_; }
  const std::string& url() const { return url_; }

 private:
  asio::io_context io_;
  HttpServer server_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  tcp::endpoint endpoint_;
  std::string url_;
  std::thread thread_;
};

// A plain TCP client (blocking; a 20 s receive timeout keeps a broken test from hanging).
struct RawClient {
  asio::io_context io;
  tcp::socket socket{io};

  explicit RawClient(const tcp::endpoint& server) {
    socket.connect(server);
    timeval limit{20, 0};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  }
  void send(const std::string& text) { asio::write(socket, asio::buffer(text)); }
  // Every byte until the connection ends, and how it ended.
  std::pair<std::string, boost::system::error_code> read_all() {
    std::string out;
    boost::system::error_code ec;
    asio::read(socket, asio::dynamic_buffer(out), ec);
    return {out, ec};
  }
};

// Whether the server ended the connection (EOF or reset), as opposed to the client's receive
// timeout running out while the server still held it.
bool closed_by_server(const boost::system::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset;
}

TlsClientOptions trusting_the_test_ca() {
  TlsClientOptions o;
  o.ca_file = test_certs().ca;
  return o;
}

// --- the metrics/health endpoint -----------------------------------------------------------------

TEST(HttpsEndpoint, ServesOverTlsAndRequiresTheBearerTokenForMetricsOnly) {
  Served served({}, tls_with_token());
  served.start();
  ASSERT_EQ(served.url().rfind("https://127.0.0.1:", 0), 0U) << served.url();
  auto tls = trusting_the_test_ca();

  auto none = https_request(served.url(), "GET", "/metrics", {}, tls);
  ASSERT_EQ(none.status, 401) << none.error;
  EXPECT_EQ(none.header("WWW-Authenticate").rfind("Bearer", 0), 0U) << none.header("WWW-Authenticate");
  EXPECT_THAT(none.body, Not(HasSubstr("fxconnect_up")));

  auto wrong = https_request(served.url(), "GET", "/metrics", {{"Authorization", "Bearer not-" + kToken}}, tls);
  EXPECT_EQ(wrong.status, 401) << wrong.error;
  EXPECT_THAT(wrong.header("WWW-Authenticate"), HasSubstr("invalid_token"));
  EXPECT_THAT(wrong.body, Not(HasSubstr("fxconnect_up")));
  // A prefix of the token, the token in another scheme, and an empty one are no better.
  for (const std::string& authorization :
       {"Bearer " + kToken.substr(0, kToken.size() - 1), "Basic " + kToken, std::string("Bearer "), kToken}) {
    auto refused = https_request(served.url(), "GET", "/metrics", {{"Authorization", authorization}}, tls);
    EXPECT_EQ(refused.status, 401) << authorization << ": " << refused.error;
  }
  auto head = https_request(served.url(), "HEAD", "/metrics", {}, tls);
  EXPECT_EQ(head.status, 401) << head.error;

  auto right = https_request(served.url(), "GET", "/metrics", {{"Authorization", "Bearer " + kToken}}, tls);
  ASSERT_EQ(right.status, 200) << right.error;
  EXPECT_EQ(right.body, kMetrics);
  auto lowercase = https_request(served.url(), "GET", "/metrics", {{"authorization", "bearer " + kToken}}, tls);
  EXPECT_EQ(lowercase.status, 200) << "the scheme is case-insensitive: " << lowercase.error;

  for (const char* health : {"/health/live", "/health/ready"}) {
    auto open = https_request(served.url(), "GET", health, {}, tls);
    EXPECT_EQ(open.status, 200) << health << " stays open for probes: " << open.error;
  }
}

TEST(HttpsEndpoint, APlainHttpClientGetsNoAnswer) {
  Served served({}, tls_with_token());
  served.start();
  RawClient plain(served.endpoint());
  plain.send("GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kToken + "\r\n\r\n");
  auto [bytes, ec] = plain.read_all();
  EXPECT_TRUE(closed_by_server(ec)) << ec.message();
  EXPECT_EQ(bytes.rfind("HTTP/", 0), std::string::npos) << "no HTTP answer: " << bytes;
  EXPECT_THAT(bytes, Not(HasSubstr("fxconnect_up")));
  // The same request over TLS is answered: it is the transport that was refused.
  auto https =
      https_request(served.url(), "GET", "/metrics", {{"Authorization", "Bearer " + kToken}}, trusting_the_test_ca());
  EXPECT_EQ(https.status, 200) << https.error;
}

TEST(HttpsEndpoint, AClientThatDoesNotTrustTheCertificateGetsNothing) {
  Served served({}, tls_with_token());
  served.start();
  TlsClientOptions other;
  other.ca_file = test_certs().other_ca;
  auto refused = https_request(served.url(), "GET", "/health/live", {}, other);
  EXPECT_EQ(refused.status, 0);
  EXPECT_THAT(refused.error, HasSubstr("certificate verify failed"));
}

TEST(HttpsEndpoint, RefusesTlsOlderThan12) {
  Served served({}, tls_with_token());
  served.start();
  auto old = trusting_the_test_ca();
  old.max_version = TLS1_1_VERSION;
  auto refused = https_request(served.url(), "GET", "/health/live", {}, old);
  EXPECT_EQ(refused.status, 0);
  // The server's alert: the client did offer TLS 1.1 (not "no protocols available" on its side).
  EXPECT_THAT(refused.error, HasSubstr("protocol version"));
}

TEST(HttpsEndpoint, AHandshakeNeverCompletedIsCutAfterRequestTimeoutAndFreesItsSlot) {
  HttpLimits limits;
  limits.max_connections = 1;
  limits.request_timeout = 500ms;
  Served served(limits, tls_with_token());
  served.start();
  // Connects and sends nothing; then one that sends the first bytes of a ClientHello only.
  RawClient silent(served.endpoint());
  auto [silent_bytes, silent_end] = silent.read_all();
  EXPECT_TRUE(closed_by_server(silent_end)) << "cut by the server, not by our 20 s wait: " << silent_end.message();
  EXPECT_EQ(silent_bytes, "");
  RawClient partial(served.endpoint());
  partial.send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
  auto [partial_bytes, partial_end] = partial.read_all();
  EXPECT_TRUE(closed_by_server(partial_end)) << partial_end.message();
  // Its slot (the only one) is free again.
  auto served_again = https_request(served.url(), "GET", "/health/live", {}, trusting_the_test_ca());
  EXPECT_EQ(served_again.status, 200) << served_again.error;
}

TEST(HttpsEndpoint, AConnectionOverMaxConnectionsIsClosedAtOnce) {
  HttpLimits limits;
  limits.max_connections = 1;
  limits.request_timeout = 60s;  // longer than the client's 20 s wait: only the cap can close it
  Served served(limits, tls_with_token());
  RawClient holder(served.endpoint());  // accepted first: holds the only slot, sending nothing
  RawClient over(served.endpoint());
  served.start();
  auto [bytes, ec] = over.read_all();
  EXPECT_TRUE(closed_by_server(ec)) << "closed by the cap, not by request_timeout: " << ec.message();
  EXPECT_EQ(bytes, "");
}

// Plain HTTP here: the limits apply to the request, whatever carries it (and answer_request(),
// the fuzz target's view of a connection, must agree with a real one).
TEST(HttpEndpointLimits, MoreHeaderFieldsThanMaxHeadersAreRefused) {
  HttpLimits limits;
  limits.max_headers = 5;
  HttpSecurity open;
  Served served(limits, open);
  served.start();
  auto request = [](int fields) {
    std::string r = "GET /health/live HTTP/1.1\r\n";
    for (int i = 0; i < fields; ++i) r += "X-F" + std::to_string(i) + ": v\r\n";
    return r + "\r\n";
  };
  for (int fields : {5, 6, 40}) {
    RawClient client(served.endpoint());
    client.send(request(fields));
    auto [bytes, ec] = client.read_all();
    if (fields <= 5) {
      EXPECT_EQ(bytes.rfind("HTTP/1.1 200", 0), 0U) << fields << " fields: " << bytes;
    } else {
      EXPECT_EQ(bytes, "") << fields << " fields: closed unanswered";
      EXPECT_TRUE(closed_by_server(ec)) << ec.message();
    }
    EXPECT_EQ(answer_request(request(fields), routes(), std::string_view::npos, limits, open).has_value(), fields <= 5)
        << fields;
  }
}

TEST(HttpEndpointLimits, ARequestLargerThanMaxRequestBytesIsRefused) {
  HttpLimits limits;
  limits.max_request_bytes = 1024;
  HttpSecurity open;
  Served served(limits, open);
  served.start();
  const std::string line = "GET /health/live HTTP/1.1\r\n";
  auto with_header = [&](std::size_t value_size) {
    return line + "X-Pad: " + std::string(value_size, 'p') + "\r\n\r\n";
  };
  auto with_body = [&](std::size_t body_size) {
    return "POST /health/live HTTP/1.1\r\nContent-Length: " + std::to_string(body_size) + "\r\n\r\n" +
           std::string(body_size, 'b');
  };
  struct Case {
    std::string request;
    bool answered;
  };
  std::vector<Case> cases = {
      {with_header(900), true},    // ~940 bytes
      {with_header(1100), false},  // the header alone is over
      {with_body(900), true},      // ~950 bytes in all: read, then a 405
      {with_body(1000), false},    // header + body over, each under
      {with_body(100'000), false},
  };
  for (const auto& c : cases) {
    RawClient client(served.endpoint());
    boost::system::error_code sent;
    asio::write(client.socket, asio::buffer(c.request), sent);  // may be cut while sending: fine
    auto [bytes, ec] = client.read_all();
    EXPECT_EQ(bytes.rfind("HTTP/1.1 ", 0) == 0, c.answered) << c.request.size() << " bytes: " << bytes;
    if (!c.answered) {
      EXPECT_TRUE(closed_by_server(ec)) << ec.message();
    }
    EXPECT_EQ(answer_request(c.request, routes(), std::string_view::npos, limits, open).has_value(), c.answered)
        << c.request.size() << " bytes";
    EXPECT_EQ(answer_request(c.request, routes(), 7, limits, open).has_value(), c.answered)
        << c.request.size() << " bytes, 7 at a time";
  }
}

// Found by the http_request fuzz target: Beast 1.81 let this 1,099-byte header (folded lines) through
// a 1,024-byte header limit when it arrived in one read, and refused it in pieces.
TEST(HttpEndpointLimits, AHeaderOverTheLimitIsRefusedHoweverItsBytesArrive) {
  std::ifstream in(std::string(FXC_SOURCE_DIR) + "/test/fuzz/corpus/http_request/obs-fold-header-over-limit-whole",
                   std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  std::string request = bytes.str().substr(1);  // the fuzz input's first byte is its read size
  ASSERT_GT(request.find("\r\n\r\n"), 1024u);
  HttpLimits limits;
  limits.max_request_bytes = 1024;
  for (std::size_t chunk : {std::string_view::npos, std::size_t{79}, std::size_t{1}}) {
    EXPECT_FALSE(answer_request(request, routes(), chunk, limits, {}).has_value()) << "reads of " << chunk;
  }
  limits.max_request_bytes = 2048;
  EXPECT_TRUE(answer_request(request, routes(), std::string_view::npos, limits, {}).has_value()) << "within 2048";
}

TEST(HttpEndpointLimits, AnswerRequestAppliesTheTokenAsAConnectionDoes) {
  HttpSecurity token_only;
  token_only.bearer_token = kToken;
  Served served({}, token_only);
  served.start();
  for (const std::string& request :
       {std::string("GET /metrics HTTP/1.1\r\n\r\n"),
        std::string("GET /metrics HTTP/1.1\r\nAuthorization: Bearer x\r\n\r\n"),
        "GET /metrics HTTP/1.1\r\nAuthorization: Bearer " + kToken + "\r\n\r\n",
        std::string("HEAD /metrics HTTP/1.1\r\n\r\n"), std::string("GET /health/live HTTP/1.1\r\n\r\n")}) {
    RawClient client(served.endpoint());
    client.send(request);
    client.socket.shutdown(tcp::socket::shutdown_send);
    auto [sent, ec] = client.read_all();
    auto answer = answer_request(request, routes(), std::string_view::npos, {}, token_only);
    EXPECT_EQ(answer.value_or(""), sent) << request;
  }
  auto refused = answer_request("GET /metrics HTTP/1.1\r\n\r\n", routes(), std::string_view::npos, {}, token_only);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->rfind("HTTP/1.1 401", 0), 0U) << *refused;
  EXPECT_THAT(*refused, HasSubstr("WWW-Authenticate: Bearer"));
  EXPECT_THAT(*answer_request("GET /metrics HTTP/1.1\r\nAuthorization: Bearer " + kToken + "\r\n\r\n", routes(),
                              std::string_view::npos, {}, token_only),
              HasSubstr(kMetrics));
}

TEST(HttpsEndpoint, ACertificateOrKeyThatCannotBeLoadedIsAClearError) {
  asio::io_context io;
  HttpSecurity mismatched;
  mismatched.cert_file = test_certs().server;
  mismatched.key_file = test_certs().client_key;
  try {
    HttpServer server(io, "127.0.0.1:0", routes(), {}, mismatched);
    FAIL() << "a key that is not the certificate's was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("client.key"));
    EXPECT_THAT(e.what(), HasSubstr("mismatch"));
  }
  HttpSecurity not_pem;
  not_pem.cert_file = test_certs().dir + "/make.sh";
  not_pem.key_file = test_certs().server_key;
  try {
    HttpServer server(io, "127.0.0.1:0", routes(), {}, not_pem);
    FAIL() << "a certificate file without a certificate was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("make.sh"));
  }
}

// --- OTLP over HTTPS ------------------------------------------------------------------------------

// A collector over TLS on loopback: answers every POST with 200 and records what it got. With
// `client_ca`, it asks for a client certificate issued by that CA and refuses the handshake without one.
class TlsCollector {
 public:
  struct Received {
    std::string target, body, api_key, client_subject;
  };

  TlsCollector(const std::string& cert, const std::string& key, const std::string& client_ca = "")
      : context_(ssl::context::tls_server), acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    context_.use_certificate_chain_file(cert);
    context_.use_private_key_file(key, ssl::context::pem);
    if (!client_ca.empty()) {
      context_.load_verify_file(client_ca);
      context_.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    thread_ = std::thread([this] { serve(); });
  }
  ~TlsCollector() {
    stop_ = true;
    boost::system::error_code ec;
    tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);  // wakes accept()
    thread_.join();
  }
  std::string endpoint(const std::string& host = "127.0.0.1") const {
    return "https://" + host + ":" + std::to_string(acceptor_.local_endpoint().port()) + "/otlp";
  }
  int handshakes() const { return handshakes_; }
  int failed_handshakes() const { return failed_handshakes_; }
  std::vector<Received> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  void serve() {
    while (!stop_) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_) return;
      timeval limit{10, 0};
      setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
      ssl::stream<tcp::socket> stream(std::move(socket), context_);
      ++handshakes_;
      stream.handshake(ssl::stream_base::server, ec);
      if (ec) {
        ++failed_handshakes_;
        continue;
      }
      beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(stream, buffer, req, ec);
      if (ec) continue;
      Received r{std::string(req.target()), req.body(), std::string(req["x-api-key"]), ""};
      if (X509* peer = SSL_get1_peer_certificate(stream.native_handle())) {
        char name[256] = {};
        X509_NAME_oneline(X509_get_subject_name(peer), name, sizeof name);
        r.client_subject = name;
        X509_free(peer);
      }
      {
        std::lock_guard lock(mutex_);
        received_.push_back(std::move(r));
      }
      http::response<http::string_body> res{http::status::ok, 11};
      res.body() = "{}";
      res.prepare_payload();
      http::write(stream, res, ec);
      stream.shutdown(ec);
    }
  }

  asio::io_context io_;
  ssl::context context_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::atomic<int> handshakes_{0}, failed_handshakes_{0};
  mutable std::mutex mutex_;
  std::vector<Received> received_;
  std::thread thread_;
};

SpanData span() {
  SpanData s;
  s.context = *parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  s.name = "secured-span";
  return s;
}

// Submits `n` spans and waits until the exporter has decided about all of them.
void export_spans(OtlpExporter& exporter, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) exporter.submit(span());
  auto end = std::chrono::steady_clock::now() + 30s;
  while (exporter.exported() + exporter.dropped() < n && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(20ms);
  }
}

const std::string kApiKey = "otlp-api-key-5d1e0b";  // NOLINT(cert-err58-cpp)

OtlpSettings mutual_tls() {
  OtlpSettings s;
  s.ca_file = test_certs().ca;
  s.cert_file = test_certs().client;
  s.key_file = test_certs().client_key;
  s.headers = {{"x-api-key", kApiKey}};
  return s;
}

// Captures the log at debug level (what a user sees with log.level: debug) while alive.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto logger = std::make_shared<spdlog::logger>("captured", sink);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;
  std::string text() const { return out_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream out_;
};

TEST(OtlpHttps, ExportsOverMutualTlsWithTheCustomHeader) {
  TlsCollector collector(test_certs().server, test_certs().server_key, test_certs().ca);
  OtlpExporter exporter("svc", collector.endpoint(), mutual_tls());
  export_spans(exporter, 5);
  EXPECT_EQ(exporter.exported(), 5U);
  EXPECT_EQ(exporter.dropped(), 0U);
  auto got = collector.received();
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0].target, "/otlp/v1/traces");
  EXPECT_EQ(got[0].api_key, kApiKey);
  EXPECT_THAT(got[0].body, HasSubstr("4bf92f3577b34da6a3ce929d0e0e4736"));
  EXPECT_THAT(got[0].body, HasSubstr("secured-span"));
  EXPECT_THAT(got[0].client_subject, HasSubstr("fxconnect test client")) << "our client certificate";
}

TEST(OtlpHttps, VerifiesADnsNameAsWellAsAnIpAddress) {
  TlsCollector collector(test_certs().server, test_certs().server_key);
  OtlpSettings settings;
  settings.ca_file = test_certs().ca;
  OtlpExporter exporter("svc", collector.endpoint("localhost"), settings);
  export_spans(exporter, 2);
  EXPECT_EQ(exporter.exported(), 2U) << "the certificate names DNS:localhost";
}

TEST(OtlpHttps, WithoutTheClientCertificateAMutualTlsCollectorGetsNothing) {
  TlsCollector collector(test_certs().server, test_certs().server_key, test_certs().ca);
  auto settings = mutual_tls();
  settings.cert_file.clear();
  settings.key_file.clear();
  OtlpExporter exporter("svc", collector.endpoint(), settings);
  export_spans(exporter, 3);
  EXPECT_EQ(exporter.dropped(), 3U);
  EXPECT_EQ(exporter.exported(), 0U);
  EXPECT_TRUE(collector.received().empty());
}

// One span, so one batch: a refused certificate costs that batch one handshake, not three.
struct Refusal {
  const char* what;
  std::string cert, key, ca_file;  // the collector's certificate; the exporter's CA file ("" = system)
};

TEST(OtlpHttps, ACollectorWithAnUntrustedOrMisnamedCertificateGetsNothingAndIsNotRetried) {
  std::vector<Refusal> refusals = {
      {"issued by a CA the exporter does not trust", test_certs().other_server, test_certs().other_server_key,
       test_certs().ca},
      {"not in the system's trust store", test_certs().server, test_certs().server_key, ""},
      {"trusted, but for another name", test_certs().wrong_name_server, test_certs().wrong_name_server_key,
       test_certs().ca},
  };
  for (const auto& r : refusals) {
    CapturedLog log;
    TlsCollector collector(r.cert, r.key);
    OtlpSettings settings;
    settings.ca_file = r.ca_file;
    settings.headers = {{"x-api-key", kApiKey}};
    OtlpExporter exporter("svc", collector.endpoint(), settings);
    export_spans(exporter, 1);
    EXPECT_EQ(exporter.dropped(), 1U) << r.what;
    EXPECT_EQ(exporter.exported(), 0U) << r.what;
    EXPECT_TRUE(collector.received().empty()) << r.what << ": nothing sent over the refused connection";
    EXPECT_EQ(collector.handshakes(), 1) << r.what << ": a refused certificate is not retried";
    exporter.stop();
    EXPECT_THAT(log.text(), HasSubstr("certificate is refused")) << r.what << ": " << log.text();
    EXPECT_THAT(log.text(), Not(HasSubstr(kApiKey))) << r.what;
  }
}

TEST(OtlpHttps, HeaderValuesAreSecretsNeverLogged) {
  core::forget_secrets_for_tests();
  {
    CapturedLog log;
    TlsCollector collector(test_certs().server, test_certs().server_key, test_certs().ca);
    auto settings = mutual_tls();
    settings.headers.emplace_back("X-Scope-OrgID", "tenant-secret-31");
    OtlpExporter exporter("svc", collector.endpoint(), settings);
    EXPECT_EQ(core::redact("key tenant-secret-31 " + kApiKey), "key [redacted] [redacted]")
        << "registered as secrets, whatever the header's name";
    export_spans(exporter, 1);
    exporter.stop();
    EXPECT_EQ(exporter.exported(), 1U);
    EXPECT_THAT(log.text(), Not(HasSubstr(kApiKey)));
    EXPECT_THAT(log.text(), Not(HasSubstr("tenant-secret-31")));
  }
  core::forget_secrets_for_tests();
}

TEST(OtlpHttps, SettingsThatCannotWorkAreRefusedAtConstruction) {
  auto refused = [](const std::string& endpoint, const OtlpSettings& settings) -> std::string {
    try {
      OtlpExporter exporter("svc", endpoint, settings);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "accepted";
  };
  OtlpSettings ca;
  ca.ca_file = test_certs().ca;
  EXPECT_THAT(refused("http://127.0.0.1:4318", ca), HasSubstr("https://")) << "TLS files with http://";
  EXPECT_THAT(refused("ftp://127.0.0.1:4318", {}), HasSubstr("not an http:// or https:// URL"));
  OtlpSettings half;
  half.cert_file = test_certs().client;
  EXPECT_THAT(refused("https://127.0.0.1:4318", half), HasSubstr("go together"));
  OtlpSettings mismatched;
  mismatched.cert_file = test_certs().client;
  mismatched.key_file = test_certs().server_key;
  EXPECT_THAT(refused("https://127.0.0.1:4318", mismatched), HasSubstr("server.key"));
  OtlpSettings missing;
  missing.ca_file = test_certs().dir + "/no-such-ca.pem";
  EXPECT_THAT(refused("https://127.0.0.1:4318", missing), HasSubstr("no-such-ca.pem"));
  OtlpSettings two_lines;
  two_lines.headers = {{"x-api-key", "line-one\r\nInjected: yes"}};
  auto why = refused("https://127.0.0.1:4318", two_lines);
  EXPECT_THAT(why, HasSubstr("one line"));
  EXPECT_THAT(why, Not(HasSubstr("line-one"))) << "the value is a secret";
  OtlpSettings bad_name;
  bad_name.headers = {{"x api key", "v"}};
  EXPECT_THAT(refused("https://127.0.0.1:4318", bad_name), HasSubstr("not an HTTP header name"));
  EXPECT_EQ(refused("https://collector.example:4318", {}), "accepted") << "https with the system's trust store";
}

}  // namespace
}  // namespace fxconnect::observability
