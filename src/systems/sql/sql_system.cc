// A PostgreSQL system over libpq's asynchronous API, driven by the loop: every connection's socket
// (PQsocket) is watched through an asio::posix::stream_descriptor that never owns it (released
// before libpq closes it), connections are opened with PQconnectStartParams/PQconnectPoll and
// queries sent with PQsendQueryParams, results read with PQconsumeInput/PQisBusy/PQgetResult.
//
// The pool: at most `pool` connections, opened when a call needs one and none is idle, reused
// afterwards. Calls wait in FIFO order; a waiting call ends at its deadline. A connection found
// broken while idle (the server restarted, say) is closed and a new one opened by the next call
// that needs one; a call whose query could not be sent because its connection was broken is
// retried once on another one (nothing reached the server, so that is safe for any statement).
//
// Time limits, per query: the server's statement_timeout, set to min(statement_timeout, what is
// left of the request's deadline). Every connection runs in libpq's pipeline mode so that the
// `SET statement_timeout = N` (sent only when N differs from what the session has, tracked per
// connection) and the query itself go out together, one round trip, each followed by its own Sync
// (so the query is not part of an implicit transaction with the SET: statements that refuse
// transaction blocks still run). With the usual deadlines (longer than statement_timeout) the SET
// is sent once per connection. A query the server cancels (SQLSTATE 57014) is legacy_timeout; a
// local timer at the deadline plus a short grace covers a server that does not answer at all: the
// connection is then abandoned (PQfinish, never reused) and the call ends with legacy_timeout.
//
// Rows arrive in single-row mode, so a result larger than max_rows is refused without holding
// more than max_rows rows: the call ends at once with legacy_failed and the connection drains the
// rest of the result in the background (bounded by the server's statement_timeout) before serving
// another call.
//
// Not asynchronous in libpq itself: resolving a host name (use an address, `hostaddr`, or
// 127.0.0.1/localhost), and reading a password file or service file at connect.
#include "systems/sql/sql_system.h"

#include <poll.h>

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <list>
#include <map>
#include <regex>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/duration.h"
#include "fxconnect/handler.h"
#include "observability/tracer.h"

namespace fxconnect::systems {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// A query is not started with less time than this left before its deadline.
constexpr milliseconds kMinQuery{5};
// How long past the deadline the local timer waits for the server's own cancel before it
// abandons the connection.
constexpr milliseconds kGrace{200};

struct PgFinish {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgFinish>;
struct PgClear {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using PgResultPtr = std::unique_ptr<PGresult, PgClear>;

// libpq's text (several lines, a trailing newline, tabs) as one trimmed line.
std::string one_line(std::string_view text) {
  std::string out;
  bool space = false;
  for (char ch : text) {
    if (ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += ch;
  }
  return out;
}

void replace_all(std::string& text, const std::string& what, std::string_view with) {
  if (what.empty()) return;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size()))
    text.replace(at, what.size(), with);
}

// Password-like values of a DSN that libpq could not parse (its complaint may quote a piece of it):
// `password=...` in a connection string, `user:password@` and `password=` in a URI.
std::vector<std::string> secrets_in(const std::string& dsn) {
  std::vector<std::string> out;
  static const std::regex patterns[] = {
      std::regex(R"(password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]+))", std::regex::icase),
      std::regex(R"(://[^:@/]*:([^@/]*)@)"),
  };
  for (const auto& pattern : patterns) {
    for (std::sregex_iterator it(dsn.begin(), dsn.end(), pattern), end; it != end; ++it) {
      std::string value = (*it)[1].str();
      if (value.size() >= 2 && value.front() == '\'') {
        out.push_back(value.substr(1, value.size() - 2));
      }
      out.push_back(std::move(value));
    }
  }
  return out;
}

// PostgreSQL's name of a built-in type, "oid:N" for any other.
std::string type_name(Oid oid) {
  switch (oid) {
    case 16: return "bool";
    case 17: return "bytea";
    case 18: return "char";
    case 19: return "name";
    case 20: return "int8";
    case 21: return "int2";
    case 23: return "int4";
    case 25: return "text";
    case 26: return "oid";
    case 114: return "json";
    case 142: return "xml";
    case 700: return "float4";
    case 701: return "float8";
    case 1042: return "bpchar";
    case 1043: return "varchar";
    case 1082: return "date";
    case 1083: return "time";
    case 1114: return "timestamp";
    case 1184: return "timestamptz";
    case 1186: return "interval";
    case 1266: return "timetz";
    case 1700: return "numeric";
    case 2950: return "uuid";
    case 3802: return "jsonb";
    default: return "oid:" + std::to_string(oid);
  }
}

std::uint64_t count_of(const char* text) {
  std::uint64_t n = 0;
  if (text && *text) std::from_chars(text, text + std::strlen(text), n);
  return n;
}

// Whether a query may change the session's statement_timeout (then it is set again before the
// next query on that connection).
bool touches_session_settings(std::string_view query) {
  std::string lower(query);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return lower.find("statement_timeout") != std::string::npos || lower.find("reset") != std::string::npos ||
         lower.find("discard") != std::string::npos || lower.find("set_config") != std::string::npos;
}

// Whether the socket has something for `events` right now (asio's reactor is edge-triggered and
// its async_wait never speculative: readiness that came while no wait was pending is no new edge).
bool ready_now(int fd, short events) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (events | POLLERR | POLLHUP)) != 0;
}

}  // namespace

class SqlSystem::Impl {
 public:
  Impl(asio::io_context& io, config::PostgresSystemConfig c, std::shared_ptr<observability::LegacyMetrics> metrics);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void call(const CallContext& context, SqlRequest request, Done done);

  asio::io_context& io;
  config::PostgresSystemConfig config;

 private:
  struct Call;
  struct Conn;
  using CallPtr = std::shared_ptr<Call>;
  using ConnPtr = std::shared_ptr<Conn>;

  // A completion handler that does nothing once the system is gone.
  template <class F>
  auto guarded(F f) {
    return [alive = std::weak_ptr<bool>(alive_), f = std::move(f)](auto&&... args) mutable {
      if (alive.expired()) return;
      f(std::forward<decltype(args)>(args)...);
    };
  }

  void admit(const CallPtr& c);
  void enqueue(const CallPtr& c, bool front);
  void dispatch();
  ConnPtr idle_connection();
  bool healthy(const ConnPtr& conn);
  void open();
  bool watch(const ConnPtr& conn, bool read, bool write, bool new_socket);
  void ready(const ConnPtr& conn, bool readable);
  void connect_poll(const ConnPtr& conn);
  void connected(const ConnPtr& conn);
  void connect_failed(const ConnPtr& conn, const std::string& why);
  void idle_input(const ConnPtr& conn);
  void start(const ConnPtr& conn, const CallPtr& c);
  void progress(const ConnPtr& conn, bool readable);
  bool take(const ConnPtr& conn, const PGresult* r);
  void rows(const CallPtr& c, const PGresult* r);
  Error classify(const ConnPtr& conn, const Call& c, const PGresult* r) const;
  void completed(const ConnPtr& conn);
  void lost(const ConnPtr& conn, const std::string& why);
  void abandon(const CallPtr& c);
  void close(const ConnPtr& conn);
  void finish(const CallPtr& c, Result<SqlResult> result);

  std::string clean(std::string_view libpq_text) const;
  Error unavailable(const std::string& what) const {
    return Error{ErrorCode::legacy_unavailable, fmt::format("{}: {}", config.name, what), true, std::nullopt};
  }
  Error failed(const std::string& what, bool retriable = false) const {
    return Error{ErrorCode::legacy_failed, fmt::format("{}: {}", config.name, what), retriable, std::nullopt};
  }
  Error timed_out(const std::string& what) const {
    return Error{ErrorCode::legacy_timeout, fmt::format("{}: {}", config.name, what), true, std::nullopt};
  }

  std::shared_ptr<observability::LegacyMetrics> metrics_;
  std::vector<std::string> secrets_;  // never in a message
  std::size_t pool_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::uint64_t next_call_ = 1;
  std::uint64_t next_conn_ = 1;
  std::map<std::uint64_t, CallPtr> running_;  // every call not finished (dropped at destruction)
  std::list<CallPtr> queue_;                  // waiting for a connection, oldest first
  std::map<std::uint64_t, ConnPtr> conns_;    // open or opening
};

struct SqlSystem::Impl::Call {
  Call(asio::io_context& io, std::uint64_t id_, CallContext ctx, SqlRequest req, Done d)
      : id(id_), context(std::move(ctx)), request(std::move(req)), done(std::move(d)), timer(io) {}

  std::uint64_t id;
  CallContext context;
  SqlRequest request;
  Done done;
  asio::steady_timer timer;  // the deadline: waiting for a connection, then for the answer
  Clock::time_point started = Clock::now();
  observability::ActiveSpan span;
  std::size_t max_rows = 0;
  std::optional<std::list<CallPtr>::iterator> place;  // in the queue
  std::uint64_t conn = 0;                             // the connection running it (0: none)
  bool retried = false;
  milliseconds statement_timeout{0};  // what the query runs with
  bool deadline_bound = false;        // statement_timeout was shortened to the deadline
  SqlResult result;
  bool columns = false;  // result.columns filled
  std::uint64_t seen = 0;
  bool too_many = false;
  std::optional<Error> error;
};

struct SqlSystem::Impl::Conn {
  Conn(asio::io_context& io, std::uint64_t id_) : id(id_), socket(io), timer(io) {}
  ~Conn() {
    // The descriptor must never close libpq's socket (PQfinish does, or already did).
    try {
      if (socket.is_open()) socket.release();
    } catch (...) {  // NOLINT(bugprone-empty-catch): nothing to do in a destructor
    }
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  std::uint64_t id;
  PgConnPtr pg;
  asio::posix::stream_descriptor socket;  // PQsocket, watched; released (never closed) by us
  asio::steady_timer timer;               // connect_timeout; the end of a detached drain
  enum class State { connecting, idle, busy } state = State::connecting;
  bool closed = false;
  std::uint64_t seq = 0;  // bumped when pending waits are abandoned: their completions are ignored
  bool reading = false;   // a wait for readability is pending
  bool writing = false;
  bool flushing = false;                          // PQflush has more to send
  std::optional<long long> statement_timeout_ms;  // the session's, when known
  CallPtr call;                                   // the call being served; null while draining
  int syncs_left = 0;                             // PIPELINE_SYNC results still to come
  bool set_segment = false;                       // the results now read are the SET's
  long long set_to = 0;
  bool may_change_timeout = false;  // the query itself may set statement_timeout (SET, RESET, DISCARD)
};

SqlSystem::Impl::Impl(asio::io_context& io_, config::PostgresSystemConfig c,
                      std::shared_ptr<observability::LegacyMetrics> metrics)
    : io(io_),
      config(std::move(c)),
      metrics_(std::move(metrics)),
      pool_(static_cast<std::size_t>(std::max(1, config.pool))) {
  auto key = fmt::format("{}systems.{}.postgres.dsn", config.where.empty() ? "" : config.where + ": ", config.name);
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(config.dsn.c_str(), &error);
  if (!options) {
    std::string why = error ? error : "out of memory";
    if (error) PQfreemem(error);
    why = one_line(why);
    for (const auto& s : secrets_in(config.dsn)) replace_all(why, s, "***");
    throw ConfigError(fmt::format("{}: not a valid libpq connection string or URI: {}", key, why));
  }
  for (auto* o = options; o->keyword; ++o) {
    if (o->val && *o->val && std::string_view(o->keyword) == "password") secrets_.emplace_back(o->val);
  }
  PQconninfoFree(options);
  for (auto& s : secrets_in(config.dsn)) secrets_.push_back(std::move(s));
  if (!metrics_) metrics_ = std::make_shared<observability::LegacyMetrics>();
}

SqlSystem::Impl::~Impl() {
  alive_.reset();  // completions still queued on the loop do nothing
  try {
    for (auto& [id, conn] : conns_) {
      conn->closed = true;
      conn->timer.cancel();
      if (conn->socket.is_open()) conn->socket.release();
      conn->pg.reset();
      conn->call.reset();
    }
    for (auto& [id, c] : running_) c->timer.cancel();
  } catch (const std::exception& e) {  // asio's cancel/release only throw on a broken reactor
    spdlog::error("systems.{}: closing: {}", config.name, e.what());
  }
  conns_.clear();
  queue_.clear();
  running_.clear();
}

std::string SqlSystem::Impl::clean(std::string_view libpq_text) const {
  auto out = one_line(libpq_text);
  for (const auto& s : secrets_) replace_all(out, s, "***");
  if (out.empty()) out = "(no detail from libpq)";
  return out;
}

void SqlSystem::Impl::call(const CallContext& context, SqlRequest request, Done done) {
  auto c = std::make_shared<Call>(io, next_call_++, context, std::move(request), std::move(done));
  c->max_rows = c->request.max_rows > 0 ? c->request.max_rows : config.max_rows;
  if (c->context.tracer && c->context.parent.valid()) {
    c->span = observability::ActiveSpan(
        c->context.tracer,
        c->context.tracer->start_child("SQL " + config.name, observability::SpanKind::client, c->context.parent));
    c->span.set("db.system", std::string("postgresql"));
    c->span.set("db.statement", c->request.query);
    c->span.set("fx.legacy.system", config.name);
  }
  running_[c->id] = c;
  metrics_->in_flight = running_.size();
  asio::post(io, guarded([this, c] { admit(c); }));  // `done` never runs inside call()
}

void SqlSystem::Impl::admit(const CallPtr& c) {
  if (c->request.params.size() > 65535) {
    return finish(c, failed(fmt::format("{} parameters; PostgreSQL takes at most 65535", c->request.params.size())));
  }
  if (Clock::now() + kMinQuery >= c->context.deadline) {
    return finish(c, timed_out("no time left before the request's deadline; not called"));
  }
  enqueue(c, false);
  dispatch();
}

// Into the queue (at the front for a retry), until a connection is free or the deadline.
void SqlSystem::Impl::enqueue(const CallPtr& c, bool front) {
  c->place = queue_.insert(front ? queue_.begin() : queue_.end(), c);
  metrics_->waiting = queue_.size();
  c->timer.expires_at(c->context.deadline);
  c->timer.async_wait(guarded([this, c](boost::system::error_code ec) {
    if (ec || !c->place) return;
    queue_.erase(*c->place);
    c->place.reset();
    metrics_->waiting = queue_.size();
    bool opening = std::any_of(conns_.begin(), conns_.end(),
                               [](const auto& e) { return e.second->state == Conn::State::connecting; });
    finish(c, timed_out(fmt::format("no connection became free before the deadline (pool: {}{})", pool_,
                                    opening ? "; a new connection was still being opened" : ", all busy")));
  }));
}

// Serves waiting calls with idle connections, and opens connections for those left (up to the pool).
void SqlSystem::Impl::dispatch() {
  while (!queue_.empty()) {
    auto conn = idle_connection();
    if (!conn) break;
    auto c = queue_.front();
    queue_.pop_front();
    c->place.reset();
    start(conn, c);
  }
  std::size_t opening = static_cast<std::size_t>(std::count_if(
      conns_.begin(), conns_.end(), [](const auto& e) { return e.second->state == Conn::State::connecting; }));
  while (queue_.size() > opening && conns_.size() < pool_) {
    open();
    ++opening;
  }
  metrics_->waiting = queue_.size();
}

SqlSystem::Impl::ConnPtr SqlSystem::Impl::idle_connection() {
  std::vector<ConnPtr> idle;
  for (const auto& [id, conn] : conns_) {
    if (conn->state == Conn::State::idle) idle.push_back(conn);
  }
  for (const auto& conn : idle) {
    if (healthy(conn)) return conn;
    spdlog::debug("systems.{}: an idle connection to the database was found broken: closed", config.name);
    close(conn);
  }
  return nullptr;
}

// Whether an idle connection can take a query: still open as far as can be seen now (what the
// server sent meanwhile, a goodbye after a restart say, is read first).
bool SqlSystem::Impl::healthy(const ConnPtr& conn) {
  PGconn* pg = conn->pg.get();
  if (PQstatus(pg) != CONNECTION_OK) return false;
  if (ready_now(PQsocket(pg), POLLIN)) {
    if (!PQconsumeInput(pg)) return false;
    while (PGnotify* n = PQnotifies(pg)) PQfreemem(n);
  }
  return PQstatus(pg) == CONNECTION_OK && PQtransactionStatus(pg) == PQTRANS_IDLE;
}

void SqlSystem::Impl::open() {
  auto conn = std::make_shared<Conn>(io, next_conn_++);
  conns_[conn->id] = conn;
  // Defaults first: the DSN (expanded from `dbname`) overrides them.
  const char* keys[] = {"client_encoding", "fallback_application_name", "dbname", nullptr};
  const char* values[] = {"UTF8", "fxconnect", config.dsn.c_str(), nullptr};
  conn->pg.reset(PQconnectStartParams(keys, values, 1));
  if (conn->pg) {
    // The server's notices (NOTICE, WARNING) go to the debug log, not to stderr.
    PQsetNoticeProcessor(
        conn->pg.get(),
        +[](void* name, const char* message) {
          spdlog::debug("systems.{}: the database says: {}", *static_cast<const std::string*>(name), one_line(message));
        },
        &config.name);
  }
  conn->timer.expires_after(config.connect_timeout);
  conn->timer.async_wait(guarded([this, conn](boost::system::error_code ec) {
    if (ec || conn->closed || conn->state != Conn::State::connecting) return;
    connect_failed(
        conn, fmt::format("no connection within {} (connect_timeout)", core::format_duration(config.connect_timeout)));
  }));
  std::string why;
  if (!conn->pg) {
    why = "out of memory";
  } else if (PQstatus(conn->pg.get()) == CONNECTION_BAD) {
    why = PQerrorMessage(conn->pg.get());
  } else if (!watch(conn, false, true, true)) {  // the first PQconnectPoll once it is writable
    why = "libpq gave no socket to wait on";
  }
  if (!why.empty()) {
    asio::post(io, guarded([this, conn, why] { connect_failed(conn, why); }));
  }
}

// Keeps a wait pending for each direction asked for. With `new_socket`, the socket is taken anew
// from libpq (it may change while connecting: another address, another host).
bool SqlSystem::Impl::watch(const ConnPtr& conn, bool read, bool write, bool new_socket) {
  if (conn->closed) return false;
  int fd = PQsocket(conn->pg.get());
  if (fd < 0) return false;
  if (new_socket || !conn->socket.is_open() || conn->socket.native_handle() != fd) {
    if (conn->socket.is_open()) conn->socket.release();  // pending waits end with operation_aborted
    ++conn->seq;
    conn->reading = conn->writing = false;
    boost::system::error_code ec;
    conn->socket.assign(fd, ec);
    if (ec) return false;
  }
  auto arm = [&](bool readable) {
    bool& pending = readable ? conn->reading : conn->writing;
    if (pending) return;
    pending = true;
    auto then = guarded([this, conn, seq = conn->seq, readable](boost::system::error_code ec) {
      if (conn->seq != seq) return;  // a wait abandoned meanwhile
      (readable ? conn->reading : conn->writing) = false;
      if (ec || conn->closed) return;
      ready(conn, readable);
    });
    if (ready_now(fd, readable ? POLLIN : POLLOUT)) {
      asio::post(io, [then]() mutable { then(boost::system::error_code()); });
    } else {
      conn->socket.async_wait(
          readable ? asio::posix::stream_descriptor::wait_read : asio::posix::stream_descriptor::wait_write,
          std::move(then));
    }
  };
  if (read) arm(true);
  if (write) arm(false);
  return true;
}

void SqlSystem::Impl::ready(const ConnPtr& conn, bool readable) {
  switch (conn->state) {
    case Conn::State::connecting: return connect_poll(conn);
    case Conn::State::idle: return idle_input(conn);
    case Conn::State::busy: return progress(conn, readable);
  }
}

void SqlSystem::Impl::connect_poll(const ConnPtr& conn) {
  switch (PQconnectPoll(conn->pg.get())) {
    case PGRES_POLLING_OK: return connected(conn);
    case PGRES_POLLING_FAILED: return connect_failed(conn, PQerrorMessage(conn->pg.get()));
    case PGRES_POLLING_READING:
      if (!watch(conn, true, false, true)) connect_failed(conn, "libpq gave no socket to wait on");
      return;
    case PGRES_POLLING_WRITING:
    case PGRES_POLLING_ACTIVE:
      if (!watch(conn, false, true, true)) connect_failed(conn, "libpq gave no socket to wait on");
      return;
  }
}

void SqlSystem::Impl::connected(const ConnPtr& conn) {
  PGconn* pg = conn->pg.get();
  if (PQsetnonblocking(pg, 1) != 0 || PQenterPipelineMode(pg) != 1) {
    return connect_failed(conn, PQerrorMessage(pg));
  }
  conn->timer.cancel();
  conn->state = Conn::State::idle;
  if (!watch(conn, true, false, true)) {
    close(conn);
  }
  dispatch();
}

// A connection that could not be opened: the oldest waiting call hears why (each waiting call
// gets a connection or the failure of an attempt made for it, never a wait until its deadline).
void SqlSystem::Impl::connect_failed(const ConnPtr& conn, const std::string& why) {
  if (conn->closed) return;
  close(conn);
  auto text = clean(why);
  spdlog::debug("systems.{}: cannot connect to the database: {}", config.name, text);
  if (!queue_.empty()) {
    auto c = queue_.front();
    queue_.pop_front();
    c->place.reset();
    finish(c, unavailable("cannot connect to the database: " + text));
  }
  dispatch();
}

// Input on an idle connection: a notice, or the server closing it (a restart, an idle timeout).
void SqlSystem::Impl::idle_input(const ConnPtr& conn) {
  PGconn* pg = conn->pg.get();
  if (!PQconsumeInput(pg) || PQstatus(pg) != CONNECTION_OK) {
    spdlog::debug("systems.{}: an idle connection to the database closed: {}", config.name, clean(PQerrorMessage(pg)));
    close(conn);
    return dispatch();
  }
  while (PGnotify* n = PQnotifies(pg)) PQfreemem(n);
  if (!watch(conn, true, false, false)) {
    close(conn);
    dispatch();
  }
}

void SqlSystem::Impl::start(const ConnPtr& conn, const CallPtr& c) {
  auto left = std::chrono::duration_cast<milliseconds>(c->context.deadline - Clock::now());
  if (left < kMinQuery) {
    c->timer.cancel();
    return finish(c, timed_out("no time left before the request's deadline; not called"));
  }
  PGconn* pg = conn->pg.get();
  c->statement_timeout = std::max(milliseconds(1), std::min(config.statement_timeout, left));
  c->deadline_bound = left < config.statement_timeout;
  c->conn = conn->id;
  conn->state = Conn::State::busy;
  conn->call = c;
  conn->syncs_left = 0;
  conn->set_segment = false;
  conn->may_change_timeout = touches_session_settings(c->request.query);
  bool ok = true;
  const long long want = c->statement_timeout.count();
  if (conn->statement_timeout_ms != want) {
    auto set = fmt::format("SET statement_timeout = {}", want);
    ok = PQsendQueryParams(pg, set.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1 && PQpipelineSync(pg) == 1;
    if (ok) {
      conn->set_segment = true;
      conn->set_to = want;
      ++conn->syncs_left;
    }
  }
  if (ok) {
    std::vector<const char*> values;
    values.reserve(c->request.params.size());
    for (const auto& p : c->request.params) values.push_back(p ? p->c_str() : nullptr);
    ok = PQsendQueryParams(pg, c->request.query.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                           nullptr, nullptr, 0) == 1;
  }
  if (ok) {
    PQsetSingleRowMode(pg);  // if refused, the rows come in one result: still counted
    ok = PQpipelineSync(pg) == 1;
    if (ok) ++conn->syncs_left;
  }
  int flushed = ok ? PQflush(pg) : -1;
  if (flushed < 0) {
    auto why = clean(PQerrorMessage(pg));
    bool broken = PQstatus(pg) != CONNECTION_OK;
    conn->call.reset();
    c->conn = 0;
    close(conn);
    if (broken && !c->retried) {
      // Nothing reached the server: once more, on another connection.
      spdlog::debug("systems.{}: sending on a connection failed ({}): retrying on another one", config.name, why);
      c->retried = true;
      return enqueue(c, true);
    }
    c->timer.cancel();
    return finish(c, broken ? unavailable("the connection to the database was lost: " + why)
                            : failed("the query could not be sent: " + why));
  }
  conn->flushing = flushed == 1;
  c->timer.expires_at(c->context.deadline + kGrace);
  c->timer.async_wait(guarded([this, c](boost::system::error_code ec) {
    if (!ec && c->conn) abandon(c);
  }));
  if (!watch(conn, true, conn->flushing, false)) lost(conn, "libpq gave no socket to wait on");
}

void SqlSystem::Impl::progress(const ConnPtr& conn, bool readable) {
  PGconn* pg = conn->pg.get();
  if (readable && !PQconsumeInput(pg)) return lost(conn, PQerrorMessage(pg));
  if (conn->flushing) {
    int f = PQflush(pg);
    if (f < 0) return lost(conn, PQerrorMessage(pg));
    conn->flushing = f == 1;
  }
  int nulls = 0;  // a NULL ends each query's results; two in a row: nothing more for now
  while (conn->syncs_left > 0 && !PQisBusy(pg)) {
    PgResultPtr r(PQgetResult(pg));
    if (!r) {
      if (++nulls > 1) break;
      continue;
    }
    nulls = 0;
    if (!take(conn, r.get())) return;  // the connection is gone
  }
  if (PQstatus(pg) != CONNECTION_OK) return lost(conn, PQerrorMessage(pg));
  if (conn->syncs_left == 0) return completed(conn);
  if (!watch(conn, true, conn->flushing, false)) lost(conn, "libpq gave no socket to wait on");
}

// One result of the pipeline. False when the connection had to be closed.
bool SqlSystem::Impl::take(const ConnPtr& conn, const PGresult* r) {
  auto status = PQresultStatus(r);
  if (status == PGRES_PIPELINE_SYNC) {
    --conn->syncs_left;
    conn->set_segment = false;
    return true;
  }
  if (conn->set_segment) {
    if (status == PGRES_COMMAND_OK) {
      conn->statement_timeout_ms = conn->set_to;
    } else {
      conn->statement_timeout_ms.reset();
    }
    return true;
  }
  auto c = conn->call;
  if (!c) return true;  // draining what a refused result still sends
  switch (status) {
    case PGRES_SINGLE_TUPLE:
    case PGRES_TUPLES_OK:
      rows(c, r);
      if (status == PGRES_TUPLES_OK) {
        const char* n = PQcmdTuples(const_cast<PGresult*>(r));
        c->result.affected = n && *n ? count_of(n) : c->seen;
      }
      if (c->too_many && !c->error) {
        // Answer now; the connection reads the rest on its own (the server's statement_timeout
        // bounds it), then serves others.
        conn->call.reset();
        c->conn = 0;
        c->timer.cancel();
        conn->timer.expires_after(c->statement_timeout + kGrace);
        conn->timer.async_wait(guarded([this, conn](boost::system::error_code ec) {
          if (ec || conn->closed || conn->call || conn->state != Conn::State::busy) return;
          close(conn);
          dispatch();
        }));
        finish(c, failed(fmt::format("the query returned more than {} rows (max_rows)", c->max_rows)));
      }
      return true;
    case PGRES_COMMAND_OK: c->result.affected = count_of(PQcmdTuples(const_cast<PGresult*>(r))); return true;
    case PGRES_EMPTY_QUERY: return true;
    case PGRES_FATAL_ERROR:
    case PGRES_NONFATAL_ERROR:
    case PGRES_BAD_RESPONSE:
      if (!c->error) c->error = classify(conn, *c, r);
      return true;
    case PGRES_PIPELINE_ABORTED:
      if (!c->error) c->error = failed("the query was not run (pipeline aborted)");
      return true;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
      // The connection is now in the middle of a COPY: it cannot serve anyone else.
      conn->call.reset();
      c->conn = 0;
      close(conn);
      c->timer.cancel();
      finish(c, failed("COPY is not supported (use INSERT/SELECT with parameters)"));
      dispatch();
      return false;
    case PGRES_PIPELINE_SYNC: return true;  // handled above
  }
  if (!c->error) c->error = failed(fmt::format("unexpected answer from libpq: {}", PQresStatus(status)));
  return true;
}

void SqlSystem::Impl::rows(const CallPtr& c, const PGresult* r) {
  if (!c->columns) {
    c->columns = true;
    int n = PQnfields(r);
    c->result.columns.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) c->result.columns.push_back(SqlColumn{PQfname(r, i), type_name(PQftype(r, i))});
  }
  int count = PQntuples(r);
  int fields = PQnfields(r);
  c->seen += static_cast<std::uint64_t>(count);
  for (int row = 0; row < count && !c->too_many; ++row) {
    if (c->result.rows.size() >= c->max_rows) {
      c->too_many = true;
      c->result.rows = {};
      break;
    }
    std::vector<std::optional<std::string>> values;
    values.reserve(static_cast<std::size_t>(fields));
    for (int i = 0; i < fields; ++i) {
      if (PQgetisnull(r, row, i)) {
        values.emplace_back(std::nullopt);
      } else {
        values.emplace_back(std::string(PQgetvalue(r, row, i), static_cast<std::size_t>(PQgetlength(r, row, i))));
      }
    }
    c->result.rows.push_back(std::move(values));
  }
}

Error SqlSystem::Impl::classify(const ConnPtr& conn, const Call& c, const PGresult* r) const {
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  std::string sqlstate = state ? state : "";
  const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
  auto text = clean(primary ? primary : PQresultErrorMessage(r));
  auto coded = sqlstate.empty() ? text : fmt::format("SQLSTATE {}: {}", sqlstate, text);
  // The connection went (or is going) away: a restart, an administrator, a network fault.
  if (PQstatus(conn->pg.get()) != CONNECTION_OK || sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" ||
      sqlstate == "57P02" || sqlstate == "57P03") {
    return unavailable("the connection to the database was lost: " + coded);
  }
  if (sqlstate == "57014") {
    return c.deadline_bound ? timed_out(fmt::format("query cancelled at the request's deadline, after {} ({})",
                                                    core::format_duration(c.statement_timeout), coded))
                            : timed_out(fmt::format("query timed out after {} (statement_timeout; {})",
                                                    core::format_duration(c.statement_timeout), coded));
  }
  if (sqlstate.empty()) return failed(text);
  return failed(coded, sqlstate == "40001" || sqlstate == "40P01");
}

// The last Sync came back: the call's answer, and the connection free again.
void SqlSystem::Impl::completed(const ConnPtr& conn) {
  auto c = std::move(conn->call);
  conn->call.reset();
  conn->timer.cancel();
  conn->flushing = false;
  if (conn->may_change_timeout) conn->statement_timeout_ms.reset();  // sent again before the next query
  if (PQtransactionStatus(conn->pg.get()) == PQTRANS_IDLE) {
    conn->state = Conn::State::idle;
    if (!watch(conn, true, false, false)) close(conn);
  } else {
    spdlog::warn("systems.{}: a query left a transaction open: its connection is closed (the transaction rolls back)",
                 config.name);
    close(conn);
  }
  if (c) {
    c->conn = 0;
    c->timer.cancel();
    if (c->error) {
      finish(c, *c->error);
    } else {
      finish(c, std::move(c->result));
    }
  }
  dispatch();
}

// The connection broke while serving a call: what reached the server may have run, so no retry.
void SqlSystem::Impl::lost(const ConnPtr& conn, const std::string& why) {
  auto c = std::move(conn->call);
  conn->call.reset();
  auto text = clean(why);
  close(conn);
  if (c) {
    c->conn = 0;
    c->timer.cancel();
    if (c->error && c->error->code == ErrorCode::legacy_unavailable) {
      finish(c, *c->error);  // the server said why (e.g. it is shutting down)
    } else {
      finish(c, unavailable("the connection to the database was lost: " + text));
    }
  }
  dispatch();
}

// The deadline (and the grace) passed without the server's answer or cancel: the connection is
// given up (its state is unknown) and the call ends.
void SqlSystem::Impl::abandon(const CallPtr& c) {
  auto it = conns_.find(c->conn);
  c->conn = 0;
  if (it != conns_.end()) {
    auto conn = it->second;
    conn->call.reset();
    close(conn);
  }
  finish(c, timed_out(fmt::format("no answer from the database by the request's deadline (statement_timeout {}); "
                                  "its connection was abandoned",
                                  core::format_duration(c->statement_timeout))));
  dispatch();
}

void SqlSystem::Impl::close(const ConnPtr& conn) {
  if (conn->closed) return;
  conn->closed = true;
  ++conn->seq;
  conn->reading = conn->writing = false;
  conn->timer.cancel();
  if (conn->socket.is_open()) conn->socket.release();  // libpq closes its socket, not asio
  conn->pg.reset();
  conns_.erase(conn->id);
}

void SqlSystem::Impl::finish(const CallPtr& c, Result<SqlResult> result) {
  c->timer.cancel();
  if (c->place) {
    queue_.erase(*c->place);
    c->place.reset();
  }
  if (!running_.erase(c->id)) return;  // already finished
  metrics_->waiting = queue_.size();
  metrics_->in_flight = running_.size();
  metrics_->seconds.observe(std::chrono::duration<double>(Clock::now() - c->started).count());
  if (result) {
    ++metrics_->calls[observability::LegacyMetrics::ok];
    if (c->span.open()) c->span.set("db.rows", static_cast<std::int64_t>(result.value().rows.size()));
  } else {
    switch (result.error().code) {
      case ErrorCode::legacy_timeout: ++metrics_->calls[observability::LegacyMetrics::timeout]; break;
      case ErrorCode::legacy_unavailable: ++metrics_->calls[observability::LegacyMetrics::unavailable]; break;
      default: ++metrics_->calls[observability::LegacyMetrics::failed]; break;
    }
    if (c->span.open()) c->span.fail(result.error().message);
  }
  c->span.end();
  auto done = std::move(c->done);
  c->done = nullptr;
  if (done) done(std::move(result));
}

SqlSystem::SqlSystem(asio::io_context& io, config::PostgresSystemConfig config,
                     std::shared_ptr<observability::LegacyMetrics> metrics)
    : impl_(std::make_unique<Impl>(io, std::move(config), std::move(metrics))) {}
SqlSystem::~SqlSystem() = default;
const config::PostgresSystemConfig& SqlSystem::config() const { return impl_->config; }
void SqlSystem::call(const CallContext& context, SqlRequest request, Done done) {
  impl_->call(context, std::move(request), std::move(done));
}

}  // namespace fxconnect::systems
