// The asynchronous handler interface: what a connector author implements.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_signal.hpp>

#include "fxconnect/error.h"
#include "fxconnect/legacy.h"
#include "fxconnect/message.h"

namespace fxconnect {

// A timed piece of a request's work inside its trace, such as one call to a legacy system. It ends
// at end() or when destroyed; any thread may use it.
class Span {
 public:
  virtual ~Span() = default;
  virtual void set_attribute(std::string_view key, std::string_view value) = 0;
  // Marks the span failed (error status with `message`).
  virtual void fail(std::string_view message) = 0;
  virtual void end() = 0;
  // This span's W3C `traceparent`, to pass on to the legacy system (an HTTP header, say), so its
  // own spans join the trace. Empty when tracing is off.
  virtual std::string traceparent() const = 0;
};

// One request being handled. The handler keeps the shared_ptr for as long as it works on the
// request (across timers and I/O) and finishes it with exactly one call to reply() or fail().
// Dropping the last reference without finishing becomes an `internal` error reply: a request is
// never left without an answer. reply()/fail() may be called from any thread.
class Call {
 public:
  virtual ~Call() = default;

  virtual const Request& request() const = 0;
  // Where to run timers and I/O; waiting on it holds no thread.
  virtual boost::asio::any_io_executor executor() const = 0;
  // After this point the runtime has already answered with `deadline_exceeded`.
  virtual std::chrono::steady_clock::time_point deadline() const = 0;
  // Emits boost::asio::cancellation_type::terminal when the deadline passes or the connector
  // stops; bind it to async operations (boost::asio::bind_cancellation_slot).
  virtual boost::asio::cancellation_slot cancellation_slot() = 0;

  // A child span of this request's handler span (observability.tracing); a no-op span when
  // tracing is off (and from this default, e.g. in a test's fake Call). One per call a handler
  // makes to a legacy system.
  virtual std::unique_ptr<Span> start_span(std::string_view name);

  // A call to the legacy system `system` (a name under `systems:`), bounded by this request's
  // deadline and traced as its child. `done` runs on executor() exactly once, with the response
  // or a typed error: legacy_unavailable, legacy_timeout, legacy_failed (or internal for a name
  // the config does not declare). Retries, timeouts, the circuit breaker, the bulkhead, the rate
  // limit, authentication and TLS follow the system's config.
  virtual void start_http(std::string_view system, HttpRequest request, std::function<void(Result<HttpResponse>)> done);
  // The same for SOAP: the body is wrapped in the system's envelope (`soap.version`), the answer
  // parsed (never loading external entities or DTDs), and a SOAP Fault is a legacy_failed error
  // whose message carries faultcode and faultstring.
  virtual void start_soap(std::string_view system, SoapRequest request, std::function<void(Result<SoapResponse>)> done);

  // A query on the `postgres` system `system`: its rows, or legacy_unavailable (no connection),
  // legacy_timeout (past statement_timeout or the deadline), legacy_failed (an SQL error, with its
  // SQLSTATE; more rows than max_rows).
  virtual void start_sql(std::string_view system, SqlRequest request, std::function<void(Result<SqlResult>)> done);
  // A file exchange with the `dir` or `sftp` system `system`: legacy_timeout when no complete
  // answer arrives in time, legacy_unavailable when the folder or server cannot be reached.
  virtual void start_file_exchange(std::string_view system, FileExchangeRequest request,
                                   std::function<void(Result<FileExchangeResponse>)> done);
  // A run of the `exec` system `system`'s command: legacy_timeout when killed at its timeout or the
  // deadline, legacy_failed for a non-zero exit (its stderr's end in the message) or too much
  // output, legacy_unavailable for an exit code listed in `unavailable_exit_codes`.
  virtual void start_exec(std::string_view system, ExecRequest request, std::function<void(Result<ExecResponse>)> done);

  // Asio style: with a callback `void(Result<HttpResponse>)`, or `boost::asio::use_awaitable`
  // in a C++20 coroutine (`auto r = co_await call->http("corebanking", req, use_awaitable);`).
  template <class CompletionToken>
  auto http(std::string_view system, HttpRequest request, CompletionToken&& token) {
    return initiate<HttpRequest, HttpResponse>(&Call::start_http, system, std::move(request),
                                               std::forward<CompletionToken>(token));
  }
  template <class CompletionToken>
  auto soap(std::string_view system, SoapRequest request, CompletionToken&& token) {
    return initiate<SoapRequest, SoapResponse>(&Call::start_soap, system, std::move(request),
                                               std::forward<CompletionToken>(token));
  }
  template <class CompletionToken>
  auto sql(std::string_view system, SqlRequest request, CompletionToken&& token) {
    return initiate<SqlRequest, SqlResult>(&Call::start_sql, system, std::move(request),
                                           std::forward<CompletionToken>(token));
  }
  template <class CompletionToken>
  auto file_exchange(std::string_view system, FileExchangeRequest request, CompletionToken&& token) {
    return initiate<FileExchangeRequest, FileExchangeResponse>(&Call::start_file_exchange, system, std::move(request),
                                                               std::forward<CompletionToken>(token));
  }
  template <class CompletionToken>
  auto exec(std::string_view system, ExecRequest request, CompletionToken&& token) {
    return initiate<ExecRequest, ExecResponse>(&Call::start_exec, system, std::move(request),
                                               std::forward<CompletionToken>(token));
  }

  virtual void reply(Reply reply) = 0;
  virtual void fail(Error error) = 0;
  void finish(Result<Reply> result) {
    if (result) {
      reply(std::move(result).value());
    } else {
      fail(result.error());
    }
  }

 private:
  template <class Req, class Resp, class CompletionToken>
  auto initiate(void (Call::*start)(std::string_view, Req, std::function<void(Result<Resp>)>), std::string_view system,
                Req request, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(Result<Resp>)>(
        [this, start, system = std::string(system)](auto handler, Req&& req) {
          (this->*start)(system, std::move(req),
                         [h = std::make_shared<decltype(handler)>(std::move(handler))](Result<Resp> r) mutable {
                           (*h)(std::move(r));
                         });
        },
        token, std::move(request));
  }
};

// A connector's business logic. One instance serves all requests concurrently: it is built once
// (shared read-only state) and handle() is called per request on the runtime's executor. handle()
// must not block: start the work and return.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual void handle(std::shared_ptr<Call> call) = 0;
  // Whether this handler reads request().json. The runtime refuses a body that is not JSON either
  // way; a handler answering false gets request().json null, and the runtime saves building and
  // freeing the document (its allocations: docs/performance.md). Echo and pure forwarding handlers
  // answer false.
  virtual bool reads_json() const { return true; }
};

// `handler.options` from the connector's config, with the place each value came from, so a
// handler's factory can refuse a bad option the way the config loader does (file:line:column).
class HandlerOptions {
 public:
  struct Value {
    std::string text;
    std::string where;  // "connector.yaml:12:14"
  };

  HandlerOptions() = default;
  explicit HandlerOptions(std::map<std::string, Value> values) : values_(std::move(values)) {}

  bool has(const std::string& key) const { return values_.count(key) != 0; }
  std::string get(const std::string& key, const std::string& fallback) const;
  // A duration such as `50ms`, `2s`, `1m`; throws ConfigError naming the place when invalid.
  std::chrono::milliseconds duration(const std::string& key, std::chrono::milliseconds fallback) const;
  // Throws ConfigError for any key not in `known`, naming it and listing the valid ones.
  void allow_only(std::initializer_list<std::string> known) const;
  const std::map<std::string, Value>& values() const { return values_; }

 private:
  std::map<std::string, Value> values_;
};

// Refusal of a configuration at startup (the only place fxconnect uses exceptions).
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using HandlerFactory = std::function<std::unique_ptr<Handler>(const HandlerOptions&)>;

}  // namespace fxconnect
