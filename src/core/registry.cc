#include "fxconnect/registry.h"

#include <stdexcept>

#include <boost/asio/post.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/duration.h"

namespace fxconnect {

std::string HandlerOptions::get(const std::string& key, const std::string& fallback) const {
  auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second.text;
}

std::chrono::milliseconds HandlerOptions::duration(const std::string& key, std::chrono::milliseconds fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  auto d = core::parse_duration(it->second.text);
  if (!d) {
    throw ConfigError(fmt::format("{}: handler.options.{}: '{}' is not a duration; expected {}", it->second.where, key,
                                  it->second.text, core::duration_syntax));
  }
  return *d;
}

void HandlerOptions::allow_only(std::initializer_list<std::string> known) const {
  for (const auto& [key, value] : values_) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      throw ConfigError(fmt::format("{}: handler.options.{}: unknown option; valid options: {}", value.where, key,
                                    known.size() ? fmt::format("{}", fmt::join(known, ", ")) : "none"));
    }
  }
}

namespace {
class NoSpan final : public Span {
 public:
  void set_attribute(std::string_view, std::string_view) override {}
  void fail(std::string_view) override {}
  void end() override {}
  std::string traceparent() const override { return {}; }
};
}  // namespace

std::unique_ptr<Span> Call::start_span(std::string_view) { return std::make_unique<NoSpan>(); }

namespace {
template <class Resp>
void no_system(const boost::asio::any_io_executor& executor, std::string_view system,
               std::function<void(Result<Resp>)> done) {
  boost::asio::post(executor, [done = std::move(done), system = std::string(system)] {
    done(Error{ErrorCode::internal, fmt::format("no legacy system '{}' here: this Call is not the runtime's", system),
               false, std::nullopt});
  });
}
}  // namespace

// A Call that is not the runtime's (a test's fake) reaches no legacy system. The requests are taken
// by value because overrides keep them; these have no use for them.
void Call::start_http(std::string_view system, HttpRequest /*request*/,  // NOLINT(performance-unnecessary-value-param)
                      std::function<void(Result<HttpResponse>)> done) {
  no_system(executor(), system, std::move(done));
}

void Call::start_soap(std::string_view system, SoapRequest /*request*/,  // NOLINT(performance-unnecessary-value-param)
                      std::function<void(Result<SoapResponse>)> done) {
  no_system(executor(), system, std::move(done));
}

void Call::start_sql(std::string_view system, SqlRequest /*request*/,  // NOLINT(performance-unnecessary-value-param)
                     std::function<void(Result<SqlResult>)> done) {
  no_system(executor(), system, std::move(done));
}

void Call::start_file_exchange(std::string_view system,
                               FileExchangeRequest /*request*/,  // NOLINT(performance-unnecessary-value-param)
                               std::function<void(Result<FileExchangeResponse>)> done) {
  no_system(executor(), system, std::move(done));
}

void Call::start_exec(std::string_view system, ExecRequest /*request*/,  // NOLINT(performance-unnecessary-value-param)
                      std::function<void(Result<ExecResponse>)> done) {
  no_system(executor(), system, std::move(done));
}

void Registry::add(std::string name, std::string description, HandlerFactory factory) {
  if (name.empty()) throw std::invalid_argument("handler name is empty");
  if (!factory) throw std::invalid_argument("handler '" + name + "' has no factory");
  auto [it, inserted] = entries_.emplace(name, Entry{std::move(description), std::move(factory)});
  if (!inserted) throw std::invalid_argument("handler '" + name + "' is registered twice");
}

std::vector<std::string> Registry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, entry] : entries_) out.push_back(name);
  return out;
}

const std::string& Registry::description(const std::string& name) const { return entries_.at(name).description; }

std::unique_ptr<Handler> Registry::create(const std::string& name, const HandlerOptions& options) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    throw ConfigError(fmt::format("handler '{}' is not registered in this program; known handlers: {}", name,
                                  fmt::join(names(), ", ")));
  }
  auto handler = it->second.factory(options);
  if (!handler) throw ConfigError("handler '" + name + "': its factory returned nothing");
  return handler;
}

}  // namespace fxconnect
