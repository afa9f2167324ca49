#include "observability/tracer.h"

#include <utility>

#include "core/json_text.h"
#include "core/secrets.h"

#include <algorithm>
#include <future>
#include <random>
#include <stdexcept>

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

namespace fxconnect::observability {
namespace {

// Spans per request to the collector, and the longest a span waits in the queue.
constexpr std::size_t kBatch = 512;
constexpr std::chrono::milliseconds kBatchDelay{1000};

template <std::size_t N>
std::array<std::uint8_t, N> random_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::array<std::uint8_t, N> id{};
  do {
    for (std::size_t i = 0; i < N; i += 8) {
      auto v = rng();
      for (std::size_t j = 0; j < 8 && i + j < N; ++j) id[i + j] = static_cast<std::uint8_t>(v >> (8 * j));
    }
  } while (std::all_of(id.begin(), id.end(), [](auto b) { return b == 0; }));
  return id;
}

std::string hex8(const std::array<std::uint8_t, 8>& id) {
  TraceContext c;
  c.span_id = id;
  return c.span_id_hex();
}

}  // namespace

std::uint64_t now_unix_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

namespace {

void append_string(std::string& out, std::string_view text) { core::append_json_string(out, text); }

void append_attribute(std::string& out, std::string_view key, const AttributeValue& value) {
  out += "{\"key\":";
  append_string(out, key);
  out += ",\"value\":{";
  if (const auto* s = std::get_if<std::string>(&value)) {
    out += "\"stringValue\":";
    append_string(out, *s);
  } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
    out += fmt::format("\"intValue\":\"{}\"", *i);  // OTLP JSON: int64 as a string
  } else if (const auto* b = std::get_if<bool>(&value)) {
    out += *b ? "\"boolValue\":true" : "\"boolValue\":false";
  }
  out += "}}";
}

}  // namespace

// Written directly rather than through a JSON DOM: the exporter encodes every span of a busy
// connector, on the same 2 cores as the message path.
std::string otlp_json(const std::string& service_name, const std::vector<SpanData>& spans) {
  std::string out;
  out.reserve(256 + spans.size() * 600);
  out += "{\"resourceSpans\":[{\"resource\":{\"attributes\":[";
  append_attribute(out, "service.name", service_name);
  out += "]},\"scopeSpans\":[{\"scope\":{\"name\":\"fxconnect\"},\"spans\":[";
  bool first = true;
  for (const auto& s : spans) {
    if (!first) out += ',';
    first = false;
    out += fmt::format(R"({{"traceId":"{}","spanId":"{}",)", s.context.trace_id_hex(), s.context.span_id_hex());
    if (std::any_of(s.parent_span_id.begin(), s.parent_span_id.end(), [](auto b) { return b != 0; })) {
      out += fmt::format(R"("parentSpanId":"{}",)", hex8(s.parent_span_id));
    }
    if (!s.context.tracestate.empty()) {
      out += "\"traceState\":";
      append_string(out, s.context.tracestate);
      out += ',';
    }
    out += "\"name\":";
    append_string(out, s.name);
    out += fmt::format(R"(,"kind":{},"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":[)",
                       static_cast<int>(s.kind), s.start_ns, s.end_ns);
    for (std::size_t i = 0; i < s.attributes.size(); ++i) {
      if (i) out += ',';
      append_attribute(out, s.attributes[i].first, s.attributes[i].second);
    }
    out += ']';
    if (s.error) {  // STATUS_CODE_ERROR
      out += ",\"status\":{\"code\":2,\"message\":";
      append_string(out, s.status_message);
      out += '}';
    }
    out += '}';
  }
  out += "]}]}]}";
  return out;
}

namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;

bool is_token(std::string_view name) {
  return !name.empty() && name.find_first_not_of(
                              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "0123456789!#$%&'*+-.^_`|~") == std::string_view::npos;
}

}  // namespace

struct OtlpExporter::Tls {
  ssl::context context{ssl::context::tls_client};
};

OtlpExporter::OtlpExporter(std::string service_name, const std::string& endpoint, std::size_t queue_capacity)
    : OtlpExporter(std::move(service_name), endpoint, [&] {
        OtlpSettings settings;
        settings.queue_capacity = queue_capacity;
        return settings;
      }()) {}

OtlpExporter::OtlpExporter(std::string service_name, const std::string& endpoint, OtlpSettings settings)
    : service_name_(std::move(service_name)), capacity_(settings.queue_capacity) {
  spdlog::default_logger_raw();  // the registry made here, before the exporter thread may log
  auto url = boost::urls::parse_uri(endpoint);
  bool https = url && url->scheme() == "https";
  if (!url || (url->scheme() != "http" && !https) || url->host().empty()) {
    throw std::invalid_argument("'" + endpoint + "' is not an http:// or https:// URL such as http://127.0.0.1:4318");
  }
  host_ = url->host();
  port_ = url->has_port() ? std::string(url->port()) : https ? "443" : "80";
  path_ = std::string(url->path());
  while (!path_.empty() && path_.back() == '/') path_.pop_back();
  path_ += "/v1/traces";
  for (const auto& [name, value] : settings.headers) {
    // Never the value in a message: it is a secret.
    if (!is_token(name)) throw std::invalid_argument("'" + name + "' is not an HTTP header name");
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      throw std::invalid_argument("the value of header '" + name + "' must be one line");
    }
    core::add_secret(value);
  }
  headers_ = std::move(settings.headers);
  bool tls_files = !settings.ca_file.empty() || !settings.cert_file.empty() || !settings.key_file.empty();
  if (!https && tls_files) {
    throw std::invalid_argument("TLS files (ca_file, cert_file, key_file) need an https:// endpoint, not '" + endpoint +
                                "'");
  }
  if (settings.cert_file.empty() != settings.key_file.empty()) {
    throw std::invalid_argument("cert_file and key_file go together (a client certificate and its key)");
  }
  if (https) {
    tls_ = std::make_shared<Tls>();
    auto& context = tls_->context;
    context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
    context.set_verify_mode(ssl::verify_peer);
    boost::system::error_code ec;
    if (settings.ca_file.empty()) {
      context.set_default_verify_paths(ec);
      if (ec) throw std::invalid_argument("cannot load the system's trust store: " + ec.message());
    } else {
      context.load_verify_file(settings.ca_file, ec);
      if (ec) throw std::invalid_argument("ca_file '" + settings.ca_file + "': " + ec.message());
    }
    if (!settings.cert_file.empty()) {
      context.use_certificate_chain_file(settings.cert_file, ec);
      if (ec) throw std::invalid_argument("cert_file '" + settings.cert_file + "': " + ec.message());
      context.use_private_key_file(settings.key_file, ssl::context::pem, ec);
      if (ec) throw std::invalid_argument("key_file '" + settings.key_file + "': " + ec.message());
      if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
        throw std::invalid_argument("key_file '" + settings.key_file + "' is not the key of cert_file '" +
                                    settings.cert_file + "'");
      }
    }
  }
  thread_ = std::thread([this] { run(); });
}

OtlpExporter::~OtlpExporter() { stop(); }

void OtlpExporter::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    stop_deadline_ = std::chrono::steady_clock::now() + kFlushTime;
  }
  wake_.notify_all();
  thread_.join();
}

void OtlpExporter::submit(SpanData span) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= capacity_ || stopping_) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(span));
    if (queue_.size() < kBatch) return;
  }
  wake_.notify_one();
}

void OtlpExporter::run() {
  for (;;) {
    std::vector<SpanData> batch;
    bool too_late = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, kBatchDelay, [this] { return stopping_ || queue_.size() >= kBatch; });
      auto n = std::min(queue_.size(), kBatch);
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<long>(n)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(n));
      if (batch.empty() && stopping_) return;
      too_late = std::chrono::steady_clock::now() >= stop_deadline_;
    }
    if (batch.empty()) continue;
    if (too_late) {
      dropped_ += batch.size();
      continue;
    }
    // Span attributes carry URLs, statements and error texts: no secret leaves in them.
    if (post(core::redact(otlp_json(service_name_, batch)))) {
      exported_ += batch.size();
    } else {
      dropped_ += batch.size();
    }
  }
}

namespace {

using tcp = asio::ip::tcp;

// `host`'s addresses, or nothing when it cannot be resolved by `deadline`. getaddrinfo cannot be
// cancelled (Asio's async_resolve runs it on a thread that its io_context joins), so a name is
// resolved on a thread of its own, left behind when it is too slow; an IP address needs none.
std::vector<tcp::endpoint> resolve(const std::string& host, const std::string& port,
                                   std::chrono::steady_clock::time_point deadline) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (!ec) {
    unsigned long number = 0;
    try {
      number = std::stoul(port);
    } catch (const std::exception&) {
      return {};
    }
    if (number > 65535) return {};
    return {tcp::endpoint(address, static_cast<unsigned short>(number))};
  }
  // The thread touches nothing but what it owns: it may outlive the exporter.
  using Resolved = std::pair<std::vector<tcp::endpoint>, boost::system::error_code>;
  auto result = std::make_shared<std::promise<Resolved>>();
  auto ready = result->get_future();
  std::thread([result, host, port] {
    asio::io_context io;
    tcp::resolver resolver(io);
    Resolved resolved;
    for (const auto& entry : resolver.resolve(host, port, resolved.second)) resolved.first.push_back(entry.endpoint());
    result->set_value(std::move(resolved));
  }).detach();
  if (ready.wait_until(deadline) != std::future_status::ready) {
    spdlog::debug("otlp: resolving {} timed out", host);
    return {};
  }
  auto [endpoints, error] = ready.get();
  if (error) spdlog::debug("otlp: cannot resolve {}: {}", host, error.message());
  return endpoints;
}

}  // namespace

namespace {

namespace beast = boost::beast;
namespace http = beast::http;

// Writes `request` and reads the answer on a connected (and, for TLS, handshaken) stream; the
// status lands in `status`. `failed(step, ec)` reports a failed step.
template <class Stream, class Failed>
void exchange(Stream& stream, const http::request<http::string_body>& request, beast::flat_buffer& buffer,
              http::response<http::string_body>& response, int& status, Failed failed) {
  http::async_write(stream, request, [&, failed](const beast::error_code& written, std::size_t) {
    if (written) return failed("write", written);
    http::async_read(stream, buffer, response, [&, failed](const beast::error_code& read, std::size_t) {
      if (read) return failed("read", read);
      status = static_cast<int>(response.result_int());
    });
  });
}

}  // namespace

int OtlpExporter::attempt(const std::string& body, std::chrono::steady_clock::time_point deadline) {
  auto endpoints = resolve(host_, port_, deadline);
  if (endpoints.empty()) return kNetworkError;
  // Asynchronous operations on a private loop: the stream's expiry applies to all of them
  // together (it does nothing for synchronous calls), and cancels whichever step is pending.
  asio::io_context io;
  http::request<http::string_body> req{http::verb::post, path_, 11};
  req.set(http::field::host, host_);
  req.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : headers_) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  int status = kNetworkError;
  auto failed = [this](const char* step, const beast::error_code& ec) {
    spdlog::debug("otlp: {}:{}: {}: {}", host_, port_, step, ec == beast::error::timeout ? "timed out" : ec.message());
  };
  if (!tls_) {
    beast::tcp_stream stream(io);
    stream.expires_at(deadline);
    stream.async_connect(endpoints, [&](const beast::error_code& connected, const tcp::endpoint&) {
      if (connected) return failed("connect", connected);
      exchange(stream, req, buffer, res, status, failed);
    });
    io.run();
    return status;
  }
  beast::ssl_stream<beast::tcp_stream> stream(io, tls_->context);
  SSL* ssl = stream.native_handle();
  // The collector's certificate must name the endpoint's host: an IP address as an IP SAN, a DNS
  // name as a DNS SAN (no partial wildcards); the name also goes out as SNI.
  boost::system::error_code not_ip;
  asio::ip::make_address(host_, not_ip);
  bool named = not_ip ? SSL_set1_host(ssl, host_.c_str()) == 1 && SSL_set_tlsext_host_name(ssl, host_.c_str()) == 1
                      : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host_.c_str()) == 1;
  if (!named) {
    spdlog::debug("otlp: {}:{}: cannot set the name to verify", host_, port_);
    return kNetworkError;
  }
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  auto& tcp_stream = beast::get_lowest_layer(stream);
  tcp_stream.expires_at(deadline);
  tcp_stream.async_connect(endpoints, [&](const beast::error_code& connected, const tcp::endpoint&) {
    if (connected) return failed("connect", connected);
    stream.async_handshake(ssl::stream_base::client, [&](const beast::error_code& shaken) {
      if (!shaken) return exchange(stream, req, buffer, res, status, failed);
      if (auto verified = SSL_get_verify_result(ssl); verified != X509_V_OK) {
        // Refused by our side: the chain or the name does not check out.
        tls_refusal_ = fmt::format("certificate verify failed: {}", X509_verify_cert_error_string(verified));
        status = kTlsRefused;
        spdlog::debug("otlp: {}:{}: TLS handshake: {}", host_, port_, tls_refusal_);
        return;
      }
      failed("TLS handshake", shaken);
    });
  });
  io.run();
  // No TLS close_notify: the collector answered (or failed) already, and waiting for its reply
  // would only cost time; the connection closes with the stream.
  return status;
}

bool OtlpExporter::post(const std::string& body) {
  auto backoff = std::chrono::milliseconds(100);
  for (int attempt_number = 1;; ++attempt_number) {
    auto deadline = std::chrono::steady_clock::now() + kAttemptTimeout;
    {
      std::lock_guard lock(mutex_);
      deadline = std::min(deadline, stop_deadline_);
    }
    int status = kNetworkError;  // unreachable or timed out: like 503, worth another try
    try {
      status = attempt(body, deadline);
    } catch (const std::exception& e) {
      spdlog::debug("otlp: {}:{}: {}", host_, port_, e.what());
    }
    if (status >= 200 && status < 300) return true;
    if (status == kTlsRefused) {
      // A configuration problem, not a passing one: said once at warning level (spans_dropped
      // in /metrics counts what it costs), and never retried.
      if (!std::exchange(told_tls_refused_, true)) {
        spdlog::warn("otlp: {}:{}: the collector's TLS certificate is refused ({}); spans are dropped", host_, port_,
                     tls_refusal_);
      }
      spdlog::debug("otlp: batch dropped (TLS refused)");
      return false;
    }
    // OTLP/HTTP: retry only what the spec calls retryable; never a 400.
    bool retryable = status == 0 || status == 429 || status == 502 || status == 503 || status == 504;
    if (retryable && attempt_number < 3) {
      // The backoff, cut short by a stop that leaves no time for another attempt.
      auto resume = std::chrono::steady_clock::now() + backoff;
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, resume, [&] { return resume >= stop_deadline_; });
      if (resume < stop_deadline_) {
        backoff *= 2;
        continue;
      }
    }
    spdlog::debug("otlp: batch dropped (status {})", status);
    return false;
  }
}

SpanData Tracer::start(std::string name, SpanKind kind, const std::optional<TraceContext>& parent) const {
  SpanData s;
  s.name = std::move(name);
  s.kind = kind;
  s.start_ns = now_unix_ns();
  s.context.trace_id = parent ? parent->trace_id : random_id<16>();
  s.context.span_id = random_id<8>();
  if (parent) {
    s.parent_span_id = parent->span_id;
    s.context.tracestate = parent->tracestate;
  }
  s.context.sampled = sampler_.sample(parent, s.context.trace_id);
  return s;
}

SpanData Tracer::start_child(std::string name, SpanKind kind, const TraceContext& parent) const {
  SpanData s;
  s.name = std::move(name);
  s.kind = kind;
  s.start_ns = now_unix_ns();
  s.context = parent;  // same trace, same decision
  s.context.span_id = random_id<8>();
  s.parent_span_id = parent.span_id;
  return s;
}

void Tracer::end(SpanData& span) const {
  span.end_ns = now_unix_ns();
  if (exporter_ && span.context.sampled) exporter_->submit(std::move(span));
}

ActiveSpan::ActiveSpan(std::shared_ptr<const Tracer> tracer, SpanData data) {
  if (tracer) state_ = std::make_unique<State>(std::move(tracer), std::move(data));
}

ActiveSpan& ActiveSpan::operator=(ActiveSpan&& other) noexcept {
  if (this != &other) {
    end();
    state_ = std::move(other.state_);
  }
  return *this;
}

ActiveSpan ActiveSpan::start(const std::shared_ptr<const Tracer>& tracer, std::string name, SpanKind kind,
                             const std::optional<TraceContext>& parent) {
  if (!tracer) return {};
  return {tracer, tracer->start(std::move(name), kind, parent)};
}

ActiveSpan ActiveSpan::child(std::string name, SpanKind kind) const {
  if (!state_) return {};
  return {state_->tracer, state_->tracer->start_child(std::move(name), kind, state_->data)};
}

const TraceContext& ActiveSpan::context() const {
  static const TraceContext none;
  return state_ ? state_->data.context : none;
}

void ActiveSpan::set(std::string key, AttributeValue value) {
  if (open()) state_->data.attributes.emplace_back(std::move(key), std::move(value));
}

void ActiveSpan::fail(std::string message) {
  if (!open()) return;
  state_->data.error = true;
  state_->data.status_message = std::move(message);
}

void ActiveSpan::end() {
  if (!open()) return;
  state_->open = false;
  TraceContext context = state_->data.context;  // the exporter takes the data; the ids stay usable
  state_->tracer->end(state_->data);
  state_->data = SpanData{};
  state_->data.context = std::move(context);
}

void set_messaging_attributes(ActiveSpan& span, const MessagingSpan& what) {
  if (!span.open()) return;
  span.set("messaging.system", std::string("kafka"));
  span.set("messaging.operation", std::string(what.operation));
  span.set("messaging.destination.name", std::string(what.topic));
  if (what.partition) {
    span.set("messaging.destination.partition.id", std::to_string(*what.partition));
    span.set("messaging.kafka.destination.partition", std::int64_t{*what.partition});
  }
  if (what.offset) span.set("messaging.kafka.message.offset", std::int64_t{*what.offset});
  if (!what.consumer_group.empty()) {
    span.set("messaging.consumer.group.name", std::string(what.consumer_group));
    span.set("messaging.kafka.consumer.group", std::string(what.consumer_group));
  }
  span.set("fx.processInstanceUuid", std::string(what.process_instance_uuid));
  if (!what.fx_context.empty()) span.set("fx.context", std::string(what.fx_context));
}

}  // namespace fxconnect::observability
