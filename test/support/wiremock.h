// A client for WireMock's admin API (the legacy stand-in of scripts/legacy.sh), for tests: add
// stubs, count and read the requests WireMock received, drive scenarios. Every call is one
// blocking HTTP request (http_get.h); a failure (no answer, or a status other than 2xx) throws
// std::runtime_error naming the call, the status and WireMock's answer. Test code only.
//
// One WireMock serves every test of a run: give stubs URLs of their own (e.g. with a random
// part) and count requests by those URLs rather than calling reset(), which affects all users.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

namespace fxconnect::testing {

class WireMock {
 public:
  // `base_url` is WireMock's HTTP address, http://127.0.0.1:PORT (its admin API is under
  // /__admin on the same port).
  explicit WireMock(std::string base_url);

  // The WireMock named by FXC_LEGACY_HTTP (set by scripts/lib.sh's fxc_private_legacy), or
  // nothing when that variable is unset or empty: tests then GTEST_SKIP().
  static std::optional<WireMock> from_env();

  const std::string& base_url() const { return base_url_; }

  // POST /__admin/reset: stubs back to the mappings loaded at start (added ones removed), request
  // journal emptied, scenarios back to "Started".
  void reset();
  // DELETE /__admin/requests: empties the request journal only.
  void reset_requests();

  // POST /__admin/mappings: adds a stub mapping ({"request": {...}, "response": {...}, ...}) and
  // returns the id WireMock gave it.
  std::string stub(const boost::json::value& mapping);
  // DELETE /__admin/mappings/{id}.
  void remove_stub(const std::string& id);

  // POST /__admin/requests/count: how many journaled requests match `request_pattern` (the
  // "request" part of a mapping, e.g. {"method": "POST", "url": "/accounts"}).
  std::size_t count(const boost::json::value& request_pattern);
  // Polls count() until it reaches `at_least` or `timeout` passes; returns the last count.
  std::size_t wait_for_count(const boost::json::value& request_pattern, std::size_t at_least,
                             std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // GET /__admin/requests: every journaled request (WireMock's "requests" array, newest first).
  std::vector<boost::json::value> requests();
  // POST /__admin/requests/find: the journaled requests matching `request_pattern`.
  std::vector<boost::json::value> find(const boost::json::value& request_pattern);
  // GET /__admin/requests/unmatched: the journaled requests no stub answered.
  std::vector<boost::json::value> unmatched();

  // PUT /__admin/scenarios/{name}/state: moves a scenario (stubs' "scenarioName") to `state`.
  // WireMock does not percent-decode that URL: a name other than letters, digits, '-', '.', '_'
  // and '~' throws std::invalid_argument (name such scenarios so, or use reset_scenarios()).
  void set_scenario(const std::string& name, const std::string& state);
  // The current state of a scenario (GET /__admin/scenarios); throws if there is none by that name.
  std::string scenario_state(const std::string& name);
  // POST /__admin/scenarios/reset: every scenario back to "Started".
  void reset_scenarios();

  // One admin call: `method` on `path` (e.g. "/__admin/settings") with an optional JSON body;
  // returns the parsed answer (null when empty). Throws as described above.
  boost::json::value admin(std::string_view method, const std::string& path,
                           const std::optional<boost::json::value>& body = std::nullopt);

 private:
  std::string base_url_;
};

}  // namespace fxconnect::testing
