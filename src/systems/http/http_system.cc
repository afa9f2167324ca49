#include "systems/http/http_system.h"

#include <algorithm>
#include <array>
#include <cctype>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>

#include "core/duration.h"
#include "observability/logging.h"

namespace fxconnect::systems {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// The shortest time worth starting an attempt with: less, and it would only time out.
constexpr milliseconds kMinAttempt{20};
// How much of a failing answer's body goes into the error message.
constexpr std::size_t kBodyInMessage = 1024;
// An OAuth2 token is renewed this long before it expires.
constexpr std::chrono::seconds kTokenMargin{30};

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

bool accepted(const HttpRequest& r, int status) {
  if (r.accept.empty()) return status >= 200 && status < 300;
  return std::find(r.accept.begin(), r.accept.end(), status) != r.accept.end();
}

// Whether a failure tells the breaker the system is in trouble (a 4xx is the caller's problem).
bool counts_against(const AttemptFailure& f) {
  switch (f.kind) {
    case AttemptFailure::Kind::connect:
    case AttemptFailure::Kind::timeout:
    case AttemptFailure::Kind::broken: return true;
    case AttemptFailure::Kind::status: return f.status >= 500 || f.status == 429;
    case AttemptFailure::Kind::tls: return false;
  }
  return true;
}

// The body's first bytes, made fit for an error message.
std::string excerpt(const std::string& body) { return observability::log_safe(body, kBodyInMessage); }

// RFC 3986 percent-encoding: everything but the unreserved characters.
std::string escape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

}  // namespace

// One call in progress: its request, its place in the queue, its current attempt.
struct HttpSystem::Call {
  Call(asio::io_context& io, std::uint64_t id_, CallContext ctx, HttpRequest req, Done d)
      : id(id_), context(std::move(ctx)), request(std::move(req)), done(std::move(d)), timer(io) {}

  std::uint64_t id;
  CallContext context;
  HttpRequest request;
  Done done;
  asio::steady_timer timer;  // waits: for a slot, a token, a retry
  Clock::time_point started = Clock::now();
  bool holds_slot = false;
  bool allowed = false;  // the breaker let it through: it must hear of the outcome
  int attempt = 0;
  bool refreshed_token = false;
  std::string bearer;                   // the OAuth2 token the attempt used
  std::optional<std::size_t> endpoint;  // of the last attempt
  // The attempt in flight.
  http::EasyPtr easy;
  http::SlistPtr headers;
  std::string body_in;
  Headers headers_in;
  bool too_large = false;
  std::size_t max_body = 0;
  observability::ActiveSpan span;
  std::array<char, CURL_ERROR_SIZE> error_text{};
  milliseconds attempt_timeout{
      0};  // the system's timeout, or less: what was left of the deadline  // libcurl's detail of a failed attempt
};

// OAuth2 client credentials: one token, fetched by one call at a time, cached until it expires.
class HttpSystem::OAuth {
 public:
  using Got = std::function<void(Result<std::string>)>;
  OAuth(http::CurlMulti& curl, const config::HttpSystemConfig& config) : curl_(curl), config_(config) {}
  ~OAuth() {
    if (easy_) curl_.cancel(easy_.get());  // a fetch in flight: its callback must never run
  }
  OAuth(const OAuth&) = delete;
  OAuth& operator=(const OAuth&) = delete;

  // The token now (from the cache, or after one fetch shared by every caller waiting for it).
  void token(Got got) {
    if (!token_.empty() && Clock::now() < expires_) {
      got(token_);
      return;
    }
    waiting_.push_back(std::move(got));
    if (!easy_) fetch();
  }
  // The system refused `used` (401): forget it, unless a newer one replaced it already.
  void refused(const std::string& used) {
    if (used == token_) token_.clear();
  }
  std::uint64_t fetches() const { return fetches_; }

 private:
  void fetch() {
    ++fetches_;
    easy_ = curl_.acquire();
    body_out_ = "grant_type=client_credentials&client_id=" + escape(config_.auth.client_id) +
                "&client_secret=" + escape(config_.auth.client_secret);
    if (!config_.auth.scope.empty()) body_out_ += "&scope=" + escape(config_.auth.scope);
    body_in_.clear();
    CURL* e = easy_.get();
    http::set(e, CURLOPT_URL, config_.auth.token_url.c_str());
    http::set(e, CURLOPT_POSTFIELDS, body_out_.c_str());
    http::set(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_out_.size()));
    http::set(e, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout.count()));
    http::set(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.connect_timeout.count()));
    http::set(e, CURLOPT_NOSIGNAL, 1L);
    if (!config_.tls.ca_file.empty()) http::set(e, CURLOPT_CAINFO, config_.tls.ca_file.c_str());
    http::set(e, CURLOPT_SSL_VERIFYPEER, config_.tls.verify ? 1L : 0L);
    http::set(e, CURLOPT_SSL_VERIFYHOST, config_.tls.verify_host ? 2L : 0L);
    http::set(
        e, CURLOPT_WRITEFUNCTION, +[](char* data, std::size_t size, std::size_t n, void* out) {
          auto* body = static_cast<std::string*>(out);
          if (body->size() + size * n > (1 << 20)) return std::size_t{0};  // a token answer is small
          body->append(data, size * n);
          return size * n;
        });
    http::set(e, CURLOPT_WRITEDATA, &body_in_);
    curl_.start(e, [this](CURLcode rc) { fetched(rc); });
  }

  void fetched(CURLcode rc) {
    long status = 0;
    curl_easy_getinfo(easy_.get(), CURLINFO_RESPONSE_CODE, &status);
    curl_.release(std::move(easy_));
    Result<std::string> result = Error{ErrorCode::legacy_unavailable, "", true, std::nullopt};
    if (rc != CURLE_OK) {
      result = Error{ErrorCode::legacy_unavailable,
                     fmt::format("{}: the OAuth2 token endpoint {} could not be reached: {}", config_.name,
                                 config_.auth.token_url, curl_easy_strerror(rc)),
                     true, std::nullopt};
    } else if (status != 200) {
      result = Error{
          ErrorCode::legacy_failed,
          fmt::format("{}: the OAuth2 token endpoint answered HTTP {}: {}", config_.name, status, excerpt(body_in_)),
          status >= 500, std::nullopt};
    } else {
      boost::system::error_code ec;
      auto json = boost::json::parse(body_in_, ec);
      const auto* obj = ec ? nullptr : json.if_object();
      const auto* token = obj ? obj->if_contains("access_token") : nullptr;
      if (!token || !token->is_string()) {
        result =
            Error{ErrorCode::legacy_failed,
                  fmt::format("{}: the OAuth2 token answer has no access_token: {}", config_.name, excerpt(body_in_)),
                  false, std::nullopt};
      } else {
        token_ = std::string(token->as_string());
        std::chrono::seconds lifetime{3600};
        if (const auto* e = obj->if_contains("expires_in"); e && e->is_number()) {
          lifetime = std::chrono::seconds(static_cast<long long>(e->to_number<double>()));
        }
        expires_ = Clock::now() + std::max<std::chrono::seconds>(lifetime - kTokenMargin, lifetime / 2);
        result = token_;
      }
    }
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& got : waiting) got(result);
  }

  http::CurlMulti& curl_;
  const config::HttpSystemConfig& config_;
  std::string token_;
  Clock::time_point expires_{};
  http::EasyPtr easy_;  // the fetch in flight
  std::string body_out_, body_in_;
  std::vector<Got> waiting_;
  std::uint64_t fetches_ = 0;
};

HttpSystem::HttpSystem(asio::io_context& io, http::CurlMulti& curl, config::HttpSystemConfig config,
                       std::shared_ptr<observability::LegacyMetrics> metrics)
    : io_(io),
      curl_(curl),
      config_(std::move(config)),
      metrics_(std::move(metrics)),
      retry_(RetrySettings{config_.retry.attempts, config_.retry.backoff, config_.retry.max_backoff, config_.retry.on,
                           config_.retry_non_idempotent}),
      breaker_(BreakerSettings{config_.circuit_breaker.failure_rate, config_.circuit_breaker.window,
                               config_.circuit_breaker.min_calls, config_.circuit_breaker.open_for,
                               config_.circuit_breaker.enabled}),
      bulkhead_(static_cast<std::size_t>(config_.max_in_flight)),
      balancer_(config_.endpoints, config_.failover ? Balancer::Mode::failover : Balancer::Mode::round_robin) {
  if (config_.rate_limit)
    rate_ = std::make_unique<TokenBucket>(*config_.rate_limit, std::max(1.0, *config_.rate_limit));
  if (config_.auth.kind == config::HttpSystemConfig::AuthKind::oauth2) oauth_ = std::make_unique<OAuth>(curl_, config_);
  if (!config_.tls.verify || !config_.tls.verify_host) {
    spdlog::warn("systems.{}: TLS verification is off ({}): connections can be intercepted", config_.name,
                 !config_.tls.verify ? "tls.verify: false" : "tls.verify_host: false");
  }
}

HttpSystem::~HttpSystem() {
  for (auto& [id, c] : running_) {
    if (c->easy) curl_.cancel(c->easy.get());
  }
}

void HttpSystem::call(const CallContext& context, HttpRequest request, Done done) {
  auto c = std::make_shared<Call>(io_, next_id_++, context, std::move(request), std::move(done));
  c->request.method = upper(c->request.method);
  running_[c->id] = c;
  metrics_->in_flight = running_.size();
  asio::post(io_, [this, c] { admit(c); });  // `done` never runs inside call()
}

// The breaker, then the bulkhead: a slot now, or a place in the queue until the deadline.
void HttpSystem::admit(const std::shared_ptr<Call>& c) {
  auto now = Clock::now();
  if (!breaker_.allow(now)) {
    ++metrics_->rejected;
    return finish(c, Error{ErrorCode::legacy_unavailable,
                           fmt::format("{}: the circuit breaker is open (too many recent calls failed); not called",
                                       config_.name),
                           true, std::nullopt});
  }
  c->allowed = true;
  if (bulkhead_.acquire(c->id)) {
    c->holds_slot = true;
    return pace(c);
  }
  waiting_[c->id] = c;
  metrics_->waiting = waiting_.size();
  c->timer.expires_at(c->context.deadline - kMinAttempt);  // a slot later would leave no time to use it
  c->timer.async_wait([this, c](boost::system::error_code ec) {
    if (ec || !waiting_.erase(c->id)) return;
    bulkhead_.forget(c->id);
    metrics_->waiting = waiting_.size();
    finish(c, Error{ErrorCode::legacy_timeout,
                    fmt::format("{}: all {} slots stayed busy until the request's deadline (max_in_flight)",
                                config_.name, config_.max_in_flight),
                    true, std::nullopt});
  });
}

// The rate limit: a token now, or a wait for one (if it comes before the deadline).
void HttpSystem::pace(const std::shared_ptr<Call>& c) {
  if (rate_) {
    auto now = Clock::now();
    if (auto wait = rate_->take(now)) {
      if (now + *wait + kMinAttempt > c->context.deadline) {
        return finish(c, Error{ErrorCode::legacy_timeout,
                               fmt::format("{}: the rate limit ({}/s) leaves no time before the request's deadline",
                                           config_.name, *config_.rate_limit),
                               true, std::nullopt});
      }
      c->timer.expires_after(*wait);
      c->timer.async_wait([this, c](boost::system::error_code ec) {
        if (!ec) pace(c);
      });
      return;
    }
  }
  attempt(c);
}

void HttpSystem::attempt(const std::shared_ptr<Call>& c) {
  if (!oauth_)
    return attempt_with(c, config_.auth.kind == config::HttpSystemConfig::AuthKind::bearer ? config_.auth.token : "");
  oauth_->token([this, c](Result<std::string> token) {
    if (!token) return finish(c, token.error());
    attempt_with(c, token.value());
  });
}

std::string HttpSystem::url(std::size_t endpoint, const HttpRequest& r) const {
  std::string out = balancer_.endpoint(endpoint);
  if (!out.empty() && out.back() == '/' && !r.path.empty() && r.path.front() == '/') out.pop_back();
  out += r.path;
  if (!r.query.empty()) {
    char sep = out.find('?') == std::string::npos ? '?' : '&';
    for (const auto& [k, v] : r.query) {
      out += sep;
      out += escape(k);
      out += '=';
      out += escape(v);
      sep = '&';
    }
  }
  return out;
}

void HttpSystem::attempt_with(const std::shared_ptr<Call>& c, const std::string& bearer) {
  auto now = Clock::now();
  auto left = std::chrono::duration_cast<milliseconds>(c->context.deadline - now);
  if (left < kMinAttempt) {
    return finish(c, Error{ErrorCode::legacy_timeout,
                           fmt::format("{} {} {}: no time left before the request's deadline", config_.name,
                                       c->request.method, c->request.path),
                           true, std::nullopt});
  }
  ++c->attempt;
  c->bearer = bearer;
  auto endpoint = balancer_.pick(now, c->endpoint);
  c->endpoint = endpoint;
  auto target = url(endpoint, c->request);

  c->easy = curl_.acquire();
  CURL* e = c->easy.get();
  c->body_in.clear();
  c->headers_in.clear();
  c->too_large = false;
  http::set(e, CURLOPT_URL, target.c_str());
  http::set(e, CURLOPT_NOSIGNAL, 1L);
  http::set(e, CURLOPT_TCP_KEEPALIVE, 1L);
  c->attempt_timeout = std::min(config_.timeout, left);
  http::set(e, CURLOPT_TIMEOUT_MS, static_cast<long>(c->attempt_timeout.count()));
  http::set(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(config_.connect_timeout, left).count()));
  const auto& m = c->request.method;
  if (m == "HEAD") {
    http::set(e, CURLOPT_NOBODY, 1L);
  } else if (m != "GET" || !c->request.body.empty()) {
    if (m != "POST") http::set(e, CURLOPT_CUSTOMREQUEST, m.c_str());
    http::set(e, CURLOPT_POSTFIELDS, c->request.body.data());
    http::set(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(c->request.body.size()));
  }
  // Headers: the system's, the call's, authentication, the trace.
  curl_slist* list = curl_slist_append(nullptr, "Expect:");  // no 100-continue round trip
  for (const auto& h : config_.headers) list = curl_slist_append(list, (h.name + ": " + h.value).c_str());
  bool content_type = false;
  for (const auto& h : c->request.headers) {
    content_type = content_type || boost::iequals(h.name, "Content-Type");
    list = curl_slist_append(list, (h.name + (h.value && !h.value->empty() ? ": " + *h.value : ";")).c_str());
  }
  // A body is JSON unless the call says otherwise (libcurl's own default would be a form).
  if (!content_type && !c->request.body.empty()) list = curl_slist_append(list, "Content-Type: application/json");
  if (!bearer.empty()) list = curl_slist_append(list, ("Authorization: Bearer " + bearer).c_str());
  c->span = observability::ActiveSpan();
  if (c->context.tracer && c->context.parent.valid()) {
    c->span = observability::ActiveSpan(
        c->context.tracer,
        c->context.tracer->start_child(m + " " + config_.name, observability::SpanKind::client, c->context.parent));
    c->span.set("http.request.method", m);
    c->span.set("url.full", target);
    c->span.set("server.address", balancer_.endpoint(endpoint));
    c->span.set("fx.legacy.system", config_.name);
    c->span.set("fx.legacy.attempt", std::int64_t{c->attempt});
    list = curl_slist_append(list, ("traceparent: " + observability::format_traceparent(c->span.context())).c_str());
  }
  c->headers.reset(list);
  http::set(e, CURLOPT_HTTPHEADER, list);
  if (config_.auth.kind == config::HttpSystemConfig::AuthKind::basic) {
    http::set(e, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    http::set(e, CURLOPT_USERNAME, config_.auth.user.c_str());
    http::set(e, CURLOPT_PASSWORD, config_.auth.password.c_str());
  }
  // TLS (verification on unless the config says otherwise), proxy, HTTP version, compression.
  if (!config_.tls.ca_file.empty()) http::set(e, CURLOPT_CAINFO, config_.tls.ca_file.c_str());
  if (!config_.tls.cert_file.empty()) {
    http::set(e, CURLOPT_SSLCERT, config_.tls.cert_file.c_str());
    http::set(e, CURLOPT_SSLKEY, config_.tls.key_file.c_str());
  }
  http::set(e, CURLOPT_SSL_VERIFYPEER, config_.tls.verify ? 1L : 0L);
  http::set(e, CURLOPT_SSL_VERIFYHOST, config_.tls.verify_host ? 2L : 0L);
  if (!config_.proxy.empty()) http::set(e, CURLOPT_PROXY, config_.proxy.c_str());
  long version = config_.http_version == "1.1"                 ? CURL_HTTP_VERSION_1_1
                 : config_.http_version == "2"                 ? CURL_HTTP_VERSION_2_0
                 : config_.http_version == "2-prior-knowledge" ? CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                                                               : CURL_HTTP_VERSION_2TLS;
  http::set(e, CURLOPT_HTTP_VERSION, version);
  // Where HTTP/2 is known early — negotiated in the TLS handshake, or prior knowledge — a call waits
  // for a connection being set up rather than opening one of its own, so concurrent calls share one.
  // Elsewhere (plain http) nothing can be multiplexed: no call waits for another's connection.
  bool h2_early = config_.http_version == "2-prior-knowledge" ||
                  (config_.http_version != "1.1" && target.rfind("https://", 0) == 0);
  if (h2_early) http::set(e, CURLOPT_PIPEWAIT, 1L);
  if (config_.compress) http::set(e, CURLOPT_ACCEPT_ENCODING, "");
  // The answer.
  c->max_body = config_.max_response_bytes;
  http::set(e, CURLOPT_WRITEDATA, c.get());
  http::set(
      e, CURLOPT_WRITEFUNCTION, +[](char* data, std::size_t size, std::size_t n, void* user) -> std::size_t {
        auto* call = static_cast<Call*>(user);
        if (call->body_in.size() + size * n > call->max_body) {
          call->too_large = true;
          return 0;  // libcurl ends the transfer with CURLE_WRITE_ERROR
        }
        call->body_in.append(data, size * n);
        return size * n;
      });
  http::set(
      e, CURLOPT_HEADERFUNCTION, +[](char* data, std::size_t size, std::size_t n, void* user) -> std::size_t {
        auto* call = static_cast<Call*>(user);
        std::string_view line(data, size * n);
        if (line.rfind("HTTP/", 0) == 0) {
          call->headers_in.clear();  // a new answer (after 100 Continue, say): only the last one counts
        } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
          auto value = line.substr(colon + 1);
          while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
          while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
            value.remove_suffix(1);
          call->headers_in.push_back(Header{std::string(line.substr(0, colon)), std::string(value)});
        }
        return size * n;
      });
  http::set(e, CURLOPT_HEADERDATA, c.get());
  c->error_text[0] = '\0';
  http::set(e, CURLOPT_ERRORBUFFER, c->error_text.data());
  curl_.start(e, [this, c](CURLcode rc) { attempted(c, rc); });
}

void HttpSystem::attempted(const std::shared_ptr<Call>& c, CURLcode rc) {
  auto now = Clock::now();
  CURL* e = c->easy.get();
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  // Whether any of the request went out: CURLINFO_CONNECT_TIME would not tell (it stays 0 on a
  // reused connection, which made a timeout on one look like a connect failure, and a POST retried).
  long sent = 0;
  curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &sent);
  c->headers.reset();
  std::optional<AttemptFailure> failure;
  std::string what;  // for the error message
  if (rc == CURLE_OK) {
    if (!accepted(c->request, static_cast<int>(status))) {
      AttemptFailure f{AttemptFailure::Kind::status, static_cast<int>(status), std::nullopt};
      for (const auto& h : c->headers_in) {
        if (h.value && (h.name == "Retry-After" || h.name == "retry-after")) f.retry_after = *h.value;
      }
      failure = f;
      what = fmt::format("answered HTTP {}: {}", status, excerpt(c->body_in));
    }
  } else {
    using K = AttemptFailure::Kind;
    K kind = K::broken;
    switch (rc) {
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
      case CURLE_SSL_CONNECT_ERROR: kind = K::connect; break;  // the handshake failed: nothing was sent
      case CURLE_OPERATION_TIMEDOUT: kind = sent == 0 ? K::connect : K::timeout; break;
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CIPHER:
      case CURLE_SSL_ISSUER_ERROR:
      case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      case CURLE_SSL_INVALIDCERTSTATUS: kind = K::tls; break;
      default: kind = K::broken; break;
    }
    failure = AttemptFailure{kind, 0, std::nullopt};
    what = rc == CURLE_OPERATION_TIMEDOUT && kind == K::timeout
               ? fmt::format("no answer within {}", core::format_duration(c->attempt_timeout))
           : c->error_text[0] ? std::string(c->error_text.data())
                              : std::string(curl_easy_strerror(rc));
    if (rc == CURLE_WRITE_ERROR && c->too_large) {
      what = fmt::format("the answer is larger than max_response_bytes ({})", config_.max_response_bytes);
      failure->kind = K::tls;  // never retried: it would be as large again
      failure->status = -1;
    }
  }
  // What the attempt says about the endpoint and the system.
  if (failure && failure->kind == AttemptFailure::Kind::connect) {
    balancer_.failed(*c->endpoint, now);
  } else {
    balancer_.succeeded(*c->endpoint);
  }
  long http_version = 0;
  curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &http_version);
  std::string version = http_version == CURL_HTTP_VERSION_1_0   ? "1.0"
                        : http_version == CURL_HTTP_VERSION_1_1 ? "1.1"
                        : http_version == CURL_HTTP_VERSION_2_0 ? "2"
                        : http_version == CURL_HTTP_VERSION_3   ? "3"
                                                                : "";
  if (c->span.open()) {
    if (status) c->span.set("http.response.status_code", std::int64_t{status});
    if (!version.empty()) c->span.set("network.protocol.version", version);
    if (failure) c->span.fail(what);
    c->span.end();
  }
  curl_.release(std::move(c->easy));
  if (!failure) {
    breaker_.record(true, now);
    c->allowed = false;
    HttpResponse response{static_cast<int>(status), std::move(c->headers_in), std::move(c->body_in), version};
    return finish(c, std::move(response));
  }
  // A 401 with an OAuth2 token: the token may have been revoked; a new one, once, then again.
  if (oauth_ && failure->kind == AttemptFailure::Kind::status && failure->status == 401 && !c->refreshed_token) {
    c->refreshed_token = true;
    oauth_->refused(c->bearer);
    return attempt(c);
  }
  bool idempotent = idempotent_method(c->request.method);
  std::optional<milliseconds> wait;
  if (failure->status != -1) {
    wait = retry_.next_wait(c->attempt, *failure, idempotent, now, c->context.deadline, kMinAttempt, random_,
                            std::chrono::system_clock::now());
  }
  if (wait) {
    ++metrics_->retries;
    c->timer.expires_after(*wait);
    c->timer.async_wait([this, c](boost::system::error_code ec) {
      if (!ec) pace(c);
    });
    return;
  }
  breaker_.record(!counts_against(*failure), now);
  c->allowed = false;
  auto where = fmt::format("{} {} {}", config_.name, c->request.method, c->request.path);
  auto attempts = c->attempt == 1 ? std::string() : fmt::format(" (after {} attempts)", c->attempt);
  using K = AttemptFailure::Kind;
  switch (failure->kind) {
    case K::connect:
      return finish(c, Error{ErrorCode::legacy_unavailable,
                             fmt::format("{}: cannot connect to {}: {}{}", where, balancer_.endpoint(*c->endpoint),
                                         what, attempts),
                             true, std::nullopt});
    case K::timeout:
      return finish(
          c, Error{ErrorCode::legacy_timeout, fmt::format("{}: {}{}", where, what, attempts), true, std::nullopt});
    case K::status:
      return finish(c, Error{ErrorCode::legacy_failed, fmt::format("{} {}{}", where, what, attempts),
                             failure->status >= 500 || failure->status == 429, std::nullopt});
    case K::broken:
      return finish(c, Error{ErrorCode::legacy_unavailable,
                             fmt::format("{}: the connection broke: {}{}", where, what, attempts), true, std::nullopt});
    case K::tls:
      return finish(c, Error{failure->status == -1 ? ErrorCode::legacy_failed : ErrorCode::legacy_unavailable,
                             fmt::format("{}: {}", where, what), false, std::nullopt});
  }
}

void HttpSystem::finish(const std::shared_ptr<Call>& c, Result<HttpResponse> result) {
  c->timer.cancel();
  if (c->allowed) {
    breaker_.cancelled();  // it never got an outcome the breaker should count
    c->allowed = false;
  }
  if (c->holds_slot) {
    c->holds_slot = false;
    if (auto next = bulkhead_.release()) {
      auto it = waiting_.find(*next);
      if (it != waiting_.end()) {
        auto w = it->second;
        waiting_.erase(it);
        w->timer.cancel();
        w->holds_slot = true;
        asio::post(io_, [this, w] { pace(w); });
      }
    }
  }
  metrics_->waiting = waiting_.size();
  running_.erase(c->id);
  metrics_->in_flight = running_.size();
  metrics_->breaker_state = CircuitBreaker::metric_value(breaker_.state(Clock::now()));
  metrics_->seconds.observe(std::chrono::duration<double>(Clock::now() - c->started).count());
  if (result) {
    ++metrics_->calls[observability::LegacyMetrics::ok];
  } else {
    switch (result.error().code) {
      case ErrorCode::legacy_timeout: ++metrics_->calls[observability::LegacyMetrics::timeout]; break;
      case ErrorCode::legacy_unavailable: ++metrics_->calls[observability::LegacyMetrics::unavailable]; break;
      default: ++metrics_->calls[observability::LegacyMetrics::failed]; break;
    }
  }
  auto done = std::move(c->done);
  done(std::move(result));
}

}  // namespace fxconnect::systems
