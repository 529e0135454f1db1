#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/support/process.h"

namespace sundesk::testing {

struct PostgresServerOptions {
  // Off by default for speed: a committed transaction still survives a crash of the
  // server (WAL reaches the OS on commit), not one of the machine. A durability test turns
  // it on.
  bool fsync = false;
  // Extra `-c name=value` server settings, e.g. {"deadlock_timeout", "100ms"}.
  std::map<std::string, std::string> settings = {};
};

// A throwaway PostgreSQL 15 cluster from the Debian binaries: initdb in a temp dir
// (trust auth, UTF8, C locale), postgres on 127.0.0.1:<free port> with its unix socket in
// the temp dir. Runs as the `postgres` user when the tests run as root. The destructor
// stops it and removes everything, also after a failed test.
//
//   auto server = PostgresServer::Start();
//   ASSERT_TRUE(server.ok()) << server.status();
//   auto dsn = (*server)->CreateDatabase("tickets_test");
class PostgresServer {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start(PostgresServerOptions options = {});
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  // libpq conninfo for `database` as the superuser `postgres`.
  std::string dsn(absl::string_view database = "postgres") const;
  // A fresh, empty database (names: [a-z0-9_]); returns its dsn.
  absl::StatusOr<std::string> CreateDatabase(absl::string_view name);

  // SIGKILL to the postmaster and every backend: a crash. Restart() brings it back.
  void Kill();
  // Stops (fast shutdown, or nothing if killed) and starts again on the same port and
  // data, returning once it accepts connections.
  absl::Status Restart();
  bool running();
  // CPU time (user + system) the server has used so far: the postmaster, its live processes
  // (backends, WAL writer, ...) and those that ended. For benchmarks' per-operation figures;
  // clock-tick resolution (10 ms), so measure over many operations.
  absl::Duration CpuTime();

  const std::string& data_dir() const { return data_dir_; }
  std::string Log() const;

 private:
  explicit PostgresServer(PostgresServerOptions options) : options_(std::move(options)) {}
  absl::Status Launch();
  absl::Status WaitReady();
  void Stop(int signal);
  void RemoveStaleSharedMemory();

  const PostgresServerOptions options_;
  TempDir dir_;  // declared first: removed after the server stopped
  std::string data_dir_;
  std::string socket_dir_;
  std::string user_;  // run_as_user, empty when not root
  int port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace sundesk::testing
