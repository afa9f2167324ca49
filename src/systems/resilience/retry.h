// When and how soon a failed call to a legacy system is tried again. Pure logic: the caller
// gives the time and a random number source, so tests drive it exactly.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fxconnect::systems {

using Clock = std::chrono::steady_clock;

// What went wrong with one attempt, as far as retrying is concerned.
struct AttemptFailure {
  enum class Kind {
    connect,  // no connection (refused, unreachable, DNS, TLS handshake not reached): nothing was sent
    timeout,  // the attempt's time ran out (connect or response)
    status,   // an HTTP status the call does not accept
    broken,   // the connection broke after the request was (maybe) sent: reset, empty or malformed answer
    tls,      // certificate verification failed: never retried (it will fail the same way)
  };
  Kind kind = Kind::connect;
  int status = 0;                          // for Kind::status
  std::optional<std::string> retry_after;  // the response's Retry-After header, if any
};

struct RetrySettings {
  int attempts = 3;                              // in all, the first included (1 = no retry; < 1 counts as 1)
  std::chrono::milliseconds backoff{100};        // before the 2nd attempt; doubles each time
  std::chrono::milliseconds max_backoff{2'000};  // cap of one backoff (not of a longer Retry-After)
  // Which failures are retried: "connect", "timeout", "broken" and HTTP statuses ("429", "503").
  std::vector<std::string> on{"connect", "timeout", "429", "502", "503", "504"};
  bool retry_non_idempotent = false;  // POST/PATCH: retried on `connect` only unless set
};

// Checks a `retry.on` list for lint and config loading: each entry is `connect`, `timeout`,
// `broken` or a three-digit HTTP status (100-599). nullopt when valid, else the problem with the
// first bad entry ("'abc' is not a retry condition; expected connect, timeout, broken or an HTTP
// status"). `tls` is refused with its reason: a failed verification fails the same way again.
std::optional<std::string> check_retry_conditions(const std::vector<std::string>& on);

class RetryPolicy {
 public:
  explicit RetryPolicy(RetrySettings settings) : settings_(std::move(settings)) {}

  // After `attempt` (1-based) failed with `failure`, the wait before the next attempt, or nullopt
  // when the call must end now: conditions not met, attempts used up, the method not idempotent
  // (and the failure not `connect`), TLS verification failed, or the wait would not end before
  // `deadline` with time left for an attempt (`min_attempt`): no retry when
  // now + wait + min_attempt > deadline. The wait is the exponential backoff with full jitter
  // (uniform in whole milliseconds over [0, min(max_backoff, backoff * 2^(attempt-1))]), or the
  // response's Retry-After (seconds or an HTTP-date, read against `wall_now`) when present, well
  // formed and longer; a malformed Retry-After is ignored.
  std::optional<std::chrono::milliseconds> next_wait(int attempt, const AttemptFailure& failure, bool idempotent,
                                                     Clock::time_point now, Clock::time_point deadline,
                                                     std::chrono::milliseconds min_attempt, std::mt19937_64& random,
                                                     std::chrono::system_clock::time_point wall_now) const;

  const RetrySettings& settings() const { return settings_; }

 private:
  // Whether `failure` is one of settings_.on.
  bool retried_on(const AttemptFailure& failure) const;

  RetrySettings settings_;
};

// The longest wait parse_retry_after returns: larger values saturate here (a server asking for
// more than ~31 years means "not within this call's deadline"; the cap keeps time arithmetic in
// range).
inline constexpr std::chrono::milliseconds max_retry_after{std::chrono::seconds(1'000'000'000)};

// Retry-After as a wait: delta-seconds ("120") or an HTTP-date (RFC 9110 5.6.7: the IMF-fixdate
// "Wed, 21 Oct 2015 07:28:00 GMT" and, as the RFC asks recipients to, the obsolete RFC 850 and
// asctime forms), relative to `wall_now` and rounded up to the millisecond; a date in the past is
// 0. Surrounding spaces and tabs are ignored. nullopt when malformed (an impossible date included).
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point wall_now);

// Whether an HTTP method may be repeated without changing the outcome (RFC 9110 9.2.2): GET, HEAD,
// OPTIONS, TRACE, PUT and DELETE. Methods are case-sensitive, so "get" is an unknown method: not
// idempotent.
bool idempotent_method(std::string_view method);

}  // namespace fxconnect::systems
