// PostgreSQL systems (src/systems/sql/), against a real PostgreSQL 15 on loopback
// (scripts/postgres.sh; FXC_POSTGRES_DSN, and FXC_POSTGRES_DIR for the restart test, set by
// scripts/lib.sh's fxc_private_postgres; skipped without them). Each test drives one SqlSystem on
// its own io_context, as the runtime's loop does, and checks what each call ends with and that it
// ends exactly once. Tables live in a schema unique to the test, dropped at its end.
//
// Timing: only generous upper bounds (a timeout that must come long before the sleep it cuts
// short) and no fixed sleeps; concurrency is checked by what the server saw (backend pids,
// pg_stat_activity), not by clocks.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include "config/config.h"
#include "fxconnect/handler.h"
#include "observability/metrics.h"
#include "observability/tracer.h"
#include "systems/sql/sql_system.h"

namespace fxconnect::testing {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using config::PostgresSystemConfig;
using std::chrono::milliseconds;
using std::chrono::seconds;
using systems::CallContext;
using systems::SqlSystem;
using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;
using Row = std::vector<std::optional<std::string>>;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string unique(const std::string& prefix) {
  std::random_device rd;
  return prefix + std::to_string(rd() % 100000) + "_" + std::to_string(rd() % 100000);
}

// A port nothing listens on: bound, then closed (the kernel does not hand it out again at once).
int closed_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

std::string postgres_script() { return std::string(FXC_SOURCE_DIR) + "/scripts/postgres.sh"; }

SqlRequest sql(std::string query, std::vector<std::optional<std::string>> params = {}, std::size_t max_rows = 0) {
  SqlRequest r;
  r.query = std::move(query);
  r.params = std::move(params);
  r.max_rows = max_rows;
  return r;
}

// One system on its own loop.
struct Rig {
  explicit Rig(PostgresSystemConfig c)
      : metrics(std::make_shared<observability::LegacyMetrics>()),
        system(std::make_unique<SqlSystem>(io, std::move(c), metrics)) {}
  asio::io_context io;
  std::shared_ptr<observability::LegacyMetrics> metrics;
  std::unique_ptr<SqlSystem> system;
};

struct Outcome {
  Result<SqlResult> result = Error{ErrorCode::internal, "not finished", false, std::nullopt};
  int times = 0;  // how often `done` ran: must be 1
  Clock::time_point at;
};

// Runs the loop until `finished`, at most 60 s (a hang is a failure, not a stuck run).
void drive(asio::io_context& io, const std::function<bool()>& finished) {
  auto give_up = Clock::now() + seconds(60);
  while (!finished() && Clock::now() < give_up) {
    io.restart();
    io.run_for(milliseconds(20));
  }
  ASSERT_TRUE(finished()) << "calls still running after 60 s";
}

// Runs `requests` at once on `system` (on `io`), each with `deadline` from now, to their ends.
std::vector<Outcome> run(asio::io_context& io, SqlSystem& system, const std::vector<SqlRequest>& requests,
                         milliseconds deadline = seconds(20)) {
  std::vector<Outcome> out(requests.size());
  std::size_t left = requests.size();
  auto until = Clock::now() + deadline;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    system.call(CallContext{until, nullptr, {}}, requests[i], [&, i](Result<SqlResult> r) {
      auto& o = out[i];
      o.result = std::move(r);
      o.at = Clock::now();
      if (++o.times == 1) --left;
    });
  }
  drive(io, [&] { return left == 0; });
  for (const auto& o : out) EXPECT_EQ(o.times, 1) << "every call ends exactly once";
  return out;
}
std::vector<Outcome> run(Rig& rig, const std::vector<SqlRequest>& requests, milliseconds deadline = seconds(20)) {
  return run(rig.io, *rig.system, requests, deadline);
}
Outcome run1(Rig& rig, const SqlRequest& request, milliseconds deadline = seconds(20)) {
  return run(rig, {request}, deadline).at(0);
}

// The value of the first column of the first row of a successful call.
std::string scalar(const Outcome& o) {
  EXPECT_TRUE(o.result) << o.result.error().message;
  if (!o.result || o.result.value().rows.empty() || o.result.value().rows[0].empty() || !o.result.value().rows[0][0])
    return "";
  return *o.result.value().rows[0][0];
}

class LegacySql : public ::testing::Test {
 protected:
  void SetUp() override {
    dsn_ = env("FXC_POSTGRES_DSN");
    if (dsn_.empty()) GTEST_SKIP() << "FXC_POSTGRES_DSN is not set (scripts/postgres.sh start prints it)";
  }
  void TearDown() override {
    if (schema_.empty()) return;
    Rig rig(system());
    auto o = run1(rig, sql("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE"));
    EXPECT_TRUE(o.result) << o.result.error().message;
  }

  PostgresSystemConfig system(const std::function<void(PostgresSystemConfig&)>& change = {}) {
    PostgresSystemConfig c;
    c.name = "ledger";
    c.dsn = dsn_;
    c.pool = 4;
    c.statement_timeout = seconds(10);
    c.connect_timeout = seconds(5);
    c.max_rows = 1000;
    if (change) change(c);
    return c;
  }

  // A schema of this test's own (dropped in TearDown).
  const std::string& schema() {
    if (schema_.empty()) {
      schema_ = unique("fxc_sql_test_");
      Rig rig(system());
      auto o = run1(rig, sql("CREATE SCHEMA " + schema_));
      EXPECT_TRUE(o.result) << o.result.error().message;
    }
    return schema_;
  }

  std::string dsn_;
  std::string schema_;
};

TEST(SqlSystemConfig, ABadDsnIsAConfigErrorNamingTheKeyWithoutThePassword) {
  asio::io_context io;
  auto metrics = std::make_shared<observability::LegacyMetrics>();
  PostgresSystemConfig c;
  c.name = "ledger";
  for (std::string dsn : {"host=127.0.0.1 password=s3cr3t-value nosuchkey=1", "host=127.0.0.1 password=s3cr3t-value 'x",
                          "postgresql://fx:s3cr3t-value@127.0.0.1:5432/bank?nosuchkey=1"}) {
    c.dsn = dsn;
    try {
      SqlSystem system(io, c, metrics);
      ADD_FAILURE() << "accepted: " << dsn;
    } catch (const ConfigError& e) {
      EXPECT_THAT(e.what(), HasSubstr("systems.ledger.postgres.dsn")) << dsn;
      EXPECT_THAT(e.what(), Not(HasSubstr("s3cr3t-value"))) << dsn;
    }
  }
  // A valid one does not connect in the constructor: nothing needs to listen there.
  c.dsn = "host=127.0.0.1 port=" + std::to_string(closed_port()) + " dbname=bank user=fx password=x";
  EXPECT_NO_THROW(SqlSystem(io, c, metrics));
}

TEST_F(LegacySql, ParametersAreBoundNeverPutIntoTheQuery) {
  Rig rig(system());
  const std::string tricky = "it's \"quoted\"'); DROP TABLE x; -- $2";
  auto o = run1(rig, sql("SELECT $1::text AS a, $2::text AS b, $3::int4 AS c, $1::text = $4 AS same, "
                         "$2::text IS NULL AS b_null",
                         {tricky, std::nullopt, "42", tricky}));
  ASSERT_TRUE(o.result) << o.result.error().message;
  const auto& r = o.result.value();
  ASSERT_EQ(r.rows.size(), 1U);
  EXPECT_EQ(r.rows[0], (Row{tricky, std::nullopt, "42", "t", "t"}));
  ASSERT_EQ(r.columns.size(), 5U);
  EXPECT_EQ(r.columns[0].name, "a");
  EXPECT_EQ(r.affected, 1U);
  auto parsed = json::parse(r.json());
  EXPECT_EQ(parsed, json::parse(json::serialize(json::array{
                        json::object{{"a", tricky}, {"b", nullptr}, {"c", 42}, {"same", true}, {"b_null", true}}})));
  EXPECT_EQ(rig.metrics->calls[observability::LegacyMetrics::ok], 1U);
  EXPECT_EQ(rig.metrics->in_flight, 0U);
}

TEST_F(LegacySql, TypesAreNamedAndJsonKeepsEveryDigit) {
  Rig rig(system());
  auto o = run1(rig, sql("SELECT 12345678901234567890.123456789::numeric AS n, 9223372036854775807::int8 AS big, "
                         "(-32768)::int2 AS small, 7::int4 AS i, 1.5::float8 AS f8, 'NaN'::numeric AS nan, "
                         "'-Infinity'::float8 AS ninf, true AS t, false AS f, "
                         "'{\"a\": [1, 2.50, \"x\"]}'::jsonb AS j, '[1,  2]'::json AS js, NULL::text AS nothing, "
                         "'2024-01-02 03:04:05+00'::timestamptz AS ts, E'q\"b\\\\s\\n\\u0001' AS esc, "
                         "'v'::varchar AS v, 'c'::char(2) AS bp, '2024-02-29'::date AS d, "
                         "'00000000-0000-0000-0000-000000000001'::uuid AS u, '(1,2)'::point AS p"));
  ASSERT_TRUE(o.result) << o.result.error().message;
  const auto& r = o.result.value();
  std::vector<std::string> types;
  for (const auto& c : r.columns) types.push_back(c.type);
  EXPECT_EQ(types, (std::vector<std::string>{"numeric", "int8", "int2", "int4", "float8", "numeric", "float8", "bool",
                                             "bool", "jsonb", "json", "text", "timestamptz", "text", "varchar",
                                             "bpchar", "date", "uuid", "oid:600"}));
  ASSERT_EQ(r.rows.size(), 1U);
  const auto& row = r.rows[0];
  EXPECT_EQ(row[0], "12345678901234567890.123456789");
  EXPECT_EQ(row[1], "9223372036854775807");
  EXPECT_EQ(row[11], std::nullopt);
  ASSERT_TRUE(row[12]);
  EXPECT_EQ(row[12]->substr(0, 8), "2024-01-") << *row[12];
  EXPECT_EQ(row[13], "q\"b\\s\n\x01");
  std::string expected = R"([{"n":12345678901234567890.123456789,"big":9223372036854775807,"small":-32768,"i":7,)"
                         R"("f8":1.5,"nan":"NaN","ninf":"-Infinity","t":true,"f":false,"j":{"a": [1, 2.50, "x"]},)"
                         R"("js":[1,  2],"nothing":null,"ts":")" +
                         *row[12] +
                         R"(","esc":"q\"b\\s\n\u0001","v":"v","bp":"c ","d":"2024-02-29",)"
                         R"j("u":"00000000-0000-0000-0000-000000000001","p":"(1,2)"}])j";
  EXPECT_EQ(r.json(), expected);
  EXPECT_NO_THROW(json::parse(r.json()));
}

TEST_F(LegacySql, AffectedCountsWhatAStatementTouchedOrASelectReturned) {
  const auto& s = schema();
  Rig rig(system());
  auto create = run1(rig, sql("CREATE TABLE " + s + ".accounts (id int PRIMARY KEY, owner text)"));
  ASSERT_TRUE(create.result) << create.result.error().message;
  auto insert = run1(
      rig, sql("INSERT INTO " + s + ".accounts VALUES ($1, $2), ($3, $4), ($5, NULL)", {"1", "ann", "2", "bob", "3"}));
  ASSERT_TRUE(insert.result) << insert.result.error().message;
  EXPECT_EQ(insert.result.value().affected, 3U);
  EXPECT_TRUE(insert.result.value().rows.empty());
  EXPECT_EQ(insert.result.value().json(), "[]");
  auto update = run1(rig, sql("UPDATE " + s + ".accounts SET owner = $1 WHERE id = $2", {"cy", "2"}));
  ASSERT_TRUE(update.result) << update.result.error().message;
  EXPECT_EQ(update.result.value().affected, 1U);
  auto none = run1(rig, sql("DELETE FROM " + s + ".accounts WHERE id = $1", {"99"}));
  ASSERT_TRUE(none.result) << none.result.error().message;
  EXPECT_EQ(none.result.value().affected, 0U);
  auto many = run1(rig, sql("SELECT id, owner FROM " + s + ".accounts ORDER BY id"));
  ASSERT_TRUE(many.result) << many.result.error().message;
  EXPECT_EQ(many.result.value().affected, 3U);
  EXPECT_EQ(many.result.value().rows, (std::vector<Row>{{"1", "ann"}, {"2", "cy"}, {"3", std::nullopt}}));
  EXPECT_EQ(many.result.value().json(), R"([{"id":1,"owner":"ann"},{"id":2,"owner":"cy"},{"id":3,"owner":null}])");
  auto one = run1(rig, sql("SELECT owner FROM " + s + ".accounts WHERE id = $1", {"1"}));
  ASSERT_TRUE(one.result);
  EXPECT_EQ(one.result.value().affected, 1U);
  auto empty = run1(rig, sql("SELECT owner FROM " + s + ".accounts WHERE id = $1", {"42"}));
  ASSERT_TRUE(empty.result);
  EXPECT_EQ(empty.result.value().affected, 0U);
  EXPECT_TRUE(empty.result.value().rows.empty());
  ASSERT_EQ(empty.result.value().columns.size(), 1U) << "a select without rows still names its columns";
  EXPECT_EQ(empty.result.value().columns[0].type, "text");
  auto returning = run1(rig, sql("INSERT INTO " + s + ".accounts VALUES ($1, $2) RETURNING id", {"4", "dee"}));
  ASSERT_TRUE(returning.result) << returning.result.error().message;
  EXPECT_EQ(returning.result.value().rows, (std::vector<Row>{{"4"}}));
  EXPECT_EQ(returning.result.value().affected, 1U);
}

TEST_F(LegacySql, MoreRowsThanMaxRowsIsLegacyFailedNeverTruncated) {
  Rig rig(system([](auto& c) {
    c.pool = 1;  // the same connection serves every call: it must be usable after a refused result
    c.max_rows = 5;
  }));
  auto exact = run1(rig, sql("SELECT generate_series(1, 5) AS n"));
  ASSERT_TRUE(exact.result) << exact.result.error().message;
  EXPECT_EQ(exact.result.value().rows.size(), 5U);
  auto over = run1(rig, sql("SELECT generate_series(1, 6) AS n"));
  ASSERT_FALSE(over.result);
  EXPECT_EQ(over.result.error().code, ErrorCode::legacy_failed);
  EXPECT_FALSE(over.result.error().retriable);
  EXPECT_THAT(over.result.error().message, HasSubstr("more than 5 rows (max_rows)"));
  // The request's own max_rows takes precedence.
  auto lowered = run1(rig, sql("SELECT generate_series(1, 3) AS n", {}, 2));
  ASSERT_FALSE(lowered.result);
  EXPECT_THAT(lowered.result.error().message, HasSubstr("more than 2 rows (max_rows)"));
  // Far more: refused without waiting for the rest, and the connection then serves the next call.
  auto huge = run1(rig, sql("SELECT n, repeat('x', 100) FROM generate_series(1, 300000) AS n", {}, 10));
  ASSERT_FALSE(huge.result);
  EXPECT_THAT(huge.result.error().message, HasSubstr("more than 10 rows (max_rows)"));
  auto after = run1(rig, sql("SELECT 'still here'"));
  EXPECT_EQ(scalar(after), "still here");
  EXPECT_EQ(rig.metrics->calls[observability::LegacyMetrics::failed], 3U);
  EXPECT_EQ(rig.metrics->calls[observability::LegacyMetrics::ok], 2U);
}

TEST_F(LegacySql, AQueryPastStatementTimeoutIsLegacyTimeoutAndTheConnectionServesOn) {
  Rig rig(system([](auto& c) {
    c.pool = 1;
    c.statement_timeout = milliseconds(300);
  }));
  auto before = run1(rig, sql("SELECT pg_backend_pid()"));
  auto started = Clock::now();
  auto slow = run1(rig, sql("SELECT pg_sleep(10)"));
  ASSERT_FALSE(slow.result);
  EXPECT_EQ(slow.result.error().code, ErrorCode::legacy_timeout) << slow.result.error().message;
  EXPECT_TRUE(slow.result.error().retriable);
  EXPECT_THAT(slow.result.error().message, HasSubstr("statement_timeout"));
  EXPECT_LT(slow.at - started, seconds(8)) << "cut short, long before the sleep's end";
  // The server cancelled it: the same session answers the next call.
  auto after = run1(rig, sql("SELECT pg_backend_pid()"));
  EXPECT_EQ(scalar(after), scalar(before));
  // A query that turns the session's timeout off does not turn it off for the queries after it.
  ASSERT_TRUE(run1(rig, sql("SET statement_timeout = 0")).result);
  auto again = run1(rig, sql("SELECT pg_sleep(10)"));
  ASSERT_FALSE(again.result);
  EXPECT_EQ(again.result.error().code, ErrorCode::legacy_timeout) << again.result.error().message;
  EXPECT_EQ(scalar(run1(rig, sql("SHOW statement_timeout"))), "300ms");
  EXPECT_EQ(rig.metrics->calls[observability::LegacyMetrics::timeout], 2U);
}

TEST_F(LegacySql, ADeadlineShorterThanStatementTimeoutEndsTheQueryByTheDeadline) {
  Rig rig(system([](auto& c) { c.statement_timeout = seconds(30); }));
  auto started = Clock::now();
  auto deadline = started + milliseconds(700);
  auto slow = run1(rig, sql("SELECT pg_sleep(20)"), milliseconds(700));
  ASSERT_FALSE(slow.result);
  EXPECT_EQ(slow.result.error().code, ErrorCode::legacy_timeout) << slow.result.error().message;
  EXPECT_LT(slow.at, deadline + seconds(2)) << "ended by the deadline (+ a generous margin)";
  // A later call with a longer deadline is not limited by the earlier one's shorter timeout.
  auto fine = run1(rig, sql("SELECT pg_sleep(0.8), 'ok'"), seconds(20));
  ASSERT_TRUE(fine.result) << fine.result.error().message;
}

TEST_F(LegacySql, ThePoolNeverOpensMoreConnectionsThanAllowedAndAllWaitingCallsAreServed) {
  auto app = unique("fxc_pool_");
  Rig rig(system([&](auto& c) {
    c.pool = 2;
    c.dsn += " application_name=" + app;
  }));
  std::vector<SqlRequest> requests(
      6, sql("SELECT pg_backend_pid()::text, (SELECT count(*) FROM pg_stat_activity WHERE application_name = $1), "
             "pg_sleep(0.3)",
             {app}));
  auto out = run(rig, requests);
  std::set<std::string> pids;
  for (const auto& o : out) {
    ASSERT_TRUE(o.result) << o.result.error().message;
    const auto& row = o.result.value().rows.at(0);
    pids.insert(row.at(0).value());
    EXPECT_LE(std::stoi(row.at(1).value()), 2) << "backends of this system while the query ran";
  }
  EXPECT_LE(pids.size(), 2U) << "no more than two connections ever served the calls";
  EXPECT_EQ(rig.metrics->calls[observability::LegacyMetrics::ok], 6U);
  EXPECT_EQ(rig.metrics->waiting, 0U);
  EXPECT_EQ(rig.metrics->in_flight, 0U);
  // Calls beyond the pool that cannot get a connection before their deadline end with it.
  std::vector<SqlRequest> blockers(2, sql("SELECT pg_sleep(2)"));
  std::vector<Outcome> blocked(2);
  for (std::size_t i = 0; i < 2; ++i) {
    rig.system->call(CallContext{Clock::now() + seconds(20), nullptr, {}}, blockers[i], [&, i](Result<SqlResult> r) {
      blocked[i].result = std::move(r);
      ++blocked[i].times;
    });
  }
  auto late = run1(rig, sql("SELECT 1"), milliseconds(500));
  ASSERT_FALSE(late.result);
  EXPECT_EQ(late.result.error().code, ErrorCode::legacy_timeout);
  EXPECT_THAT(late.result.error().message, HasSubstr("no connection became free before the deadline"));
  drive(rig.io, [&] { return blocked[0].times == 1 && blocked[1].times == 1; });
  EXPECT_TRUE(blocked[0].result && blocked[1].result);
}

TEST_F(LegacySql, AnSqlErrorIsLegacyFailedWithItsSqlstate) {
  Rig rig(system());
  auto missing = run1(rig, sql("SELECT * FROM fxc_no_such_table_anywhere"));
  ASSERT_FALSE(missing.result);
  EXPECT_EQ(missing.result.error().code, ErrorCode::legacy_failed);
  EXPECT_FALSE(missing.result.error().retriable);
  EXPECT_THAT(missing.result.error().message, HasSubstr("ledger: SQLSTATE 42P01: "));
  EXPECT_THAT(missing.result.error().message, HasSubstr("fxc_no_such_table_anywhere"));
  auto divide = run1(rig, sql("SELECT 1 / $1::int", {"0"}));
  ASSERT_FALSE(divide.result);
  EXPECT_THAT(divide.result.error().message, HasSubstr("SQLSTATE 22012"));
  auto serialization = run1(rig, sql("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$"));
  ASSERT_FALSE(serialization.result);
  EXPECT_EQ(serialization.result.error().code, ErrorCode::legacy_failed);
  EXPECT_TRUE(serialization.result.error().retriable) << "a serialization failure may succeed when tried again";
  // A bad parameter is the server's complaint too, and the connections serve on.
  auto bad_param = run1(rig, sql("SELECT $1::int", {"not a number"}));
  ASSERT_FALSE(bad_param.result);
  EXPECT_THAT(bad_param.result.error().message, HasSubstr("SQLSTATE 22P02"));
  EXPECT_EQ(scalar(run1(rig, sql("SELECT 'fine'"))), "fine");
}

TEST_F(LegacySql, AWrongPasswordIsLegacyUnavailableWithoutThePassword) {
  std::smatch m;
  if (!std::regex_search(dsn_, m, std::regex(R"(password=(\S+))"))) GTEST_SKIP() << "the DSN has no password=";
  const std::string real = m[1].str();
  const std::string wrong = "wrong-pass-" + unique("");
  Rig rig(
      system([&](auto& c) { c.dsn = std::regex_replace(dsn_, std::regex(R"(password=\S+)"), "password=" + wrong); }));
  auto o = run1(rig, sql("SELECT 1"));
  ASSERT_FALSE(o.result);
  EXPECT_EQ(o.result.error().code, ErrorCode::legacy_unavailable);
  EXPECT_TRUE(o.result.error().retriable);
  EXPECT_THAT(o.result.error().message, HasSubstr("password authentication failed"));
  EXPECT_THAT(o.result.error().message, Not(HasSubstr(wrong)));
  EXPECT_THAT(o.result.error().message, Not(HasSubstr(real)));
  EXPECT_EQ(o.result.error().message.find('\n'), std::string::npos) << "one line";
  EXPECT_EQ(rig.metrics->calls[observability::LegacyMetrics::unavailable], 1U);
}

TEST_F(LegacySql, AServerThatIsNotThereIsLegacyUnavailable) {
  Rig rig(system([](auto& c) {
    c.dsn = "host=127.0.0.1 port=" + std::to_string(closed_port()) + " dbname=bank user=fx password=x";
  }));
  auto out = run(rig, std::vector<SqlRequest>(6, sql("SELECT 1")));
  for (const auto& o : out) {
    ASSERT_FALSE(o.result);
    EXPECT_EQ(o.result.error().code, ErrorCode::legacy_unavailable);
    EXPECT_THAT(o.result.error().message, HasSubstr("ledger: cannot connect to the database: "));
    EXPECT_THAT(o.result.error().message, HasSubstr("refused"));
  }
}

// A server that accepts connections but never answers: connect_timeout, or the deadline if sooner.
TEST_F(LegacySql, ConnectingIsBoundedByConnectTimeoutAndByTheDeadline) {
  asio::io_context silent;
  asio::ip::tcp::acceptor listener(silent, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto dsn = "host=127.0.0.1 port=" + std::to_string(listener.local_endpoint().port()) + " dbname=bank user=fx";
  {
    Rig rig(system([&](auto& c) {
      c.dsn = dsn;
      c.connect_timeout = milliseconds(300);
    }));
    auto started = Clock::now();
    auto o = run1(rig, sql("SELECT 1"), seconds(30));
    ASSERT_FALSE(o.result);
    EXPECT_EQ(o.result.error().code, ErrorCode::legacy_unavailable) << o.result.error().message;
    EXPECT_THAT(o.result.error().message, HasSubstr("no connection within 300ms (connect_timeout)"));
    EXPECT_LT(o.at - started, seconds(10));
  }
  {
    Rig rig(system([&](auto& c) {
      c.dsn = dsn;
      c.connect_timeout = seconds(30);
    }));
    auto started = Clock::now();
    auto o = run1(rig, sql("SELECT 1"), milliseconds(300));
    ASSERT_FALSE(o.result);
    EXPECT_EQ(o.result.error().code, ErrorCode::legacy_timeout) << o.result.error().message;
    EXPECT_THAT(o.result.error().message, HasSubstr("a new connection was still being opened"));
    EXPECT_LT(o.at - started, seconds(10));
  }
}

// A connection the server ends (an administrator, a crash) is replaced: an idle one silently, one
// busy with a query with legacy_unavailable for that query only.
TEST_F(LegacySql, AConnectionTheServerEndsIsReplaced) {
  Rig rig(system([](auto& c) { c.pool = 1; }));
  SqlSystem admin(rig.io, system(), std::make_shared<observability::LegacyMetrics>());
  auto on_admin = [&](const SqlRequest& r) { return run(rig.io, admin, {r}).at(0); };
  auto first = scalar(run1(rig, sql("SELECT pg_backend_pid()")));
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(scalar(on_admin(sql("SELECT pg_terminate_backend($1::int)", {first}))), "t");
  // pg_terminate_backend only signals: wait until that backend is gone.
  auto gone = [&](const std::string& pid) {
    for (int i = 0; i < 500; ++i) {
      if (scalar(on_admin(sql("SELECT count(*) FROM pg_stat_activity, pg_sleep(0.01) WHERE pid = $1::int", {pid}))) ==
          "0")
        return true;
    }
    return false;
  };
  ASSERT_TRUE(gone(first));
  auto second = scalar(run1(rig, sql("SELECT pg_backend_pid()")));
  ASSERT_FALSE(second.empty());
  EXPECT_NE(second, first) << "a new connection";
  // Now while it runs a query: the query fails, the next call gets a new connection.
  std::optional<Outcome> slow;
  rig.system->call(CallContext{Clock::now() + seconds(30), nullptr, {}}, sql("SELECT pg_sleep(10) AS fxc_slow"),
                   [&](Result<SqlResult> r) {
                     slow.emplace();
                     slow->result = std::move(r);
                   });
  bool running = false;
  for (int i = 0; i < 200 && !running && !slow; ++i) {
    running = scalar(on_admin(sql("SELECT count(*) FROM pg_stat_activity, pg_sleep(0.02) WHERE pid = $1::int AND "
                                  "state = 'active' AND query LIKE '%fxc_slow%'",
                                  {second}))) == "1";
  }
  ASSERT_TRUE(running) << "the slow query never showed in pg_stat_activity";
  EXPECT_EQ(scalar(on_admin(sql("SELECT pg_terminate_backend($1::int)", {second}))), "t");
  drive(rig.io, [&] { return slow.has_value(); });
  ASSERT_FALSE(slow->result);
  EXPECT_EQ(slow->result.error().code, ErrorCode::legacy_unavailable) << slow->result.error().message;
  EXPECT_THAT(slow->result.error().message, HasSubstr("connection to the database was lost"));
  auto third = scalar(run1(rig, sql("SELECT pg_backend_pid()")));
  EXPECT_FALSE(third.empty());
  EXPECT_NE(third, second);
}

// A query that leaves a transaction open (BEGIN) does not leak it into other calls.
TEST_F(LegacySql, ATransactionLeftOpenDiesWithItsConnection) {
  const auto& s = schema();
  Rig rig(system([](auto& c) { c.pool = 1; }));
  ASSERT_TRUE(run1(rig, sql("CREATE TABLE " + s + ".t (v int)")).result);
  auto begin = run1(rig, sql("BEGIN"));
  ASSERT_TRUE(begin.result) << begin.result.error().message;
  ASSERT_TRUE(run1(rig, sql("INSERT INTO " + s + ".t VALUES (1)")).result);
  // Seen from another connection: the insert committed on its own, it did not join the BEGIN.
  Rig other(system());
  EXPECT_EQ(scalar(run1(other, sql("SELECT count(*) FROM " + s + ".t"))), "1");
}

// The database stops and starts again (same port) while calls keep coming: every call ends exactly
// once, the failures are only legacy_unavailable or legacy_timeout, and calls after the restart
// succeed on new connections.
TEST_F(LegacySql, TheDatabaseRestartedUnderLoadIsReconnected) {
  auto dir = env("FXC_POSTGRES_DIR");
  if (dir.empty()) GTEST_SKIP() << "FXC_POSTGRES_DIR is not set (the state dir of scripts/postgres.sh)";
  Rig rig(system([](auto& c) {
    c.pool = 4;
    c.connect_timeout = seconds(2);
  }));
  auto up_since = [&] { return scalar(run1(rig, sql("SELECT pg_postmaster_start_time()::text"))); };
  const auto before = up_since();
  ASSERT_FALSE(before.empty());

  const std::string script = postgres_script();
  std::atomic<int> restart_rc{-1};
  std::atomic<bool> restarted{false};
  std::thread restart([&] {
    auto prefix = "FXC_POSTGRES_DIR='" + dir + "' '" + script + "' ";
    int rc = std::system((prefix + "stop >/dev/null").c_str());
    if (rc == 0) rc = std::system((prefix + "start >/dev/null").c_str());
    restart_rc = rc;
    restarted = true;
  });

  constexpr int kCalls = 200;
  std::vector<Outcome> out(kCalls);
  int sent = 0;
  int left = kCalls;
  asio::steady_timer pace(rig.io);
  std::function<void()> next = [&] {
    if (sent == kCalls) return;
    int i = sent++;
    rig.system->call(CallContext{Clock::now() + seconds(3), nullptr, {}},
                     sql("SELECT $1::int, pg_sleep(0.01)", {std::to_string(i)}), [&, i](Result<SqlResult> r) {
                       auto& o = out[static_cast<std::size_t>(i)];
                       o.result = std::move(r);
                       if (++o.times == 1) --left;
                     });
    pace.expires_after(milliseconds(15));  // ~3 s of calls
    pace.async_wait([&](boost::system::error_code ec) {
      if (!ec) next();
    });
  };
  next();
  drive(rig.io, [&] { return left == 0 && sent == kCalls; });
  restart.join();
  ASSERT_EQ(restart_rc, 0) << "scripts/postgres.sh stop/start failed";

  std::map<std::string, int> outcomes;
  for (int i = 0; i < kCalls; ++i) {
    const auto& o = out[static_cast<std::size_t>(i)];
    EXPECT_EQ(o.times, 1) << "call " << i;
    if (o.result) {
      EXPECT_EQ(o.result.value().rows.at(0).at(0), std::to_string(i));
      ++outcomes["ok"];
    } else {
      EXPECT_TRUE(o.result.error().code == ErrorCode::legacy_unavailable ||
                  o.result.error().code == ErrorCode::legacy_timeout)
          << "call " << i << ": " << o.result.error().message;
      EXPECT_TRUE(o.result.error().retriable) << o.result.error().message;
      ++outcomes[std::string(to_string(o.result.error().code))];
    }
  }
  for (const auto& [what, n] : outcomes) std::cerr << "  " << what << ": " << n << "\n";
  // After the restart: the server is a new one, and every call succeeds again.
  const auto after = up_since();
  EXPECT_NE(after, before) << "the database was restarted";
  auto again = run(rig, std::vector<SqlRequest>(20, sql("SELECT 'back'")));
  for (const auto& o : again) {
    ASSERT_TRUE(o.result) << o.result.error().message;
    EXPECT_EQ(o.result.value().rows.at(0).at(0), "back");
  }
  EXPECT_EQ(rig.metrics->in_flight, 0U);
  EXPECT_EQ(rig.metrics->waiting, 0U);
}

// Destroying the system with calls running, waiting and connecting: nothing is answered, nothing
// crashes (the ASan build runs this too), the loop runs on.
TEST_F(LegacySql, DestroyingTheSystemWithCallsInFlightIsSafe) {
  auto tracer = std::make_shared<const observability::Tracer>(*observability::Sampler::parse("always"), nullptr);
  observability::TraceContext parent;
  parent.trace_id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  parent.span_id = {1, 1, 1, 1, 1, 1, 1, 1};
  parent.sampled = true;
  for (int round = 0; round < 3; ++round) {
    Rig rig(system([](auto& c) { c.pool = 2; }));
    int answered = 0;
    for (int i = 0; i < 10; ++i) {
      rig.system->call(CallContext{Clock::now() + seconds(20), tracer, parent}, sql("SELECT pg_sleep(5)"),
                       [&](Result<SqlResult>) { ++answered; });
    }
    if (round == 1) {
      rig.io.poll();  // admitted, connecting
    } else if (round == 2) {
      // Two queries running on the server, eight waiting.
      drive(rig.io, [&] { return rig.metrics->waiting == 8; });
    }
    rig.system.reset();
    rig.io.restart();
    rig.io.run_for(milliseconds(100));
    EXPECT_EQ(answered, 0) << "round " << round;
  }
}

}  // namespace
}  // namespace fxconnect::testing
