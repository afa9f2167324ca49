#include "systems/http/kafka_token.h"

#include <curl/curl.h>

#include <memory>
#include <stdexcept>

#include <fmt/format.h>
#include <boost/json/parse.hpp>

namespace fxconnect::systems {
namespace {

constexpr long kTimeoutMs = 10'000;
constexpr std::size_t kMaxAnswer = 1 << 20;

std::string escape(CURL* e, const std::string& text) {
  std::unique_ptr<char, decltype(&curl_free)> out(curl_easy_escape(e, text.c_str(), static_cast<int>(text.size())),
                                                  curl_free);
  return out ? std::string(out.get()) : std::string();
}

// The JSON payload of a JWT (header.payload.signature), or null when it is not one.
boost::json::value jwt_claims(const std::string& token) {
  auto first = token.find('.');
  auto second = first == std::string::npos ? std::string::npos : token.find('.', first + 1);
  if (second == std::string::npos) return nullptr;
  std::string b64 = token.substr(first + 1, second - first - 1);
  for (auto& c : b64) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (b64.size() % 4) b64 += '=';
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : b64) {
    if (c == '=') break;
    auto v = kAlphabet.find(c);
    if (v == std::string_view::npos) return nullptr;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  boost::system::error_code ec;
  auto claims = boost::json::parse(out, ec);
  return ec ? boost::json::value(nullptr) : claims;
}

kafka::OAuthToken fetch(const config::KafkaSecurity& s) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(), curl_easy_cleanup);
  if (!easy) throw std::runtime_error("cannot initialise libcurl");
  CURL* e = easy.get();
  std::string body = "grant_type=client_credentials";
  if (!s.scope.empty()) body += "&scope=" + escape(e, s.scope);
  std::string answer;
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(e, CURLOPT_URL, s.token_url.c_str());
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
  curl_easy_setopt(e, CURLOPT_USERNAME, s.client_id.c_str());
  curl_easy_setopt(e, CURLOPT_PASSWORD, s.client_secret.c_str());
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, kTimeoutMs);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!s.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, s.ca_file.c_str());
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(
      e, CURLOPT_WRITEFUNCTION, +[](char* data, std::size_t size, std::size_t n, void* out) {
        auto* text = static_cast<std::string*>(out);
        if (text->size() + size * n > kMaxAnswer) return std::size_t{0};
        text->append(data, size * n);
        return size * n;
      });
  auto rc = curl_easy_perform(e);
  if (rc != CURLE_OK) {
    throw std::runtime_error(fmt::format("the token endpoint {} could not be reached: {}", s.token_url,
                                         error[0] ? error : curl_easy_strerror(rc)));
  }
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    throw std::runtime_error(
        fmt::format("the token endpoint {} answered HTTP {}{}", s.token_url, status,
                    status == 401 ? " (check kafka.security.sasl.client_id and client_secret)" : ""));
  }
  boost::system::error_code ec;
  auto json = boost::json::parse(answer, ec);
  const auto* obj = ec ? nullptr : json.if_object();
  const auto* token = obj ? obj->if_contains("access_token") : nullptr;
  if (!token || !token->is_string() || token->as_string().empty()) {
    throw std::runtime_error(fmt::format("the token endpoint {} answered without an access_token", s.token_url));
  }
  kafka::OAuthToken out;
  out.value = std::string(token->as_string());
  out.principal = s.client_id;
  auto claims = jwt_claims(out.value);
  const auto* c = claims.if_object();
  if (c) {
    if (const auto* sub = c->if_contains("sub"); sub && sub->is_string()) out.principal = std::string(sub->as_string());
  }
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  auto now = std::chrono::system_clock::now();
  if (const auto* in = obj->if_contains("expires_in"); in && in->is_number()) {
    out.expires = now + seconds(static_cast<long long>(in->to_number<double>()));
  } else if (const auto* exp = c ? c->if_contains("exp") : nullptr; exp && exp->is_number()) {
    out.expires = std::chrono::system_clock::time_point(seconds(static_cast<long long>(exp->to_number<double>())));
  } else {
    out.expires = now + std::chrono::hours(1);
  }
  return out;
}

}  // namespace

kafka::OAuthTokenSource kafka_token_source(const config::KafkaSecurity& security) {
  return [security] { return fetch(security); };
}

}  // namespace fxconnect::systems
