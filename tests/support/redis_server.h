#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/support/process.h"

namespace sundesk::testing {

struct RedisServerOptions {
  std::string password = "";                 // --requirepass when set
  std::vector<std::string> extra_args = {};  // e.g. {"--maxmemory", "1mb"}
};

// A throwaway redis-server on 127.0.0.1:<free port>, keeping nothing on disk
// (--save '' --appendonly no), with DEBUG allowed from loopback. The destructor stops it
// and removes its temp dir.
class RedisServer {
 public:
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  // SIGKILL: a crash. Restart() brings it back (empty).
  void Kill();
  // Stops it (if running) and starts it again on the same port, returning once it accepts
  // connections. Its data is gone, as after a failover to an empty replica.
  absl::Status Restart();
  bool running();
  std::string Log() const;

 private:
  explicit RedisServer(RedisServerOptions options) : options_(std::move(options)) {}
  absl::Status Launch();

  const RedisServerOptions options_;
  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace sundesk::testing
