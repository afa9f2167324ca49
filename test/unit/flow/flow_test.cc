// Declarative connectors end to end without Kafka: configs compiled (lint errors with their
// places), requests run through flows by `fxconnect test`'s runner with recorded legacy answers.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "core/json_exact.h"
#include "flow/flow.h"
#include "flow/test_runner.h"

namespace fxconnect::flow {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

const char* kHead = R"yaml(kafka: { bootstrap: 127.0.0.1:9092, group_id: g }
input: { topic: ai.flowx.dev.plugin.t.in.v1 }
reply: { topic: ai.flowx.dev.engine.receive.t.out.v1 }
systems:
  bank: { endpoints: [ "http://127.0.0.1:1" ] }
  kyc: { endpoints: [ "http://127.0.0.1:1" ], soap: { version: "1.1", namespaces: { k: "urn:example:kyc" } } }
)yaml";

class FlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(FXC_TEST_TMP_DIR) / "flow" / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  std::string write(const std::string& name, const std::string& text) {
    auto path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }
  // The problems `lint` reports for a config whose flow part is `flow` (after kHead).
  std::string lint(const std::string& flow, const char* head = kHead) {
    auto path = write("c.yaml", std::string(head) + flow);
    try {
      compile(config::load(path));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }
  struct Run {
    int code;
    std::string out, err;
  };
  // Runs `tests` (cases only; the fixed clock and config are added) against `flow`.
  Run test(const std::string& flow, const std::string& tests, bool explain = false, const char* head = kHead) {
    auto config = write("c.yaml", std::string(head) + flow);
    auto file = write("t.yaml",
                      "config: c.yaml\nfixed: { uuid: 00000000-0000-4000-8000-000000000001, now: "
                      "2026-03-01T09:00:00Z }\ntests:\n" +
                          tests);
    std::ostringstream out, err;
    TestOptions options;
    options.files = {file};
    options.explain = explain;
    int code = run_tests(options, out, err);
    (void)config;
    return {code, out.str(), err.str()};
  }
  fs::path dir_;
};

// ---------------------------------------------------------------- lint: every mistake, with its place

TEST_F(FlowTest, LintNamesEachMistakeWithItsPlace) {
  auto problems = lint(R"yaml(flow:
  - validate: { schema: nowhere.json }
  - map:
      a: { from: request.x, lookup: countries }
      b: { from: request.y, date: { in: dd/MM/yy, out: yyyy-MM-dd } }
      c: { jq: '.a |' }
      d: { from: acount.body.id }
      e: { from: request.z, value: "x" }
  - call: { as: account, system: corebank, path: /a }
  - call: { as: map, system: bank, accept: [ 700 ] }
  - reply: { id: "${account.body.id}", bad: "${nope.x}" }
  - map: { late: { from: request.a } }
)yaml");
  EXPECT_THAT(problems, HasSubstr("c.yaml:8:25: flow[0].validate.schema: "));
  EXPECT_THAT(problems, HasSubstr("nowhere.json"));
  EXPECT_THAT(problems, HasSubstr("c.yaml:10:37: flow[1].map.a.lookup: 'countries' is not a list; lists: (none)"));
  EXPECT_THAT(problems, HasSubstr("flow[1].map.b.date: "));
  EXPECT_THAT(problems, HasSubstr("c.yaml:12:16: flow[1].map.c.jq: not a jq expression"));
  EXPECT_THAT(problems, HasSubstr("c.yaml:13:18: flow[1].map.d.from: 'acount.body.id' starts at 'acount', which "
                                  "is not defined; data here: request, headers, map"));
  EXPECT_THAT(problems, HasSubstr("c.yaml:14:10: flow[1].map.e: set only one source"));
  EXPECT_THAT(problems, HasSubstr("c.yaml:15:34: flow[2].call.system: 'corebank' is not a system; declared under "
                                  "systems: 'bank', 'kyc'"));
  EXPECT_THAT(problems, HasSubstr("flow[3].call.as: 'map' is taken"));
  EXPECT_THAT(problems, HasSubstr("flow[3].call.accept: '700' is not an HTTP status"));
  EXPECT_THAT(
      problems,
      HasSubstr("c.yaml:17:12: flow[4].reply: 'nope.x' starts at 'nope', which is not defined; data here: request, "
                "headers, map, account\n"));
  EXPECT_THAT(problems, Not(HasSubstr("'account.body.id' starts at")));  // an earlier call's answer is data
  EXPECT_THAT(problems, HasSubstr("c.yaml:18:5: flow[5].map: a step after `reply`"));
}

TEST_F(FlowTest, LintRefusesAConfigWithBothOrNeitherHandlerAndFlow) {
  auto both = write("both.yaml", std::string(kHead) + "handler: { name: echo }\nflow:\n  - reply: {}\n");
  EXPECT_THROW(
      {
        try {
          config::load(both);
        } catch (const ConfigError& e) {
          EXPECT_THAT(e.what(), HasSubstr("flow: set only one of `handler`"));
          throw;
        }
      },
      ConfigError);
  auto neither = write("neither.yaml", kHead);
  try {
    config::load(neither);
    ADD_FAILURE() << "a config without handler or flow was accepted";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("neither.yaml:1:1: handler: required key is missing: set `handler`"));
  }
}

TEST_F(FlowTest, LintChecksSoapCallsAndFailWhen) {
  auto problems = lint(R"yaml(flow:
  - call:
      as: check
      system: kyc
      soap: { action: "urn:kyc#Check", version: "1.2" }
      body: "<k:Check/>"
      extract:
        status: { xpath: "//x:Status" }
        score: { xpath: "//k:Score[", type: integer }
        body: { xpath: //k:Body }
      fail_when:
        - if: '.check.status == '
        - if: 'true'
          error: { code: not_a_code }
  - call: { as: rest, system: bank, extract: { a: { xpath: //a } } }
  - reply: "${check.status}"
)yaml");
  EXPECT_THAT(problems, HasSubstr("flow[0].call.soap.version: system 'kyc' speaks SOAP 1.1"));
  EXPECT_THAT(problems, HasSubstr("flow[0].call.extract.status.xpath: '//x:Status': prefix 'x' is not declared; "
                                  "declared: k, soap"));
  EXPECT_THAT(problems, HasSubstr("flow[0].call.extract.score.xpath: '//k:Score[' is not an XPath 1.0 expression"));
  EXPECT_THAT(problems, HasSubstr("flow[0].call.extract.body: a name of letters"));
  EXPECT_THAT(problems, HasSubstr("flow[0].call.fail_when[0].if: not a jq expression"));
  EXPECT_THAT(problems, HasSubstr("flow[0].call.fail_when[1].error.code: 'not_a_code' is not an error code"));
  EXPECT_THAT(problems, HasSubstr("flow[1].call.extract: `extract` reads SOAP answers"));
}

TEST_F(FlowTest, AFlowWithoutReplyIsRefused) {
  EXPECT_THAT(lint("flow:\n  - map: { a: request.a }\n"), HasSubstr("the flow has no `reply` step"));
}

// ---------------------------------------------------------------- running

const char* kCopy = R"yaml(flow:
  - map:
      big: { from: request.big }
      dec: { from: request.dec }
      nothing: { from: request.nothing }
      absent: { from: request.absent, required: false }
      fallback: { from: request.absent, default: WEB }
      n: { from: request.n, type: number }
      s: { from: request.dec, type: string }
  - reply: { all: "${map}", text: "big=${map.big} dec=${map.dec}" }
)yaml";

TEST_F(FlowTest, FromCopiesExactlyAndTellsNullFromAbsent) {
  auto r = test(kCopy, R"yaml(  - name: exact
    request: { body_text: '{"big": 123456789012345678901234567890, "dec": 0.1000000000000000055511151231257827, "nothing": null, "n": "42"}' }
    reply:
      all: { big: 123456789012345678901234567890, dec: 0.1000000000000000055511151231257827, nothing: null,
             fallback: WEB, n: 42, s: "0.1000000000000000055511151231257827" }
      text: "big=123456789012345678901234567890 dec=0.1000000000000000055511151231257827"
)yaml");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("1 passed, 0 failed"));
}

TEST_F(FlowTest, AMissingPathIsAnErrorNamingTheField) {
  auto r = test(kCopy, R"yaml(  - name: missing
    request: { body: { dec: 1, nothing: null, n: "1" } }
    error: { code: invalid_request, field: request.big, step: map, message: "request.big: missing (map.big needs it)" }
)yaml");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
}

TEST_F(FlowTest, JqComputesAndItsErrorsNameTheStep) {
  const char* flow = R"yaml(flow_limits: { jq_input_bytes: 1024 }
flow:
  - map:
      kyc: { jq: '.request.amount | tonumber > 10000' }
  - reply: "${map}"
)yaml";
  std::string cases = R"yaml(  - name: true
    request: { body: { amount: "12000" } }
    reply: { kyc: true }
  - name: false
    request: { body: { amount: 9000 } }
    reply: { kyc: false }
  - name: runtime error
    request: { body: { amount: "abc" } }
    error: { code: handler_failed, message_includes: "map.kyc: jq: " }
  - name: input cap
    request: { body_text: '{"amount": 1, "pad": "PAD"}' }
    error: { code: handler_failed, message_includes: "the limit is 1024" }
)yaml";
  cases.replace(cases.find("PAD"), 3, std::string(2000, 'x'));
  auto r = test(flow, cases);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("4 passed, 0 failed"));
}

TEST_F(FlowTest, RestCallFailWhenAndReplyFromTheAnswer) {
  const char* flow = R"yaml(flow:
  - map:
      ref: { from: request.ref, trim: true, upper: true }
  - call:
      as: account
      system: bank
      method: POST
      path: /accounts/${map.ref}
      query: { channel: "${request.channel}" }
      body: { ref: "${map.ref}", amount: "${request.amount}" }
      accept: [200, 201]
      fail_when:
        - if: '.account.body.status == "REJECTED"'
          error: { code: handler_failed, retriable: false, message: 'rejected: \(.account.body.reason)' }
  - reply: { id: "${account.body.id}", status: "${account.status}", server: "${account.headers.x-server}" }
)yaml";
  auto r = test(flow, R"yaml(  - name: opened
    request: { body: { ref: " c-1 ", channel: web, amount: 12345678901234567890 } }
    legacy:
      bank:
        - expect: { method: POST, path: /accounts/C-1, query: { channel: web },
                    body: { ref: C-1, amount: 12345678901234567890 } }
          respond: { status: 201, headers: { X-Server: core-1 }, body: { id: A-1, status: OPEN } }
    reply: { id: A-1, status: 201, server: core-1 }
  - name: a 200 that is an error
    request: { body: { ref: c-2, channel: web, amount: 1 } }
    legacy:
      bank:
        - respond: { body: { status: REJECTED, reason: "blacklisted" } }
    error: { code: handler_failed, retriable: false, message: "rejected: blacklisted", step: "call:account" }
  - name: the answer lacks what the reply needs
    request: { body: { ref: c-3, channel: web, amount: 1 } }
    legacy:
      bank:
        - respond: { body: { status: OPEN } }
    error: { code: legacy_failed, message_includes: "${account.body.id}: no such path" }
)yaml");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("3 passed, 0 failed"));
}

TEST_F(FlowTest, SoapCallExtractsTypedValuesWhateverThePrefix) {
  const char* flow = R"yaml(flow:
  - call:
      as: kyc
      system: kyc
      path: /kyc
      soap: { action: "urn:kyc#Check" }
      body: "<k:Check xmlns:k='urn:example:kyc'><k:id>${request.id}</k:id></k:Check>"
      extract:
        status: { xpath: //k:Status }
        score: { xpath: //k:RiskScore, type: integer }
        flags: { xpath: //k:Flag, type: list }
        pep: { xpath: //k:Pep, type: boolean, required: false }
  - reply: { status: "${kyc.status}", score: "${kyc.score}", flags: "${kyc.flags}", body: "${kyc.body}" }
)yaml";
  auto r = test(flow, R"yaml(  - name: other prefix
    request: { body: { id: "a<b&c]]>" } }
    legacy:
      kyc:
        - expect: { action: "urn:kyc#Check", body: "<k:Check xmlns:k='urn:example:kyc'><k:id>a&lt;b&amp;c]]&gt;</k:id></k:Check>" }
          respond: { body: "<z:R xmlns:z='urn:example:kyc'><z:Status>CLEAR</z:Status><z:RiskScore>90071992547409931</z:RiskScore><z:Flag>a</z:Flag><z:Flag>b</z:Flag></z:R>" }
    reply: { status: CLEAR, score: 90071992547409931, flags: [a, b], body: { R: { Status: CLEAR, RiskScore: "90071992547409931", Flag: [a, b] } } }
  - name: not an integer
    request: { body: { id: x } }
    legacy:
      kyc:
        - respond: { body: "<k:R xmlns:k='urn:example:kyc'><k:Status>CLEAR</k:Status><k:RiskScore>high</k:RiskScore></k:R>" }
    error: { code: legacy_failed, message_includes: "extract score (//k:RiskScore): 'high' is not an integer" }
  - name: a fault
    request: { body: { id: x } }
    legacy:
      kyc:
        - respond: { fault: { code: "soap:Server", string: "down for maintenance" } }
    error: { code: legacy_failed, retriable: true, message_includes: "down for maintenance" }
)yaml");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("3 passed, 0 failed"));
}

// ---------------------------------------------------------------- the runner itself

TEST_F(FlowTest, UnexpectedCallsUnusedExpectationsAndDiffsFail) {
  const char* flow = R"yaml(flow:
  - call: { as: a, system: bank, path: /x }
  - reply: { id: "${a.body.id}", n: 1 }
)yaml";
  auto r = test(flow, R"yaml(  - name: unexpected call
    request: { body: {} }
    legacy: { bank: [] }
    reply: { id: A, n: 1 }
  - name: unused expectation
    request: { body: {} }
    legacy:
      bank:
        - respond: { body: { id: A } }
        - respond: { body: { id: B } }
    reply: { id: A, n: 1 }
  - name: diff
    request: { body: {} }
    legacy:
      bank:
        - expect: { path: /y }
          respond: { body: { id: A } }
    reply: { id: B, m: 2 }
)yaml");
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("FAIL  unexpected call\n      unexpected call to bank: GET /x"));
  EXPECT_THAT(r.out, HasSubstr("expected call to bank was not made"));
  EXPECT_THAT(r.out, HasSubstr("expect: path /y expected, the flow called /x"));
  EXPECT_THAT(r.out, HasSubstr("reply $.id: expected \"B\", got \"A\""));
  EXPECT_THAT(r.out, HasSubstr("reply $.m: missing; expected 2"));
  EXPECT_THAT(r.out, HasSubstr("reply $.n: not expected; got 1"));
  EXPECT_THAT(r.out, ::testing::EndsWith("0 passed, 3 failed\n"));
}

TEST_F(FlowTest, FixedClockAndUuidsAndExplain) {
  const char* flow = R"yaml(flow:
  - map:
      id1: { uuid: v4 }
      id2: { uuid: v4 }
      at: { now: iso }
      day: { now: dd/MM/yyyy, zone: Pacific/Auckland }
  - reply: "${map}"
)yaml";
  auto r = test(flow, R"yaml(  - name: fixed
    request: { body: {} }
    reply: { id1: 00000000-0000-4000-8000-000000000001, id2: 00000000-0000-4000-8000-000000000002,
             at: "2026-03-01T09:00:00Z", day: 01/03/2026 }
)yaml",
                true);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out,
              HasSubstr("  step map\n    in:  {\"request\":{},\"headers\":{\"processInstanceUuid\":\"test-1\"}"));
  EXPECT_THAT(r.out, HasSubstr("    out: {\"id1\":\"00000000-0000-4000-8000-000000000001\""));
}

TEST_F(FlowTest, ATestsFileWithATypoOrAnUndeclaredSystemIsRefused) {
  const char* flow = "flow:\n  - reply: {}\n";
  auto typo = test(flow, "  - name: t\n    request: { body: {} }\n    replyy: {}\n");
  EXPECT_EQ(typo.code, 2);
  EXPECT_THAT(typo.err, HasSubstr("t.yaml:6:5: tests[].replyy: unknown key; valid keys: name, request"));
  auto system = test(flow, "  - name: t\n    request: { body: {} }\n    legacy: { bnak: [] }\n    reply: {}\n");
  EXPECT_EQ(system.code, 2);
  EXPECT_THAT(system.err, HasSubstr("legacy.bnak: not a system of"));
  EXPECT_THAT(system.err, HasSubstr("its systems: bank, kyc"));
  auto status = test("flow:\n  - call: { as: a, system: bank }\n  - reply: {}\n",
                     "  - name: t\n    request: { body: {} }\n    legacy: { bank: [ { respond: { status: abc } } ] }\n"
                     "    reply: {}\n");
  EXPECT_EQ(status.code, 2);
  EXPECT_THAT(status.err, HasSubstr("respond.status: 'abc' is not an HTTP status (100-599)"));
}

// The issue's own example, verbatim (test/unit/flow/issue-shape/), with its tests file.
TEST_F(FlowTest, TheShapeAsTheIssueWritesItWorks) {
  std::ostringstream out, err;
  TestOptions options;
  options.files = {std::string(FXC_SOURCE_DIR) + "/test/unit/flow/issue-shape/tests.yaml"};
  EXPECT_EQ(run_tests(options, out, err), 0) << out.str() << err.str();
  EXPECT_THAT(out.str(), ::testing::EndsWith("5 passed, 0 failed\n"));
}

// ---------------------------------------------------------------- sql, file_exchange, exec

const char* kSystemsHead = R"yaml(kafka: { bootstrap: 127.0.0.1:9092, group_id: g }
input: { topic: ai.flowx.dev.plugin.t.in.v1 }
reply: { topic: ai.flowx.dev.engine.receive.t.out.v1 }
systems:
  bank: { endpoints: [ "http://127.0.0.1:1" ] }
  ledger: { postgres: { dsn: "host=127.0.0.1 dbname=bank", max_rows: 3 } }
  batch: { dir: { path: /nonexistent/at/lint/time } }
  bot: { exec: { command: [ bin/bot ], unavailable_exit_codes: [ 75 ] } }
)yaml";

TEST_F(FlowTest, LintChecksSqlFileAndExecSteps) {
  auto problems = lint(R"yaml(flow:
  - sql: { as: c, system: bank, query: "select 1" }
  - sql: { as: d, system: ledger, query: "select * from t where a = '${request.a}'" }
  - sql: { as: e, system: ledger, query: "select * from t where a = $1 and b = $2", params: [ "${request.a}" ], rows: all }
  - file_exchange: { as: f, system: ledger, write: { name: "REQ-${@uuid}", body: "${map}" } }
  - file_exchange: { as: g, system: batch, write: { name: "REQ" }, await: { name: "${nothing.here}", parse: yaml, timeout: soon }, archive: ../up }
  - exec: { as: h, system: batch, args: "one" }
  - exec: { as: i, system: bot, args: [ "${request.ref}" ], stdin: "${later.x}", parse: html }
  - exec: { as: j, system: bot, shell: true }
  - reply: {}
)yaml",
                       kSystemsHead);
  EXPECT_THAT(problems, HasSubstr("c.yaml:10:27: flow[0].sql.system: 'bank' is an http system; flow[0].sql reaches SQL "
                                  "systems: 'ledger'"));
  EXPECT_THAT(problems, HasSubstr("flow[1].sql.query: a query takes values only as parameters"));
  EXPECT_THAT(problems, HasSubstr("flow[2].sql.params: the query uses 2 parameters ($1..$2) and 1 value is listed"));
  EXPECT_THAT(problems, HasSubstr("flow[2].sql.rows: 'all' is not one of one|optional|many|none"));
  EXPECT_THAT(problems, HasSubstr("flow[3].file_exchange.system: 'ledger' is a postgres system; flow[3].file_exchange "
                                  "reaches file exchange systems: 'batch'"));
  EXPECT_THAT(problems, HasSubstr("flow[4].file_exchange.write: `body` is required"));
  EXPECT_THAT(problems, HasSubstr("'nothing.here' starts at 'nothing', which is not defined"));
  EXPECT_THAT(problems, HasSubstr("flow[4].file_exchange.await.parse: 'yaml' is not one of json|xml|csv|text"));
  EXPECT_THAT(problems, HasSubstr("flow[4].file_exchange.await.timeout: 'soon' is not a duration"));
  EXPECT_THAT(problems, HasSubstr("flow[4].file_exchange.archive: '../up': a folder inside the system's folder"));
  EXPECT_THAT(problems, HasSubstr("flow[5].exec.system: 'batch' is a dir system"));
  EXPECT_THAT(problems, HasSubstr("flow[5].exec.args: expected a list of arguments"));
  EXPECT_THAT(problems, HasSubstr("flow[6].exec.parse: 'html' is not one of json|xml|csv|text"));
  EXPECT_THAT(problems, HasSubstr("flow[7].exec.shell: unknown key"));
  EXPECT_THAT(problems, HasSubstr("'later.x' starts at 'later', which is not defined"));
}

TEST_F(FlowTest, SqlRowsOneOptionalManyNoneWithExactNumbersAndParameters) {
  const char* flow = R"yaml(flow:
  - sql: { as: client, system: ledger, query: "select id, balance, vip, tags from clients where ref = $1 and since > $2",
           params: [ "${request.ref}", "${request.since}" ], rows: one }
  - sql: { as: maybe, system: ledger, query: "select note from notes where client = $1", params: [ "${client.id}" ],
           rows: optional }
  - sql: { as: loans, system: ledger, query: "select id from loans where client = $1", params: [ "${client.id}" ] }
  - sql: { as: touched, system: ledger, query: "update clients set seen = now() where id = $1", params: [ "${client.id}" ],
           rows: none }
  - reply: { id: "${client.id}", balance: "${client.balance}", vip: "${client.vip}", tags: "${client.tags}",
             note: "${maybe}", loans: "${loans}", touched: "${touched.affected}" }
)yaml";
  auto r = test(flow, R"yaml(  - name: found
    request: { body: { ref: "O'Brien; drop table clients", since: null } }
    legacy:
      ledger:
        - expect: { params: [ "O'Brien; drop table clients", null ] }
          respond: { rows: [ { id: 7, balance: 12345678901234567890.123456789, vip: true, tags: [ a ] } ] }
        - respond: { rows: [] }
        - respond: { rows: [ { id: 1 }, { id: 2 } ] }
        - respond: { affected: 1 }
    reply: { id: 7, balance: 12345678901234567890.123456789, vip: true, tags: [ a ], note: null,
             loans: [ { id: 1 }, { id: 2 } ], touched: 1 }
  - name: two clients where one is expected
    request: { body: { ref: x, since: 1 } }
    legacy:
      ledger:
        - expect: { params: [ x, "1" ] }
          respond: { rows: [ { id: 7 }, { id: 8 } ] }
    error: { code: legacy_failed, step: "sql:client", message_includes: "expected exactly one row, the query returned 2 rows" }
  - name: more rows than max_rows
    request: { body: { ref: x, since: 1 } }
    legacy:
      ledger:
        - respond: { rows: [ { id: 7 } ] }
        - respond: { rows: [] }
        - respond: { rows: [ { id: 1 }, { id: 2 }, { id: 3 }, { id: 4 } ] }
    error: { code: legacy_failed, step: "sql:loans", message_includes: "more than 3 rows (max_rows)" }
  - name: the database is down
    request: { body: { ref: x, since: 1 } }
    legacy:
      ledger:
        - respond: { error: legacy_unavailable }
    error: { code: legacy_unavailable, retriable: true, step: "sql:client" }
)yaml",
                false, kSystemsHead);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("4 passed, 0 failed"));
}

TEST_F(FlowTest, FileExchangeAndExecParseTheirAnswers) {
  const char* flow = R"yaml(flow:
  - file_exchange:
      as: statement
      system: batch
      write: { name: "REQ-${request.id}.json", body: { ref: "${request.id}", amount: "${request.amount}" } }
      await: { name: "RSP-${request.id}.csv", parse: csv }
      fail_when:
        - if: '.statement | length == 0'
          error: { code: legacy_failed, message: 'empty statement' }
  - file_exchange: { as: ack, system: batch, write: { name: "ACK-${request.id}.xml", body: "<ack id='${request.id}'/>" },
                     await: { name: "ACK-${request.id}.rsp", parse: xml } }
  - file_exchange: { as: notice, system: batch, write: { name: "NOTE-${request.id}.txt", body: "done" } }
  - exec: { as: bot, system: bot, args: [ "--ref", "${request.id}", "two words" ], stdin: "${statement}", parse: text }
  - map:
      ack: { jq: '.ack.ack["@status"]' }
  - reply: { lines: "${statement}", ack: "${map.ack}", bot: "${bot}" }
)yaml";
  auto r = test(flow, R"yaml(  - name: exchanged
    request: { body: { id: R1, amount: 10.50 } }
    legacy:
      batch:
        - expect: { name: REQ-R1.json, body: { ref: R1, amount: 10.50 }, answer: RSP-R1.csv }
          respond: { body: "date,amount\n2026-01-02,\"1,5\"\n" }
        - expect: { name: ACK-R1.xml, body: "<ack id='R1'/>" }
          respond: { body: "<ack status='OK'><id>R1</id></ack>" }
        - expect: { name: NOTE-R1.txt, body: done, answer: "" }
      bot:
        - expect: { args: [ --ref, R1, two words ], stdin: [ { date: 2026-01-02, amount: "1,5" } ] }
          respond: { stdout: "opened\n" }
    reply: { lines: [ { date: 2026-01-02, amount: "1,5" } ], ack: OK, bot: "opened\n" }
  - name: an empty statement fails the step
    request: { body: { id: R2, amount: 1 } }
    legacy:
      batch:
        - respond: { body: "date,amount\n" }
    error: { code: legacy_failed, message: empty statement, step: "file_exchange:statement" }
  - name: a CSV answer with a broken row
    request: { body: { id: R3, amount: 1 } }
    legacy:
      batch:
        - respond: { body: "date,amount\n2026-01-02\n" }
    error: { code: legacy_failed, message_includes: "RSP-R3.csv:2: 1 field, the header has 2" }
  - name: the bot is busy
    request: { body: { id: R4, amount: 1 } }
    legacy:
      batch:
        - respond: { body: "date,amount\nx,1\n" }
        - respond: { body: "<ack status='OK'/>" }
        - {}
      bot:
        - respond: { exit_code: 75, stderr: "try later" }
    error: { code: legacy_unavailable, retriable: true, step: "exec:bot" }
)yaml",
                false, kSystemsHead);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("4 passed, 0 failed"));
}

TEST_F(FlowTest, TheLegacySystemsShapeAsIssueTenWritesItWorks) {
  // The issue's config interpolates these; any values do for recorded answers.
  ::setenv("PGPORT", "5432", 0);
  ::setenv("PGPASSWORD", "secret", 0);
  ::setenv("SFTP_PORT", "2222", 0);
  std::ostringstream out, err;
  TestOptions options;
  options.files = {std::string(FXC_SOURCE_DIR) + "/test/unit/flow/issue10-shape/tests.yaml"};
  EXPECT_EQ(run_tests(options, out, err), 0) << out.str() << err.str();
  EXPECT_THAT(out.str(), ::testing::EndsWith("5 passed, 0 failed\n"));
}

TEST_F(FlowTest, BadFilesExitTwo) {
  auto tests = write("t.yaml", "config: missing.yaml\ntests: []\n");
  std::ostringstream out, err;
  TestOptions options;
  options.files = {tests};
  EXPECT_EQ(run_tests(options, out, err), 2);
  EXPECT_THAT(err.str(), HasSubstr("missing.yaml: cannot read the file"));
}

}  // namespace
}  // namespace fxconnect::flow
