// Legacy systems over HTTP (src/systems/), against a real WireMock on loopback (scripts/legacy.sh;
// FXC_LEGACY_HTTP, FXC_LEGACY_HTTPS, FXC_LEGACY_CA and, with --mtls, FXC_LEGACY_CLIENT_CERT/KEY,
// set by scripts/lib.sh's fxc_private_legacy; skipped without them). Each test drives one
// HttpSystem (or Systems for SOAP) on its own io_context, as the runtime's loop does, and checks
// what the call ends with, how often WireMock was called, and that every call ends exactly once.
// Stubs live under a random path prefix per test, so tests never see each other's requests.
//
// Timing: only lower bounds are asserted (a wait that must have happened); how fast anything is
// belongs to bench/.
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "config/config.h"
#include "observability/metrics.h"
#include "observability/tracer.h"
#include "systems/http/curl_multi.h"
#include "systems/http/http_system.h"
#include "systems/systems.h"
#include "wiremock.h"

namespace fxconnect::testing {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using config::HttpSystemConfig;
using std::chrono::milliseconds;
using systems::CallContext;
using systems::HttpSystem;
using ::testing::HasSubstr;
using Response = fxconnect::HttpResponse;

std::string unique(const std::string& prefix) {
  std::random_device rd;
  return prefix + std::to_string(rd()) + std::to_string(rd());
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// A port nothing listens on: bound, then closed (the kernel does not hand it out again at once).
int closed_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

class LegacyHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    auto wm = WireMock::from_env();
    if (!wm) GTEST_SKIP() << "FXC_LEGACY_HTTP is not set (scripts/legacy.sh start prints it)";
    wm_.emplace(std::move(*wm));
    base_ = unique("/fxc-legacy/");
  }

  // A system on WireMock with this test's prefix, short waits, and `change` applied.
  HttpSystemConfig system(const std::function<void(HttpSystemConfig&)>& change = {}) {
    HttpSystemConfig c;
    c.name = "legacy";
    c.endpoints = {wm_->base_url() + base_};
    c.timeout = milliseconds(5000);
    c.connect_timeout = milliseconds(1000);
    c.retry.backoff = milliseconds(10);
    c.retry.max_backoff = milliseconds(50);
    if (change) change(c);
    return c;
  }

  // Adds a stub for `method` on this test's `path` (relative to the prefix).
  std::string stub(const std::string& method, const std::string& path, json::object response,
                   json::object request_extra = {}, json::object mapping_extra = {}) {
    json::object request{{"method", method}, {"url", base_ + path}};
    for (auto& [k, v] : request_extra) request[k] = v;
    json::object mapping{{"request", request}, {"response", response}};
    for (auto& [k, v] : mapping_extra) mapping[k] = v;
    return wm_->stub(mapping);
  }
  // A scenario: `first` answers once, then `then` from there on.
  void first_then(const std::string& method, const std::string& path, json::object first, json::object then) {
    auto scenario = unique("s");
    stub(method, path, std::move(first), {},
         {{"scenarioName", scenario}, {"requiredScenarioState", "Started"}, {"newScenarioState", "then"}});
    stub(method, path, std::move(then), {}, {{"scenarioName", scenario}, {"requiredScenarioState", "then"}});
  }
  std::size_t count(const std::string& method, const std::string& path) {
    return wm_->count(json::object{{"method", method}, {"url", base_ + path}});
  }

  struct Outcome {
    Result<Response> result = Error{ErrorCode::internal, "not finished", false, std::nullopt};
    int times = 0;  // how often `done` ran: must be 1
    std::chrono::steady_clock::time_point at;
  };

  // Runs `n` calls of `request` at once on `sys`, each with `deadline` from now, to their ends.
  // `on_done` (optional) runs inside each `done`, on the loop.
  std::vector<Outcome> run(HttpSystem& sys, asio::io_context& io, const HttpRequest& request, int n = 1,
                           milliseconds deadline = milliseconds(20'000), const std::function<void(int)>& on_done = {}) {
    std::vector<Outcome> out(static_cast<std::size_t>(n));
    int left = n;
    auto until = std::chrono::steady_clock::now() + deadline;
    for (int i = 0; i < n; ++i) {
      sys.call(CallContext{until, nullptr, {}}, request, [&, i](Result<Response> r) {
        auto& o = out[static_cast<std::size_t>(i)];
        o.result = std::move(r);
        o.at = std::chrono::steady_clock::now();
        if (++o.times == 1) --left;
        if (on_done) on_done(i);
      });
    }
    drive(io, [&] { return left == 0; });
    for (const auto& o : out) EXPECT_EQ(o.times, 1) << "every call ends exactly once";
    return out;
  }

  // Runs the loop until `finished`, at most 60 s (a hang is a failure, not a stuck run).
  static void drive(asio::io_context& io, const std::function<bool()>& finished) {
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!finished() && std::chrono::steady_clock::now() < give_up) {
      io.restart();
      io.run_for(milliseconds(20));
    }
    ASSERT_TRUE(finished()) << "calls still running after 60 s";
  }

  std::optional<WireMock> wm_;
  std::string base_;
};

// One system on its own loop and connection pool.
struct Rig {
  explicit Rig(HttpSystemConfig c)
      : metrics(std::make_shared<observability::LegacyMetrics>()),
        curl(io),
        system(std::make_unique<HttpSystem>(io, curl, std::move(c), metrics)) {}
  asio::io_context io;
  std::shared_ptr<observability::LegacyMetrics> metrics;
  systems::http::CurlMulti curl;
  std::unique_ptr<HttpSystem> system;
};

HttpRequest get(std::string path) {
  HttpRequest r;
  r.method = "GET";
  r.path = std::move(path);
  return r;
}
HttpRequest post(std::string path, std::string body = R"({"x":1})") {
  HttpRequest r;
  r.method = "POST";
  r.path = std::move(path);
  r.body = std::move(body);
  return r;
}

json::object status(int s, std::string body = "{}") { return {{"status", s}, {"body", body}}; }

TEST_F(LegacyHttp, AnAnswerComesBackWithStatusHeadersAndBodyAndTheSystemsHeaders) {
  stub("GET", "/accounts/7?view=full",
       {{"status", 200},
        {"headers", {{"Content-Type", "application/json"}, {"X-Legacy", "yes"}}},
        {"jsonBody", {{"id", "7"}}}},
       {{"headers", {{"X-Channel", {{"equalTo", "fxconnect"}}}, {"X-Call", {{"equalTo", "c-1"}}}}}});
  Rig rig(system([](auto& c) { c.headers = {{"X-Channel", "fxconnect"}}; }));
  auto request = get("/accounts/7");
  request.query = {{"view", "full"}};
  request.headers = {{"X-Call", "c-1"}};
  auto out = run(*rig.system, rig.io, request);
  ASSERT_TRUE(out[0].result) << out[0].result.error().message;
  EXPECT_EQ(out[0].result.value().status, 200);
  EXPECT_EQ(out[0].result.value().header("x-legacy"), "yes");
  EXPECT_EQ(json::parse(out[0].result.value().body), json::parse(R"({"id":"7"})"));
  EXPECT_EQ(rig.metrics->calls[observability::LegacyMetrics::ok], 1U);
  EXPECT_EQ(rig.metrics->in_flight, 0U);
}

TEST_F(LegacyHttp, AJsonBodyIsSentAsJsonAndAStatusOutsideAcceptIsLegacyFailedWithTheBody) {
  stub("POST", "/accounts", status(422, R"({"error":"INVALID","detail":"customerRef missing"})"),
       {{"headers", {{"Content-Type", {{"contains", "application/json"}}}}},
        {"bodyPatterns", json::array{{{"equalToJson", {{"amount", 5}}}}}}});
  Rig rig(system());
  auto out = run(*rig.system, rig.io, post("/accounts", R"({"amount":5})"));
  ASSERT_FALSE(out[0].result);
  const auto& e = out[0].result.error();
  EXPECT_EQ(e.code, ErrorCode::legacy_failed);
  EXPECT_FALSE(e.retriable) << "a 4xx fails the same way again";
  EXPECT_THAT(e.message, HasSubstr("HTTP 422"));
  EXPECT_THAT(e.message, HasSubstr("customerRef missing")) << "the first 1 KB of the body";
  EXPECT_EQ(count("POST", "/accounts"), 1U);

  // The same status, accepted by the call: an answer.
  auto accepting = post("/accounts", R"({"amount":5})");
  accepting.accept = {201, 422};
  auto ok = run(*rig.system, rig.io, accepting);
  ASSERT_TRUE(ok[0].result);
  EXPECT_EQ(ok[0].result.value().status, 422);
}

TEST_F(LegacyHttp, ALongBodyIsCutToOneKilobyteInTheMessage) {
  stub("GET", "/big", status(500, std::string(5000, 'x')));
  Rig rig(system([](auto& c) { c.retry.attempts = 1; }));
  auto out = run(*rig.system, rig.io, get("/big"));
  ASSERT_FALSE(out[0].result);
  EXPECT_LT(out[0].result.error().message.size(), 1400U);
  EXPECT_THAT(out[0].result.error().message, HasSubstr(std::string(1000, 'x')));
}

// Each retry condition: a failing first answer, then 200. GET is idempotent: retried.
TEST_F(LegacyHttp, EachStatusInRetryOnIsRetriedThenAnswers) {
  for (int s : {429, 502, 503, 504}) {
    auto path = "/status-" + std::to_string(s);
    first_then("GET", path, status(s), status(200, R"({"ok":true})"));
    Rig rig(system());
    auto out = run(*rig.system, rig.io, get(path));
    ASSERT_TRUE(out[0].result) << s << ": " << out[0].result.error().message;
    EXPECT_EQ(count("GET", path), 2U) << s;
    EXPECT_EQ(rig.metrics->retries, 1U) << s;
  }
}

TEST_F(LegacyHttp, AStatusNotInRetryOnIsNotRetried) {
  first_then("GET", "/500", status(500), status(200));
  Rig rig(system());
  auto out = run(*rig.system, rig.io, get("/500"));
  ASSERT_FALSE(out[0].result);
  EXPECT_EQ(out[0].result.error().code, ErrorCode::legacy_failed);
  EXPECT_TRUE(out[0].result.error().retriable) << "a 5xx may pass later: the engine may retry the request";
  EXPECT_EQ(count("GET", "/500"), 1U);
}

TEST_F(LegacyHttp, AttemptsAreCountedAndTheLastFailureIsTheError) {
  stub("GET", "/down", status(503, "maintenance"));
  Rig rig(system([](auto& c) { c.retry.attempts = 4; }));
  auto out = run(*rig.system, rig.io, get("/down"));
  ASSERT_FALSE(out[0].result);
  EXPECT_EQ(out[0].result.error().code, ErrorCode::legacy_failed);
  EXPECT_THAT(out[0].result.error().message, HasSubstr("HTTP 503: maintenance (after 4 attempts)"));
  EXPECT_EQ(count("GET", "/down"), 4U);
  EXPECT_EQ(rig.metrics->retries, 3U);
}

TEST_F(LegacyHttp, ATimeoutIsRetriedThenIsLegacyTimeout) {
  stub("GET", "/slow", {{"status", 200}, {"fixedDelayMilliseconds", 3000}});
  Rig rig(system([](auto& c) {
    c.timeout = milliseconds(200);
    c.retry.attempts = 2;
  }));
  auto out = run(*rig.system, rig.io, get("/slow"));
  ASSERT_FALSE(out[0].result);
  EXPECT_EQ(out[0].result.error().code, ErrorCode::legacy_timeout);
  EXPECT_TRUE(out[0].result.error().retriable);
  EXPECT_EQ(wm_->wait_for_count(json::object{{"method", "GET"}, {"url", base_ + "/slow"}}, 2), 2U);
}

// On a pooled connection nothing new is connected: a timeout there is still a timeout (the request
// went out), so a POST is not sent again.
TEST_F(LegacyHttp, ATimeoutOnAReusedConnectionIsATimeoutAndAPostIsNotRepeated) {
  stub("GET", "/warm", status(200));
  stub("POST", "/slow", {{"status", 201}, {"fixedDelayMilliseconds", 3000}});
  Rig rig(system([](auto& c) { c.timeout = milliseconds(300); }));
  ASSERT_TRUE(run(*rig.system, rig.io, get("/warm"))[0].result);
  auto out = run(*rig.system, rig.io, post("/slow"));
  ASSERT_FALSE(out[0].result);
  EXPECT_EQ(out[0].result.error().code, ErrorCode::legacy_timeout) << out[0].result.error().message;
  EXPECT_EQ(rig.metrics->retries, 0U);
  EXPECT_EQ(count("POST", "/slow"), 1U);
}

TEST_F(LegacyHttp, ConnectFailuresAreRetriedAndEndAsLegacyUnavailable) {
  Rig rig(system([](auto& c) { c.endpoints = {"http://127.0.0.1:" + std::to_string(closed_port())}; }));
  auto out = run(*rig.system, rig.io, post("/x"));
  ASSERT_FALSE(out[0].result);
  EXPECT_EQ(out[0].result.error().code, ErrorCode::legacy_unavailable);
  EXPECT_TRUE(out[0].result.error().retriable);
  EXPECT_THAT(out[0].result.error().message, HasSubstr("cannot connect"));
  EXPECT_EQ(rig.metrics->retries, 2U) << "a POST too: nothing was sent";
}

TEST_F(LegacyHttp, APostIsRetriedOnlyOnConnectUnlessTheSystemAllowsIt) {
  stub("POST", "/pay", status(503));
  {
    Rig rig(system());
    auto out = run(*rig.system, rig.io, post("/pay"));
    ASSERT_FALSE(out[0].result);
    EXPECT_EQ(count("POST", "/pay"), 1U) << "the system may have done it: never twice";
  }
  {
    Rig rig(system([](auto& c) { c.retry_non_idempotent = true; }));
    auto out = run(*rig.system, rig.io, post("/pay"));
    ASSERT_FALSE(out[0].result);
    EXPECT_EQ(count("POST", "/pay"), 1U + 3U);
  }
  // PUT and DELETE are idempotent: retried.
  stub("PUT", "/pay", status(503));
  Rig rig(system());
  auto put = post("/pay");
  put.method = "PUT";
  run(*rig.system, rig.io, put);
  EXPECT_EQ(count("PUT", "/pay"), 3U);
}

TEST_F(LegacyHttp, RetryAfterIsHonoured) {
  first_then("GET", "/busy", {{"status", 429}, {"headers", {{"Retry-After", "1"}}}}, status(200));
  Rig rig(system());
  auto started = std::chrono::steady_clock::now();
  auto out = run(*rig.system, rig.io, get("/busy"));
  ASSERT_TRUE(out[0].result) << out[0].result.error().message;
  EXPECT_GE(out[0].at - started, milliseconds(1000)) << "the backoff alone is at most 50 ms";
  EXPECT_EQ(count("GET", "/busy"), 2U);
}

TEST_F(LegacyHttp, ARetryAfterBeyondTheDeadlineEndsTheCallAtOnce) {
  first_then("GET", "/later", {{"status", 503}, {"headers", {{"Retry-After", "30"}}}}, status(200));
  Rig rig(system());
  auto out = run(*rig.system, rig.io, get("/later"), 1, milliseconds(3000));
  ASSERT_FALSE(out[0].result);
  EXPECT_EQ(out[0].result.error().code, ErrorCode::legacy_failed);
  EXPECT_EQ(count("GET", "/later"), 1U);
}

TEST_F(LegacyHttp, NoAttemptOutlivesTheRequestsDeadline) {
  stub("GET", "/stuck", {{"status", 200}, {"fixedDelayMilliseconds", 10000}});
  Rig rig(system([](auto& c) { c.timeout = milliseconds(8000); }));
  auto started = std::chrono::steady_clock::now();
  auto out = run(*rig.system, rig.io, get("/stuck"), 1, milliseconds(700));
  ASSERT_FALSE(out[0].result);
  EXPECT_EQ(out[0].result.error().code, ErrorCode::legacy_timeout);
  EXPECT_LT(out[0].at - started, milliseconds(8000)) << "the attempt was cut to the deadline, not `timeout`";
  EXPECT_EQ(count("GET", "/stuck"), 1U) << "no time was left for a second attempt";
}

TEST_F(LegacyHttp, TheBreakerOpensAnswersAtOnceThenHalfOpensProbesAndCloses) {
  auto failing = stub("GET", "/cb", status(503));
  Rig rig(system([](auto& c) {
    c.retry.attempts = 1;
    c.circuit_breaker = {true, 0.5, 4, 4, milliseconds(800)};
  }));
  for (int i = 0; i < 4; ++i) {
    auto out = run(*rig.system, rig.io, get("/cb"));
    ASSERT_FALSE(out[0].result);
    EXPECT_EQ(out[0].result.error().code, ErrorCode::legacy_failed);
  }
  EXPECT_EQ(rig.metrics->breaker_state, 1) << "open";
  auto open = run(*rig.system, rig.io, get("/cb"));
  ASSERT_FALSE(open[0].result);
  EXPECT_EQ(open[0].result.error().code, ErrorCode::legacy_unavailable);
  EXPECT_TRUE(open[0].result.error().retriable);
  EXPECT_THAT(open[0].result.error().message, HasSubstr("circuit breaker is open"));
  EXPECT_EQ(count("GET", "/cb"), 4U) << "not called while open";
  EXPECT_EQ(rig.metrics->rejected, 1U);

  // The system is back; after open_for one probe goes through while the others are refused.
  wm_->remove_stub(failing);
  stub("GET", "/cb", {{"status", 200}, {"fixedDelayMilliseconds", 300}});
  std::this_thread::sleep_for(milliseconds(900));
  int refused_while_probing = 0;
  systems::CircuitBreaker::State during{};
  auto two = run(*rig.system, rig.io, get("/cb"), 2, milliseconds(20'000), [&](int i) {
    if (i == 1) during = rig.system->breaker_state();
  });
  ASSERT_TRUE(two[0].result) << two[0].result.error().message;
  ASSERT_FALSE(two[1].result);
  refused_while_probing = two[1].result.error().code == ErrorCode::legacy_unavailable;
  EXPECT_EQ(refused_while_probing, 1);
  EXPECT_EQ(during, systems::CircuitBreaker::State::half_open);
  EXPECT_EQ(rig.metrics->breaker_state, 0) << "closed after the probe succeeded";
  auto after = run(*rig.system, rig.io, get("/cb"));
  EXPECT_TRUE(after[0].result);
  EXPECT_EQ(count("GET", "/cb"), 6U);
}

TEST_F(LegacyHttp, TheBulkheadLetsMaxInFlightThroughAndTheRestWaitInOrder) {
  stub("GET", "/bh", {{"status", 200}, {"fixedDelayMilliseconds", 300}});
  Rig rig(system([](auto& c) { c.max_in_flight = 2; }));
  std::uint64_t waiting_at_first_end = 99;
  std::vector<int> order;
  auto started = std::chrono::steady_clock::now();
  auto out = run(*rig.system, rig.io, get("/bh"), 6, milliseconds(20'000), [&](int i) {
    if (order.empty()) waiting_at_first_end = rig.metrics->waiting;
    order.push_back(i);
  });
  for (const auto& o : out) EXPECT_TRUE(o.result);
  EXPECT_EQ(waiting_at_first_end, 3U) << "4 waited; the first end let one in";
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(900)) << "3 rounds of 2";
  EXPECT_EQ(order.back() >= 4, true) << "the last to start is among the last to end";
}

TEST_F(LegacyHttp, ACallWaitingForASlotPastItsDeadlineIsLegacyTimeoutAndNeverSent) {
  stub("GET", "/hold", {{"status", 200}, {"fixedDelayMilliseconds", 1500}});
  Rig rig(system([](auto& c) { c.max_in_flight = 1; }));
  auto out = run(*rig.system, rig.io, get("/hold"), 2, milliseconds(800));
  ASSERT_FALSE(out[1].result);
  EXPECT_EQ(out[1].result.error().code, ErrorCode::legacy_timeout);
  EXPECT_THAT(out[1].result.error().message, HasSubstr("slots stayed busy"));
  EXPECT_EQ(count("GET", "/hold"), 1U);
}

TEST_F(LegacyHttp, TheRateLimitSpacesCalls) {
  stub("GET", "/rl", status(200));
  Rig rig(system([](auto& c) { c.rate_limit = 5.0; }));
  auto started = std::chrono::steady_clock::now();
  auto out = run(*rig.system, rig.io, get("/rl"), 10);
  for (const auto& o : out) EXPECT_TRUE(o.result);
  // A burst of 5, then one per 200 ms: the 10th starts 1 s after the first at the earliest.
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(1000));
  EXPECT_EQ(count("GET", "/rl"), 10U);
}

TEST_F(LegacyHttp, RoundRobinSpreadsCallsOverTheEndpoints) {
  stub("GET", "/a/rr", status(200));
  stub("GET", "/b/rr", status(200));
  Rig rig(system([&](auto& c) { c.endpoints = {wm_->base_url() + base_ + "/a", wm_->base_url() + base_ + "/b"}; }));
  for (int i = 0; i < 10; ++i) run(*rig.system, rig.io, get("/rr"));
  EXPECT_EQ(count("GET", "/a/rr"), 5U);
  EXPECT_EQ(count("GET", "/b/rr"), 5U);
}

TEST_F(LegacyHttp, FailoverUsesTheNextEndpointWhenTheFirstIsDownAndAPostGoesOnce) {
  stub("POST", "/fo", status(201));
  Rig rig(system([&](auto& c) {
    c.failover = true;
    c.endpoints = {"http://127.0.0.1:" + std::to_string(closed_port()), wm_->base_url() + base_};
  }));
  for (int i = 0; i < 3; ++i) {
    auto out = run(*rig.system, rig.io, post("/fo"));
    ASSERT_TRUE(out[0].result) << out[0].result.error().message;
    EXPECT_EQ(out[0].result.value().status, 201);
  }
  EXPECT_EQ(count("POST", "/fo"), 3U);
  EXPECT_EQ(rig.metrics->retries, 1U) << "the endpoint that refused is set aside, not tried each time";
}

TEST_F(LegacyHttp, BasicAndBearerAuthenticationAreSent) {
  stub("GET", "/basic", status(200), {{"basicAuthCredentials", {{"username", "cb"}, {"password", "s3cret"}}}});
  stub("GET", "/bearer", status(200), {{"headers", {{"Authorization", {{"equalTo", "Bearer tok-42"}}}}}});
  {
    Rig rig(system([](auto& c) {
      c.auth.kind = HttpSystemConfig::AuthKind::basic;
      c.auth.user = "cb";
      c.auth.password = "s3cret";
    }));
    auto out = run(*rig.system, rig.io, get("/basic"));
    EXPECT_TRUE(out[0].result) << out[0].result.error().message;
  }
  Rig rig(system([](auto& c) {
    c.auth.kind = HttpSystemConfig::AuthKind::bearer;
    c.auth.token = "tok-42";
  }));
  auto out = run(*rig.system, rig.io, get("/bearer"));
  EXPECT_TRUE(out[0].result) << out[0].result.error().message;
}

HttpSystemConfig oauth(HttpSystemConfig c, const std::string& token_url) {
  c.auth.kind = HttpSystemConfig::AuthKind::oauth2;
  c.auth.token_url = token_url;
  c.auth.client_id = "fx";
  c.auth.client_secret = "s&cret";
  c.auth.scope = "accounts";
  c.max_in_flight = 200;
  return c;
}

TEST_F(LegacyHttp, AnOAuth2TokenIsFetchedOnceForAHundredConcurrentCallsAndCached) {
  stub("POST", "/token",
       {{"status", 200},
        {"fixedDelayMilliseconds", 200},
        {"jsonBody", {{"access_token", "tok-1"}, {"expires_in", 3600}}}},
       {{"bodyPatterns", json::array{{{"contains", "grant_type=client_credentials"}},
                                     {{"contains", "client_secret=s%26cret"}},
                                     {{"contains", "scope=accounts"}}}}});
  stub("GET", "/data", status(200), {{"headers", {{"Authorization", {{"equalTo", "Bearer tok-1"}}}}}});
  Rig rig(oauth(system(), wm_->base_url() + base_ + "/token"));
  auto out = run(*rig.system, rig.io, get("/data"), 100);
  for (const auto& o : out) ASSERT_TRUE(o.result) << o.result.error().message;
  run(*rig.system, rig.io, get("/data"), 10);
  EXPECT_EQ(count("POST", "/token"), 1U);
  EXPECT_EQ(count("GET", "/data"), 110U);
}

TEST_F(LegacyHttp, ARefusedOAuth2TokenIsRefreshedOnceUnderAHundredConcurrentCalls) {
  first_then("POST", "/token", {{"status", 200}, {"jsonBody", {{"access_token", "old"}, {"expires_in", 3600}}}},
             {{"status", 200},
              {"fixedDelayMilliseconds", 100},
              {"jsonBody", {{"access_token", "new"}, {"expires_in", 3600}}}});
  stub("GET", "/data", status(401), {}, {{"priority", 10}});
  stub("GET", "/data", status(200), {{"headers", {{"Authorization", {{"equalTo", "Bearer new"}}}}}}, {{"priority", 1}});
  Rig rig(oauth(system(), wm_->base_url() + base_ + "/token"));
  auto out = run(*rig.system, rig.io, get("/data"), 100);
  for (const auto& o : out) ASSERT_TRUE(o.result) << o.result.error().message;
  EXPECT_EQ(count("POST", "/token"), 2U) << "the first token, then one refresh";
}

TEST_F(LegacyHttp, AnOAuth2TokenEndpointThatRefusesIsLegacyFailed) {
  stub("POST", "/token", status(401, R"({"error":"invalid_client"})"));
  Rig rig(oauth(system(), wm_->base_url() + base_ + "/token"));
  auto out = run(*rig.system, rig.io, get("/data"), 3);
  for (const auto& o : out) {
    ASSERT_FALSE(o.result);
    EXPECT_EQ(o.result.error().code, ErrorCode::legacy_failed);
    EXPECT_THAT(o.result.error().message, HasSubstr("invalid_client"));
  }
  EXPECT_EQ(count("POST", "/token"), 1U) << "the three waited for one fetch";
}

class LegacyHttps : public LegacyHttp {
 protected:
  void SetUp() override {
    LegacyHttp::SetUp();
    if (IsSkipped()) return;
    https_ = env("FXC_LEGACY_HTTPS");
    if (https_.empty()) GTEST_SKIP() << "FXC_LEGACY_HTTPS is not set (scripts/legacy.sh start --tls)";
  }
  // TLS with the test CA, and the client certificate when WireMock asks for one (--mtls).
  HttpSystemConfig tls() {
    return system([&](auto& c) {
      c.endpoints = {https_ + base_};
      c.tls.ca_file = env("FXC_LEGACY_CA");
      c.tls.cert_file = env("FXC_LEGACY_CLIENT_CERT");
      c.tls.key_file = env("FXC_LEGACY_CLIENT_KEY");
    });
  }
  std::string https_;
};

TEST_F(LegacyHttps, CallsGoOverTlsVerifiedWithTheConfiguredCa) {
  stub("GET", "/tls", status(200, "secure"));
  Rig rig(tls());
  auto out = run(*rig.system, rig.io, get("/tls"));
  ASSERT_TRUE(out[0].result) << out[0].result.error().message;
  EXPECT_EQ(out[0].result.value().body, "secure");
}

TEST_F(LegacyHttps, TlsNegotiatesHttp2AndConcurrentCallsShareOneConnection) {
  stub("GET", "/h2", status(200, "two"));
  Rig rig(tls());
  auto out = run(*rig.system, rig.io, get("/h2"), 50);
  for (const auto& o : out) {
    ASSERT_TRUE(o.result) << o.result.error().message;
    EXPECT_EQ(o.result.value().version, "2");
  }
  EXPECT_EQ(rig.curl.sockets(), 1U) << "50 streams multiplexed on one connection";
}

TEST_F(LegacyHttps, AnUntrustedCertificateFailsWithoutRetry) {
  stub("GET", "/tls", status(200));
  auto c = tls();
  c.tls.ca_file.clear();  // the system's CAs do not know the test CA
  Rig rig(c);
  auto out = run(*rig.system, rig.io, get("/tls"));
  ASSERT_FALSE(out[0].result);
  EXPECT_EQ(out[0].result.error().code, ErrorCode::legacy_unavailable);
  EXPECT_FALSE(out[0].result.error().retriable) << "it fails the same way until the config changes";
  EXPECT_THAT(out[0].result.error().message, HasSubstr("certificate"));
  EXPECT_EQ(rig.metrics->retries, 0U);
  EXPECT_EQ(count("GET", "/tls"), 0U);
}

TEST_F(LegacyHttps, MutualTlsNeedsTheClientCertificate) {
  if (env("FXC_LEGACY_CLIENT_CERT").empty()) GTEST_SKIP() << "WireMock was started without --mtls";
  stub("GET", "/mtls", status(200));
  auto c = tls();
  c.tls.cert_file.clear();
  c.tls.key_file.clear();
  c.retry.attempts = 1;
  Rig without(c);
  auto refused = run(*without.system, without.io, get("/mtls"));
  ASSERT_FALSE(refused[0].result);
  EXPECT_EQ(refused[0].result.error().code, ErrorCode::legacy_unavailable);
  Rig with(tls());
  auto out = run(*with.system, with.io, get("/mtls"));
  EXPECT_TRUE(out[0].result) << out[0].result.error().message;
  EXPECT_EQ(count("GET", "/mtls"), 1U);
}

// WireMock's faults: the connection breaks after the request was sent. Not retried by default
// (`broken` is not in retry.on's default): the system may have acted.
TEST_F(LegacyHttp, EachConnectionFaultIsLegacyUnavailableAndRetriedOnlyWhenAskedFor) {
  for (const char* fault :
       {"CONNECTION_RESET_BY_PEER", "EMPTY_RESPONSE", "MALFORMED_RESPONSE_CHUNK", "RANDOM_DATA_THEN_CLOSE"}) {
    auto path = std::string("/fault-") + fault;
    stub("GET", path, {{"fault", fault}});
    {
      Rig rig(system());
      auto out = run(*rig.system, rig.io, get(path));
      ASSERT_FALSE(out[0].result) << fault;
      EXPECT_EQ(out[0].result.error().code, ErrorCode::legacy_unavailable) << fault;
      EXPECT_THAT(out[0].result.error().message, HasSubstr("connection broke")) << fault;
      EXPECT_EQ(count("GET", path), 1U) << fault;
    }
    Rig rig(system([](auto& c) { c.retry.on.push_back("broken"); }));
    auto out = run(*rig.system, rig.io, get(path));
    ASSERT_FALSE(out[0].result) << fault;
    EXPECT_EQ(count("GET", path), 1U + 3U) << fault;
  }
}

TEST_F(LegacyHttp, AnAnswerLargerThanMaxResponseBytesIsRefused) {
  stub("GET", "/huge", status(200, std::string(300'000, 'y')));
  Rig rig(system([](auto& c) { c.max_response_bytes = 100'000; }));
  auto out = run(*rig.system, rig.io, get("/huge"));
  ASSERT_FALSE(out[0].result);
  EXPECT_EQ(out[0].result.error().code, ErrorCode::legacy_failed);
  EXPECT_THAT(out[0].result.error().message, HasSubstr("max_response_bytes"));
  EXPECT_EQ(count("GET", "/huge"), 1U);
}

TEST_F(LegacyHttp, GzipAnswersAreDecoded) {
  stub("GET", "/gz", status(200, std::string(20'000, 'z')),
       {{"headers", {{"Accept-Encoding", {{"contains", "gzip"}}}}}});
  Rig rig(system());
  auto out = run(*rig.system, rig.io, get("/gz"));
  ASSERT_TRUE(out[0].result) << out[0].result.error().message;
  EXPECT_EQ(out[0].result.value().body, std::string(20'000, 'z'));
}

// Each attempt is a client span, child of the handler's, and the legacy system gets its traceparent.
TEST_F(LegacyHttp, EachAttemptSendsTheTraceparentOfItsOwnSpanInTheRequestsTrace) {
  first_then("GET", "/traced", status(503), status(200));
  Rig rig(system());
  auto tracer = std::make_shared<const observability::Tracer>(*observability::Sampler::parse("always"), nullptr);
  observability::TraceContext parent;
  parent.trace_id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  parent.span_id = {1, 1, 1, 1, 1, 1, 1, 1};
  parent.sampled = true;
  std::optional<Result<Response>> out;
  rig.system->call(CallContext{std::chrono::steady_clock::now() + std::chrono::seconds(20), tracer, parent},
                   get("/traced"), [&](Result<Response> r) { out = std::move(r); });
  drive(rig.io, [&] { return out.has_value(); });
  ASSERT_TRUE(*out);
  auto requests = wm_->find(json::object{{"method", "GET"}, {"url", base_ + "/traced"}});
  ASSERT_EQ(requests.size(), 2U);
  std::set<std::string> span_ids;
  for (const auto& r : requests) {
    const auto& headers = r.at("headers").as_object();
    ASSERT_TRUE(headers.contains("traceparent")) << json::serialize(r);
    std::string tp(headers.at("traceparent").as_string());
    ASSERT_EQ(tp.size(), 55U) << tp;
    EXPECT_EQ(tp.substr(0, 3), "00-");
    EXPECT_EQ(tp.substr(3, 32), parent.trace_id_hex()) << "the request's trace";
    EXPECT_NE(tp.substr(36, 16), parent.span_id_hex()) << "a span of its own";
    EXPECT_EQ(tp.substr(53), "01");
    span_ids.insert(tp.substr(36, 16));
  }
  EXPECT_EQ(span_ids.size(), 2U) << "one span per attempt";
}

TEST_F(LegacyHttp, PlainHttpIsHttp11UnlessHttp2IsAskedForWithPriorKnowledge) {
  stub("GET", "/v", status(200));
  {
    Rig rig(system());
    auto out = run(*rig.system, rig.io, get("/v"));
    ASSERT_TRUE(out[0].result) << out[0].result.error().message;
    EXPECT_EQ(out[0].result.value().version, "1.1");
  }
  Rig rig(system([](auto& c) { c.http_version = "2-prior-knowledge"; }));
  auto out = run(*rig.system, rig.io, get("/v"));
  ASSERT_TRUE(out[0].result) << out[0].result.error().message;
  EXPECT_EQ(out[0].result.value().version, "2");
}

// WireMock runs with browser proxying on (scripts/legacy.sh): as a forward proxy it answers with its
// stubs, whatever the host. A system behind a proxy is reached through it, by a name that does not
// resolve here.
TEST_F(LegacyHttp, CallsGoThroughTheConfiguredProxy) {
  stub("GET", "/via-proxy", status(200, "proxied"));
  Rig rig(system([&](auto& c) {
    c.endpoints = {"http://core.bank.invalid" + base_};
    c.proxy = wm_->base_url();
  }));
  auto out = run(*rig.system, rig.io, get("/via-proxy"));
  ASSERT_TRUE(out[0].result) << out[0].result.error().message;
  EXPECT_EQ(out[0].result.value().body, "proxied");
  EXPECT_EQ(count("GET", "/via-proxy"), 1U);
}

// A slow answer in progress on a plain-http connection does not hold up other calls to the same
// host: they get connections of their own.
TEST_F(LegacyHttp, ASlowCallDoesNotHoldUpOthersToTheSameHost) {
  stub("GET", "/slowest", {{"status", 200}, {"fixedDelayMilliseconds", 3000}});
  stub("GET", "/quick", status(200));
  Rig rig(system([](auto& c) {
    c.timeout = milliseconds(5000);
    c.retry.attempts = 1;
  }));
  std::optional<Result<Response>> slow;
  rig.system->call(CallContext{std::chrono::steady_clock::now() + std::chrono::seconds(20), nullptr, {}},
                   get("/slowest"), [&](Result<Response> r) { slow = std::move(r); });
  rig.io.run_for(milliseconds(200));  // its connection is up and its request sent
  auto quick = run(*rig.system, rig.io, get("/quick"), 10, milliseconds(1500));
  for (const auto& o : quick) EXPECT_TRUE(o.result) << o.result.error().message;
  EXPECT_FALSE(slow.has_value()) << "the slow call was still running";
  drive(rig.io, [&] { return slow.has_value(); });
}

TEST_F(LegacyHttp, ConnectionsAreReused) {
  stub("GET", "/reuse", status(200));
  Rig rig(system());
  for (int i = 0; i < 20; ++i) run(*rig.system, rig.io, get("/reuse"));
  EXPECT_EQ(rig.curl.sockets(), 1U) << "one pooled connection served the 20 calls in turn";
}

TEST_F(LegacyHttp, HundredsOfConcurrentCallsEachEndOnce) {
  stub("GET", "/many", {{"status", 200}, {"fixedDelayMilliseconds", 50}});
  Rig rig(system([](auto& c) { c.max_in_flight = 500; }));
  auto out = run(*rig.system, rig.io, get("/many"), 500);
  int ok = 0;
  for (const auto& o : out) ok += o.result ? 1 : 0;
  EXPECT_EQ(ok, 500);
  EXPECT_EQ(rig.metrics->in_flight, 0U);
}

// SOAP through Systems, on the demo's KYC mapping (scripts/legacy/mappings/kyc-*.json).
class LegacySoap : public LegacyHttp {
 protected:
  Result<SoapResponse> soap(const std::string& customer) {
    auto c = system([&](auto& s) {
      s.name = "kyc";
      s.endpoints = {wm_->base_url()};
      s.soap.namespaces = {{"kyc", "urn:example:kyc"}};
    });
    asio::io_context io;
    observability::ConnectorMetrics metrics;
    systems::Systems systems(io, {c}, metrics);
    SoapRequest r;
    r.path = "/kyc";
    r.action = "urn:kyc#CheckCustomer";
    r.body = R"(<kyc:CheckCustomer xmlns:kyc="urn:example:kyc"><kyc:customerId>)" + customer +
             "</kyc:customerId></kyc:CheckCustomer>";
    Result<SoapResponse> out = Error{ErrorCode::internal, "not finished", false, std::nullopt};
    int times = 0;
    systems.soap("kyc", CallContext{std::chrono::steady_clock::now() + std::chrono::seconds(20), nullptr, {}}, r,
                 [&](Result<SoapResponse> res) {
                   out = std::move(res);
                   ++times;
                 });
    drive(io, [&] { return times > 0; });
    EXPECT_EQ(times, 1);
    return out;
  }
};

TEST_F(LegacySoap, AnAnswerIsReadAsJsonAndByXPath) {
  auto r = soap("C-100001");
  ASSERT_TRUE(r) << r.error().message;
  const auto& body = r.value().body.as_object().at("CheckCustomerResponse").as_object();
  EXPECT_EQ(body.at("customerId"), "C-100001");
  EXPECT_EQ(body.at("status"), "CLEAR");
  EXPECT_EQ(r.value().values("//kyc:riskScore"), std::vector<std::string>{"12"});
  EXPECT_EQ(r.value().values("/soap:Envelope/soap:Body/kyc:CheckCustomerResponse/kyc:status"),
            std::vector<std::string>{"CLEAR"});
}

TEST_F(LegacySoap, AFaultIsLegacyFailedWithFaultcodeAndFaultstring) {
  auto r = soap("C-666");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::legacy_failed);
  EXPECT_FALSE(r.error().retriable) << "a Client fault";
  EXPECT_THAT(r.error().message, HasSubstr("soap:Client"));
  EXPECT_THAT(r.error().message, HasSubstr("customer blocked"));
}

TEST_F(LegacySoap, AnAnswerThatIsNoEnvelopeIsLegacyFailed) {
  stub("POST", "/not-soap", {{"status", 200}, {"body", "<html>gateway</html>"}});
  asio::io_context io;
  observability::ConnectorMetrics metrics;
  auto c = system([](auto& s) { s.name = "kyc"; });
  systems::Systems systems(io, {c}, metrics);
  SoapRequest r;
  r.path = "/not-soap";
  r.action = "a";
  r.body = "<x/>";
  std::optional<Result<SoapResponse>> out;
  systems.soap("kyc", CallContext{std::chrono::steady_clock::now() + std::chrono::seconds(20), nullptr, {}}, r,
               [&](Result<SoapResponse> res) { out = std::move(res); });
  drive(io, [&] { return out.has_value(); });
  ASSERT_FALSE(*out);
  EXPECT_THAT(out->error().message, HasSubstr("is not a SOAP 1.1 envelope"));
}

TEST_F(LegacySoap, AnUnknownSystemIsAnInternalErrorNamingTheDeclaredOnes) {
  asio::io_context io;
  observability::ConnectorMetrics metrics;
  systems::Systems systems(io, {system([](auto& s) { s.name = "kyc"; })}, metrics);
  std::optional<Result<fxconnect::HttpResponse>> out;
  systems.http("kyk", CallContext{std::chrono::steady_clock::now() + std::chrono::seconds(5), nullptr, {}}, get("/"),
               [&](Result<fxconnect::HttpResponse> res) { out = std::move(res); });
  EXPECT_FALSE(out) << "never inside the call";
  drive(io, [&] { return out.has_value(); });
  ASSERT_FALSE(*out);
  EXPECT_EQ(out->error().code, ErrorCode::internal);
  EXPECT_THAT(out->error().message, HasSubstr("no legacy system 'kyk'"));
  EXPECT_THAT(out->error().message, HasSubstr("kyc"));
}

}  // namespace
}  // namespace fxconnect::testing
