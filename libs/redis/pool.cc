#include "libs/redis/pool.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"

namespace sundesk::redis {

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
  if (options.size < 1) return absl::InvalidArgumentError("redis: pool size must be at least 1");
  if (options.host.empty() || options.port <= 0 || options.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("redis: bad address ", options.host, ":", options.port));
  }
  return std::unique_ptr<Pool>(new Pool(std::move(options)));
}

Pool::~Pool() {
  absl::MutexLock lock(&mu_);
  if (open_ != static_cast<int>(idle_.size())) {
    log::Error("redis: pool destroyed while connections are leased",
               {{"open", open_}, {"idle", idle_.size()}});
    std::abort();
  }
}

absl::StatusOr<Lease> Pool::Acquire(absl::Time deadline) {
  while (true) {
    std::unique_ptr<Connection> conn;
    absl::Time backing_off_until = absl::InfinitePast();
    {
      absl::MutexLock lock(&mu_);
      auto free = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !idle_.empty() || open_ < options_.size;
      };
      if (!mu_.AwaitWithDeadline(absl::Condition(&free), deadline)) {
        return absl::UnavailableError(
            absl::StrCat("redis: all ", options_.size, " connections busy until the deadline"));
      }
      if (!idle_.empty()) {
        conn = std::move(idle_.back());
        idle_.pop_back();
      } else if (absl::Now() < next_connect_) {
        if (next_connect_ > deadline) {
          return absl::UnavailableError(absl::StrCat(
              "redis: ", options_.host, ":", options_.port, " unreachable; next attempt in ",
              absl::FormatDuration(next_connect_ - absl::Now()),
              "; last error: ", last_connect_error_.message()));
        }
        backing_off_until = next_connect_;
      } else {
        ++open_;  // reserve the slot; connect outside the lock
      }
    }
    if (conn != nullptr) {
      if (conn->StillConnected()) return Lease(this, std::move(conn));
      conn.reset();
      absl::MutexLock lock(&mu_);
      --open_;
      continue;
    }
    if (backing_off_until != absl::InfinitePast()) {
      absl::SleepFor(backing_off_until - absl::Now());
      continue;
    }
    auto opened = Connect(deadline);
    if (!opened.ok()) return opened.status();
    return Lease(this, *std::move(opened));
  }
}

absl::StatusOr<std::unique_ptr<Connection>> Pool::Connect(absl::Time deadline) {
  auto conn = Connection::Open({.host = options_.host,
                                .port = options_.port,
                                .password = options_.password,
                                .db = options_.db,
                                .command_timeout = options_.command_timeout},
                               std::min(deadline, absl::Now() + options_.connect_timeout));
  absl::MutexLock lock(&mu_);
  if (conn.ok()) {
    if (backoff_ > absl::ZeroDuration()) {
      log::Info("redis: reconnected", {{"host", options_.host}, {"port", options_.port}});
    }
    backoff_ = absl::ZeroDuration();
    next_connect_ = absl::InfinitePast();
    return conn;
  }
  --open_;
  backoff_ = std::clamp(backoff_ * 2, absl::Milliseconds(10), options_.reconnect_backoff_max);
  next_connect_ = absl::Now() + backoff_;
  last_connect_error_ = conn.status();
  log::Warn("redis: cannot connect",
            {{"error", conn.status().message()}, {"retry_in", absl::FormatDuration(backoff_)}});
  return conn.status();
}

void Pool::Release(std::unique_ptr<Connection> conn) {
  bool reusable = conn->healthy();
  if (!reusable) conn.reset();  // closes outside the lock
  absl::MutexLock lock(&mu_);
  if (reusable) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
}

absl::StatusOr<Reply> Pool::Command(absl::Span<const std::string> argv) {
  auto lease = Acquire();
  if (!lease.ok()) return lease.status();
  return (*lease)->Command(argv);
}

absl::StatusOr<std::vector<Reply>> Pool::Pipeline(
    absl::Span<const std::vector<std::string>> commands) {
  auto lease = Acquire();
  if (!lease.ok()) return lease.status();
  return (*lease)->Pipeline(commands);
}

absl::Status Pool::Ping() {
  auto pong = Command({"PING"});
  if (!pong.ok()) return pong.status();
  if (pong->type != ReplyType::kStatus || pong->str != "PONG") {
    return absl::InternalError("redis: unexpected PING reply " + pong->DebugString());
  }
  return absl::OkStatus();
}

int Pool::open_connections() const {
  absl::MutexLock lock(&mu_);
  return open_;
}

}  // namespace sundesk::redis
