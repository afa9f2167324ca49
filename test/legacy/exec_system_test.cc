// Commands as legacy systems (src/systems/exec/): real processes, no server. Each test drives an
// ExecSystem on its own io_context, as the runtime's loop does, with /bin/sh scripts (only ever as
// the command under test: the system itself never uses a shell) and the example RPA bot
// (examples/rpa/open-account-bot). After every test the test process has no child left, zombie or
// not. Every call must end exactly once, never inside call().
//
// Timing: only lower bounds and generous upper bounds are asserted; concurrency is shown by what
// the commands write (start/end markers), and commands that must stay running wait for a file.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>

#include <gmock/gmock.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "config/config.h"
#include "fxconnect/handler.h"
#include "observability/metrics.h"
#include "observability/tracer.h"
#include "systems/exec/exec_system.h"

namespace fxconnect::testing {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using config::ExecSystemConfig;
using observability::LegacyMetrics;
using std::chrono::milliseconds;
using std::chrono::seconds;
using systems::CallContext;
using systems::ExecSystem;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using Clock = std::chrono::steady_clock;

const std::string kBot = std::string(FXC_SOURCE_DIR) + "/examples/rpa/open-account-bot";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

// The processes whose parent is this test process, as "pid state name" (a zombie's state is Z).
std::vector<std::string> children() {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto stat = read_file(entry.path() / "stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == ::getpid()) out.push_back(name + " " + state + " " + stat.substr(0, close + 1));
  }
  return out;
}

// Whether `pid` no longer runs: gone, or a zombie left for init to reap (no longer ours).
bool gone(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return close != std::string::npos && stat.size() > close + 2 && stat[close + 2] == 'Z';
}

class Exec : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::path(FXC_TEST_TMP_DIR) / ("exec-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    io_.poll();
    EXPECT_THAT(children(), IsEmpty()) << "the test process has children left (zombies or still running)";
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  ExecSystemConfig config(std::vector<std::string> command, const std::function<void(ExecSystemConfig&)>& change = {}) {
    ExecSystemConfig c;
    c.name = "bot";
    c.command = std::move(command);
    c.timeout = seconds(30);
    c.working_dir = dir_.string();
    if (change) change(c);
    return c;
  }
  ExecSystemConfig shell(const std::string& script, const std::function<void(ExecSystemConfig&)>& change = {}) {
    return config({"/bin/sh", "-c", script, "sh"}, change);
  }
  std::unique_ptr<ExecSystem> system(ExecSystemConfig c) {
    return std::make_unique<ExecSystem>(io_, std::move(c), metrics_);
  }

  struct Outcome {
    std::optional<Result<ExecResponse>> result;
    int calls = 0;
  };
  // Starts a call; its outcome fills in as the loop runs.
  std::shared_ptr<Outcome> start(ExecSystem& s, ExecRequest request, milliseconds deadline = seconds(60)) {
    auto o = std::make_shared<Outcome>();
    s.call(CallContext{Clock::now() + deadline, nullptr, {}}, std::move(request), [o](Result<ExecResponse> r) {
      ++o->calls;
      o->result.emplace(std::move(r));
    });
    EXPECT_EQ(o->calls, 0) << "done ran inside call()";
    return o;
  }
  // Runs the loop until `done` holds, at most `bound`.
  bool run_until(const std::function<bool()>& done, seconds bound = seconds(60)) {
    auto end = Clock::now() + bound;
    while (!done() && Clock::now() < end) io_.run_one_for(milliseconds(20));
    return done();
  }
  // The outcome once there is one; `done` ran exactly once (checked again after the loop drains).
  Result<ExecResponse> outcome(const std::shared_ptr<Outcome>& o) {
    EXPECT_TRUE(run_until([&] { return o->calls > 0; })) << "no outcome within 60 s";
    for (int i = 0; i < 10 && io_.poll() > 0; ++i) {
    }
    EXPECT_EQ(o->calls, 1);
    if (!o->result) return Error{ErrorCode::internal, "no outcome", false, std::nullopt};
    return *o->result;
  }
  Result<ExecResponse> call(ExecSystem& s, ExecRequest request, milliseconds deadline = seconds(60)) {
    return outcome(start(s, std::move(request), deadline));
  }
  pid_t pid_in(const std::string& file) {
    EXPECT_TRUE(run_until([&] { return fs::exists(dir_ / file); }, seconds(30))) << file << " never written";
    return static_cast<pid_t>(std::atol(read_file(dir_ / file).c_str()));
  }
  bool wait_gone(pid_t pid) {
    auto end = Clock::now() + seconds(30);
    while (!gone(pid) && Clock::now() < end) io_.run_one_for(milliseconds(20));
    return gone(pid);
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::shared_ptr<LegacyMetrics> metrics_ = std::make_shared<LegacyMetrics>();
  fs::path dir_;
};

// The arguments arrive verbatim, one argv entry each: nothing is split, expanded or run.
TEST_F(Exec, RunsTheCommandWithItsArgumentsVerbatimAndItsInputOnStdin) {
  auto s = system(shell("cat; printf '[%s]\\n' \"$@\""));
  std::vector<std::string> args = {"two words",
                                   "\"double\" 'single' \\back",
                                   "$(touch " + (dir_ / "pwned1").string() + ")",
                                   "`touch " + (dir_ / "pwned2").string() + "`; touch " + (dir_ / "pwned3").string(),
                                   "",
                                   "* ~ $HOME",
                                   "line\nbreak"};
  auto r = call(*s, ExecRequest{args, "line 1\nline 2\n"});
  ASSERT_TRUE(r) << r.error().message;
  std::string expected = "line 1\nline 2\n";
  for (const auto& a : args) expected += "[" + a + "]\n";
  EXPECT_EQ(r->out, expected);
  EXPECT_EQ(r->err, "");
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_FALSE(fs::exists(dir_ / "pwned1"));
  EXPECT_FALSE(fs::exists(dir_ / "pwned2"));
  EXPECT_FALSE(fs::exists(dir_ / "pwned3"));
  EXPECT_EQ(metrics_->calls[LegacyMetrics::ok], 1U);
  EXPECT_EQ(metrics_->in_flight, 0U);
}

TEST_F(Exec, StdoutAndStderrAreKeptApartAndTheWorkingDirIsTheConfigured) {
  fs::create_directories(dir_ / "work");
  auto s = system(shell("pwd; echo oops >&2", [&](ExecSystemConfig& c) { c.working_dir = (dir_ / "work").string(); }));
  auto r = call(*s, ExecRequest{});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out, fs::canonical(dir_ / "work").string() + "\n");
  EXPECT_EQ(r->err, "oops\n");
}

TEST_F(Exec, TheExampleBotOpensAnAccount) {
  ::setenv("BOT_DELAY", "0.01", 1);
  auto s = system(config({kBot, "--mode", "batch"}, [](ExecSystemConfig& c) { c.env = {"BOT_DELAY"}; }));
  auto r = call(*s, ExecRequest{{"C-1001"}, R"({"customerRef":"C-1001","currency":"EUR"})"});
  ASSERT_TRUE(r) << r.error().message;
  auto answer = boost::json::parse(r->out).as_object();
  EXPECT_EQ(answer.at("accountId").as_string(), "ACC-C-1001");
  EXPECT_EQ(answer.at("status").as_string(), "OPENED");
  EXPECT_EQ(answer.at("mode").as_string(), "batch");
  EXPECT_EQ(answer.at("currency").as_string(), "EUR");
}

TEST_F(Exec, TheExampleBotsErrorPaths) {
  ::setenv("BOT_DELAY", "0", 1);
  auto s = system(config({kBot, "--mode", "batch"}, [](ExecSystemConfig& c) {
    c.env = {"BOT_DELAY"};
    c.timeout = seconds(3);
    c.max_output_bytes = 200'000;
  }));
  auto fail = start(*s, ExecRequest{{"FAIL"}, "{}"});
  auto busy = start(*s, ExecRequest{{"BUSY"}, "{}"});
  auto flood = start(*s, ExecRequest{{"FLOOD"}, "{}"});
  auto hang = start(*s, ExecRequest{{"HANG"}, "{}"});

  auto r = outcome(fail);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::legacy_failed);
  EXPECT_FALSE(r.error().retriable);
  EXPECT_THAT(r.error().message, HasSubstr("exited with 3: open-account-bot: step 3/5 'confirm'"));
  EXPECT_THAT(r.error().message, HasSubstr("ACCOUNT LOCKED"));
  r = outcome(busy);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::legacy_unavailable);
  EXPECT_TRUE(r.error().retriable);
  EXPECT_THAT(r.error().message, HasSubstr("exited with 75"));
  r = outcome(flood);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::legacy_failed);
  EXPECT_THAT(r.error().message, HasSubstr("wrote more than 200000 bytes to stdout (max_output_bytes)"));
  r = outcome(hang);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::legacy_timeout);
  EXPECT_THAT(r.error().message, HasSubstr("did not finish within 3s; its process group was killed"));
  EXPECT_EQ(metrics_->calls[LegacyMetrics::failed], 2U);
  EXPECT_EQ(metrics_->calls[LegacyMetrics::unavailable], 1U);
  EXPECT_EQ(metrics_->calls[LegacyMetrics::timeout], 1U);
}

// The command's whole environment is the listed variables that are set; not even PATH otherwise.
TEST_F(Exec, TheEnvironmentIsOnlyTheListedVariables) {
  ::setenv("FXC_EXEC_TEST_SECRET", "hidden", 1);
  ::setenv("FXC_EXEC_TEST_SHOWN", "a value=with equals", 1);
  ::unsetenv("FXC_EXEC_TEST_UNSET");
  auto s = system(config({"/usr/bin/env"}, [](ExecSystemConfig& c) {
    c.env = {"FXC_EXEC_TEST_SHOWN", "FXC_EXEC_TEST_UNSET"};
  }));
  auto r = call(*s, ExecRequest{});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out, "FXC_EXEC_TEST_SHOWN=a value=with equals\n");

  const char* path = std::getenv("PATH");
  ASSERT_NE(path, nullptr);
  s = system(config({"/usr/bin/env"}, [](ExecSystemConfig& c) { c.env = {"PATH"}; }));
  r = call(*s, ExecRequest{});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out, "PATH=" + std::string(path) + "\n");
}

// A bare program name is looked up in the connector's PATH, even though the command gets none.
TEST_F(Exec, AProgramWithoutSlashIsFoundInTheConnectorsPath) {
  auto s = system(config({"env"}));
  auto r = call(*s, ExecRequest{});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out, "");
}

// The shell and the grandchild it started in the background are both killed at the timeout.
TEST_F(Exec, ACommandStillRunningAtItsTimeoutIsKilledWithItsWholeProcessGroup) {
  auto s =
      system(shell("echo $$ > shell.pid; sleep 1000 & echo $! > grandchild.tmp; mv grandchild.tmp grandchild.pid; "
                   "wait",
                   [](ExecSystemConfig& c) {
                     c.timeout = seconds(2);
                     c.env = {"PATH"};
                   }));
  auto began = Clock::now();
  auto r = call(*s, ExecRequest{});
  auto took = Clock::now() - began;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::legacy_timeout);
  EXPECT_TRUE(r.error().retriable);
  EXPECT_EQ(r.error().message, "bot: '/bin/sh' did not finish within 2s; its process group was killed");
  EXPECT_GE(took, seconds(2));
  EXPECT_LT(took, seconds(25));
  auto shell_pid = pid_in("shell.pid");
  auto grandchild = pid_in("grandchild.pid");
  ASSERT_GT(shell_pid, 1);
  ASSERT_GT(grandchild, 1);
  EXPECT_TRUE(gone(shell_pid)) << "the command itself is reaped before the call ends";
  EXPECT_TRUE(wait_gone(grandchild)) << "the grandchild " << grandchild << " outlived the timeout";
  EXPECT_EQ(metrics_->calls[LegacyMetrics::timeout], 1U);
}

// The request's deadline comes before the system's timeout: the deadline ends the command.
TEST_F(Exec, TheDeadlineWinsOverALongerTimeout) {
  auto s = system(config({"/bin/sleep", "1000"}, [](ExecSystemConfig& c) { c.timeout = seconds(60); }));
  auto began = Clock::now();
  auto r = call(*s, ExecRequest{}, milliseconds(1500));
  auto took = Clock::now() - began;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::legacy_timeout);
  EXPECT_THAT(r.error().message, HasSubstr("did not finish within 1"));  // 1499ms or a little less
  EXPECT_THAT(r.error().message,
              HasSubstr("ms (what was left of the request's deadline); its process group was killed"));
  EXPECT_GE(took, seconds(1));
  EXPECT_LT(took, seconds(25));
}

TEST_F(Exec, ACommandWritingTooMuchIsKilled) {
  auto s = system(shell("echo $$ > shell.pid; exec yes flooding", [](ExecSystemConfig& c) {
    c.max_output_bytes = 100'000;
    c.env = {"PATH"};
  }));
  auto r = call(*s, ExecRequest{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::legacy_failed);
  EXPECT_FALSE(r.error().retriable);
  EXPECT_EQ(r.error().message,
            "bot: '/bin/sh' wrote more than 100000 bytes to stdout (max_output_bytes); it was killed");
  EXPECT_TRUE(wait_gone(pid_in("shell.pid")));

  fs::remove(dir_ / "shell.pid");
  s = system(shell("echo $$ > shell.pid; exec yes flooding >&2", [](ExecSystemConfig& c) {
    c.max_output_bytes = 100'000;
    c.env = {"PATH"};
  }));
  r = call(*s, ExecRequest{});
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("wrote more than 100000 bytes to stderr (max_output_bytes)"));
  EXPECT_TRUE(wait_gone(pid_in("shell.pid")));
}

// Exactly max_output_bytes is allowed.
TEST_F(Exec, OutputUpToTheLimitIsKept) {
  auto s = system(shell("i=0; while [ $i -lt 100 ]; do printf '0123456789'; i=$((i+1)); done",
                        [](ExecSystemConfig& c) { c.max_output_bytes = 1000; }));
  auto r = call(*s, ExecRequest{});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out.size(), 1000U);
}

TEST_F(Exec, ANonZeroExitFailsWithTheEndOfStderrOnOneLine) {
  auto s =
      system(shell("echo 'partial output'; i=0; while [ $i -lt 300 ]; do printf 'xxxxxxxxxx' >&2; i=$((i+1)); done; "
                   "printf '\\nstep 2 failed:\\n\\tACCOUNT LOCKED\\n' >&2; exit 3"));
  auto r = call(*s, ExecRequest{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::legacy_failed);
  EXPECT_FALSE(r.error().retriable);
  const auto& m = r.error().message;
  EXPECT_THAT(m, HasSubstr("bot: '/bin/sh' exited with 3: ...xxxx"));
  EXPECT_THAT(m, HasSubstr("xxx | step 2 failed: | \\x09ACCOUNT LOCKED"));
  EXPECT_EQ(m.find('\n'), std::string::npos);
  EXPECT_LT(m.size(), 1200U) << "only the end of stderr";
  EXPECT_THAT(m, Not(HasSubstr("partial output")));
}

TEST_F(Exec, AnUnavailableExitCodeIsRetriable) {
  auto s = system(shell("echo 'all sessions busy' >&2; exit $1"));
  auto r = call(*s, ExecRequest{{"75"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::legacy_unavailable);
  EXPECT_TRUE(r.error().retriable);
  EXPECT_THAT(r.error().message, HasSubstr("exited with 75"));
  EXPECT_THAT(r.error().message, HasSubstr("all sessions busy"));

  s = system(shell("exit $1", [](ExecSystemConfig& c) { c.unavailable_exit_codes = {42}; }));
  r = call(*s, ExecRequest{{"42"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::legacy_unavailable);
  r = call(*s, ExecRequest{{"75"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::legacy_failed);
  EXPECT_THAT(r.error().message, HasSubstr("exited with 75: (nothing on stderr)"));
}

TEST_F(Exec, ACommandKilledByASignalFails) {
  auto s = system(shell("echo dying >&2; kill -TERM $$"));
  auto r = call(*s, ExecRequest{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::legacy_failed);
  EXPECT_EQ(r.error().message, "bot: '/bin/sh' was killed by signal 15 (SIGTERM): dying");
}

// A command that never reads its stdin: the input that does not fit in the pipe is dropped once
// it exits (EPIPE), and neither the call nor the loop waits for it.
TEST_F(Exec, ACommandThatDoesNotReadALargeInputDoesNotHang) {
  std::string input(8 << 20, 'i');
  auto s = system(shell("echo ignored"));
  auto r = call(*s, ExecRequest{{}, input});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out, "ignored\n");

  s = system(shell("exec 0<&-; sleep 0.2; echo closed", [](ExecSystemConfig& c) { c.env = {"PATH"}; }));
  r = call(*s, ExecRequest{{}, input});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out, "closed\n");

  // And one that reads it all gets it all.
  s = system(config({"/usr/bin/wc", "-c"}));
  r = call(*s, ExecRequest{{}, input});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out, std::to_string(input.size()) + "\n");
}

// Commands that wait for the file `go` before they end: a slot is held as long as the test wants.
constexpr const char* kGated =
    "echo \"start $1\" >> log; while [ ! -e go ]; do sleep 0.02; done; echo \"end $1\" >> log";

TEST_F(Exec, AtMostMaxInFlightCommandsRunAtOnce) {
  auto s = system(shell(kGated, [](ExecSystemConfig& c) {
    c.max_in_flight = 2;
    c.env = {"PATH"};
  }));
  std::vector<std::shared_ptr<Outcome>> calls;
  for (int i = 0; i < 5; ++i) calls.push_back(start(*s, ExecRequest{{std::to_string(i)}}));
  auto starts = [&] {
    auto log = read_file(dir_ / "log");
    return std::count(log.begin(), log.end(), 's');  // "start" is the only word with an s
  };
  // Two run (and hold their slots until `go`), three wait: nothing else can happen meanwhile.
  ASSERT_TRUE(run_until([&] { return starts() >= 2 && metrics_->waiting == 3; }));
  EXPECT_EQ(starts(), 2);
  EXPECT_EQ(metrics_->in_flight, 5U);
  write_file(dir_ / "go", "");
  for (auto& c : calls) {
    auto r = outcome(c);
    EXPECT_TRUE(r) << r.error().message;
  }
  std::istringstream log(read_file(dir_ / "log"));
  std::string word, id;
  int running = 0, most = 0, lines = 0;
  while (log >> word >> id) {
    running += word == "start" ? 1 : -1;
    most = std::max(most, running);
    ++lines;
  }
  EXPECT_EQ(lines, 10);
  EXPECT_EQ(most, 2);
  EXPECT_EQ(metrics_->waiting, 0U);
  EXPECT_EQ(metrics_->in_flight, 0U);
}

// With one slot the commands run one after another, in the order the calls came.
TEST_F(Exec, WaitingCallsGetTheSlotFirstComeFirstServed) {
  write_file(dir_ / "go", "");
  auto s = system(shell(kGated, [](ExecSystemConfig& c) {
    c.max_in_flight = 1;
    c.env = {"PATH"};
  }));
  std::vector<std::shared_ptr<Outcome>> calls;
  for (int i = 0; i < 4; ++i) calls.push_back(start(*s, ExecRequest{{std::to_string(i)}}));
  for (auto& c : calls) EXPECT_TRUE(outcome(c));
  EXPECT_EQ(read_file(dir_ / "log"), "start 0\nend 0\nstart 1\nend 1\nstart 2\nend 2\nstart 3\nend 3\n");
}

TEST_F(Exec, ACallWaitingForASlotEndsAtItsDeadline) {
  auto s = system(shell(kGated, [](ExecSystemConfig& c) {
    c.max_in_flight = 1;
    c.env = {"PATH"};
  }));
  auto running = start(*s, ExecRequest{{"0"}});
  ASSERT_TRUE(run_until([&] { return fs::exists(dir_ / "log"); }));
  auto waiting = start(*s, ExecRequest{{"1"}}, milliseconds(500));
  auto r = outcome(waiting);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::legacy_timeout);
  EXPECT_EQ(r.error().message, "bot: all 1 slots stayed busy until the request's deadline (max_in_flight)");
  EXPECT_EQ(running->calls, 0) << "the first still holds its slot";
  write_file(dir_ / "go", "");
  EXPECT_TRUE(outcome(running));
  EXPECT_EQ(read_file(dir_ / "log"), "start 0\nend 0\n") << "the timed-out call never ran";
}

TEST_F(Exec, DestroyingTheSystemKillsAndReapsWhatRunsWithoutAnswering) {
  auto s =
      system(shell("echo $$ > shell.pid; sleep 1000 & echo $! > grandchild.tmp; mv grandchild.tmp grandchild.pid; "
                   "wait",
                   [](ExecSystemConfig& c) {
                     c.max_in_flight = 1;
                     c.env = {"PATH"};
                   }));
  auto running = start(*s, ExecRequest{});
  auto waiting = start(*s, ExecRequest{});
  auto shell_pid = pid_in("shell.pid");
  auto grandchild = pid_in("grandchild.pid");
  ASSERT_GT(shell_pid, 1);
  ASSERT_GT(grandchild, 1);
  EXPECT_THAT(children(), Not(IsEmpty()));
  s.reset();
  EXPECT_THAT(children(), IsEmpty()) << "reaped by the destructor itself";
  EXPECT_TRUE(gone(shell_pid));
  EXPECT_TRUE(wait_gone(grandchild));
  for (int i = 0; i < 50; ++i) io_.run_one_for(milliseconds(10));
  EXPECT_EQ(running->calls, 0);
  EXPECT_EQ(waiting->calls, 0);
}

TEST_F(Exec, NoZombiesAfterCallsOfEveryKind) {
  auto s = system(shell(
      "case $1 in ok) echo ok;; fail) exit 3;; hang) sleep 1000 & sleep 1000;; flood) exec yes;; kill) kill -9 $$;; "
      "esac",
      [](ExecSystemConfig& c) {
        c.timeout = seconds(2);
        c.max_output_bytes = 10'000;
        c.max_in_flight = 3;
        c.env = {"PATH"};
      }));
  std::vector<std::shared_ptr<Outcome>> calls;
  for (const char* kind : {"ok", "fail", "hang", "flood", "kill", "ok", "hang", "fail"}) {
    calls.push_back(start(*s, ExecRequest{{kind}}));
  }
  for (auto& c : calls) outcome(c);
  for (const auto& child : children()) ADD_FAILURE() << "left: " << child;
  EXPECT_EQ(metrics_->calls[LegacyMetrics::ok], 2U);
  EXPECT_EQ(metrics_->calls[LegacyMetrics::timeout], 2U);
  EXPECT_EQ(metrics_->calls[LegacyMetrics::failed], 4U);
}

TEST_F(Exec, AProgramGoneAtCallTimeFailsTheCall) {
  auto program = dir_ / "bot.sh";
  write_file(program, "#!/bin/sh\necho hi\n");
  fs::permissions(program, fs::perms::owner_all);
  auto s = system(config({program.string()}));
  ASSERT_TRUE(call(*s, ExecRequest{}));
  fs::remove(program);
  auto r = call(*s, ExecRequest{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::legacy_failed);
  EXPECT_FALSE(r.error().retriable);
  EXPECT_THAT(r.error().message, HasSubstr("bot: cannot run '" + program.string()));
  EXPECT_THAT(r.error().message, HasSubstr("No such file or directory"));
}

TEST_F(Exec, TheConstructorRefusesAProgramOrFolderThatCannotWork) {
  auto refused = [&](ExecSystemConfig c) -> std::string {
    try {
      ExecSystem s(io_, std::move(c), metrics_);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(accepted)";
  };
  EXPECT_EQ(refused(config({"/nonexistent/open-account-bot"})),
            "systems.bot.exec.command: '/nonexistent/open-account-bot' is not an executable file (No such file or "
            "directory)");
  auto plain = dir_ / "not-executable";
  write_file(plain, "#!/bin/sh\n");
  fs::permissions(plain, fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(refused(config({plain.string()})),
            "systems.bot.exec.command: '" + plain.string() + "' is not an executable file (Permission denied)");
  EXPECT_EQ(refused(config({dir_.string()})),
            "systems.bot.exec.command: '" + dir_.string() + "' is not an executable file (Is a directory)");
  EXPECT_THAT(refused(config({"fxc-no-such-program"})),
              HasSubstr("systems.bot.exec.command: 'fxc-no-such-program' is not an executable file in any folder of "
                        "PATH"));
  EXPECT_EQ(refused(config({"/bin/sh"}, [](ExecSystemConfig& c) { c.working_dir = "/nonexistent/work"; })),
            "systems.bot.exec.working_dir: '/nonexistent/work' is not a folder (No such file or directory)");
  EXPECT_EQ(refused(config({"/bin/sh"}, [&](ExecSystemConfig& c) { c.working_dir = plain.string(); })),
            "systems.bot.exec.working_dir: '" + plain.string() + "' is not a folder (Not a directory)");
  EXPECT_EQ(refused(config({"/nonexistent/bot"}, [](ExecSystemConfig& c) { c.where = "connector.yaml:12:3"; })),
            "connector.yaml:12:3: systems.bot.exec.command: '/nonexistent/bot' is not an executable file (No such "
            "file or directory)");
  EXPECT_EQ(refused(config({kBot})), "(accepted)");
}

// With a tracer, the call runs inside its span (the arguments, request data, stay out of it).
TEST_F(Exec, ATracedCallRunsAsUsual) {
  auto tracer = std::make_shared<const observability::Tracer>(*observability::Sampler::parse("always"), nullptr);
  observability::TraceContext parent;
  parent.trace_id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  parent.span_id = {1, 1, 1, 1, 1, 1, 1, 1};
  parent.sampled = true;
  auto s = system(shell("echo \"$1\"; exit $2"));
  std::optional<Result<ExecResponse>> ok, failed;
  s->call(CallContext{Clock::now() + seconds(60), tracer, parent}, ExecRequest{{"traced", "0"}},
          [&](Result<ExecResponse> r) { ok.emplace(std::move(r)); });
  s->call(CallContext{Clock::now() + seconds(60), tracer, parent}, ExecRequest{{"traced", "4"}},
          [&](Result<ExecResponse> r) { failed.emplace(std::move(r)); });
  ASSERT_TRUE(run_until([&] { return ok && failed; }));
  ASSERT_TRUE(*ok);
  EXPECT_EQ((*ok)->out, "traced\n");
  EXPECT_FALSE(*failed);
}

}  // namespace
}  // namespace fxconnect::testing
