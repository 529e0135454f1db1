#pragma once

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "libs/pg/connection.h"
#include "libs/pg/pool.h"

namespace sundesk::pg {

enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

struct TransactionOptions {
  Isolation isolation = Isolation::kReadCommitted;
  // Runs of `fn` at most, counting the first; retries follow serialization failures and
  // deadlocks, and connections lost before COMMIT was sent.
  int max_attempts = 5;
  bool read_only = false;
};

// Runs `fn` inside BEGIN ... COMMIT on a pooled connection. When `fn` fails, rolls back
// and returns its status. When PostgreSQL aborts the transaction for a serialization
// failure (40001) or deadlock (40P01), sleeps a little (jittered, growing) and runs the
// whole of `fn` again on a fresh transaction, so `fn` must only touch the database and
// its own locals. OK means COMMIT succeeded, and the data is durable. If the connection
// is lost during COMMIT the outcome is unknown: UNAVAILABLE, and no retry.
//
//   std::string id;
//   SUNDESK_RETURN_IF_ERROR(pg::WithTransaction(pool, [&](pg::Connection& tx) {
//     SUNDESK_ASSIGN_OR_RETURN(pg::Result r, tx.Execute("INSERT ... RETURNING id", {...}));
//     id = std::string(r.Text(0, 0));
//     return tx.Execute("INSERT INTO outbox ...", {...}).status();
//   }, {.isolation = pg::Isolation::kSerializable}));
absl::Status WithTransaction(Pool& pool, absl::FunctionRef<absl::Status(Connection&)> fn,
                             const TransactionOptions& options = {});

}  // namespace sundesk::pg
