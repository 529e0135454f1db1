#pragma once

#include <signal.h>
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
  // How it is stopped if it still runs when this process exits normally (see Subprocess):
  // this signal to its group, then SIGKILL if it has not exited within 5 s.
  int exit_signal = SIGKILL;
};

// A child process in its own process group. The destructor sends SIGTERM to the group,
// waits up to 10 s, then SIGKILLs it, so a failing test leaves nothing behind; a test that
// crashes takes its children with it (PR_SET_PDEATHSIG). That signal fires when the
// *thread* that started the child ends: start long-lived servers from the main thread.
// One still running when the process exits normally (its owner was never destroyed, as a
// benchmark's environment kept for the whole run) is stopped then with its exit_signal,
// before the TempDirs still alive are removed.
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
  friend void StopLeftoversAtExit();

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  bool exited_ = false;
  int exit_code_ = 0;
  std::string log_path_;
  int exit_signal_ = SIGKILL;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
int FreePort();

// Polls `condition` every 20 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout);

// True when something accepts TCP connections on 127.0.0.1:port.
bool PortAccepts(int port);

// A fresh directory under $TMPDIR (or /tmp), removed recursively by the destructor, or at
// the process's normal exit if it is still alive then (after the Subprocesses still running
// were killed), so a run leaves no data directory behind.
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
