#include "libs/pg/transaction.h"

#include <algorithm>
#include <string>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/pg/errors.h"

namespace sundesk::pg {
namespace {

std::string BeginStatement(const TransactionOptions& options) {
  std::string sql = "BEGIN ISOLATION LEVEL ";
  switch (options.isolation) {
    case Isolation::kReadCommitted:
      sql += "READ COMMITTED";
      break;
    case Isolation::kRepeatableRead:
      sql += "REPEATABLE READ";
      break;
    case Isolation::kSerializable:
      sql += "SERIALIZABLE";
      break;
  }
  sql += options.read_only ? " READ ONLY" : " READ WRITE";
  return sql;
}

// Full jitter over an exponentially growing window: 0..2 ms, 0..4 ms, ... up to 0..100 ms,
// so that the transactions that collided do not collide again in lockstep.
void Backoff(int attempt) {
  thread_local absl::BitGen gen;
  absl::Duration window = std::min(absl::Milliseconds(2) * (int64_t{1} << std::min(attempt, 10)),
                                   absl::Milliseconds(100));
  absl::SleepFor(
      absl::Microseconds(absl::Uniform<int64_t>(gen, 0, absl::ToInt64Microseconds(window) + 1)));
}

enum class Outcome { kCommitted, kFailed, kRetry };

struct Attempt {
  Outcome outcome;
  absl::Status status;
};

Attempt RunOnce(Pool& pool, absl::FunctionRef<absl::Status(Connection&)> fn,
                const TransactionOptions& options) {
  auto lease = pool.Acquire();
  if (!lease.ok()) return {Outcome::kFailed, lease.status()};
  Connection& conn = **lease;
  // A connection lost before COMMIT was sent took its transaction with it: nothing was
  // committed, so running again is safe.
  auto retry_if_lost = [&conn](absl::Status st) -> Attempt {
    if (IsRetryableTransactionError(st)) return {Outcome::kRetry, st};
    if (!conn.healthy() && absl::IsUnavailable(st)) return {Outcome::kRetry, st};
    return {Outcome::kFailed, st};
  };

  if (absl::Status st = conn.ExecuteScript(BeginStatement(options)); !st.ok()) {
    return retry_if_lost(st);
  }
  if (absl::Status st = fn(conn); !st.ok()) {
    if (conn.healthy()) {
      if (absl::Status rb = conn.ExecuteScript("ROLLBACK"); !rb.ok()) {
        log::Warn("pg: ROLLBACK failed", {{"error", rb.ToString()}});
      }
    }
    return retry_if_lost(st);
  }
  if (!conn.in_transaction()) {
    return {Outcome::kFailed,
            absl::InternalError("pg: the transaction function ended the transaction itself")};
  }
  auto commit = conn.Execute("COMMIT");
  if (!commit.ok()) {
    if (IsRetryableTransactionError(commit.status())) return {Outcome::kRetry, commit.status()};
    if (!conn.healthy()) {
      return {Outcome::kFailed,
              absl::UnavailableError(absl::StrCat("pg: connection lost during COMMIT; the "
                                                  "transaction may or may not have committed: ",
                                                  commit.status().message()))};
    }
    return {Outcome::kFailed, commit.status()};
  }
  // COMMIT of a transaction in which a statement failed answers OK with the tag ROLLBACK:
  // `fn` swallowed an error, and nothing was written.
  if (commit->command_tag() != "COMMIT") {
    return {Outcome::kFailed,
            absl::InternalError("pg: a statement failed inside the transaction and its error "
                                "was ignored; the transaction was rolled back")};
  }
  return {Outcome::kCommitted, absl::OkStatus()};
}

}  // namespace

absl::Status WithTransaction(Pool& pool, absl::FunctionRef<absl::Status(Connection&)> fn,
                             const TransactionOptions& options) {
  int attempts = std::max(1, options.max_attempts);
  absl::Status last;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    Attempt a = RunOnce(pool, fn, options);
    if (a.outcome == Outcome::kCommitted) return absl::OkStatus();
    if (a.outcome == Outcome::kFailed) return a.status;
    last = a.status;
    if (attempt < attempts) {
      log::Debug("pg: retrying transaction", {{"attempt", attempt}, {"error", last.ToString()}});
      Backoff(attempt);
    }
  }
  return Annotate(last, absl::StrCat("pg: transaction failed after ", attempts, " attempts"));
}

}  // namespace sundesk::pg
