#pragma once

#include <atomic>
#include <deque>
#include <random>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "libs/core/clock.h"
#include "services/notification/delivery/delivery_metrics.h"
#include "services/notification/delivery/email_sender.h"
#include "services/notification/delivery/webhook_sender.h"
#include "services/notification/domain/delivery.h"
#include "services/notification/store/pg_delivery_store.h"
#include "sundesk/events/v1/events.pb.h"

namespace sundesk::notification {

struct DispatcherOptions {
  RetrySchedule schedule = {};
  // How often the database is asked for due deliveries when nothing else wakes the loop.
  absl::Duration poll_interval = absl::Milliseconds(200);
  // After Wake(), the soonest the next claim may follow the previous one: wake-ups from a
  // busy intake are coalesced into one query per this much time.
  absl::Duration wake_coalesce = absl::Milliseconds(2);
  int batch_size = 256;  // deliveries claimed per query
  // Outcomes are recorded once this many have finished, or this long after the first of
  // them finished: fewer, larger transactions (recording late delays no delivery, only
  // when its lease is released).
  int record_batch = 512;
  absl::Duration record_coalesce = absl::Milliseconds(10);
  // Attempts started and not yet recorded, at most; more due ones wait in the database.
  int max_outstanding = 4096;
  // How long a claim lasts: longer than an attempt can take. After a crash, another
  // dispatcher takes the claimed deliveries over once it has passed.
  absl::Duration lease = absl::Minutes(2);
};

// Moves due deliveries along: claims them from PostgreSQL, hands webhooks to the
// WebhookSender (many in flight), and records the attempts' outcomes (DELIVERED, RETRYING
// with its backoff, or DEAD with a DLQ record through the outbox), all that finished since
// the loop last looked in one transaction. Emails go to the
// EmailSender when one is configured; without an SMTP relay they are dead-lettered at once
// ("no SMTP relay configured") so nobody believes them delivered.
//
// Outcomes are recorded on a thread of their own (started and joined by Run()), so the
// loop that starts attempts never waits for that transaction: a delivery handed over by
// the intake is started while the previous outcomes are being written.
//
// Run() blocks on the caller's thread; Stop() may be called from any thread. Attempts in
// flight at Stop() keep their lease and are retried by the next dispatcher when it ends.
class Dispatcher {
 public:
  // `emails` and `metrics` may be null.
  Dispatcher(PgDeliveryStore& store, WebhookSender& webhooks, EmailSender* emails,
             const Clock& clock, DeliveryMetrics* metrics, DispatcherOptions options);

  void Run();
  void Stop();
  // New deliveries were stored (by this process's intake): claim soon instead of at the
  // next poll. Other replicas' intakes still reach this dispatcher through the poll.
  void Wake();
  // Deliveries the intake stored already leased to this dispatcher (see
  // PgDeliveryStore::RecordEvents' handoff): attempted without a claim. Any thread.
  void Adopt(std::vector<DueDelivery> due);
  // How many more deliveries it takes now: max_outstanding minus those in flight or
  // adopted and not yet started. Any thread; an estimate (others may add meanwhile).
  int Room() const;
  absl::Duration lease() const { return options_.lease; }

 private:
  struct Completed {
    DueDelivery due;
    AttemptResult result;
  };
  void Start(DueDelivery due);
  // Renders `payload` (a serialized event) as JSON into rendered_body_, unless it is the
  // payload rendered last. False when it does not parse.
  bool Render(const std::string& payload);
  // The recorder thread: records what finished, batch after batch, until Stop().
  void RecordLoop();
  // Records the outcomes of finished attempts (one transaction for all of them).
  void RecordAll(const std::deque<Completed>& done);
  void Count(const AttemptOutcome& outcome, absl::Time now);
  void Complete(DueDelivery due, const AttemptResult& result);

  PgDeliveryStore& store_;
  WebhookSender& webhooks_;
  EmailSender* emails_;
  const Clock& clock_;
  DeliveryMetrics* metrics_;
  const DispatcherOptions options_;
  std::mt19937_64 rng_{std::random_device{}()};  // the recorder thread's
  // The last event Start rendered (the loop thread's).
  std::string rendered_payload_;
  std::string rendered_body_;
  bool rendered_ok_ = false;
  std::atomic<int> outstanding_{0};      // started, outcome not yet recorded
  std::atomic<int> adopted_waiting_{0};  // adopted, not yet started
  // The loop found no room for a claim: the recorder wakes it once it has freed some.
  std::atomic<bool> wants_room_{false};
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Completed> completed_ ABSL_GUARDED_BY(mu_);
  std::vector<DueDelivery> adopted_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sundesk::notification
