#include "observability/tracer.h"

#include <utility>

#include "core/json_text.h"
#include "core/secrets.h"

#include <algorithm>
#include <future>
#include <random>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
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

OtlpExporter::OtlpExporter(std::string service_name, const std::string& endpoint, std::size_t queue_capacity)
    : service_name_(std::move(service_name)), capacity_(queue_capacity) {
  auto url = boost::urls::parse_uri(endpoint);
  if (!url || url->scheme() != "http" || url->host().empty()) {
    throw std::invalid_argument("'" + endpoint + "' is not an http:// URL such as http://127.0.0.1:4318");
  }
  host_ = url->host();
  port_ = url->has_port() ? std::string(url->port()) : "80";
  path_ = std::string(url->path());
  while (!path_.empty() && path_.back() == '/') path_.pop_back();
  path_ += "/v1/traces";
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

namespace asio = boost::asio;
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

int OtlpExporter::attempt(const std::string& body, std::chrono::steady_clock::time_point deadline) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  auto endpoints = resolve(host_, port_, deadline);
  if (endpoints.empty()) return 0;
  // Asynchronous operations on a private loop: the stream's expiry applies to all of them
  // together (it does nothing for synchronous calls), and cancels whichever step is pending.
  asio::io_context io;
  beast::tcp_stream stream(io);
  http::request<http::string_body> req{http::verb::post, path_, 11};
  req.set(http::field::host, host_);
  req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  int status = 0;
  auto failed = [this](const char* step, const beast::error_code& ec) {
    spdlog::debug("otlp: {}:{}: {}: {}", host_, port_, step, ec == beast::error::timeout ? "timed out" : ec.message());
  };
  stream.expires_at(deadline);
  stream.async_connect(endpoints, [&](const beast::error_code& connected, const tcp::endpoint&) {
    if (connected) return failed("connect", connected);
    http::async_write(stream, req, [&](const beast::error_code& written, std::size_t) {
      if (written) return failed("write", written);
      http::async_read(stream, buffer, res, [&](const beast::error_code& read, std::size_t) {
        if (read) return failed("read", read);
        status = static_cast<int>(res.result_int());
      });
    });
  });
  io.run();
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
    int status = 0;  // unreachable or timed out: like 503, worth another try
    try {
      status = attempt(body, deadline);
    } catch (const std::exception& e) {
      spdlog::debug("otlp: {}:{}: {}", host_, port_, e.what());
    }
    if (status >= 200 && status < 300) return true;
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

ActiveSpan& ActiveSpan::operator=(ActiveSpan&& other) noexcept {
  if (this != &other) {
    end();
    tracer_ = std::move(other.tracer_);
    data_ = std::move(other.data_);
    open_ = std::exchange(other.open_, false);
  }
  return *this;
}

ActiveSpan ActiveSpan::start(const std::shared_ptr<const Tracer>& tracer, std::string name, SpanKind kind,
                             const std::optional<TraceContext>& parent) {
  if (!tracer) return {};
  return {tracer, tracer->start(std::move(name), kind, parent)};
}

ActiveSpan ActiveSpan::child(std::string name, SpanKind kind) const {
  if (!tracer_) return {};
  return {tracer_, tracer_->start_child(std::move(name), kind, data_)};
}

void ActiveSpan::set(std::string key, AttributeValue value) {
  if (open_) data_.attributes.emplace_back(std::move(key), std::move(value));
}

void ActiveSpan::fail(std::string message) {
  if (!open_) return;
  data_.error = true;
  data_.status_message = std::move(message);
}

void ActiveSpan::end() {
  if (!open_) return;
  open_ = false;
  TraceContext context = data_.context;  // the exporter takes the data; the ids stay usable
  tracer_->end(data_);
  data_ = SpanData{};
  data_.context = std::move(context);
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
