#include "libs/redis/pool.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"

namespace sundesk::redis {

absl::StatusOr<std::unique_ptr<Pool>> Pool::Create(PoolOptions options) {
  if (options.size < 1) return absl::InvalidArgumentError("redis: pool size must be at least 1");
  if (options.host.empty() || options.port <= 0 || options.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("redis: bad address ", options.host, ":", options.port));
  }
  return std::unique_ptr<Pool>(new Pool(std::move(options)));
}

Pool::Pool(PoolOptions options)
    : options_(std::move(options)),
      connections_({
          .name = "redis",
          .size = options_.size,
          .open = [this](absl::Time deadline) { return Connect(deadline); },
          .still_usable = [](Connection& conn) { return conn.StillConnected(); },
          .reusable = [](const Connection& conn) { return conn.healthy(); },
      }) {}

absl::StatusOr<std::unique_ptr<Connection>> Pool::Connect(absl::Time deadline) {
  while (true) {
    absl::Time next_connect;
    {
      absl::MutexLock lock(&backoff_mu_);
      if (absl::Now() >= next_connect_) break;
      if (next_connect_ > deadline) {
        return absl::UnavailableError(absl::StrCat(
            "redis: ", options_.host, ":", options_.port, " unreachable; next attempt in ",
            absl::FormatDuration(next_connect_ - absl::Now()),
            "; last error: ", last_connect_error_.message()));
      }
      next_connect = next_connect_;
    }
    // Another caller's attempt may fail meanwhile and push the next one further out.
    absl::SleepFor(next_connect - absl::Now());
  }
  auto conn = Connection::Open({.host = options_.host,
                                .port = options_.port,
                                .password = options_.password,
                                .db = options_.db,
                                .command_timeout = options_.command_timeout},
                               std::min(deadline, absl::Now() + options_.connect_timeout));
  absl::MutexLock lock(&backoff_mu_);
  if (conn.ok()) {
    if (backoff_ > absl::ZeroDuration()) {
      log::Info("redis: reconnected", {{"host", options_.host}, {"port", options_.port}});
    }
    backoff_ = absl::ZeroDuration();
    next_connect_ = absl::InfinitePast();
    return conn;
  }
  backoff_ = std::clamp(backoff_ * 2, absl::Milliseconds(10), options_.reconnect_backoff_max);
  next_connect_ = absl::Now() + backoff_;
  last_connect_error_ = conn.status();
  log::Warn("redis: cannot connect",
            {{"error", conn.status().message()}, {"retry_in", absl::FormatDuration(backoff_)}});
  return conn.status();
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

}  // namespace sundesk::redis
