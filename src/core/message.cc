#include "fxconnect/message.h"

#include <algorithm>
#include <cctype>

#include "fxconnect/legacy.h"

#include <boost/json/serialize.hpp>

namespace fxconnect {

std::optional<std::string_view> first_value(const Headers& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (h.name == name && h.value) return std::string_view(*h.value);
  }
  return std::nullopt;
}

std::string_view Request::process_instance_uuid() const {
  if (auto v = first_value(headers, "processInstanceUuid"); v && !v->empty()) return *v;
  if (key) return *key;
  return {};
}

std::string_view Request::fx_context() const { return first_value(headers, "fxContext").value_or(std::string_view{}); }

Reply Reply::json(const boost::json::value& value) { return Reply{boost::json::serialize(value)}; }

}  // namespace fxconnect

namespace fxconnect {

std::optional<std::string_view> HttpResponse::header(std::string_view name) const {
  auto same = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
  };
  for (const auto& h : headers) {
    if (h.value && same(h.name, name)) return std::string_view(*h.value);
  }
  return std::nullopt;
}

}  // namespace fxconnect
