#include "wiremock.h"

#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <utility>

#include "http_get.h"

namespace fxconnect::testing {
namespace json = boost::json;

namespace {

// A name as a path segment of an admin URL. WireMock 3.13 matches admin paths without
// percent-decoding them (PUT /__admin/scenarios/a%20b/state looks for a scenario named "a%20b"),
// so only names made of RFC 3986 unreserved characters can be named in a URL at all.
std::string path_segment(std::string_view what, std::string_view s) {
  bool ok = !s.empty() && s != "." && s != "..";
  for (unsigned char c : s)
    ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                c == '_' || c == '~');
  if (!ok)
    throw std::invalid_argument("WireMock: " + std::string(what) + " '" + std::string(s) +
                                "' cannot be named in an admin URL (WireMock does not percent-decode them): use only "
                                "letters, digits, '-', '.', '_' and '~'");
  return std::string(s);
}

std::vector<json::value> array_field(const json::value& v, std::string_view field, std::string_view call) {
  const auto* obj = v.if_object();
  const auto* arr = obj ? obj->if_contains(field) : nullptr;
  if (!arr || !arr->is_array())
    throw std::runtime_error("WireMock " + std::string(call) + ": no \"" + std::string(field) +
                             "\" array in the answer: " + json::serialize(v));
  const auto& a = arr->get_array();
  return {a.begin(), a.end()};
}

}  // namespace

WireMock::WireMock(std::string base_url) : base_url_(std::move(base_url)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

std::optional<WireMock> WireMock::from_env() {
  const char* url = std::getenv("FXC_LEGACY_HTTP");
  if (url == nullptr || *url == '\0') return std::nullopt;
  return WireMock(url);
}

json::value WireMock::admin(std::string_view method, const std::string& path, const std::optional<json::value>& body) {
  auto res = http_request(base_url_, method, path, body ? json::serialize(*body) : std::string());
  std::string call = std::string(method) + " " + base_url_ + path;
  if (res.status == 0) throw std::runtime_error("WireMock " + call + ": no answer (" + res.error + ")");
  if (res.status < 200 || res.status > 299) {
    constexpr std::size_t kShown = 2000;
    throw std::runtime_error("WireMock " + call + ": HTTP " + std::to_string(res.status) + ": " +
                             res.body.substr(0, kShown) + (res.body.size() > kShown ? "..." : ""));
  }
  if (res.body.empty()) return nullptr;
  boost::system::error_code ec;
  auto v = json::parse(res.body, ec);
  if (ec) throw std::runtime_error("WireMock " + call + ": the answer is not JSON (" + ec.message() + "): " + res.body);
  return v;
}

void WireMock::reset() { admin("POST", "/__admin/reset"); }

void WireMock::reset_requests() { admin("DELETE", "/__admin/requests"); }

std::string WireMock::stub(const json::value& mapping) {
  auto v = admin("POST", "/__admin/mappings", mapping);
  const auto* id = v.is_object() ? v.get_object().if_contains("id") : nullptr;
  if (!id || !id->is_string())
    throw std::runtime_error("WireMock POST /__admin/mappings: no id in the answer: " + json::serialize(v));
  return std::string(id->get_string());
}

void WireMock::remove_stub(const std::string& id) {
  admin("DELETE", "/__admin/mappings/" + path_segment("stub id", id));
}

std::size_t WireMock::count(const json::value& request_pattern) {
  auto v = admin("POST", "/__admin/requests/count", request_pattern);
  const auto* disabled = v.is_object() ? v.get_object().if_contains("requestJournalDisabled") : nullptr;
  if (disabled && disabled->is_bool() && disabled->get_bool())
    throw std::runtime_error("WireMock " + base_url_ + " has no request journal (legacy.sh start --no-journal)");
  const auto* n = v.is_object() ? v.get_object().if_contains("count") : nullptr;
  if (!n || !n->is_int64() || n->get_int64() < 0)
    throw std::runtime_error("WireMock POST /__admin/requests/count: no count in the answer: " + json::serialize(v));
  return static_cast<std::size_t>(n->get_int64());
}

std::size_t WireMock::wait_for_count(const json::value& request_pattern, std::size_t at_least,
                                     std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto n = count(request_pattern);
    if (n >= at_least || std::chrono::steady_clock::now() >= deadline) return n;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::vector<json::value> WireMock::requests() {
  return array_field(admin("GET", "/__admin/requests"), "requests", "GET /__admin/requests");
}

std::vector<json::value> WireMock::find(const json::value& request_pattern) {
  return array_field(admin("POST", "/__admin/requests/find", request_pattern), "requests",
                     "POST /__admin/requests/find");
}

std::vector<json::value> WireMock::unmatched() {
  return array_field(admin("GET", "/__admin/requests/unmatched"), "requests", "GET /__admin/requests/unmatched");
}

void WireMock::set_scenario(const std::string& name, const std::string& state) {
  admin("PUT", "/__admin/scenarios/" + path_segment("scenario name", name) + "/state", json::value{{"state", state}});
}

std::string WireMock::scenario_state(const std::string& name) {
  for (const auto& s : array_field(admin("GET", "/__admin/scenarios"), "scenarios", "GET /__admin/scenarios")) {
    const auto* obj = s.if_object();
    const auto* n = obj ? obj->if_contains("name") : nullptr;
    const auto* state = obj ? obj->if_contains("state") : nullptr;
    if (n && n->is_string() && n->get_string() == name && state && state->is_string())
      return std::string(state->get_string());
  }
  throw std::runtime_error("WireMock: no scenario named '" + name + "'");
}

void WireMock::reset_scenarios() { admin("POST", "/__admin/scenarios/reset"); }

}  // namespace fxconnect::testing
