#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "libs/core/bounded_pool.h"
#include "libs/redis/connection.h"
#include "libs/redis/reply.h"

namespace sundesk::redis {

struct PoolOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password = "";
  int db = 0;
  int size = 8;
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration command_timeout = absl::Seconds(1);
  absl::Duration acquire_timeout = absl::Seconds(2);  // for Acquire() without a deadline
  // After a failed connect, the next attempt waits 10 ms, 20 ms, ... up to this; callers
  // meanwhile get UNAVAILABLE at once instead of piling onto a server that is down.
  absl::Duration reconnect_backoff_max = absl::Seconds(1);
};

// A connection borrowed from a Pool, returned when destroyed; a broken one is closed.
using Lease = PoolLease<Connection>;

// Up to `size` Redis connections shared by threads. Connections open on demand; one the
// server closed is dropped before it is handed out; a broken one is closed on return.
// Thread-safe. Must outlive every Lease.
//
//   SUNDESK_ASSIGN_OR_RETURN(redis::Reply r, pool.Command({"HINCRBY", key, "load", "1"}));
class Pool {
 public:
  static absl::StatusOr<std::unique_ptr<Pool>> Create(PoolOptions options);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Waits for a free connection until `deadline`, then UNAVAILABLE; also UNAVAILABLE at
  // once while reconnecting is backing off past the deadline.
  absl::StatusOr<Lease> Acquire(absl::Time deadline) { return connections_.Acquire(deadline); }
  absl::StatusOr<Lease> Acquire() { return Acquire(absl::Now() + options_.acquire_timeout); }

  // Acquire, then Connection::Command / Pipeline.
  absl::StatusOr<Reply> Command(absl::Span<const std::string> argv);
  absl::StatusOr<std::vector<Reply>> Pipeline(absl::Span<const std::vector<std::string>> commands);
  // PING: for health checks.
  absl::Status Ping();

  const PoolOptions& options() const { return options_; }
  int open_connections() const { return connections_.open_connections(); }

 private:
  explicit Pool(PoolOptions options);
  // Opens a connection for the pool, waiting out the reconnect backoff first.
  absl::StatusOr<std::unique_ptr<Connection>> Connect(absl::Time deadline);

  const PoolOptions options_;
  absl::Mutex backoff_mu_;
  absl::Duration backoff_ ABSL_GUARDED_BY(backoff_mu_) = absl::ZeroDuration();
  absl::Time next_connect_ ABSL_GUARDED_BY(backoff_mu_) = absl::InfinitePast();
  absl::Status last_connect_error_ ABSL_GUARDED_BY(backoff_mu_);
  BoundedPool<Connection> connections_;
};

}  // namespace sundesk::redis
