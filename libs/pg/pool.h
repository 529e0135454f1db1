#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/core/bounded_pool.h"
#include "libs/pg/connection.h"

namespace sundesk::pg {

struct PoolOptions {
  std::string dsn = "";  // libpq conninfo or URI
  int size = 8;          // most connections open at once
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration statement_timeout = absl::ZeroDuration();  // zero: the server's setting
  absl::Duration acquire_timeout = absl::Seconds(5);        // for Acquire() without deadline
};

// A connection borrowed from a Pool; returned when the lease is destroyed. A connection
// that broke, or was left inside a transaction, is closed instead of being reused.
using Lease = PoolLease<Connection>;

// A bounded set of PostgreSQL sessions shared by threads. Connections open lazily, on
// demand, each within the caller's deadline; an idle connection the server closed is
// replaced before it is handed out. Thread-safe. Must outlive every Lease.
//
//   SUNDESK_ASSIGN_OR_RETURN(pg::Lease conn, pool.Acquire());
//   SUNDESK_ASSIGN_OR_RETURN(pg::Result rows, conn->Execute("SELECT ...", {tenant_id}));
class Pool {
 public:
  // Checks the options (a malformed dsn is INVALID_ARGUMENT) without connecting.
  static absl::StatusOr<std::unique_ptr<Pool>> Create(PoolOptions options);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Waits for a free connection until `deadline`, then UNAVAILABLE.
  absl::StatusOr<Lease> Acquire(absl::Time deadline) { return sessions_.Acquire(deadline); }
  absl::StatusOr<Lease> Acquire() { return Acquire(absl::Now() + options_.acquire_timeout); }

  // `SELECT 1` on a pooled connection: for health checks.
  absl::Status Ping(absl::Duration timeout = absl::Seconds(2));

  const PoolOptions& options() const { return options_; }
  // Connections currently open (leased or idle).
  int open_connections() const { return sessions_.open_connections(); }

 private:
  explicit Pool(PoolOptions options);

  const PoolOptions options_;
  BoundedPool<Connection> sessions_;
};

}  // namespace sundesk::pg
