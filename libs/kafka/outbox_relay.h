#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/kafka/producer.h"
#include "libs/pg/connection.h"
#include "libs/pg/listener.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace sundesk::kafka {

struct OutboxRelayOptions {
  std::string dsn;     // the relay opens two sessions of its own: lock + LISTEN
  std::string schema;  // whose `outbox` table (see outbox.h)
  int batch_size = 500;
  // Rows produced and not yet acknowledged by Kafka, at most. The relay reads and produces
  // the next rows while earlier ones await their delivery reports; past this it waits.
  // Zero means 4 x batch_size.
  int max_in_flight = 0;
  // Fallback when a NOTIFY is missed; also how often a standby tries for the lock.
  absl::Duration poll_interval = absl::Seconds(1);
  // Published rows are kept this long (for operators), then deleted. Zero deletes them
  // as soon as Kafka acknowledged them.
  absl::Duration retention = absl::Hours(24);
  // After a failed batch or a lost session: first wait, doubling up to the cap.
  absl::Duration retry_backoff_initial = absl::Milliseconds(100);
  absl::Duration retry_backoff_max = absl::Seconds(5);
  absl::Duration connect_timeout = absl::Seconds(5);
};

// Publishes a schema's outbox rows to Kafka, in id order, at least once.
//
// One relay per schema is active: the one whose session holds the schema's advisory lock
// (OutboxLockKey). Others stand by and take over within poll_interval when that session
// ends, so every replica of a service can run one. The active relay reads unpublished
// rows in batches, in id order, and produces them with the idempotent producer. It is a
// pipeline: rows committed while earlier ones still await their delivery reports are read
// and produced at once (up to max_in_flight rows unacknowledged), and as reports arrive
// the acknowledged prefix is marked published — a row is marked only once Kafka
// acknowledged it and every row produced before it. On a failed report (or a refused
// produce) it stops producing, lets the reports in flight settle, marks the acknowledged
// prefix, backs off and starts again from the first unpublished row: events may be
// published twice (consumers dedupe by event id) but one key's events never overtake each
// other. While Kafka is unreachable, writers still commit and rows wait.
//
// Metrics (on the registry passed in, no labels; every replica reports):
//   sundesk_outbox_pending_events          gauge: rows not yet published
//   sundesk_outbox_publish_delay_seconds   histogram: row insert -> marked published
//                                          (after Kafka's acknowledgement)
//   sundesk_outbox_publish_failures_total  counter: batches that failed (Kafka refused or
//                                          did not acknowledge in time) and were retried
class OutboxRelay {
 public:
  // `producer` must outlive the relay.
  static absl::StatusOr<std::unique_ptr<OutboxRelay>> Create(OutboxRelayOptions options,
                                                             Producer& producer,
                                                             prometheus::Registry& registry);
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  // Relays until Stop(); reconnects after database errors. Call once, on a thread of its own.
  absl::Status Run();
  // Thread-safe; Run() returns within about 100 ms, without waiting for the delivery reports
  // in flight. Unmarked rows are published again by the next active relay.
  void Stop();

  // True while this relay holds the lock and publishes.
  bool active() const { return active_.load(); }

 private:
  OutboxRelay(OutboxRelayOptions options, Producer& producer, prometheus::Registry& registry);

  struct Signals;
  struct Pipeline;
  // One database session: lock, publish, wait; returns on a database error or Stop().
  absl::Status Session();
  // The pipeline's work while active: settle reports, mark, read and produce, wait.
  absl::Status Publish(pg::Connection& conn, Pipeline& p);
  // Reads up to `limit` unpublished rows not in flight and produces them; returns how many
  // were read. A refused produce puts the pipeline in failure.
  absl::StatusOr<int> ReadAndProduce(pg::Connection& conn, Pipeline& p, int limit);
  absl::Status MarkPublished(pg::Connection& conn, const std::vector<int64_t>& ids);
  // Refreshes the pending gauge and deletes rows past retention, each at most so often.
  absl::Status Housekeeping(pg::Connection& conn, bool caught_up);
  // Waits for what can move the pipeline on (see WaitOver) or `deadline`; true when a
  // NOTIFY came (and clears it).
  bool WaitForSignal(const Pipeline& p, absl::Time deadline);
  // Sets the notified signal on every NOTIFY (or maybe-missed) until `over` or Stop().
  void Listen(pg::Listener& listener, const std::atomic<bool>& over);
  bool SleepUnlessStopped(absl::Duration d);
  bool stopping() const;

  const OutboxRelayOptions options_;
  Producer& producer_;
  std::string table_;  // quoted "schema".outbox
  int64_t lock_key_;
  prometheus::Gauge& pending_;
  prometheus::Histogram& delay_;
  prometheus::Counter& failures_;
  std::atomic<bool> active_{false};
  absl::Time last_count_ = absl::InfinitePast();
  absl::Time last_cleanup_ = absl::InfinitePast();
  // Stop(), NOTIFY wake-ups and delivery reports; shared with the producer's callbacks,
  // which may run after the relay is gone.
  std::shared_ptr<Signals> signals_;
  uint64_t next_seq_ = 0;  // produce sequence, relay thread only
};

}  // namespace sundesk::kafka
