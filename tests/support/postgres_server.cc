#include "tests/support/postgres_server.h"

#include <pwd.h>
#include <signal.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sundesk::testing {
namespace {

// The newest /usr/lib/postgresql/<major>/bin holding initdb (Debian's layout).
std::string PostgresBinDir() {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    if (std::filesystem::exists(entry.path() / "bin" / "initdb")) {
      found.push_back((entry.path() / "bin").string());
    }
  }
  std::sort(found.begin(), found.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a > b;
  });
  return found.empty() ? "" : found.front();
}

// Runs a short-lived PostgreSQL tool to completion.
absl::Status RunTool(std::vector<std::string> argv, const std::string& user,
                     const std::string& log_path) {
  std::string tool = argv[0];
  ProcessOptions options;
  options.argv = std::move(argv);
  options.log_path = log_path;
  options.run_as_user = user;
  auto process = Subprocess::Start(std::move(options));
  if (!process.ok()) return process.status();
  auto code = (*process)->Wait(absl::Seconds(120));
  if (!code.ok()) return code.status();
  if (*code != 0) {
    return absl::InternalError(
        absl::StrCat(tool, " exited with ", *code, ":\n", ReadFile(log_path)));
  }
  return absl::OkStatus();
}

absl::Status MakeDirFor(const std::string& path, const std::string& user, mode_t mode) {
  if (mkdir(path.c_str(), mode) != 0) return absl::InternalError("cannot create " + path);
  if (!user.empty()) {
    passwd* pw = getpwnam(user.c_str());
    if (pw == nullptr) return absl::NotFoundError("no user " + user);
    if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::InternalError("cannot chown " + path);
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> PidFileLines(const std::string& data_dir) {
  return absl::StrSplit(ReadFile(data_dir + "/postmaster.pid"), '\n');
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start(
    PostgresServerOptions options) {
  std::unique_ptr<PostgresServer> server(new PostgresServer(std::move(options)));
  if (server->dir_.path().empty()) return absl::InternalError("cannot create a temp dir");
  std::string bin = PostgresBinDir();
  if (bin.empty()) return absl::NotFoundError("no /usr/lib/postgresql/*/bin/initdb");
  // PostgreSQL refuses to run as root.
  server->user_ = geteuid() == 0 ? "postgres" : "";
  server->data_dir_ = server->dir_.path() + "/data";
  server->socket_dir_ = server->dir_.path() + "/run";
  if (absl::Status st = MakeDirFor(server->data_dir_, server->user_, 0700); !st.ok()) return st;
  if (absl::Status st = MakeDirFor(server->socket_dir_, server->user_, 0700); !st.ok()) return st;
  absl::Status st =
      RunTool({bin + "/initdb", "-D", server->data_dir_, "--auth=trust", "-U", "postgres", "-E",
               "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
              server->user_, server->dir_.path() + "/initdb.log");
  if (!st.ok()) return st;
  server->port_ = FreePort();
  if (st = server->Launch(); !st.ok()) return st;
  return server;
}

PostgresServer::~PostgresServer() {
  Stop(SIGQUIT);  // immediate shutdown: nothing here needs to be kept
  RemoveStaleSharedMemory();
}

std::string PostgresServer::dsn(absl::string_view database) const {
  return absl::StrCat("host=127.0.0.1 port=", port_, " user=postgres dbname=", database);
}

absl::StatusOr<std::string> PostgresServer::CreateDatabase(absl::string_view name) {
  for (char c : name) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') {
      return absl::InvalidArgumentError(absl::StrCat("database name \"", name, "\""));
    }
  }
  absl::Status st = RunTool({PostgresBinDir() + "/createdb", "-h", "127.0.0.1", "-p",
                             absl::StrCat(port_), "-U", "postgres", std::string(name)},
                            "", dir_.path() + "/createdb.log");
  if (!st.ok()) return st;
  return dsn(name);
}

absl::Status PostgresServer::Launch() {
  // clang-format off
  std::vector<std::string> argv = {
      PostgresBinDir() + "/postgres",
      "-D", data_dir_,
      "-p", absl::StrCat(port_),
      "-c", "listen_addresses=127.0.0.1",
      "-c", "unix_socket_directories=" + socket_dir_,
      "-c", absl::StrCat("fsync=", options_.fsync ? "on" : "off"),
      "-c", absl::StrCat("full_page_writes=", options_.fsync ? "on" : "off"),
      // Segments in the data dir instead of /dev/shm, so a killed server leaves nothing
      // behind once the dir is removed.
      "-c", "dynamic_shared_memory_type=mmap",
  };
  // clang-format on
  for (const auto& [name, value] : options_.settings) {
    argv.push_back("-c");
    argv.push_back(absl::StrCat(name, "=", value));
  }
  ProcessOptions process_options;
  process_options.argv = std::move(argv);
  process_options.log_path = dir_.path() + "/postgres.log";
  process_options.run_as_user = user_;
  process_options.exit_signal = SIGQUIT;  // immediate shutdown, as the destructor does
  auto process = Subprocess::Start(std::move(process_options));
  if (!process.ok()) return process.status();
  process_ = *std::move(process);
  return WaitReady();
}

absl::Status PostgresServer::WaitReady() {
  // postmaster.pid's 8th line says "ready" once connections are accepted (after any crash
  // recovery); its 1st line tells this postmaster's file from a killed one's.
  std::string pid = absl::StrCat(process_->pid());
  bool ready = WaitFor(
      [&] {
        if (!process_->Running()) return true;
        std::vector<std::string> lines = PidFileLines(data_dir_);
        return lines.size() > 7 && lines[0] == pid &&
               absl::StartsWith(absl::StripAsciiWhitespace(lines[7]), "ready");
      },
      absl::Seconds(120));
  if (!process_->Running()) {
    return absl::InternalError(absl::StrCat("postgres exited during start-up:\n", Log()));
  }
  if (!ready) return absl::DeadlineExceededError("postgres not ready after 120 s:\n" + Log());
  return absl::OkStatus();
}

bool PostgresServer::running() { return process_ != nullptr && process_->Running(); }

void PostgresServer::Stop(int signal) {
  if (!running()) return;
  // To the whole process group: the postmaster and its backends.
  process_->Signal(signal);
  if (!process_->Wait(absl::Seconds(60)).ok()) process_->Stop(absl::Seconds(1));
}

namespace {

// The fields of /proc/<pid>/stat after "pid (comm) ": fields[0] is the state, fields[1]
// the parent, fields[11..14] utime, stime, cutime, cstime in clock ticks. Empty if the
// process is gone. comm may hold spaces and parentheses, so it is cut at the last ')'.
std::vector<std::string> StatFields(const std::filesystem::path& proc_dir) {
  std::ifstream in(proc_dir / "stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 > stat.size()) return {};
  return absl::StrSplit(stat.substr(close + 2), ' ');
}

// The processes whose parent is `parent`.
std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> children;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    std::vector<std::string> fields = StatFields(entry.path());
    int ppid = 0;
    if (fields.size() > 1 && absl::SimpleAtoi(fields[1], &ppid) && ppid == parent) {
      children.push_back(pid);
    }
  }
  return children;
}

// The sum of stat fields [first, last] of `pid`, in clock ticks; 0 if it is gone.
int64_t Ticks(pid_t pid, size_t first, size_t last) {
  std::vector<std::string> fields = StatFields(absl::StrCat("/proc/", pid));
  int64_t sum = 0;
  for (size_t i = first; i <= last && i < fields.size(); ++i) {
    int64_t v = 0;
    if (absl::SimpleAtoi(fields[i], &v)) sum += v;
  }
  return sum;
}

}  // namespace

absl::Duration PostgresServer::CpuTime() {
  if (!running()) return absl::ZeroDuration();
  const pid_t postmaster = process_->pid();
  // The postmaster's own time and its ended children's, then each live child's (backends,
  // WAL writer, checkpointer, ...).
  int64_t ticks = Ticks(postmaster, 11, 14);
  for (pid_t child : ChildrenOf(postmaster)) ticks += Ticks(child, 11, 12);
  return absl::Seconds(static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK)));
}

void PostgresServer::Kill() {
  if (!running()) return;
  // Backends are session leaders of their own (setsid), so the postmaster's process group
  // does not hold them: each is killed too, or a backend still answers its client until it
  // notices the postmaster died.
  const std::vector<pid_t> backends = ChildrenOf(process_->pid());
  process_->Signal(SIGKILL);
  for (pid_t pid : backends) kill(pid, SIGKILL);
  (void)process_->Wait(absl::Seconds(30));
}

absl::Status PostgresServer::Restart() {
  Stop(SIGINT);  // fast shutdown: sessions end, a checkpoint is written
  return Launch();
}

void PostgresServer::RemoveStaleSharedMemory() {
  // A killed postmaster leaves its small System V segment ("key shmid" on the 7th line of
  // postmaster.pid); a clean shutdown removes the file and the segment.
  std::vector<std::string> lines = PidFileLines(data_dir_);
  if (lines.size() <= 6) return;
  std::vector<std::string> fields = absl::StrSplit(lines[6], ' ', absl::SkipWhitespace());
  int shmid = 0;
  if (fields.size() == 2 && absl::SimpleAtoi(fields[1], &shmid)) {
    shmctl(shmid, IPC_RMID, nullptr);
  }
}

std::string PostgresServer::Log() const { return ReadFile(dir_.path() + "/postgres.log"); }

}  // namespace sundesk::testing
