#include "tests/support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

extern char** environ;  // NOLINT: POSIX

namespace sundesk::testing {

void StopLeftoversAtExit();

namespace {

// Subprocesses and TempDirs alive now, for the atexit handler. Never destroyed: static
// destructors that run after the handler still unregister.
struct Alive {
  absl::Mutex mu;
  absl::flat_hash_set<Subprocess*> processes ABSL_GUARDED_BY(mu);
  absl::flat_hash_set<std::string> dirs ABSL_GUARDED_BY(mu);
};

Alive& GetAlive() {
  static Alive* alive = [] {
    std::atexit(&StopLeftoversAtExit);
    return new Alive();
  }();
  return *alive;
}

void RemoveDir(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

}  // namespace

void StopLeftoversAtExit() {
  Alive& alive = GetAlive();
  absl::MutexLock lock(&alive.mu);
  // Signalled together, then awaited: a PostgreSQL asked to quit stops its own children
  // (each in a session of its own) and removes its shared memory.
  for (Subprocess* p : alive.processes) p->Signal(p->exit_signal_);
  for (Subprocess* p : alive.processes) {
    if (!p->Wait(absl::Seconds(5)).ok()) p->Stop(absl::ZeroDuration());
  }
  alive.processes.clear();
  for (const std::string& dir : alive.dirs) RemoveDir(dir);
  alive.dirs.clear();
}

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(ProcessOptions options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("argv is empty");
  uid_t uid = 0;
  gid_t gid = 0;
  if (!options.run_as_user.empty()) {
    passwd* pw = getpwnam(options.run_as_user.c_str());
    if (pw == nullptr) return absl::NotFoundError("no user " + options.run_as_user);
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  // Everything the child needs is prepared before fork: only async-signal-safe calls after.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    std::string key = kv.substr(0, kv.find('='));
    if (!options.env.contains(key)) env_strings.push_back(kv);
  }
  for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (auto& s : options.argv) argv.push_back(s.data());
  argv.push_back(nullptr);

  int log_fd = -1;
  if (!options.log_path.empty()) {
    log_fd = open(options.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) return absl::InternalError("cannot open " + options.log_path);
  }
  int in_pipe[2] = {-1, -1};
  if (options.stdin_pipe && pipe2(in_pipe, O_CLOEXEC) != 0) {
    return absl::InternalError("pipe failed");
  }

  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (log_fd >= 0) {
      dup2(log_fd, 1);
      dup2(log_fd, 2);
    }
    if (in_pipe[0] >= 0) {
      dup2(in_pipe[0], 0);
    } else {
      int devnull = open("/dev/null", O_RDONLY);
      dup2(devnull, 0);
    }
    if (uid != 0) {
      if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(126);
    }
    // A test that crashes runs no destructors: the kernel then stops its servers. Set
    // after setuid, which clears it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(125);
    execvpe(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so Signal() never races the child's setpgid
  if (log_fd >= 0) close(log_fd);
  if (in_pipe[0] >= 0) close(in_pipe[0]);
  auto p = std::unique_ptr<Subprocess>(new Subprocess());
  p->pid_ = pid;
  p->stdin_fd_ = in_pipe[1];
  p->log_path_ = options.log_path;
  p->exit_signal_ = options.exit_signal;
  Alive& alive = GetAlive();
  absl::MutexLock lock(&alive.mu);
  alive.processes.insert(p.get());
  return p;
}

Subprocess::~Subprocess() {
  {
    Alive& alive = GetAlive();
    absl::MutexLock lock(&alive.mu);
    alive.processes.erase(this);
  }
  if (!exited_) Stop();
  if (stdin_fd_ >= 0) close(stdin_fd_);
}

bool Subprocess::Running() {
  if (exited_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exited_ = true;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    kill(-pid_, SIGKILL);  // leftovers of the group, if any
    return false;
  }
  return true;
}

void Subprocess::Signal(int sig) {
  if (!exited_) kill(-pid_, sig);
}

absl::StatusOr<int> Subprocess::Wait(absl::Duration timeout) {
  if (WaitFor([this] { return !Running(); }, timeout)) return exit_code_;
  return absl::DeadlineExceededError(absl::StrCat("pid ", pid_, " still running"));
}

int Subprocess::Stop(absl::Duration grace) {
  if (exited_) return exit_code_;
  Signal(SIGTERM);
  if (auto code = Wait(grace); code.ok()) return *code;
  Signal(SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  exited_ = true;
  exit_code_ = 128 + SIGKILL;
  return exit_code_;
}

absl::Status Subprocess::WriteLine(const std::string& line) {
  if (stdin_fd_ < 0) return absl::FailedPreconditionError("no stdin pipe");
  std::string data = line + "\n";
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(stdin_fd_, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("write to child stdin: ", strerror(errno)));
    }
    off += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

std::string Subprocess::Log() const { return log_path_.empty() ? "" : ReadFile(log_path_); }

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

bool PortAccepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (condition()) return true;
    if (absl::Now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = absl::StrCat(base != nullptr ? base : "/tmp", "/sundesk-test-XXXXXX");
  char* made = mkdtemp(tmpl.data());
  path_ = made != nullptr ? made : "";
  chmod(path_.c_str(), 0755);
  Alive& alive = GetAlive();
  absl::MutexLock lock(&alive.mu);
  alive.dirs.insert(path_);
}

TempDir::~TempDir() {
  {
    Alive& alive = GetAlive();
    absl::MutexLock lock(&alive.mu);
    alive.dirs.erase(path_);
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string BinDir() {
  const char* d = std::getenv("SUNDESK_BIN_DIR");
  return d != nullptr ? d : "build/bin";
}

std::string SourceDir() {
  const char* d = std::getenv("SUNDESK_SOURCE_DIR");
  return d != nullptr ? d : ".";
}

}  // namespace sundesk::testing
