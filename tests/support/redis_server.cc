#include "tests/support/redis_server.h"

#include <signal.h>

#include "absl/strings/str_cat.h"

namespace sundesk::testing {

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(RedisServerOptions options) {
  std::unique_ptr<RedisServer> server(new RedisServer(std::move(options)));
  if (server->dir_.path().empty()) return absl::InternalError("cannot create a temp dir");
  server->port_ = FreePort();
  if (absl::Status st = server->Launch(); !st.ok()) return st;
  return server;
}

RedisServer::~RedisServer() {
  if (process_ != nullptr) process_->Stop(absl::Seconds(10));
}

absl::Status RedisServer::Launch() {
  // clang-format off
  std::vector<std::string> argv = {
      "redis-server",
      "--port", absl::StrCat(port_),
      "--bind", "127.0.0.1",
      "--save", "",
      "--appendonly", "no",
      "--dir", dir_.path(),
      "--daemonize", "no",
      "--enable-debug-command", "local",
  };
  // clang-format on
  if (!options_.password.empty()) {
    argv.push_back("--requirepass");
    argv.push_back(options_.password);
  }
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  ProcessOptions process_options;
  process_options.argv = std::move(argv);
  process_options.log_path = dir_.path() + "/redis.log";
  auto process = Subprocess::Start(std::move(process_options));
  if (!process.ok()) return process.status();
  process_ = *std::move(process);
  bool up =
      WaitFor([this] { return !process_->Running() || PortAccepts(port_); }, absl::Seconds(30));
  if (!process_->Running()) {
    return absl::InternalError(absl::StrCat("redis-server exited during start-up:\n", Log()));
  }
  if (!up) return absl::DeadlineExceededError("redis-server not listening after 30 s:\n" + Log());
  return absl::OkStatus();
}

bool RedisServer::running() { return process_ != nullptr && process_->Running(); }

void RedisServer::Kill() {
  if (!running()) return;
  process_->Signal(SIGKILL);
  (void)process_->Wait(absl::Seconds(30));
}

absl::Status RedisServer::Restart() {
  if (running()) process_->Stop(absl::Seconds(10));
  return Launch();
}

std::string RedisServer::Log() const { return ReadFile(dir_.path() + "/redis.log"); }

}  // namespace sundesk::testing
