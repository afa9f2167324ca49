#include "core/secrets.h"

#include "core/json_text.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <memory>
#include <mutex>
#include <vector>

namespace fxconnect::core {
namespace {

using List = std::vector<std::string>;

// Read on every log line, written a handful of times at startup: readers take a snapshot.
std::atomic<std::shared_ptr<const List>> g_secrets{std::make_shared<const List>()};
std::mutex g_write;

// The JSON string form of `value` (without quotes), as JSON bodies and log lines write it.
std::string json_escaped(std::string_view value) {
  std::string quoted;
  append_json_string(quoted, value);
  return quoted.substr(1, quoted.size() - 2);
}

void remember(std::string value) {
  std::lock_guard lock(g_write);
  auto current = g_secrets.load();
  if (std::find(current->begin(), current->end(), value) != current->end()) return;
  auto next = std::make_shared<List>(*current);
  next->push_back(std::move(value));
  // Longest first: a secret containing another is replaced whole.
  std::sort(next->begin(), next->end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  g_secrets.store(std::move(next));
}

std::vector<std::string> words(std::string_view key) {
  std::vector<std::string> out(1);
  for (char c : key) {
    if (c == '.' || c == '_' || c == '-' || c == ' ') {
      if (!out.back().empty()) out.emplace_back();
    } else {
      out.back() += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  if (out.back().empty()) out.pop_back();
  return out;
}

}  // namespace

void add_secret(std::string_view value) {
  if (value.size() < kMinSecretLength) return;
  remember(std::string(value));
  if (auto escaped = json_escaped(value); escaped != value) remember(std::move(escaped));
}

bool has_secrets() { return !g_secrets.load()->empty(); }

std::string redact(std::string_view text) {
  auto secrets = g_secrets.load();
  std::string out(text);
  for (const auto& s : *secrets) {
    for (auto at = out.find(s); at != std::string::npos; at = out.find(s, at + kRedacted.size())) {
      out.replace(at, s.size(), kRedacted);
    }
  }
  return out;
}

bool is_secret_name(std::string_view key) {
  static constexpr std::array kSecretWords{"password", "passwd",        "secret",     "token",       "key",
                                           "apikey",   "authorization", "credential", "credentials", "cookie",
                                           "jaas",     "passphrase",    "bearer"};
  static constexpr std::array kWhereWords{"file",      "location", "path", "url",    "endpoint",
                                          "id",        "name",     "type", "method", "algorithm",
                                          "mechanism", "column",   "dir",  "store",  "lifetime"};
  auto w = words(key);
  if (w.empty()) return false;
  if (std::find(kWhereWords.begin(), kWhereWords.end(), w.back()) != kWhereWords.end()) return false;
  return std::any_of(w.begin(), w.end(), [](const std::string& word) {
    return std::find(kSecretWords.begin(), kSecretWords.end(), word) != kSecretWords.end();
  });
}

void add_secrets_inside(std::string_view value) {
  // libpq keyword/value form: password=VALUE or password='VALUE with spaces'.
  for (auto at = value.find("password"); at != std::string_view::npos; at = value.find("password", at + 1)) {
    auto p = at + 8;
    while (p < value.size() && value[p] == ' ') ++p;
    if (p >= value.size() || value[p] != '=') continue;
    ++p;
    while (p < value.size() && value[p] == ' ') ++p;
    std::string secret;
    if (p < value.size() && value[p] == '\'') {
      for (++p; p < value.size() && value[p] != '\''; ++p) {
        if (value[p] == '\\' && p + 1 < value.size()) ++p;
        secret += value[p];
      }
    } else {
      while (p < value.size() && value[p] != ' ') secret += value[p++];
    }
    add_secret(secret);
  }
  // URL user information: scheme://user:password@host
  if (auto scheme = value.find("://"); scheme != std::string_view::npos) {
    auto rest = value.substr(scheme + 3);
    auto end = rest.find_first_of("/?#");
    auto authority = rest.substr(0, end);
    if (auto atsign = authority.rfind('@'); atsign != std::string_view::npos) {
      auto userinfo = authority.substr(0, atsign);
      if (auto colon = userinfo.find(':'); colon != std::string_view::npos) add_secret(userinfo.substr(colon + 1));
    }
  }
  // password / secret / token as URL query parameters.
  for (std::string_view name : {"password=", "secret=", "token="}) {
    for (auto at = value.find(name); at != std::string_view::npos; at = value.find(name, at + 1)) {
      if (at == 0 || (value[at - 1] != '?' && value[at - 1] != '&')) continue;
      auto start = at + name.size();
      add_secret(value.substr(start, value.find('&', start) - start));
    }
  }
}

void forget_secrets_for_tests() {
  std::lock_guard lock(g_write);
  g_secrets.store(std::make_shared<const List>());
}

}  // namespace fxconnect::core
