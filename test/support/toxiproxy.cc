#include "toxiproxy.h"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <utility>

#include "http_get.h"

namespace fxconnect::testing {
namespace json = boost::json;

namespace {

// A proxy or toxic name as a path segment: only RFC 3986 unreserved characters, so that no
// percent-encoding question arises.
std::string path_segment(std::string_view what, std::string_view s) {
  bool ok = !s.empty() && s != "." && s != "..";
  for (unsigned char c : s)
    ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                c == '_' || c == '~');
  if (!ok)
    throw std::invalid_argument("Toxiproxy: " + std::string(what) + " '" + std::string(s) +
                                "': use only letters, digits, '-', '.', '_' and '~'");
  return std::string(s);
}

std::string string_field(const json::value& v, std::string_view field, std::string_view call) {
  const auto* obj = v.if_object();
  const auto* f = obj ? obj->if_contains(field) : nullptr;
  if (!f || !f->is_string())
    throw std::runtime_error("Toxiproxy " + std::string(call) + ": no \"" + std::string(field) +
                             "\" in the answer: " + json::serialize(v));
  return std::string(f->get_string());
}

}  // namespace

Toxiproxy::Toxiproxy(std::string api_url) : api_url_(std::move(api_url)) {
  while (!api_url_.empty() && api_url_.back() == '/') api_url_.pop_back();
}

std::optional<Toxiproxy> Toxiproxy::from_env() {
  const char* url = std::getenv("FXC_TOXIPROXY_URL");
  if (url == nullptr || *url == '\0') return std::nullopt;
  return Toxiproxy(url);
}

json::value Toxiproxy::api(std::string_view method, const std::string& path, const std::optional<json::value>& body) {
  auto res = http_request(api_url_, method, path, body ? json::serialize(*body) : std::string());
  std::string call = std::string(method) + " " + api_url_ + path;
  if (res.status == 0) throw std::runtime_error("Toxiproxy " + call + ": no answer (" + res.error + ")");
  if (res.status < 200 || res.status > 299) {
    constexpr std::size_t kShown = 2000;
    throw std::runtime_error("Toxiproxy " + call + ": HTTP " + std::to_string(res.status) + ": " +
                             res.body.substr(0, kShown) + (res.body.size() > kShown ? "..." : ""));
  }
  if (res.body.empty()) return nullptr;
  boost::system::error_code ec;
  auto v = json::parse(res.body, ec);
  if (ec) return json::string(res.body);  // GET /version answers text/plain
  return v;
}

std::string Toxiproxy::version() {
  auto v = api("GET", "/version");
  return v.is_string() ? std::string(v.get_string()) : json::serialize(v);
}

std::string Toxiproxy::create_proxy(const std::string& name, const std::string& listen, const std::string& upstream) {
  auto v = api(
      "POST", "/proxies",
      json::value{
          {"name", path_segment("proxy name", name)}, {"listen", listen}, {"upstream", upstream}, {"enabled", true}});
  return string_field(v, "listen", "POST /proxies");
}

void Toxiproxy::remove_proxy(const std::string& name) { api("DELETE", "/proxies/" + path_segment("proxy name", name)); }

void Toxiproxy::reset() { api("POST", "/reset"); }

void Toxiproxy::enable(const std::string& name, bool enabled) {
  api("POST", "/proxies/" + path_segment("proxy name", name), json::value{{"enabled", enabled}});
}

std::vector<std::string> Toxiproxy::proxies() {
  auto v = api("GET", "/proxies");
  if (!v.is_object()) throw std::runtime_error("Toxiproxy GET /proxies: not an object: " + json::serialize(v));
  std::vector<std::string> names;
  for (const auto& kv : v.get_object()) names.emplace_back(kv.key());
  std::sort(names.begin(), names.end());
  return names;
}

std::string Toxiproxy::add_toxic(const std::string& proxy, std::string_view type, std::string_view stream,
                                 const json::object& attributes, std::string name, double toxicity) {
  if (name.empty()) name = std::string(type) + "_" + std::string(stream);
  auto path = "/proxies/" + path_segment("proxy name", proxy) + "/toxics";
  auto v =
      api("POST", path,
          json::value{
              {"name", name}, {"type", type}, {"stream", stream}, {"toxicity", toxicity}, {"attributes", attributes}});
  return string_field(v, "name", "POST " + path);
}

std::string Toxiproxy::add_latency(const std::string& proxy, int ms, int jitter_ms, std::string_view stream) {
  return add_toxic(proxy, "latency", stream, {{"latency", ms}, {"jitter", jitter_ms}});
}

std::string Toxiproxy::add_bandwidth(const std::string& proxy, long kb_per_s, std::string_view stream) {
  return add_toxic(proxy, "bandwidth", stream, {{"rate", kb_per_s}});
}

std::string Toxiproxy::add_timeout(const std::string& proxy, int ms, std::string_view stream) {
  return add_toxic(proxy, "timeout", stream, {{"timeout", ms}});
}

std::string Toxiproxy::add_reset_peer(const std::string& proxy, int ms, std::string_view stream) {
  return add_toxic(proxy, "reset_peer", stream, {{"timeout", ms}});
}

void Toxiproxy::remove_toxic(const std::string& proxy, const std::string& toxic_name) {
  api("DELETE", "/proxies/" + path_segment("proxy name", proxy) + "/toxics/" + path_segment("toxic name", toxic_name));
}

std::vector<std::string> Toxiproxy::toxics(const std::string& proxy) {
  auto path = "/proxies/" + path_segment("proxy name", proxy) + "/toxics";
  auto v = api("GET", path);
  if (!v.is_array()) throw std::runtime_error("Toxiproxy GET " + path + ": not an array: " + json::serialize(v));
  std::vector<std::string> names;
  for (const auto& t : v.get_array()) names.push_back(string_field(t, "name", "GET " + path));
  return names;
}

}  // namespace fxconnect::testing
