#include "libs/kafka/outbox_notifier.h"

#include <utility>

#include "libs/core/log.h"
#include "libs/kafka/outbox.h"

namespace sundesk::kafka {

OutboxNotifier::OutboxNotifier(pg::Pool& pool, std::string schema, absl::Duration min_interval)
    : pool_(pool),
      channel_(OutboxChannel(schema)),
      min_interval_(min_interval),
      thread_([this] { Run(); }) {}

OutboxNotifier::~OutboxNotifier() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void OutboxNotifier::Notify() {
  absl::MutexLock lock(&mu_);
  pending_ = true;
}

void OutboxNotifier::Run() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return pending_ || stopping_; };
      mu_.Await(absl::Condition(&wake));
      if (stopping_) return;  // the relay's poll picks up whatever is left
      pending_ = false;
    }
    absl::Status st = [&]() -> absl::Status {
      auto conn = pool_.Acquire(absl::Now() + absl::Seconds(1));
      if (!conn.ok()) return conn.status();
      return (*conn)->Execute("SELECT pg_notify($1, '')", {channel_}).status();
    }();
    if (!st.ok()) log::Debug("outbox notify failed", {{"error", st.ToString()}});
    absl::SleepFor(min_interval_);  // coalesces the writes of this interval into one NOTIFY
  }
}

}  // namespace sundesk::kafka
