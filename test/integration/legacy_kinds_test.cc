// Legacy systems beyond HTTP end to end: engine requests through the real broker to connectors
// that query PostgreSQL (FXC_POSTGRES_DSN, scripts/postgres.sh), exchange files with a batch
// system (examples/file-exchange/batch-system.py on a folder) and run a command
// (examples/rpa/open-account-bot): once as a flow run by `fxconnect run`, once as a C++ handler
// using the SDK's call->sql / file_exchange / exec with coroutines (fxc_test_connector's
// `legacy_kinds`). Every request gets exactly one reply or error reply, with its headers.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <gmock/gmock.h>
#include <boost/json.hpp>

#include "connector_fixture.h"

namespace fxconnect::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using std::chrono::seconds;
using ::testing::HasSubstr;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Runs SQL with psql (test setup only; the connectors use libpq's asynchronous API).
void psql(const std::string& dsn, const std::string& sql) {
  auto file = write_temp_file("legacy-kinds.sql", sql);
  auto command = "/usr/lib/postgresql/15/bin/psql -q -v ON_ERROR_STOP=1 '" + dsn + "' -f " + file + " >/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

class LegacyKindsTest : public ConnectorTest {
 protected:
  void SetUp() override {
    ConnectorTest::SetUp();
    dsn_ = env("FXC_POSTGRES_DSN");
    if (dsn_.empty()) GTEST_SKIP() << "FXC_POSTGRES_DSN is not set (scripts/postgres.sh start prints it)";
    std::random_device rd;
    table_ = "clients_" + std::to_string(rd() % 1000000000);
    psql(dsn_, "create table " + table_ +
                   " (ref text primary key, name text, balance numeric(30, 10), vip boolean);\n"
                   "insert into " +
                   table_ +
                   " values ('C-1', 'Ana Pop', 12345678901234567890.1234567890, true), "
                   "('C-2', 'O''Brien', 0.5, false);\n");
    exchange_ = fs::path(FXC_TEST_TMP_DIR) / ("exchange-" + table_);
    fs::create_directories(exchange_);
    // The batch system: answers every REQ-*.json (one at a time) after 50 ms, written in 3 pieces.
    batch_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/bin/python3",
                                 std::string(FXC_SOURCE_DIR) + "/examples/file-exchange/batch-system.py", "--dir",
                                 exchange_.string(), "--delay", "0.05", "--chunks", "3", "--chunk-pause", "0.05"},
        write_temp_file("batch-" + table_ + ".log", ""));
  }
  void TearDown() override {
    batch_.reset();
    if (!table_.empty() && !dsn_.empty()) psql(dsn_, "drop table if exists " + table_ + ";");
  }

  std::string systems() const {
    return "systems:\n"
           "  ledger:\n    postgres: { dsn: \"" +
           dsn_ +
           "\", pool: 4, statement_timeout: 5s }\n"
           "  batch:\n    dir: { path: " +
           exchange_.string() +
           ", poll: 100ms, stable_for: 300ms }\n"
           "  rpa:\n    exec: { command: [ " +
           std::string(FXC_SOURCE_DIR) +
           "/examples/rpa/open-account-bot, --mode, batch ], timeout: 10s, env: [ PATH ] }\n";
  }

  std::string dsn_, table_;
  fs::path exchange_;
  std::unique_ptr<ChildProcess> batch_;
};

TEST_F(LegacyKindsTest, AFlowQueriesExchangesFilesAndRunsACommandForEachRequest) {
  auto flow = systems() +
              "flow:\n"
              "  - map:\n"
              "      ref: { from: request.ref }\n"
              "  - sql: { as: client, system: ledger, query: \"select name, balance, vip from " +
              table_ +
              " where ref = $1\", params: [ \"${map.ref}\" ], rows: one }\n"
              "  - file_exchange:\n"
              "      as: statement\n"
              "      system: batch\n"
              "      write: { name: \"REQ-${@uuid}.json\", body: { ref: \"${map.ref}\", name: \"${client.name}\" } }\n"
              "      await: { name: \"RSP-${@uuid}.json\", timeout: 25s, parse: json }\n"
              "      archive: done/\n"
              "  - exec: { as: bot, system: rpa, args: [ \"${map.ref}\" ], stdin: \"${map}\", parse: json }\n"
              "  - reply: { name: \"${client.name}\", balance: \"${client.balance}\", vip: \"${client.vip}\", "
              "statement: \"${statement.status}\", account: \"${bot.accountId}\" }\n";
  auto yaml = flow_config("  deadline: 30s\n  max_in_flight: 200\n");
  kafka_->create_topic(in_, 3);
  kafka_->create_topic(out_, 3);
  auto connector = start_connector(yaml + flow, 0, "fxconnect");

  std::vector<core::OutgoingRecord> requests;
  constexpr int kEach = 10;
  for (int i = 0; i < kEach; ++i) {
    for (const auto& [kind, ref] :
         {std::pair{"ana", "C-1"}, std::pair{"obrien", "C-2"}, std::pair{"nobody", "C-404"}}) {
      auto uuid = std::string(kind) + "-" + std::to_string(i);
      requests.push_back({in_,
                          uuid,
                          {{"processInstanceUuid", uuid}, {"fxContext", "main"}},
                          std::string(R"({"ref": ")") + ref + "\"}"});
    }
  }
  // The bot fails for this one (exit 3): the exchange happened, the command's error is the reply.
  requests.push_back({in_, "fail-0", {{"processInstanceUuid", "fail-0"}}, R"({"ref": "FAIL"})"});
  psql(dsn_, "insert into " + table_ + " values ('FAIL', 'Failing Bot', 1, false);");
  kafka_->produce(requests);

  TopicReader replies(bootstrap_, out_);
  ASSERT_TRUE(replies.wait_for(requests.size(), seconds(120))) << replies.count() << " of " << requests.size() << "\n"
                                                               << connector->log();
  auto got = by_uuid(replies.records());
  for (int i = 0; i < kEach; ++i) {
    auto ana = "ana-" + std::to_string(i);
    ASSERT_EQ(got[ana].size(), 1U) << ana;
    EXPECT_EQ(got[ana][0].headers, (Headers{{"processInstanceUuid", ana}, {"fxContext", "main"}}));
    // The numeric column keeps every digit through the database, the flow and the reply.
    EXPECT_THAT(got[ana][0].value, HasSubstr(R"("balance":12345678901234567890.1234567890)"));
    auto reply = json::parse(got[ana][0].value).as_object();
    EXPECT_EQ(reply.at("name"), "Ana Pop") << got[ana][0].value;
    EXPECT_EQ(reply.at("vip"), true);
    EXPECT_EQ(reply.at("statement"), "DONE");
    EXPECT_EQ(reply.at("account"), "ACC-C-1");

    auto obrien = "obrien-" + std::to_string(i);
    ASSERT_EQ(got[obrien].size(), 1U) << obrien;
    EXPECT_EQ(json::parse(got[obrien][0].value).at("name"), "O'Brien") << got[obrien][0].value;

    auto nobody = "nobody-" + std::to_string(i);
    ASSERT_EQ(got[nobody].size(), 1U) << nobody;
    auto error = json::parse(got[nobody][0].value).as_object();
    EXPECT_EQ(error.at("error").at("code"), "legacy_failed") << got[nobody][0].value;
    EXPECT_EQ(error.at("error").at("step"), "sql:client");
  }
  ASSERT_EQ(got["fail-0"].size(), 1U);
  auto failed = json::parse(got["fail-0"][0].value).as_object();
  EXPECT_EQ(failed.at("error").at("code"), "legacy_failed") << got["fail-0"][0].value;
  EXPECT_EQ(failed.at("error").at("step"), "exec:bot");

  // Each answered exchange was archived (the answer, and the request unless the batch system
  // consumed it) under done/; nothing is left in the exchange folder.
  std::size_t archived = 0, left = 0;
  for (const auto& f : fs::directory_iterator(exchange_ / "done")) archived += f.is_regular_file();
  for (const auto& f : fs::directory_iterator(exchange_)) left += f.is_regular_file();
  EXPECT_EQ(left, 0U);
  EXPECT_GE(archived, std::size_t{2 * kEach + 1}) << "one answer per exchange at least";

  connector->signal(SIGTERM);
  EXPECT_EQ(connector->wait(seconds(60)), 0) << connector->log();
  ASSERT_TRUE(replies.wait_caught_up(seconds(60)));
  EXPECT_EQ(replies.count(), requests.size()) << "exactly one outcome per request";
}

TEST_F(LegacyKindsTest, ACppHandlerCallsEachKindThroughTheSdk) {
  auto yaml = config("  name: legacy_kinds\n", "  deadline: 30s\n") + systems();
  kafka_->create_topic(in_, 1);
  kafka_->create_topic(out_, 1);
  auto connector = start_connector(yaml);
  std::vector<core::OutgoingRecord> requests{
      {in_,
       "sql",
       {{"processInstanceUuid", "sql"}},
       R"({"sql": {"system": "ledger", "query": "select ref, balance from )" + table_ +
           R"( where name = $1", "params": ["O'Brien"]}})"},
      {in_,
       "sql-error",
       {{"processInstanceUuid", "sql-error"}},
       R"({"sql": {"system": "ledger", "query": "select nonsense from )" + table_ + R"("}})"},
      {in_,
       "file",
       {{"processInstanceUuid", "file"}},
       R"({"file": {"system": "batch", "name": "REQ-sdk.json", "body": "{\"ref\": \"C-9\"}", "answer": "RSP-sdk.json"}})"},
      {in_,
       "exec",
       {{"processInstanceUuid", "exec"}},
       R"({"exec": {"system": "rpa", "args": ["C-7; rm -rf /"], "input": "{}"}})"},
      {in_,
       "busy",
       {{"processInstanceUuid", "busy"}},
       R"({"exec": {"system": "rpa", "args": ["BUSY"], "input": "{}"}})"},
      {in_,
       "wrong-kind",
       {{"processInstanceUuid", "wrong-kind"}},
       R"({"sql": {"system": "rpa", "query": "select 1"}})"},
  };
  kafka_->produce(requests);
  TopicReader replies(bootstrap_, out_);
  ASSERT_TRUE(replies.wait_for(requests.size(), seconds(90))) << replies.count() << "\n" << connector->log();
  auto got = by_uuid(replies.records());
  auto answer = [&](const std::string& id) {
    EXPECT_EQ(got[id].size(), 1U) << id;
    return got[id].empty() ? json::object() : json::parse(got[id][0].value).as_object();
  };
  auto sql = answer("sql");
  EXPECT_EQ(sql.at("rows"), R"([{"ref":"C-2","balance":0.5000000000}])") << "exact: " << json::serialize(sql);
  EXPECT_EQ(sql.at("affected"), 1);
  EXPECT_THAT(json::serialize(answer("sql-error")), HasSubstr("SQLSTATE 42703"));
  auto file = answer("file");
  EXPECT_EQ(file.at("name"), "RSP-sdk.json") << json::serialize(file);
  EXPECT_THAT(std::string(file.at("body").as_string()), HasSubstr("\"status\": \"DONE\""));
  auto exec = answer("exec");
  EXPECT_EQ(exec.at("exit_code"), 0) << json::serialize(exec);
  EXPECT_EQ(json::parse(exec.at("out").as_string()).at("accountId"), "ACC-C-7; rm -rf /");
  auto busy = answer("busy");
  EXPECT_EQ(busy.at("error").at("code"), "legacy_unavailable") << json::serialize(busy);
  EXPECT_EQ(busy.at("error").at("retriable"), true);
  auto wrong = answer("wrong-kind");
  EXPECT_THAT(json::serialize(wrong), HasSubstr("legacy system 'rpa' is an exec system; a SQL call cannot reach it"));

  connector->signal(SIGTERM);
  EXPECT_EQ(connector->wait(seconds(60)), 0) << connector->log();
}

// The same file exchange over SFTP (OpenSSH's sshd, scripts/sftp.sh), the batch system answering in
// the server's folder.
TEST_F(ConnectorTest, AFlowExchangesFilesOverSftp) {
  if (env("FXC_SFTP_URL").empty()) GTEST_SKIP() << "FXC_SFTP_URL is not set (scripts/sftp.sh start prints it)";
  auto tag = "sftp" + unique_suffix();  // files on the server outlive a run
  auto batch = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/bin/python3",
                               std::string(FXC_SOURCE_DIR) + "/examples/file-exchange/batch-system.py", "--dir",
                               env("FXC_SFTP_DIR"), "--delay", "0.1"},
      write_temp_file(name_ + ".batch.log", ""));
  auto flow = "systems:\n  mainframe:\n    sftp: { url: \"" + env("FXC_SFTP_URL") +
              "\", user: " + env("FXC_SFTP_USER") + ", key_file: " + env("FXC_SFTP_KEY") +
              ", known_hosts: " + env("FXC_SFTP_KNOWN_HOSTS") +
              ", poll: 100ms, stable_for: 200ms }\n"
              "flow:\n"
              "  - file_exchange:\n"
              "      as: statement\n"
              "      system: mainframe\n"
              "      write: { name: \"REQ-${@uuid}.json\", body: \"${request}\" }\n"
              "      await: { name: \"RSP-${@uuid}.json\", timeout: 20s, parse: json }\n"
              "      archive: done-" +
              tag +
              "/\n"
              "  - reply: { status: \"${statement.status}\", ref: \"${statement.received.ref}\" }\n";
  auto yaml = flow_config("  deadline: 30s\n");
  kafka_->create_topic(in_, 2);
  kafka_->create_topic(out_, 2);
  auto connector = start_connector(yaml + flow, 0, "fxconnect");
  std::vector<core::OutgoingRecord> requests;
  for (int i = 0; i < 20; ++i) {
    auto uuid = tag + "-" + std::to_string(i);
    requests.push_back({in_, uuid, {{"processInstanceUuid", uuid}}, R"({"ref": "R-)" + std::to_string(i) + "\"}"});
  }
  kafka_->produce(requests);
  TopicReader replies(bootstrap_, out_);
  ASSERT_TRUE(replies.wait_for(requests.size(), seconds(120))) << replies.count() << "\n" << connector->log();
  auto got = by_uuid(replies.records());
  for (int i = 0; i < 20; ++i) {
    auto uuid = tag + "-" + std::to_string(i);
    ASSERT_EQ(got[uuid].size(), 1U) << uuid;
    auto reply = json::parse(got[uuid][0].value).as_object();
    EXPECT_EQ(reply.at("status"), "DONE") << got[uuid][0].value;
    EXPECT_EQ(reply.at("ref"), json::value("R-" + std::to_string(i)));
  }
  std::size_t archived = 0;
  for (const auto& f : fs::directory_iterator(fs::path(env("FXC_SFTP_DIR")) / ("done-" + tag))) {
    archived += f.is_regular_file();
  }
  EXPECT_GE(archived, 20U) << "every answer archived on the server";
  EXPECT_LE(archived, 40U) << "a request and its answer, no more";
  connector->signal(SIGTERM);
  EXPECT_EQ(connector->wait(seconds(60)), 0) << connector->log();
}

}  // namespace
}  // namespace fxconnect::testing
