#include "systems/systems.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/asio/post.hpp>

#include "systems/exec/exec_system.h"
#include "systems/files/file_system.h"
#include "systems/http/curl_multi.h"
#include "systems/http/http_system.h"
#include "systems/soap/soap.h"
#include "systems/sql/sql_system.h"

namespace fxconnect::systems {

namespace {
std::shared_ptr<observability::LegacyMetrics> metrics_of(observability::ConnectorMetrics& metrics,
                                                         const std::string& name) {
  auto m = std::make_shared<observability::LegacyMetrics>();
  m->system = name;
  metrics.legacy.push_back(m);
  return m;
}

config::ConnectorConfig http_only(const std::vector<config::HttpSystemConfig>& configs) {
  config::ConnectorConfig c;
  c.systems = configs;
  return c;
}
}  // namespace

Systems::Systems(boost::asio::io_context& io, const std::vector<config::HttpSystemConfig>& configs,
                 observability::ConnectorMetrics& metrics)
    : Systems(io, http_only(configs), metrics) {}

Systems::Systems(boost::asio::io_context& io, const config::ConnectorConfig& config,
                 observability::ConnectorMetrics& metrics)
    : io_(io) {
  // One multi handle for HTTP and SFTP; file systems take it by reference, so a `dir` one gets it
  // too (it stays idle: nothing is started on it).
  if (!config.systems.empty() || !config.file_systems.empty()) curl_ = std::make_unique<http::CurlMulti>(io);
  for (const auto& c : config.systems) {
    systems_.emplace(c.name, std::make_unique<HttpSystem>(io, *curl_, c, metrics_of(metrics, c.name)));
  }
  for (const auto& c : config.sql_systems) {
    sql_.emplace(c.name, std::make_unique<SqlSystem>(io, c, metrics_of(metrics, c.name)));
  }
  for (const auto& c : config.file_systems) {
    files_.emplace(c.name, std::make_unique<FileSystem>(io, *curl_, c, metrics_of(metrics, c.name)));
  }
  for (const auto& c : config.exec_systems) {
    exec_.emplace(c.name, std::make_unique<ExecSystem>(io, c, metrics_of(metrics, c.name)));
  }
}

Systems::~Systems() {
  systems_.clear();  // their transfers first, then the multi handle
  files_.clear();
  sql_.clear();
  exec_.clear();
  curl_.reset();
}

std::string Systems::kind_of(std::string_view name) const {
  if (systems_.count(name)) return "an HTTP system";
  if (sql_.count(name)) return "a postgres system";
  if (auto it = files_.find(name); it != files_.end()) {
    return it->second->config().kind == config::FileSystemConfig::Kind::sftp ? "an sftp system" : "a dir system";
  }
  if (exec_.count(name)) return "an exec system";
  return "";
}

template <class System, class Response>
System* Systems::find(const std::map<std::string, std::unique_ptr<System>, std::less<>>& kinds, std::string_view name,
                      std::string_view kind, std::function<void(Result<Response>)>& done) {
  if (auto it = kinds.find(name); it != kinds.end()) return it->second.get();
  std::string message;
  if (auto other = kind_of(name); !other.empty()) {
    message = fmt::format("legacy system '{}' is {}; a {} call cannot reach it", name, other, kind);
  } else {
    std::vector<std::string> names;
    names.reserve(kinds.size());
    for (const auto& [n, s] : kinds) names.push_back(n);
    message = fmt::format("no legacy system '{}' is declared under systems: ({})", name,
                          names.empty() ? fmt::format("no {} system is", kind)
                                        : fmt::format("{} systems declared: {}", kind, fmt::join(names, ", ")));
  }
  boost::asio::post(io_, [done = std::move(done), message = std::move(message)] {
    done(Error{ErrorCode::internal, message, false, std::nullopt});
  });
  return nullptr;
}

void Systems::http(std::string_view name, const CallContext& context, HttpRequest request,
                   std::function<void(Result<HttpResponse>)> done) {
  if (auto* system = find(systems_, name, "HTTP", done)) system->call(context, std::move(request), std::move(done));
}

void Systems::soap(std::string_view name, const CallContext& context, const SoapRequest& request,
                   std::function<void(Result<SoapResponse>)> done) {
  auto* system = find(systems_, name, "SOAP", done);
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

void Systems::sql(std::string_view name, const CallContext& context, SqlRequest request,
                  std::function<void(Result<SqlResult>)> done) {
  if (auto* system = find(sql_, name, "SQL", done)) system->call(context, std::move(request), std::move(done));
}

void Systems::file_exchange(std::string_view name, const CallContext& context, FileExchangeRequest request,
                            std::function<void(Result<FileExchangeResponse>)> done) {
  if (auto* system = find(files_, name, "file exchange", done)) {
    system->call(context, std::move(request), std::move(done));
  }
}

void Systems::exec(std::string_view name, const CallContext& context, ExecRequest request,
                   std::function<void(Result<ExecResponse>)> done) {
  if (auto* system = find(exec_, name, "exec", done)) system->call(context, std::move(request), std::move(done));
}

}  // namespace fxconnect::systems
