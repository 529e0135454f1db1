#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sundesk::testing {

struct ProcessOptions {
  std::vector<std::string> argv;           // argv[0] is the program (PATH is searched)
  std::map<std::string, std::string> env;  // added to (and overriding) the parent's
  std::string log_path;                    // stdout+stderr go here; empty = inherit
  std::string run_as_user;                 // e.g. "postgres" when the tests run as root
  bool stdin_pipe = false;                 // give the child a pipe on stdin
};

// A child process in its own process group. The destructor sends SIGTERM to the group,
// waits up to 10 s, then SIGKILLs it, so a failing test leaves nothing behind; a test that
// crashes takes its children with it (PR_SET_PDEATHSIG). That signal fires when the
// *thread* that started the child ends: start long-lived servers from the main thread.
class Subprocess {
 public:
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(ProcessOptions options);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  bool Running();
  // Sends `sig` to the process group.
  void Signal(int sig);
  // Waits for the exit; returns the exit code (128+signal when killed), or
  // DEADLINE_EXCEEDED.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // SIGTERM, wait, SIGKILL after `grace`. Returns the exit code.
  int Stop(absl::Duration grace = absl::Seconds(10));
  // Writes a line to the child's stdin (stdin_pipe must be set).
  absl::Status WriteLine(const std::string& line);
  // The log file's content so far (empty when output was inherited).
  std::string Log() const;

 private:
  Subprocess() = default;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  bool exited_ = false;
  int exit_code_ = 0;
  std::string log_path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
int FreePort();

// Polls `condition` every 20 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout);

// True when something accepts TCP connections on 127.0.0.1:port.
bool PortAccepts(int port);

// A fresh directory under $TMPDIR (or /tmp), removed recursively by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path);

// Directory holding the built binaries (SUNDESK_BIN_DIR, set by CTest).
std::string BinDir();
// The repository root (SUNDESK_SOURCE_DIR, set by CTest).
std::string SourceDir();

}  // namespace sundesk::testing
