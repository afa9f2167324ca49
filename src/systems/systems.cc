#include "systems/systems.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/asio/post.hpp>

#include "systems/http/curl_multi.h"
#include "systems/http/http_system.h"
#include "systems/soap/soap.h"

namespace fxconnect::systems {

Systems::Systems(boost::asio::io_context& io, const std::vector<config::HttpSystemConfig>& configs,
                 observability::ConnectorMetrics& metrics)
    : io_(io) {
  if (configs.empty()) return;
  curl_ = std::make_unique<http::CurlMulti>(io);
  for (const auto& c : configs) {
    auto m = std::make_shared<observability::LegacyMetrics>();
    m->system = c.name;
    metrics.legacy.push_back(m);
    systems_.emplace(c.name, std::make_unique<HttpSystem>(io, *curl_, c, std::move(m)));
  }
}

Systems::~Systems() {
  systems_.clear();  // their transfers first, then the multi handle
  curl_.reset();
}

HttpSystem* Systems::find(std::string_view name, const std::function<void(Error)>& unknown) {
  if (auto it = systems_.find(name); it != systems_.end()) return it->second.get();
  std::vector<std::string> names;
  for (const auto& [n, s] : systems_) names.push_back(n);
  unknown(Error{ErrorCode::internal,
                fmt::format("no legacy system '{}' is declared under systems: ({})", name,
                            names.empty() ? "none is" : fmt::format("declared: {}", fmt::join(names, ", "))),
                false, std::nullopt});
  return nullptr;
}

void Systems::http(std::string_view name, const CallContext& context, HttpRequest request,
                   std::function<void(Result<HttpResponse>)> done) {
  auto* system = find(name, [&](Error e) { boost::asio::post(io_, [done, e = std::move(e)] { done(e); }); });
  if (system) system->call(context, std::move(request), std::move(done));
}

void Systems::soap(std::string_view name, const CallContext& context, const SoapRequest& request,
                   std::function<void(Result<SoapResponse>)> done) {
  auto* system = find(name, [&](Error e) { boost::asio::post(io_, [done, e = std::move(e)] { done(e); }); });
  if (!system) return;
  const auto& config = system->config();
  std::vector<std::pair<std::string, std::string>> namespaces;
  for (const auto& p : config.soap.namespaces) namespaces.emplace_back(p.name, p.value);
  system->call(
      context, soap::make_request(config.soap.version, request),
      [done = std::move(done), name = config.name, version = config.soap.version,
       namespaces = std::move(namespaces)](Result<HttpResponse> r) mutable {
        if (!r) return done(r.error());
        done(soap::read_response(name, version, r.value().status, std::move(r.value().body), std::move(namespaces)));
      });
}

}  // namespace fxconnect::systems
