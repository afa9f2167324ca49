// Runs a program (a connector) as a child process for integration tests.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace fxconnect::testing {

class ChildProcess {
 public:
  // Starts `argv`; stdout and stderr go to `log_path`.
  ChildProcess(std::vector<std::string> argv, std::string log_path);
  ~ChildProcess();  // SIGKILL if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void signal(int sig);
  // Exit code (128+signal when killed by one), or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();
  std::string log() const;
  // Waits until the log contains `text`; false on timeout or exit.
  bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> exit_code_;
};

// Writes `text` to a new file under the test's temp dir and returns its path.
std::string write_temp_file(const std::string& name, const std::string& text);

// Path of a built program next to the test binaries (build/bin/NAME).
std::string program_path(const std::string& name);

}  // namespace fxconnect::testing
