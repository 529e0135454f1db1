#pragma once

#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/pg/pool.h"

namespace sundesk::kafka {

// Wakes the outbox relay (wherever its leader runs) after writes committed outbox rows,
// without a NOTIFY inside each write transaction. PostgreSQL serializes the commits of
// transactions that NOTIFY (they take one lock on the notification queue until their commit
// is flushed), which ends group commit; this sends `SELECT pg_notify(channel)` from its own
// thread instead, at most once per `min_interval` however many writes asked for it. The
// relay also polls, so a lost wake-up only delays publishing by its poll interval.
//
//   OutboxNotifier notifier(pool, "ticket");
//   ... commit a change with kafka::OutboxEventStatement(...) ...
//   notifier.Notify();
class OutboxNotifier {
 public:
  OutboxNotifier(pg::Pool& pool, std::string schema,
                 absl::Duration min_interval = absl::Milliseconds(5));
  ~OutboxNotifier();
  OutboxNotifier(const OutboxNotifier&) = delete;
  OutboxNotifier& operator=(const OutboxNotifier&) = delete;

  // Cheap and non-blocking: asks for one NOTIFY soon.
  void Notify();

 private:
  void Run();

  pg::Pool& pool_;
  const std::string channel_;
  const absl::Duration min_interval_;
  absl::Mutex mu_;
  bool pending_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace sundesk::kafka
