// Commands as legacy systems, all on the loop: no thread per command, no SIGCHLD handler.
//
// A run starts with posix_spawn (glibc's: clone(CLONE_VFORK), then only async-signal-safe steps
// before execve, so it is safe in a process whose other threads may hold locks — librdkafka's do)
// in its own process group, with default signal dispositions, an empty signal mask, only fds 0-2
// open and the allowed environment. Its exit is awaited on a pidfd (readable once it has exited),
// its stdin/stdout/stderr are Asio pipes, its time limit a steady_timer.
//
// Boost.Process v2 as shipped in Boost 1.81 is not used, for two faults: (1) every one of its
// launchers calls io_context::notify_fork(fork_child) in the child, which locks mutexes, allocates
// and re-creates the reactor's descriptors between fork and exec (in the vfork launcher, in memory
// shared with the parent); (2) once its process handle's pidfd is reported ready, its async_wait
// calls a *blocking* waitpid. A first version of this file used that handle, and a test saw the
// reactor report a running command's pidfd ready with EPOLLIN|EPOLLHUP (what a pidfd of an already
// reaped process reports: most likely an earlier pidfd's event delivered to its reused descriptor
// state): the loop then hung in waitpid until the command ended. Here the pidfd is closed as soon as
// its process is reaped, and a wake-up is only a hint: waitid(WNOHANG|WNOWAIT) tells whether the
// command exited, and the wait is re-armed when it still runs.
#include "systems/exec/exec_system.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/buffer.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/writable_pipe.hpp>
#include <boost/asio/write.hpp>

#include "core/duration.h"
#include "fxconnect/handler.h"
#include "observability/logging.h"

namespace fxconnect::systems {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// How much of the end of stderr goes into the error message of a failed command.
constexpr std::size_t kStderrInMessage = 1024;
// Less time than this left before the deadline: the command is not started at all.
constexpr milliseconds kMinRun{5};

std::string error_text(int error) { return std::error_code(error, std::generic_category()).message(); }

// An fd closed when it goes out of scope.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    reset(std::exchange(other.fd_, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// A pipe whose two ends are close-on-exec (the child gets its end through dup2 onto 0, 1 or 2),
// neither of them 0, 1 or 2 (were the connector's own closed, a dup2 could overwrite another
// pipe's end before it is moved). Returns errno on failure.
int make_pipe(Fd& read_end, Fd& write_end) {
  std::array<int, 2> fds{-1, -1};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) return errno;
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  for (Fd* end : {&read_end, &write_end}) {
    if (end->get() > STDERR_FILENO) continue;
    int moved = ::fcntl(end->get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    if (moved < 0) return errno;
    end->reset(moved);
  }
  return 0;
}

// 0 when `path` is a file this process may execute, else why not (an errno value).
int check_executable(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno;
  if (S_ISDIR(st.st_mode)) return EISDIR;
  if (!S_ISREG(st.st_mode)) return EACCES;
  if (::access(path.c_str(), X_OK) != 0) return errno;
  return 0;
}

// The first executable `name` in the folders of `path` (a PATH value), as an absolute path (the
// command runs in working_dir). Empty entries (the current folder, for execvp) are skipped.
std::optional<std::string> find_in_path(const std::string& name, const std::string& path) {
  std::size_t start = 0;
  while (start < path.size()) {
    auto end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    start = end + 1;
    if (dir.empty()) continue;
    std::string candidate = std::move(dir);
    candidate += '/';
    candidate += name;
    if (check_executable(candidate) == 0) return std::filesystem::absolute(candidate).lexically_normal().string();
  }
  return std::nullopt;
}

// The end of a command's stderr as one printable line for an error message.
std::string stderr_tail(std::string_view err) {
  while (!err.empty() && std::isspace(static_cast<unsigned char>(err.back()))) err.remove_suffix(1);
  bool cut = err.size() > kStderrInMessage;
  if (cut) err = err.substr(err.size() - kStderrInMessage);
  std::string joined;
  joined.reserve(err.size() + 3);
  if (cut) joined += "...";
  for (std::size_t i = 0; i < err.size(); ++i) {
    if (err[i] == '\r' && i + 1 < err.size() && err[i + 1] == '\n') continue;
    if (err[i] == '\n') {
      joined += " | ";
    } else {
      joined += err[i];
    }
  }
  return observability::log_safe(joined, 4 * kStderrInMessage);
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? fmt::format("signal {} (SIG{})", sig, abbrev) : fmt::format("signal {}", sig);
}

}  // namespace

class ExecSystem::Impl {
 public:
  // One call: waiting for a slot, then running its command, then done.
  struct Run {
    Run(asio::io_context& io, Impl* owner_, std::uint64_t id_, CallContext ctx, ExecRequest req, Done d)
        : owner(owner_),
          id(id_),
          context(std::move(ctx)),
          request(std::move(req)),
          done(std::move(d)),
          timer(io),
          pidfd(io),
          in(io),
          out(io),
          err(io) {}

    enum class State { waiting, running, done };
    enum class Killed { no, timeout, output };

    Impl* owner;  // null once the system is gone: every handler then returns at once
    std::uint64_t id;
    CallContext context;
    ExecRequest request;
    Done done;
    State state = State::waiting;
    bool holds_slot = false;
    Clock::time_point started = Clock::now();
    asio::steady_timer timer;     // the wait for a slot (until the deadline), then the run's time limit
    std::uint64_t timer_arm = 0;  // which arming of the timer a handler belongs to
    observability::ActiveSpan span;
    // The command.
    pid_t pid = -1;                        // also its process group's id
    asio::posix::stream_descriptor pidfd;  // readable once it has exited
    bool reaped = false;
    std::optional<int> status;  // as waitpid reports it; nullopt when lost
    asio::writable_pipe in;
    asio::readable_pipe out, err;
    bool out_open = false, err_open = false;
    std::string out_text, err_text;
    std::array<char, 16384> out_buffer{}, err_buffer{};
    milliseconds limit{0};
    bool limited_by_deadline = false;
    Killed killed = Killed::no;
    std::string overflowed;  // "stdout" or "stderr"
  };

  Impl(asio::io_context& io_, config::ExecSystemConfig c, std::shared_ptr<observability::LegacyMetrics> m)
      : io(io_), config(std::move(c)), metrics(std::move(m)) {
    if (!metrics) metrics = std::make_shared<observability::LegacyMetrics>();
    auto where = config.where.empty() ? std::string() : config.where + ": ";
    auto key = [&](std::string_view k) { return fmt::format("{}systems.{}.exec.{}", where, config.name, k); };
    if (config.command.empty() || config.command.front().empty()) {
      throw ConfigError(fmt::format("{}: must name a program", key("command")));
    }
    if (const char* p = std::getenv("PATH")) path = p;  // read once, at startup
    auto& program = config.command.front();
    if (program.find('/') != std::string::npos) {
      // Relative paths are the config loader's to resolve; one left relative is taken from the
      // current folder now, not from working_dir when it runs.
      if (program.front() != '/') program = std::filesystem::absolute(program).lexically_normal().string();
      if (int e = check_executable(program)) {
        throw ConfigError(
            fmt::format("{}: '{}' is not an executable file ({})", key("command"), program, error_text(e)));
      }
    } else if (!find_in_path(program, path)) {
      throw ConfigError(fmt::format("{}: '{}' is not an executable file in any folder of PATH ({})", key("command"),
                                    program, path.empty() ? "PATH is not set" : "PATH=" + path));
    }
    if (!config.working_dir.empty()) {
      struct stat st {};
      int e = ::stat(config.working_dir.c_str(), &st) != 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
      if (e) {
        throw ConfigError(
            fmt::format("{}: '{}' is not a folder ({})", key("working_dir"), config.working_dir, error_text(e)));
      }
    }
    // The environment: the allowed variables that are set, as they are now.
    for (const auto& name : config.env) {
      const char* value = std::getenv(name.c_str());  // read once, at startup
      if (!value) continue;
      auto entry = name + "=" + value;
      if (std::find(environment.begin(), environment.end(), entry) == environment.end()) environment.push_back(entry);
    }
    // Writing to a command's stdin after it closed it must be an EPIPE error, not the end of the
    // connector (Linux raises SIGPIPE for pipes; Asio ignores it only on some other systems). The
    // commands themselves start with the default disposition (POSIX_SPAWN_SETSIGDEF).
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      struct sigaction ignore {};
      ignore.sa_handler = SIG_IGN;
      sigemptyset(&ignore.sa_mask);
      ::sigaction(SIGPIPE, &ignore, nullptr);
    }
  }

  // Kills what still runs and reaps it; the calls are dropped unanswered.
  ~Impl() {
    for (auto& [id, r] : runs) {
      r->owner = nullptr;  // every handler still pending returns at once
      ++r->timer_arm;
      boost::system::error_code ignored;
      r->in.close(ignored);
      r->out.close(ignored);
      r->err.close(ignored);
      if (r->pid > 0 && !r->reaped) {
        ::killpg(r->pid, SIGKILL);
        r->pidfd.close(ignored);
        // Blocking, but briefly: the whole group was just sent SIGKILL.
        while (::waitpid(r->pid, nullptr, 0) < 0 && errno == EINTR) {
        }
        r->reaped = true;
      }
    }
    metrics->in_flight = 0;
    metrics->waiting = 0;
    try {
      for (auto& [id, r] : runs) r->timer.cancel();
    } catch (const std::exception& e) {
      spdlog::warn("{}: cancelling a timer failed: {}", config.name, e.what());
    }
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void call(const CallContext& context, ExecRequest request, Done done) {
    auto r = std::make_shared<Run>(io, this, next_id++, context, std::move(request), std::move(done));
    runs[r->id] = r;
    metrics->in_flight = runs.size();
    asio::post(io, [r] {  // `done` never runs inside call()
      if (r->owner) r->owner->admit(r);
    });
  }

  // A slot now, or a place in the queue until the deadline.
  void admit(const std::shared_ptr<Run>& r) {
    if (r->context.tracer && r->context.parent.valid()) {
      r->span = observability::ActiveSpan(
          r->context.tracer,
          r->context.tracer->start_child("EXEC " + config.name, observability::SpanKind::client, r->context.parent));
      r->span.set("fx.legacy.system", config.name);
      r->span.set("process.command", config.command.front());
    }
    if (running < static_cast<std::size_t>(config.max_in_flight)) {
      ++running;
      r->holds_slot = true;
      return start(r);
    }
    r->state = Run::State::waiting;
    waiting.push_back(r);
    metrics->waiting = waiting.size();
    auto arm = ++r->timer_arm;
    r->timer.expires_at(r->context.deadline);
    r->timer.async_wait([r, arm](boost::system::error_code ec) {
      auto* self = r->owner;
      if (ec || !self || arm != r->timer_arm || r->state != Run::State::waiting) return;
      auto it = std::find(self->waiting.begin(), self->waiting.end(), r);
      if (it != self->waiting.end()) self->waiting.erase(it);
      self->metrics->waiting = self->waiting.size();
      self->finish(r, Error{ErrorCode::legacy_timeout,
                            fmt::format("{}: all {} slots stayed busy until the request's deadline (max_in_flight)",
                                        self->config.name, self->config.max_in_flight),
                            true, std::nullopt});
    });
  }

  // The command's program: command[0] as it is, or found in PATH now.
  std::optional<std::string> program() const {
    const auto& p = config.command.front();
    if (p.find('/') != std::string::npos) return p;
    return find_in_path(p, path);
  }

  void start(const std::shared_ptr<Run>& r) {
    r->state = Run::State::running;
    auto left = std::chrono::duration_cast<milliseconds>(r->context.deadline - Clock::now());
    if (left < kMinRun) {
      return finish(r, Error{ErrorCode::legacy_timeout,
                             fmt::format("{}: no time left before the request's deadline to run '{}'", config.name,
                                         config.command.front()),
                             true, std::nullopt});
    }
    r->limit = std::min(config.timeout, left);
    r->limited_by_deadline = left < config.timeout;
    auto exe = program();
    if (!exe) {
      return finish(r, Error{ErrorCode::legacy_failed,
                             fmt::format("{}: cannot run '{}': not found in PATH", config.name, config.command.front()),
                             false, std::nullopt});
    }
    // The pipes: our ends stay close-on-exec, the child's become its 0, 1 and 2.
    Fd in_read, in_write, out_read, out_write, err_read, err_write;
    int e = make_pipe(in_read, in_write);
    if (!e) e = make_pipe(out_read, out_write);
    if (!e) e = make_pipe(err_read, err_write);
    if (e) return finish(r, spawn_error(*exe, e));
    std::vector<std::string> argv_text = config.command;
    argv_text.insert(argv_text.end(), r->request.args.begin(), r->request.args.end());
    std::vector<char*> argv;
    argv.reserve(argv_text.size() + 1);
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    envp.reserve(environment.size() + 1);
    for (auto& v : environment) envp.push_back(v.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&actions, in_read.get(), STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_write.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_write.get(), STDERR_FILENO);
    if (!config.working_dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, config.working_dir.c_str());
    // Not only the close-on-exec ones: nothing of the connector's (sockets, files) leaks into a command.
    posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
    sigset_t none;
    sigset_t all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);  // its own process group, led by itself
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    e = ::posix_spawn(&pid, exe->c_str(), &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (e) return finish(r, spawn_error(*exe, e));
    r->pid = pid;
    in_read.reset();
    out_write.reset();
    err_write.reset();
    Fd watch(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (watch.get() < 0) {
      e = errno;
      ::killpg(pid, SIGKILL);
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
      r->reaped = true;
      return finish(r, Error{ErrorCode::internal,
                             fmt::format("{}: cannot watch '{}' (pidfd_open: {})", config.name, *exe, error_text(e)),
                             false, std::nullopt});
    }
    if (r->span.open()) r->span.set("process.pid", std::int64_t{pid});
    r->pidfd.assign(watch.release());
    r->in.assign(in_write.release());
    r->out.assign(out_read.release());
    r->err.assign(err_read.release());
    r->out_open = r->err_open = true;

    await_exit(r);
    // stdin: the input, then end of file. A command that never reads it gets EPIPE once it exits.
    if (r->request.input.empty()) {
      boost::system::error_code ignored;
      r->in.close(ignored);
    } else {
      asio::async_write(r->in, asio::buffer(r->request.input), [r](boost::system::error_code, std::size_t) {
        boost::system::error_code ignored;
        if (r->owner) r->in.close(ignored);
      });
    }
    read(r, false);
    read(r, true);
    auto arm = ++r->timer_arm;
    r->timer.expires_after(r->limit);
    r->timer.async_wait([r, arm](boost::system::error_code ec) {
      auto* self = r->owner;
      if (ec || !self || arm != r->timer_arm || r->state != Run::State::running) return;
      if (r->killed == Run::Killed::no) r->killed = Run::Killed::timeout;
      self->kill(r);
      self->close_outputs(r);  // a timed-out command's output is not wanted, and may be held open elsewhere
      self->maybe_complete(r);
    });
  }

  Error spawn_error(const std::string& exe, int e) const {
    return Error{
        ErrorCode::legacy_failed,
        fmt::format("{}: cannot run '{}'{}: {}", config.name, exe,
                    config.working_dir.empty() ? std::string() : " in '" + config.working_dir + "'", error_text(e)),
        false, std::nullopt};
  }

  // The exit, reaped. A wake-up is only a hint: the wait starts again while the command runs.
  void await_exit(const std::shared_ptr<Run>& r) {
    r->pidfd.async_wait(asio::posix::descriptor_base::wait_read, [r](boost::system::error_code ec) {
      auto* self = r->owner;
      if (!self || r->reaped || ec == asio::error::operation_aborted) return;
      // Exited? (WNOWAIT: it stays a zombie, so its process group's id cannot be reused yet.)
      siginfo_t info{};
      bool ours = ::waitid(P_PID, static_cast<id_t>(r->pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0;
      bool running = ours && info.si_pid == 0;
      if (running && !ec) {
        spdlog::debug("{}: pid {} woke its wait but still runs", self->config.name, r->pid);
        return self->await_exit(r);
      }
      // What it left behind in its group (a background child holding our pipes, say) ends with it;
      // and when the pidfd failed (ec) while it runs, it ends now.
      if (ours) ::killpg(r->pid, SIGKILL);
      int status = 0;
      pid_t got = -1;
      while ((got = ::waitpid(r->pid, &status, running ? 0 : WNOHANG)) < 0 && errno == EINTR) {
      }
      r->reaped = true;
      if (got == r->pid) {
        r->status = status;
      } else {
        spdlog::warn("{}: the exit status of '{}' (pid {}) was lost: {}", self->config.name,
                     self->config.command.front(), r->pid, ec ? ec.message() : error_text(errno));
      }
      boost::system::error_code ignored;
      r->pidfd.close(ignored);
      self->maybe_complete(r);
    });
  }

  void read(const std::shared_ptr<Run>& r, bool from_err) {
    auto& pipe = from_err ? r->err : r->out;
    auto& buffer = from_err ? r->err_buffer : r->out_buffer;
    pipe.async_read_some(asio::buffer(buffer), [r, from_err](boost::system::error_code ec, std::size_t n) {
      auto* self = r->owner;
      if (!self || r->state != Run::State::running) return;
      auto& text = from_err ? r->err_text : r->out_text;
      auto& open = from_err ? r->err_open : r->out_open;
      if (!ec && text.size() + n > self->config.max_output_bytes) {
        if (r->killed == Run::Killed::no) {
          r->killed = Run::Killed::output;
          r->overflowed = from_err ? "stderr" : "stdout";
        }
        self->kill(r);
        ec = asio::error::eof;  // read no further
      }
      if (ec) {
        boost::system::error_code ignored;
        (from_err ? r->err : r->out).close(ignored);
        open = false;
        return self->maybe_complete(r);
      }
      text.append((from_err ? r->err_buffer : r->out_buffer).data(), n);
      self->read(r, from_err);
    });
  }

  void kill(const std::shared_ptr<Run>& r) {
    if (r->pid > 0 && !r->reaped) ::killpg(r->pid, SIGKILL);
  }

  void close_outputs(const std::shared_ptr<Run>& r) {
    boost::system::error_code ignored;
    r->out.close(ignored);
    r->err.close(ignored);
    r->out_open = r->err_open = false;
  }

  // Done once the command is reaped and both its outputs are closed.
  void maybe_complete(const std::shared_ptr<Run>& r) {
    if (r->state != Run::State::running || !r->reaped || r->out_open || r->err_open) return;
    const auto& command = config.command.front();
    if (r->status && WIFEXITED(*r->status) && r->span.open()) {
      r->span.set("process.exit_code", std::int64_t{WEXITSTATUS(*r->status)});
    }
    switch (r->killed) {
      case Run::Killed::timeout:
        return finish(r, Error{ErrorCode::legacy_timeout,
                               fmt::format("{}: '{}' did not finish within {}{}; its process group was killed",
                                           config.name, command, core::format_duration(r->limit),
                                           r->limited_by_deadline ? " (what was left of the request's deadline)" : ""),
                               true, std::nullopt});
      case Run::Killed::output:
        return finish(r, Error{ErrorCode::legacy_failed,
                               fmt::format("{}: '{}' wrote more than {} bytes to {} (max_output_bytes); it was killed",
                                           config.name, command, config.max_output_bytes, r->overflowed),
                               false, std::nullopt});
      case Run::Killed::no: break;
    }
    if (!r->status) {
      return finish(
          r, Error{ErrorCode::legacy_failed, fmt::format("{}: the exit status of '{}' was lost", config.name, command),
                   false, std::nullopt});
    }
    int status = *r->status;
    if (WIFSIGNALED(status)) {
      return finish(
          r, Error{ErrorCode::legacy_failed,
                   fmt::format("{}: '{}' was killed by {}{}", config.name, command, signal_name(WTERMSIG(status)),
                               r->err_text.empty() ? "" : ": " + stderr_tail(r->err_text)),
                   false, std::nullopt});
    }
    int code = WEXITSTATUS(status);
    if (code == 0) return finish(r, ExecResponse{0, std::move(r->out_text), std::move(r->err_text)});
    bool unavailable = std::find(config.unavailable_exit_codes.begin(), config.unavailable_exit_codes.end(), code) !=
                       config.unavailable_exit_codes.end();
    auto tail = r->err_text.empty() ? std::string("(nothing on stderr)") : stderr_tail(r->err_text);
    if (unavailable) {
      return finish(r, Error{ErrorCode::legacy_unavailable,
                             fmt::format("{}: '{}' exited with {} (unavailable_exit_codes: try again later): {}",
                                         config.name, command, code, tail),
                             true, std::nullopt});
    }
    finish(r, Error{ErrorCode::legacy_failed,
                    fmt::format("{}: '{}' exited with {}: {}", config.name, command, code, tail), false, std::nullopt});
  }

  void finish(const std::shared_ptr<Run>& r, Result<ExecResponse> result) {
    r->state = Run::State::done;
    ++r->timer_arm;
    r->timer.cancel();
    boost::system::error_code ignored;
    r->in.close(ignored);
    r->pidfd.close(ignored);
    close_outputs(r);
    if (r->holds_slot) {
      r->holds_slot = false;
      --running;
      // The next waiting call, first come first served.
      while (!waiting.empty()) {
        auto next = waiting.front();
        waiting.pop_front();
        if (next->state != Run::State::waiting) continue;
        ++next->timer_arm;
        next->timer.cancel();
        ++running;
        next->holds_slot = true;
        next->state = Run::State::running;  // no longer waiting: its deadline timer is disarmed
        asio::post(io, [next] {
          if (next->owner && next->state == Run::State::running) next->owner->start(next);
        });
        break;
      }
    }
    runs.erase(r->id);
    metrics->waiting = waiting.size();
    metrics->in_flight = runs.size();
    metrics->seconds.observe(std::chrono::duration<double>(Clock::now() - r->started).count());
    if (result) {
      ++metrics->calls[observability::LegacyMetrics::ok];
    } else {
      switch (result.error().code) {
        case ErrorCode::legacy_timeout: ++metrics->calls[observability::LegacyMetrics::timeout]; break;
        case ErrorCode::legacy_unavailable: ++metrics->calls[observability::LegacyMetrics::unavailable]; break;
        default: ++metrics->calls[observability::LegacyMetrics::failed]; break;
      }
    }
    if (r->span.open()) {
      if (!result) r->span.fail(result.error().message);
      r->span.end();
    }
    auto done = std::move(r->done);
    done(std::move(result));  // may destroy the system: nothing of `this` after it
  }

  asio::io_context& io;
  config::ExecSystemConfig config;
  std::shared_ptr<observability::LegacyMetrics> metrics;
  std::string path;                                    // the connector's PATH, for a command[0] without '/'
  std::vector<std::string> environment;                // NAME=value, the command's whole environment
  std::map<std::uint64_t, std::shared_ptr<Run>> runs;  // every call not finished
  std::deque<std::shared_ptr<Run>> waiting;            // for a slot, in order of arrival
  std::size_t running = 0;                             // slots taken
  std::uint64_t next_id = 0;
};

ExecSystem::ExecSystem(asio::io_context& io, config::ExecSystemConfig config,
                       std::shared_ptr<observability::LegacyMetrics> metrics)
    : impl_(std::make_unique<Impl>(io, std::move(config), std::move(metrics))) {}

ExecSystem::~ExecSystem() = default;

const config::ExecSystemConfig& ExecSystem::config() const { return impl_->config; }

void ExecSystem::call(const CallContext& context, ExecRequest request, Done done) {
  impl_->call(context, std::move(request), std::move(done));
}

}  // namespace fxconnect::systems
