#include "libs/pg/pool.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"

namespace sundesk::pg {

Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), conn_(std::move(other.conn_)) {}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (conn_ != nullptr) pool_->Release(std::move(conn_));
    pool_ = std::exchange(other.pool_, nullptr);
    conn_ = std::move(other.conn_);
  }
  return *this;
}

Lease::~Lease() {
  if (conn_ != nullptr) pool_->Release(std::move(conn_));
}

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

Pool::~Pool() {
  absl::MutexLock lock(&mu_);
  if (open_ != static_cast<int>(idle_.size())) {
    log::Error("pg: pool destroyed while connections are leased",
               {{"open", open_}, {"idle", idle_.size()}});
    std::abort();
  }
}

absl::StatusOr<Lease> Pool::Acquire(absl::Time deadline) {
  while (true) {
    std::unique_ptr<Connection> conn;
    {
      absl::MutexLock lock(&mu_);
      auto free = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !idle_.empty() || open_ < options_.size;
      };
      if (!mu_.AwaitWithDeadline(absl::Condition(&free), deadline)) {
        return absl::UnavailableError(
            absl::StrCat("pg: all ", options_.size, " connections busy until the deadline"));
      }
      if (idle_.empty()) {
        ++open_;  // reserve the slot; connect outside the lock
      } else {
        conn = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (conn != nullptr) {
      if (conn->StillConnected()) return Lease(this, std::move(conn));
      log::Info("pg: dropping a pooled connection the server closed");
      conn.reset();
      absl::MutexLock lock(&mu_);
      --open_;
      continue;
    }
    absl::Time connect_deadline = std::min(deadline, absl::Now() + options_.connect_timeout);
    auto opened = Connection::Open(
        {.dsn = options_.dsn, .statement_timeout = options_.statement_timeout}, connect_deadline);
    if (!opened.ok()) {
      absl::MutexLock lock(&mu_);
      --open_;
      return opened.status();
    }
    return Lease(this, *std::move(opened));
  }
}

void Pool::Release(std::unique_ptr<Connection> conn) {
  // A session left mid-transaction would leak its locks and snapshot into the next lease.
  bool reusable = conn->healthy() && !conn->in_transaction() && !conn->discarded();
  if (!reusable) conn.reset();  // closes outside the lock
  absl::MutexLock lock(&mu_);
  if (reusable) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
}

absl::Status Pool::Ping(absl::Duration timeout) {
  auto lease = Acquire(absl::Now() + timeout);
  if (!lease.ok()) return lease.status();
  return (*lease)->Execute("SELECT 1").status();
}

int Pool::open_connections() const {
  absl::MutexLock lock(&mu_);
  return open_;
}

}  // namespace sundesk::pg
