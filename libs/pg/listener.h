#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/pg/connection.h"

namespace sundesk::pg {

struct ListenerOptions {
  std::string dsn = "";
  std::vector<std::string> channels = {};  // LISTENed to on every (re)connection
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration reconnect_backoff_max = absl::Seconds(1);
};

struct Notification {
  std::string channel;
  std::string payload;
  int sender_pid = 0;
};

struct Wakeup {
  std::vector<Notification> notifications;  // empty when the wait timed out
  // The session was lost and has been re-established: NOTIFYs sent in between were not
  // seen, so the caller should look at the data itself (e.g. scan the outbox).
  bool maybe_missed = false;
};

// A dedicated session that LISTENs to channels, so that a worker (the outbox relay) wakes
// as soon as a transaction that NOTIFYs commits, instead of polling. Not thread-safe: one
// thread calls Wait in a loop.
//
//   while (running) {
//     SUNDESK_ASSIGN_OR_RETURN(pg::Wakeup w, listener->Wait(absl::Seconds(1)));
//     PublishPendingOutboxRows();  // on a notification, a timeout or maybe_missed alike
//   }
class Listener {
 public:
  // Connects and LISTENs; UNAVAILABLE when the server cannot be reached in connect_timeout.
  static absl::StatusOr<std::unique_ptr<Listener>> Create(ListenerOptions options);

  // Returns every queued notification as soon as there is one, `maybe_missed` right after
  // a reconnection, or an empty Wakeup when `timeout` passes. A lost session is
  // re-established with capped exponential backoff; UNAVAILABLE if that does not succeed
  // within `timeout`.
  absl::StatusOr<Wakeup> Wait(absl::Duration timeout);

 private:
  explicit Listener(ListenerOptions options) : options_(std::move(options)) {}
  absl::Status Connect(absl::Time deadline);
  absl::Status Reconnect(absl::Time deadline);

  const ListenerOptions options_;
  std::unique_ptr<Connection> conn_;
  absl::Duration backoff_ = absl::ZeroDuration();
};

}  // namespace sundesk::pg
