#include "libs/pg/pool.h"

#include <libpq-fe.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sundesk::pg {

absl::StatusOr<std::unique_ptr<Pool>> Pool::Create(PoolOptions options) {
  if (options.size < 1) return absl::InvalidArgumentError("pg: pool size must be at least 1");
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.dsn.c_str(), &error);
  if (parsed == nullptr) {
    std::string message = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    return absl::InvalidArgumentError(absl::StrCat("pg: bad dsn: ", message));
  }
  PQconninfoFree(parsed);
  return std::unique_ptr<Pool>(new Pool(std::move(options)));
}

Pool::Pool(PoolOptions options)
    : options_(std::move(options)),
      sessions_({
          .name = "pg",
          .size = options_.size,
          .open =
              [this](absl::Time deadline) {
                return Connection::Open(
                    {.dsn = options_.dsn, .statement_timeout = options_.statement_timeout},
                    std::min(deadline, absl::Now() + options_.connect_timeout));
              },
          .still_usable = [](Connection& conn) { return conn.StillConnected(); },
          // A session left mid-transaction would leak its locks and snapshot into the next
          // lease.
          .reusable =
              [](const Connection& conn) {
                return conn.healthy() && !conn.in_transaction() && !conn.discarded();
              },
      }) {}

absl::Status Pool::Ping(absl::Duration timeout) {
  auto lease = Acquire(absl::Now() + timeout);
  if (!lease.ok()) return lease.status();
  return (*lease)->Execute("SELECT 1").status();
}

}  // namespace sundesk::pg
