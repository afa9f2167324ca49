// File exchange systems (src/systems/files/): `dir:` on a folder under the test's temp dir, and
// `sftp:` against OpenSSH's sshd started by scripts/sftp.sh (FXC_SFTP_URL, FXC_SFTP_USER,
// FXC_SFTP_KEY, FXC_SFTP_KNOWN_HOSTS and FXC_SFTP_DIR, set by scripts/lib.sh's fxc_private_sftp;
// the sftp tests are skipped without them). The other side of an exchange is played by the test
// itself between turns of the loop (or from a thread, for a slow writer) or by the batch-system
// stand-in (examples/file-exchange/batch-system.py). Each test drives one FileSystem on its own
// io_context, as the runtime's loop does, and checks what the call ends with, the files left
// behind, and that `done` ran exactly once.
//
// Timing: only lower bounds and generous upper bounds (a call that must end "at once" ends long
// before its deadline).
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>

#include "child_process.h"
#include "config/config.h"
#include "fxconnect/handler.h"
#include "observability/metrics.h"
#include "observability/tracer.h"
#include "systems/files/file_system.h"
#include "systems/http/curl_multi.h"

namespace fxconnect::testing {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace json = boost::json;
using config::FileSystemConfig;
using std::chrono::milliseconds;
using systems::CallContext;
using systems::FileSystem;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

std::string unique(const std::string& prefix) {
  std::random_device rd;
  return prefix + std::to_string(rd()) + std::to_string(rd());
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string slurp(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void spit(const fs::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

// The names in a folder (files and folders, dot files included).
std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.insert(e.path().filename().string());
  return out;
}

std::string text_of(int n, char seed) {
  std::string s;
  s.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) s += static_cast<char>('a' + (seed + i) % 26);
  return s;
}

struct Outcome {
  Result<FileExchangeResponse> result = Error{ErrorCode::internal, "not finished", false, std::nullopt};
  int times = 0;  // how often `done` ran: must be 1
  Clock::duration took{};
};

class FileExchange : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(FXC_TEST_TMP_DIR) / unique("files-");
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  FileSystemConfig dir_config(const std::function<void(FileSystemConfig&)>& change = {}) {
    FileSystemConfig c;
    c.name = "batch";
    c.kind = FileSystemConfig::Kind::dir;
    c.path = dir_.string();
    c.poll = milliseconds(50);
    c.stable_for = milliseconds(300);
    c.await_timeout = milliseconds(30'000);
    if (change) change(c);
    return c;
  }

  std::unique_ptr<FileSystem> make(FileSystemConfig c) {
    return std::make_unique<FileSystem>(io_, *curl_, std::move(c), metrics_);
  }

  // Runs the loop until `finished`, at most 90 s, calling `each_turn` (the other side) between
  // turns.
  void drive(const std::function<bool()>& finished, const std::function<void()>& each_turn = {}) {
    auto give_up = Clock::now() + std::chrono::seconds(90);
    while (!finished() && Clock::now() < give_up) {
      io_.restart();
      io_.run_for(milliseconds(10));
      if (each_turn) each_turn();
    }
    EXPECT_TRUE(finished()) << "still running after 90 s";
  }

  // One call to its end, with `deadline` from now.
  Outcome run(FileSystem& sys, const FileExchangeRequest& request, milliseconds deadline = milliseconds(60'000),
              const std::function<void()>& each_turn = {}, const CallContext* context = nullptr) {
    Outcome o;
    auto start = Clock::now();
    CallContext ctx = context ? *context : CallContext{start + deadline, nullptr, {}};
    sys.call(ctx, request, [&](Result<FileExchangeResponse> r) {
      o.result = std::move(r);
      o.took = Clock::now() - start;
      ++o.times;
    });
    EXPECT_EQ(o.times, 0) << "done never runs inside call()";
    drive([&] { return o.times > 0; }, each_turn);
    io_.restart();
    io_.run_for(milliseconds(50));  // a second `done` would show here
    EXPECT_EQ(o.times, 1) << "done runs exactly once";
    return o;
  }

  static FileExchangeRequest request(const std::string& id, std::string body, bool answer = true) {
    FileExchangeRequest r;
    r.name = "REQ-" + id + ".json";
    r.body = std::move(body);
    if (answer) r.answer = "RSP-" + id + ".json";
    return r;
  }

  fs::path dir_;
  asio::io_context io_;
  std::unique_ptr<systems::http::CurlMulti> curl_ = std::make_unique<systems::http::CurlMulti>(io_);
  std::shared_ptr<observability::LegacyMetrics> metrics_ = std::make_shared<observability::LegacyMetrics>();
};

// ---- dir -----------------------------------------------------------------------------------

TEST_F(FileExchange, DirFolderThatDoesNotExistIsAConfigError) {
  try {
    make(dir_config([&](FileSystemConfig& c) { c.path = (dir_ / "nope").string(); }));
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(),
                HasSubstr("systems.batch.dir.path: '" + (dir_ / "nope").string() + "' is not a folder that exists"));
  }
}

// The request appears whole under its name or not at all: a watcher thread looking at the folder
// as fast as it can while 16 MB are written never sees it shorter.
TEST_F(FileExchange, DirPublishIsAtomic) {
  auto sys = make(dir_config());
  auto r = request("atomic", text_of(16 << 20, 3), false);
  std::atomic<bool> stop{false};
  std::atomic<int> seen_whole{0}, seen_partial{0};
  std::thread watcher([&] {
    auto path = dir_ / r.name;
    while (!stop) {
      struct ::stat st {};
      if (::stat(path.c_str(), &st) == 0) {
        (static_cast<std::size_t>(st.st_size) == r.body.size() ? seen_whole : seen_partial)++;
      }
    }
  });
  auto o = run(*sys, r);
  stop = true;
  watcher.join();
  ASSERT_TRUE(o.result) << o.result.error().message;
  EXPECT_EQ(o.result.value().name, "") << "write-only";
  EXPECT_FALSE(o.result.value().already_sent);
  EXPECT_EQ(seen_partial, 0) << "the request was seen half-written under its name";
  EXPECT_EQ(slurp(dir_ / r.name), r.body);
  EXPECT_EQ(names_in(dir_), std::set<std::string>{r.name}) << "no temporary file left";
  EXPECT_EQ(metrics_->calls[observability::LegacyMetrics::ok], 1U);
  EXPECT_EQ(metrics_->in_flight, 0U);
}

// The other side answers once the request is there; with no archive, both files are removed.
TEST_F(FileExchange, DirAnswerIsFoundAndBothFilesRemoved) {
  auto sys = make(dir_config());
  auto r = request("found", R"({"amount": 42})");
  std::string received;
  auto o = run(*sys, r, milliseconds(60'000), [&] {
    if (received.empty() && fs::exists(dir_ / r.name)) {
      received = slurp(dir_ / r.name);
      spit(dir_ / r.answer, R"({"status": "DONE"})");
    }
  });
  ASSERT_TRUE(o.result) << o.result.error().message;
  EXPECT_EQ(received, r.body);
  EXPECT_EQ(o.result.value().name, r.answer);
  EXPECT_EQ(o.result.value().body, R"({"status": "DONE"})");
  EXPECT_FALSE(o.result.value().already_sent);
  EXPECT_TRUE(names_in(dir_).empty()) << "request and answer removed, nothing else left";
  EXPECT_EQ(metrics_->calls[observability::LegacyMetrics::ok], 1U);
}

// size_stable: an answer written in pieces by a slow writer is read only once it is whole.
TEST_F(FileExchange, DirSlowAnswerIsReadWhole) {
  auto sys = make(dir_config([](FileSystemConfig& c) { c.stable_for = milliseconds(1'000); }));
  auto r = request("slow", "{}");
  std::string answer = text_of(60'000, 7);
  std::atomic<bool> started{false};
  std::atomic<bool> written{false};
  Clock::time_point last_piece;
  std::thread writer;
  auto o = run(*sys, r, milliseconds(60'000), [&] {
    if (started || !fs::exists(dir_ / r.name)) return;
    started = true;
    writer = std::thread([&] {
      std::ofstream f(dir_ / r.answer, std::ios::binary);
      for (std::size_t i = 0; i < 6; ++i) {
        if (i) std::this_thread::sleep_for(milliseconds(150));
        f.write(answer.data() + i * 10'000, 10'000);
        f.flush();
      }
      last_piece = Clock::now();
      written = true;
    });
  });
  auto ended = Clock::now();
  if (writer.joinable()) writer.join();
  ASSERT_TRUE(o.result) << o.result.error().message;
  EXPECT_TRUE(written.load());
  EXPECT_EQ(o.result.value().body.size(), answer.size());
  EXPECT_EQ(o.result.value().body, answer);
  EXPECT_GE(ended, last_piece) << "read before the last piece was written";
}

// marker: a half-written answer is left alone until the marker exists; with an archive, the
// request, the answer and the marker all move there.
TEST_F(FileExchange, DirMarkerModeAndArchive) {
  auto sys = make(dir_config([](FileSystemConfig& c) {
    c.complete = FileSystemConfig::Complete::marker;
    c.marker_suffix = ".ok";
  }));
  auto r = request("marker", "{}");
  r.archive = "done/2026/";
  Outcome o;
  sys->call(CallContext{Clock::now() + std::chrono::seconds(60), nullptr, {}}, r, [&](auto res) {
    o.result = std::move(res);
    ++o.times;
  });
  drive([&] { return fs::exists(dir_ / r.name); });
  spit(dir_ / r.answer, "first half;");
  auto until = Clock::now() + milliseconds(600);  // a dozen polls
  drive([&] { return Clock::now() >= until; });
  EXPECT_EQ(o.times, 0) << "complete before its marker";
  spit(dir_ / r.answer, "first half;second half");
  spit(dir_ / (r.answer + ".ok"), "");
  drive([&] { return o.times > 0; });
  ASSERT_EQ(o.times, 1);
  ASSERT_TRUE(o.result) << o.result.error().message;
  EXPECT_EQ(o.result.value().body, "first half;second half");
  EXPECT_EQ(names_in(dir_), std::set<std::string>{"done"});
  EXPECT_EQ(names_in(dir_ / "done/2026"), (std::set<std::string>{r.name, r.answer, r.answer + ".ok"}));
  EXPECT_EQ(slurp(dir_ / "done/2026" / r.name), r.body);
}

TEST_F(FileExchange, DirArchiveMovesBothFiles) {
  auto sys = make(dir_config());
  auto r = request("archive", "{\"n\":1}");
  r.archive = "done";
  auto o = run(*sys, r, milliseconds(60'000), [&] {
    if (fs::exists(dir_ / r.name) && !fs::exists(dir_ / r.answer)) spit(dir_ / r.answer, "ok");
  });
  ASSERT_TRUE(o.result) << o.result.error().message;
  EXPECT_EQ(names_in(dir_), std::set<std::string>{"done"});
  EXPECT_EQ(slurp(dir_ / "done" / r.name), r.body);
  EXPECT_EQ(slurp(dir_ / "done" / r.answer), "ok");
}

// No answer: legacy_timeout after the request's await timeout, naming the file; the request
// stays for the other side.
TEST_F(FileExchange, DirNoAnswerTimesOut) {
  auto sys = make(dir_config());
  auto r = request("timeout", "{}");
  r.timeout = milliseconds(500);
  auto o = run(*sys, r, milliseconds(60'000));
  ASSERT_FALSE(o.result);
  EXPECT_EQ(o.result.error().code, ErrorCode::legacy_timeout);
  EXPECT_TRUE(o.result.error().retriable);
  EXPECT_THAT(o.result.error().message, HasSubstr("batch: no answer " + (dir_ / r.answer).string()));
  EXPECT_THAT(o.result.error().message, HasSubstr("await timeout 500ms"));
  EXPECT_GE(o.took, milliseconds(500));
  EXPECT_LT(o.took, milliseconds(500) + std::chrono::seconds(10));
  EXPECT_TRUE(fs::exists(dir_ / r.name)) << "the request file stays";
  EXPECT_EQ(metrics_->calls[observability::LegacyMetrics::timeout], 1U);
}

// The request's deadline bounds the wait (await_timeout is a minute here).
TEST_F(FileExchange, DirDeadlineBoundsTheWait) {
  auto sys = make(dir_config([](FileSystemConfig& c) { c.await_timeout = milliseconds(60'000); }));
  auto r = request("deadline", "{}");
  auto o = run(*sys, r, milliseconds(700));
  ASSERT_FALSE(o.result);
  EXPECT_EQ(o.result.error().code, ErrorCode::legacy_timeout);
  EXPECT_THAT(o.result.error().message, HasSubstr("the request's deadline"));
  EXPECT_GE(o.took, milliseconds(690));
  EXPECT_LT(o.took, milliseconds(700) + std::chrono::seconds(2));
}

// A restart: the request file of a previous run is there (not yet taken by the other side). It is
// not written again, and the answer, when it comes, is taken.
TEST_F(FileExchange, DirRestartDoesNotRewriteTheRequest) {
  auto sys = make(dir_config());
  auto r = request("restart", "new body");
  r.archive = "done";
  spit(dir_ / r.name, "body of the previous run");
  auto old = fs::last_write_time(dir_ / r.name) - std::chrono::hours(1);
  fs::last_write_time(dir_ / r.name, old);
  bool checked = false;
  auto o = run(*sys, r, milliseconds(60'000), [&] {
    if (checked) return;
    // Once the call awaits (its first looks are done), the other side answers.
    if (metrics_->in_flight == 1 && fs::exists(dir_ / r.name)) {
      EXPECT_EQ(slurp(dir_ / r.name), "body of the previous run");
      spit(dir_ / r.answer, "answer");
      checked = true;
    }
  });
  ASSERT_TRUE(o.result) << o.result.error().message;
  EXPECT_TRUE(o.result.value().already_sent);
  EXPECT_EQ(o.result.value().body, "answer");
  EXPECT_EQ(slurp(dir_ / "done" / r.name), "body of the previous run") << "not rewritten";
  EXPECT_EQ(fs::last_write_time(dir_ / "done" / r.name), old) << "not touched";
  EXPECT_FALSE(names_in(dir_).count(".REQ-restart.json.part"));
}

// A restart: the answer arrived while the connector was down (the other side consumed the
// request). It is taken at once; no request is written.
TEST_F(FileExchange, DirRestartTakesAnAnswerThatArrivedMeanwhile) {
  auto sys = make(dir_config());
  auto r = request("meanwhile", "{}");
  r.archive = "done";
  spit(dir_ / r.answer, "arrived while down");
  auto o = run(*sys, r, milliseconds(60'000));
  ASSERT_TRUE(o.result) << o.result.error().message;
  EXPECT_TRUE(o.result.value().already_sent);
  EXPECT_EQ(o.result.value().body, "arrived while down");
  EXPECT_LT(o.took, std::chrono::seconds(10)) << "no wait for an answer that is there (await timeout 30 s)";
  EXPECT_EQ(names_in(dir_ / "done"), std::set<std::string>{r.answer}) << "the request was never written";
}

// A restart after the exchange was archived but before the reply went out: the archived answer.
TEST_F(FileExchange, DirRestartTakesTheArchivedAnswer) {
  auto sys = make(dir_config());
  auto r = request("archived", "{}");
  r.archive = "done";
  fs::create_directories(dir_ / "done");
  spit(dir_ / "done" / r.name, "{}");
  spit(dir_ / "done" / r.answer, "archived answer");
  auto o = run(*sys, r, milliseconds(60'000));
  ASSERT_TRUE(o.result) << o.result.error().message;
  EXPECT_TRUE(o.result.value().already_sent);
  EXPECT_EQ(o.result.value().body, "archived answer");
  EXPECT_EQ(names_in(dir_), std::set<std::string>{"done"}) << "nothing written";
}

TEST_F(FileExchange, DirAnswerLargerThanMaxFileBytesFails) {
  auto sys = make(dir_config([](FileSystemConfig& c) { c.max_file_bytes = 100; }));
  auto r = request("large", "{}");
  auto o = run(*sys, r, milliseconds(60'000), [&] {
    if (fs::exists(dir_ / r.name) && !fs::exists(dir_ / r.answer)) spit(dir_ / r.answer, text_of(1000, 1));
  });
  ASSERT_FALSE(o.result);
  EXPECT_EQ(o.result.error().code, ErrorCode::legacy_failed);
  EXPECT_FALSE(o.result.error().retriable);
  EXPECT_THAT(o.result.error().message, HasSubstr("max_file_bytes (100)"));
}

// Names that could leave the folder or hide as temporary files are a programming error.
TEST_F(FileExchange, DirRefusesBadNames) {
  auto sys = make(dir_config());
  for (auto change : std::vector<std::function<void(FileExchangeRequest&)>>{
           [](auto& r) { r.name = "../escape.json"; },
           [](auto& r) { r.name = ".hidden"; },
           [](auto& r) { r.name = "a/b.json"; },
           [](auto& r) { r.name = ""; },
           [](auto& r) { r.answer = "x y.json"; },
           [](auto& r) { r.answer = r.name; },
           [](auto& r) { r.archive = "/tmp/done"; },
           [](auto& r) { r.archive = "done/../.."; },
       }) {
    auto r = request("bad", "{}");
    change(r);
    auto o = run(*sys, r, milliseconds(10'000));
    ASSERT_FALSE(o.result) << r.name << " " << r.answer << " " << r.archive;
    EXPECT_EQ(o.result.error().code, ErrorCode::internal) << o.result.error().message;
    EXPECT_THAT(o.result.error().message, HasSubstr("batch: "));
  }
  EXPECT_TRUE(names_in(dir_).empty()) << "nothing written";
  EXPECT_FALSE(fs::exists(dir_.parent_path() / "escape.json"));
}

// Destroying the system drops what is in flight without calling `done`.
TEST_F(FileExchange, DirDestructionDropsCallsUnanswered) {
  auto sys = make(dir_config());
  int times = 0;
  sys->call(CallContext{Clock::now() + std::chrono::seconds(60), nullptr, {}}, request("drop", "{}"),
            [&](auto) { ++times; });
  drive([&] { return fs::exists(dir_ / "REQ-drop.json"); });
  sys.reset();
  io_.restart();
  io_.run_for(milliseconds(200));
  EXPECT_EQ(times, 0);
}

// Many exchanges at once, with a span each (a tracer without an exporter), all answered once.
TEST_F(FileExchange, DirManyExchangesAtOnce) {
  auto sys = make(dir_config([](FileSystemConfig& c) { c.stable_for = milliseconds(100); }));
  auto tracer = std::make_shared<const observability::Tracer>(*observability::Sampler::parse("always"), nullptr);
  observability::TraceContext parent;
  parent.trace_id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  parent.span_id = {1, 1, 1, 1, 1, 1, 1, 1};
  constexpr int kCalls = 50;
  std::vector<Outcome> out(kCalls);
  int left = kCalls;
  for (int i = 0; i < kCalls; ++i) {
    auto r = request("many-" + std::to_string(i), std::to_string(i));
    sys->call(CallContext{Clock::now() + std::chrono::seconds(60), tracer, parent}, r, [&, i](auto res) {
      out[static_cast<std::size_t>(i)].result = std::move(res);
      if (++out[static_cast<std::size_t>(i)].times == 1) --left;
    });
  }
  drive([&] { return left == 0; },
        [&] {
          for (int i = 0; i < kCalls; ++i) {
            auto id = "many-" + std::to_string(i);
            if (fs::exists(dir_ / ("REQ-" + id + ".json")) && !fs::exists(dir_ / ("RSP-" + id + ".json"))) {
              spit(dir_ / ("RSP-" + id + ".json"), "answer " + slurp(dir_ / ("REQ-" + id + ".json")));
            }
          }
        });
  for (int i = 0; i < kCalls; ++i) {
    const auto& o = out[static_cast<std::size_t>(i)];
    EXPECT_EQ(o.times, 1);
    ASSERT_TRUE(o.result) << o.result.error().message;
    EXPECT_EQ(o.result.value().body, "answer " + std::to_string(i));
  }
  EXPECT_EQ(metrics_->calls[observability::LegacyMetrics::ok], static_cast<std::uint64_t>(kCalls));
  EXPECT_EQ(metrics_->in_flight, 0U);
}

// The batch-system stand-in as the other side, writing its answer slowly in pieces.
TEST_F(FileExchange, DirWithTheBatchSystemStandIn) {
  auto sys = make(dir_config([](FileSystemConfig& c) { c.stable_for = milliseconds(1'500); }));
  ChildProcess batch({std::string(FXC_SOURCE_DIR) + "/examples/file-exchange/batch-system.py", "--dir", dir_.string(),
                      "--delay", "0.2", "--chunks", "4", "--chunk-pause", "0.2"},
                     (dir_.parent_path() / (dir_.filename().string() + ".batch.log")).string());
  auto r = request("standin", R"({"customer":"C-1","amountMinor":1250})");
  auto o = run(*sys, r, milliseconds(60'000));
  ASSERT_TRUE(o.result) << o.result.error().message << "\n" << batch.log();
  auto answer = json::parse(o.result.value().body).as_object();
  EXPECT_EQ(answer.at("status"), "DONE");
  EXPECT_EQ(answer.at("received"), json::parse(r.body));
  EXPECT_THAT(batch.log(), HasSubstr("in 4 piece(s)"));
  EXPECT_TRUE(names_in(dir_).empty());
}

// ---- sftp ----------------------------------------------------------------------------------

// The coordinates of an SFTP server: scripts/sftp.sh's lines.
struct SftpServer {
  std::string url, user, key, known_hosts, dir;
};

std::optional<SftpServer> sftp_from_env() {
  SftpServer s{env("FXC_SFTP_URL"), env("FXC_SFTP_USER"), env("FXC_SFTP_KEY"), env("FXC_SFTP_KNOWN_HOSTS"),
               env("FXC_SFTP_DIR")};
  if (s.url.empty() || s.user.empty() || s.key.empty() || s.known_hosts.empty() || s.dir.empty()) return std::nullopt;
  return s;
}

// Runs scripts/sftp.sh `command` with the state dir `state`; its output (stdout and stderr).
std::string sftp_script(const std::string& state, const std::string& command) {
  auto log = state + "." + command + ".log";
  ChildProcess p({"/usr/bin/env", "FXC_SFTP_STATE=" + state, std::string(FXC_SOURCE_DIR) + "/scripts/sftp.sh", command},
                 log);
  auto rc = p.wait(std::chrono::seconds(60));
  EXPECT_TRUE(rc.has_value() && (*rc == 0 || command == "status")) << "sftp.sh " << command << ":\n" << p.log();
  return p.log();
}

std::string line_value(const std::string& out, const std::string& key) {
  std::istringstream in(out);
  std::string line;
  std::string value;
  while (std::getline(in, line)) {
    if (line.rfind(key + "=", 0) == 0) value = line.substr(key.size() + 1);
  }
  return value;
}

class SftpExchange : public FileExchange {
 protected:
  void SetUp() override {
    FileExchange::SetUp();
    auto s = sftp_from_env();
    if (!s) GTEST_SKIP() << "FXC_SFTP_URL etc. are not set (scripts/sftp.sh start prints them)";
    server_ = *s;
    prefix_ = unique("t");
  }
  void TearDown() override {
    // This test's files only (the folder is shared with other runs).
    std::error_code ec;
    if (!server_.dir.empty()) {
      for (const auto& n : names_in(server_.dir)) {
        if (n.find(prefix_) != std::string::npos) fs::remove_all(fs::path(server_.dir) / n, ec);
      }
    }
    FileExchange::TearDown();
  }

  FileSystemConfig sftp_config(const SftpServer& s, const std::function<void(FileSystemConfig&)>& change = {}) {
    FileSystemConfig c;
    c.name = "batch";
    c.kind = FileSystemConfig::Kind::sftp;
    c.url = s.url;
    c.user = s.user;
    c.key_file = s.key;
    c.known_hosts = s.known_hosts;
    c.poll = milliseconds(100);
    c.stable_for = milliseconds(1'200);  // SFTP tells modification times in seconds
    c.await_timeout = milliseconds(30'000);
    c.timeout = milliseconds(10'000);
    c.connect_timeout = milliseconds(5'000);
    if (change) change(c);
    return c;
  }

  // A request whose names carry this test's prefix.
  FileExchangeRequest sftp_request(const std::string& id, std::string body) {
    return request(prefix_ + "-" + id, std::move(body));
  }

  SftpServer server_;
  std::string prefix_;
};

// End to end: the request arrives whole on the server, the answer written there is read, both
// go to the archive.
TEST_F(SftpExchange, ExchangeWithArchive) {
  auto sys = make(sftp_config(server_));
  auto r = sftp_request("e2e", R"({"order": 7})");
  r.archive = "done-" + prefix_;
  fs::path dir = server_.dir;
  std::string received;
  auto o = run(*sys, r, milliseconds(60'000), [&] {
    if (received.empty() && fs::exists(dir / r.name)) {
      received = slurp(dir / r.name);
      spit(dir / r.answer, R"({"status": "DONE"})");
    }
  });
  ASSERT_TRUE(o.result) << o.result.error().message;
  EXPECT_EQ(received, r.body);
  EXPECT_EQ(o.result.value().body, R"({"status": "DONE"})");
  EXPECT_FALSE(o.result.value().already_sent);
  EXPECT_FALSE(fs::exists(dir / r.name));
  EXPECT_FALSE(fs::exists(dir / r.answer));
  EXPECT_FALSE(fs::exists(dir / ("." + r.name + ".part")));
  EXPECT_EQ(names_in(dir / r.archive), (std::set<std::string>{r.name, r.answer}));
  EXPECT_EQ(slurp(dir / r.archive / r.name), r.body);
}

// The stand-in on the server's folder, marker mode, no archive: everything removed after.
TEST_F(SftpExchange, ExchangeWithTheStandInAndAMarker) {
  auto sys = make(sftp_config(server_, [](FileSystemConfig& c) {
    c.complete = FileSystemConfig::Complete::marker;
    c.marker_suffix = ".done";
  }));
  ChildProcess batch({std::string(FXC_SOURCE_DIR) + "/examples/file-exchange/batch-system.py", "--dir", server_.dir,
                      "--delay", "0.2", "--chunks", "3", "--marker", ".done", "--once"},
                     (dir_ / "batch.log").string());
  auto r = sftp_request("standin", R"({"customer":"C-9"})");
  auto o = run(*sys, r, milliseconds(60'000));
  ASSERT_TRUE(o.result) << o.result.error().message << "\n" << batch.log();
  auto answer = json::parse(o.result.value().body).as_object();
  EXPECT_EQ(answer.at("status"), "DONE");
  EXPECT_EQ(answer.at("received"), json::parse(r.body));
  fs::path dir = server_.dir;
  EXPECT_FALSE(fs::exists(dir / r.name));
  EXPECT_FALSE(fs::exists(dir / r.answer));
  EXPECT_FALSE(fs::exists(dir / (r.answer + ".done")));
}

// A server whose host key is not the one in known_hosts is refused, at once and for good.
TEST_F(SftpExchange, ChangedOrUnknownHostKeyIsRefused) {
  auto keygen = [&](const std::string& name) {
    auto key = dir_ / name;
    ChildProcess p({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.string()},
                   (dir_ / (name + ".log")).string());
    EXPECT_EQ(p.wait(std::chrono::seconds(30)), 0) << p.log();
    auto pub = slurp(key.string() + ".pub");
    return pub.substr(0, pub.find(' ', pub.find(' ') + 1));  // "ssh-ed25519 AAAA..."
  };
  // The entry's host as known_hosts writes it: [127.0.0.1]:PORT.
  auto entry = slurp(server_.known_hosts);
  auto host = entry.substr(0, entry.find(' '));
  spit(dir_ / "changed", host + " " + keygen("other") + "\n");
  spit(dir_ / "unknown", "[127.0.0.1]:1 " + keygen("another") + "\n");
  for (const auto& [file, says] : std::vector<std::pair<std::string, std::string>>{
           {"changed", "host key has CHANGED"}, {"unknown", "host key is unknown"}}) {
    auto sys = make(sftp_config(server_, [&](FileSystemConfig& c) { c.known_hosts = (dir_ / file).string(); }));
    auto r = sftp_request(file, "{}");
    auto o = run(*sys, r, milliseconds(30'000));
    ASSERT_FALSE(o.result);
    EXPECT_EQ(o.result.error().code, ErrorCode::legacy_unavailable);
    EXPECT_FALSE(o.result.error().retriable);
    EXPECT_THAT(o.result.error().message, HasSubstr(says));
    EXPECT_LT(o.took, std::chrono::seconds(15)) << "not retried until the deadline";
    EXPECT_FALSE(fs::exists(fs::path(server_.dir) / r.name)) << "nothing written";
  }
}

TEST_F(SftpExchange, UnreadableKeyOrKnownHostsIsAConfigError) {
  for (auto change : std::vector<std::function<void(FileSystemConfig&)>>{
           [&](FileSystemConfig& c) { c.key_file = (dir_ / "no-key").string(); },
           [&](FileSystemConfig& c) { c.known_hosts = (dir_ / "no-known-hosts").string(); }}) {
    try {
      make(sftp_config(server_, change));
      ADD_FAILURE() << "no ConfigError";
    } catch (const ConfigError& e) {
      EXPECT_THAT(e.what(), HasSubstr("systems.batch.sftp."));
      EXPECT_THAT(e.what(), HasSubstr("cannot be read"));
    }
  }
}

// No server where the URL points: the request cannot go out; legacy_unavailable, retriable, at
// once (the caller's retry policy decides; nothing was written).
TEST_F(SftpExchange, NoServerIsUnavailable) {
  int port = 0;
  {
    asio::ip::tcp::acceptor a(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  auto sys = make(sftp_config(
      server_, [&](FileSystemConfig& c) { c.url = "sftp://127.0.0.1:" + std::to_string(port) + "/exchange"; }));
  auto o = run(*sys, sftp_request("noserver", "{}"), milliseconds(30'000));
  ASSERT_FALSE(o.result);
  EXPECT_EQ(o.result.error().code, ErrorCode::legacy_unavailable);
  EXPECT_TRUE(o.result.error().retriable);
  EXPECT_LT(o.took, std::chrono::seconds(15));
  EXPECT_EQ(metrics_->calls[observability::LegacyMetrics::unavailable], 1U);
}

// Destroying the system while its looks are transfers in flight drops them without `done`.
TEST_F(SftpExchange, DestructionDropsCallsUnanswered) {
  auto sys = make(sftp_config(server_, [](FileSystemConfig& c) { c.poll = milliseconds(10); }));
  int times = 0;
  auto r = sftp_request("destroy", "{}");
  sys->call(CallContext{Clock::now() + std::chrono::seconds(60), nullptr, {}}, r, [&](auto) { ++times; });
  drive([&] { return fs::exists(fs::path(server_.dir) / r.name); });
  // One handler at a time, until a look is a transfer in flight.
  auto give_up = Clock::now() + std::chrono::seconds(30);
  while (curl_->running() == 0 && Clock::now() < give_up) {
    io_.restart();
    io_.run_one_for(milliseconds(5));
  }
  ASSERT_GT(curl_->running(), 0U) << "no look in flight to drop";
  sys.reset();
  EXPECT_EQ(curl_->running(), 0U) << "its transfers were cancelled";
  io_.restart();
  io_.run_for(milliseconds(300));
  EXPECT_EQ(times, 0);
}

// A server of the test's own (scripts/sftp.sh with a private state dir), to stop and start, and
// to kill the sessions of, without disturbing the shared one. Stopped at the end.
class OwnSftpServer {
 public:
  OwnSftpServer() : state_(std::string(FXC_TEST_TMP_DIR) + "/sftp-own") {
    auto out = sftp_script(state_, "start");
    server_ = SftpServer{line_value(out, "sftp"), line_value(out, "sftp_user"), line_value(out, "sftp_key"),
                         line_value(out, "sftp_known_hosts"), line_value(out, "sftp_dir")};
  }
  ~OwnSftpServer() { sftp_script(state_, "stop"); }
  OwnSftpServer(const OwnSftpServer&) = delete;
  OwnSftpServer& operator=(const OwnSftpServer&) = delete;
  const SftpServer& server() const { return server_; }
  void stop() { sftp_script(state_, "stop"); }
  std::string start() { return line_value(sftp_script(state_, "start"), "sftp"); }
  // Kills the processes of the sessions (everything under the listener: the privileged monitor
  // and the user's process of each connection) as a crash would; the listener lives on.
  int kill_sessions() const {
    auto listener = std::stoi(slurp(state_ + "/sshd.pid"));
    std::multimap<int, int> children;  // ppid -> pid
    for (const auto& e : fs::directory_iterator("/proc")) {
      auto name = e.path().filename().string();
      if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
      auto stat = slurp(e.path() / "stat");
      auto close = stat.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream rest(stat.substr(close + 2));
      char state = 0;
      int ppid = 0;
      rest >> state >> ppid;
      children.emplace(ppid, std::stoi(name));
    }
    std::vector<int> doomed;
    std::vector<int> todo{listener};
    while (!todo.empty()) {
      int p = todo.back();
      todo.pop_back();
      for (auto [it, end] = children.equal_range(p); it != end; ++it) {
        doomed.push_back(it->second);
        todo.push_back(it->second);
      }
    }
    int killed = 0;
    for (int pid : doomed) killed += ::kill(pid, SIGKILL) == 0 ? 1 : 0;
    return killed;
  }

 private:
  std::string state_;
  SftpServer server_;
};

// The server goes away while the answer is awaited (sessions ended, listener stopped) and comes
// back (same port, same host key): the exchange completes with the answer written meanwhile.
TEST_F(SftpExchange, ServerRestartWhileAwaitingLosesNothing) {
  OwnSftpServer own;
  const auto& s = own.server();
  ASSERT_FALSE(s.url.empty());
  auto sys = make(sftp_config(s, [](FileSystemConfig& c) { c.await_timeout = milliseconds(50'000); }));
  auto r = sftp_request("restart", "{}");
  fs::path dir = s.dir;
  Outcome o;
  sys->call(CallContext{Clock::now() + std::chrono::seconds(60), nullptr, {}}, r, [&](auto res) {
    o.result = std::move(res);
    ++o.times;
  });
  drive([&] { return fs::exists(dir / r.name); });
  own.stop();
  auto until = Clock::now() + milliseconds(1'500);  // looks fail: no server
  drive([&] { return Clock::now() >= until; });
  EXPECT_EQ(o.times, 0) << (o.result ? "" : o.result.error().message);
  spit(dir / r.answer, "answered while the server was down");
  EXPECT_EQ(own.start(), s.url) << "same port";
  drive([&] { return o.times > 0; });
  ASSERT_EQ(o.times, 1);
  ASSERT_TRUE(o.result) << o.result.error().message;
  EXPECT_EQ(o.result.value().body, "answered while the server was down");
  EXPECT_FALSE(fs::exists(dir / r.answer));
  io_.restart();
  io_.run_for(milliseconds(50));
  EXPECT_EQ(o.times, 1);
}

// The connection's sshd process dies (the listener lives on) while the answer is awaited, twice:
// the next look connects anew, and the exchange completes.
TEST_F(SftpExchange, DroppedConnectionWhileAwaitingLosesNothing) {
  OwnSftpServer own;
  const auto& s = own.server();
  ASSERT_FALSE(s.url.empty());
  auto sys = make(sftp_config(s));
  auto r = sftp_request("drop", "{}");
  fs::path dir = s.dir;
  Outcome o;
  sys->call(CallContext{Clock::now() + std::chrono::seconds(60), nullptr, {}}, r, [&](auto res) {
    o.result = std::move(res);
    ++o.times;
  });
  drive([&] { return fs::exists(dir / r.name); });
  int killed = 0;
  for (int round = 0; round < 2; ++round) {
    auto until = Clock::now() + milliseconds(500);
    drive([&] { return Clock::now() >= until; });  // a few looks over the (new) connection
    killed += own.kill_sessions();
  }
  EXPECT_GE(killed, 1) << "no session to kill: the looks hold no connection?";
  auto until = Clock::now() + milliseconds(500);
  drive([&] { return Clock::now() >= until; });
  EXPECT_EQ(o.times, 0) << (o.result ? "" : o.result.error().message);
  spit(dir / r.answer, "answer after the drops");
  drive([&] { return o.times > 0; });
  ASSERT_EQ(o.times, 1);
  ASSERT_TRUE(o.result) << o.result.error().message;
  EXPECT_EQ(o.result.value().body, "answer after the drops");
  io_.restart();
  io_.run_for(milliseconds(50));
  EXPECT_EQ(o.times, 1);
}

}  // namespace
}  // namespace fxconnect::testing
