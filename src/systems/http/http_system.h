// One legacy system reached over HTTP, as declared under `systems:`: every call goes through the
// system's circuit breaker, bulkhead and rate limit, then attempts on its endpoints (balanced)
// with its timeouts, authentication and TLS, retried per its policy within the request's deadline.
// Runs on the loop; calls never block it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>

#include <boost/asio/io_context.hpp>

#include "config/config.h"
#include "fxconnect/error.h"
#include "fxconnect/legacy.h"
#include "observability/metrics.h"
#include "observability/tracer.h"
#include "systems/call_context.h"
#include "systems/http/curl_multi.h"
#include "systems/resilience/balancer.h"
#include "systems/resilience/breaker.h"
#include "systems/resilience/limits.h"
#include "systems/resilience/retry.h"

namespace fxconnect::systems {

class HttpSystem {
 public:
  using Done = std::function<void(Result<HttpResponse>)>;

  HttpSystem(boost::asio::io_context& io, http::CurlMulti& curl, config::HttpSystemConfig config,
             std::shared_ptr<observability::LegacyMetrics> metrics);
  ~HttpSystem();
  HttpSystem(const HttpSystem&) = delete;
  HttpSystem& operator=(const HttpSystem&) = delete;

  // `done` runs on the loop exactly once (never from inside this call).
  void call(const CallContext& context, HttpRequest request, Done done);

  const config::HttpSystemConfig& config() const { return config_; }
  // The breaker's state now, for the metric.
  CircuitBreaker::State breaker_state() const { return breaker_.state(CircuitBreaker::Clock::now()); }

 private:
  struct Call;
  class OAuth;
  void admit(const std::shared_ptr<Call>& c);
  void pace(const std::shared_ptr<Call>& c);
  void attempt(const std::shared_ptr<Call>& c);
  void attempt_with(const std::shared_ptr<Call>& c, const std::string& bearer);
  void attempted(const std::shared_ptr<Call>& c, CURLcode rc);
  void finish(const std::shared_ptr<Call>& c, Result<HttpResponse> result);
  std::string url(std::size_t endpoint, const HttpRequest& request) const;

  boost::asio::io_context& io_;
  http::CurlMulti& curl_;
  config::HttpSystemConfig config_;
  std::shared_ptr<observability::LegacyMetrics> metrics_;
  RetryPolicy retry_;
  CircuitBreaker breaker_;
  Bulkhead bulkhead_;
  std::unique_ptr<TokenBucket> rate_;
  Balancer balancer_;
  std::unique_ptr<OAuth> oauth_;
  std::mt19937_64 random_{std::random_device{}()};
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::shared_ptr<Call>> waiting_;  // for a bulkhead slot
  std::map<std::uint64_t, std::shared_ptr<Call>> running_;  // everything not finished (cancelled at destruction)
};

}  // namespace fxconnect::systems
