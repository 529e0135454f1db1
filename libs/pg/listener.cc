#include "libs/pg/listener.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"

namespace sundesk::pg {

absl::StatusOr<std::unique_ptr<Listener>> Listener::Create(ListenerOptions options) {
  std::unique_ptr<Listener> listener(new Listener(std::move(options)));
  absl::Status st = listener->Connect(absl::Now() + listener->options_.connect_timeout);
  if (!st.ok()) return st;
  return listener;
}

absl::Status Listener::Connect(absl::Time deadline) {
  conn_.reset();
  auto conn = Connection::Open({.dsn = options_.dsn},
                               std::min(deadline, absl::Now() + options_.connect_timeout));
  if (!conn.ok()) return conn.status();
  for (const std::string& channel : options_.channels) {
    absl::Status st =
        (*conn)->ExecuteScript(absl::StrCat("LISTEN ", (*conn)->QuoteIdentifier(channel)));
    if (!st.ok()) return st;
  }
  conn_ = *std::move(conn);
  return absl::OkStatus();
}

absl::Status Listener::Reconnect(absl::Time deadline) {
  while (true) {
    absl::Status st = Connect(deadline);
    if (st.ok()) {
      backoff_ = absl::ZeroDuration();
      log::Info("pg: listener reconnected", {{"channels", options_.channels.size()}});
      return st;
    }
    backoff_ = std::clamp(backoff_ * 2, absl::Milliseconds(10), options_.reconnect_backoff_max);
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return st;
    absl::SleepFor(std::min(backoff_, left));
  }
}

absl::StatusOr<Wakeup> Listener::Wait(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (conn_ == nullptr || !conn_->healthy()) {
      if (absl::Status st = Reconnect(deadline); !st.ok()) return st;
      Wakeup reconnected;
      reconnected.maybe_missed = true;
      return reconnected;
    }
    PGconn* native = conn_->native();
    if (PQconsumeInput(native) == 0) {
      log::Warn("pg: listener lost its connection", {{"error", conn_->error_message()}});
      conn_.reset();
      continue;
    }
    Wakeup wakeup;
    while (PGnotify* n = PQnotifies(native)) {
      wakeup.notifications.push_back(
          {.channel = n->relname, .payload = n->extra, .sender_pid = n->be_pid});
      PQfreemem(n);
    }
    if (!wakeup.notifications.empty()) return wakeup;

    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return wakeup;
    pollfd p{PQsocket(native), POLLIN, 0};
    int ms = static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 60'000));
    if (poll(&p, 1, ms) < 0 && errno != EINTR) {
      return absl::InternalError(absl::StrCat("pg: poll failed: ", errno));
    }
  }
}

}  // namespace sundesk::pg
