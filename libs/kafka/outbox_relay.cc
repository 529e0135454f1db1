#include "libs/kafka/outbox_relay.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/kafka/outbox.h"

namespace sundesk::kafka {
namespace {

// Kafka is normally milliseconds away; an outage stretches this to minutes.
const std::vector<double>& DelayBuckets() {
  static const auto* buckets =
      new std::vector<double>{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
  return *buckets;
}

// Delivery reports of one batch; shared with the producer's callbacks, which may outlive
// a relay that stopped waiting.
struct BatchReports {
  explicit BatchReports(size_t n) : status(n) {}
  bool Done() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return reported == expected; }

  absl::Mutex mu;
  std::vector<absl::Status> status ABSL_GUARDED_BY(mu);
  size_t reported ABSL_GUARDED_BY(mu) = 0;
  size_t expected ABSL_GUARDED_BY(mu) = SIZE_MAX;  // known once every row was queued
};

}  // namespace

struct OutboxRelay::Row {
  int64_t id = 0;
  std::string topic;
  std::string key;
  std::string payload;
  Headers headers;
};

absl::StatusOr<std::unique_ptr<OutboxRelay>> OutboxRelay::Create(OutboxRelayOptions options,
                                                                 Producer& producer,
                                                                 prometheus::Registry& registry) {
  if (options.dsn.empty()) return absl::InvalidArgumentError("outbox relay: dsn is empty");
  if (options.schema.empty()) return absl::InvalidArgumentError("outbox relay: schema is empty");
  if (options.batch_size < 1) return absl::InvalidArgumentError("outbox relay: batch_size < 1");
  return std::unique_ptr<OutboxRelay>(new OutboxRelay(std::move(options), producer, registry));
}

OutboxRelay::OutboxRelay(OutboxRelayOptions options, Producer& producer,
                         prometheus::Registry& registry)
    : options_(std::move(options)),
      producer_(producer),
      lock_key_(OutboxLockKey(options_.schema)),
      pending_(prometheus::BuildGauge()
                   .Name("sundesk_outbox_pending_events")
                   .Help("Outbox rows committed but not yet acknowledged by Kafka")
                   .Register(registry)
                   .Add({})),
      delay_(prometheus::BuildHistogram()
                 .Name("sundesk_outbox_publish_delay_seconds")
                 .Help("From an outbox row's insert to its publication being acknowledged")
                 .Register(registry)
                 .Add({}, DelayBuckets())),
      failures_(prometheus::BuildCounter()
                    .Name("sundesk_outbox_publish_failures_total")
                    .Help("Outbox batches that failed to publish and were retried")
                    .Register(registry)
                    .Add({})) {}

void OutboxRelay::Stop() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
}

bool OutboxRelay::stopping() const {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

bool OutboxRelay::SleepUnlessStopped(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), d);
  return stopping_;
}

absl::Status OutboxRelay::Run() {
  log::Info("outbox relay started", {{"schema", options_.schema}});
  absl::Duration backoff = options_.retry_backoff_initial;
  while (!stopping()) {
    absl::Time started = absl::Now();
    absl::Status st = Session();
    active_ = false;
    if (stopping()) break;
    // A session that lasted a while was healthy: start backing off from the bottom again.
    if (absl::Now() - started > options_.retry_backoff_max) {
      backoff = options_.retry_backoff_initial;
    }
    log::Warn("outbox relay lost its database session; reconnecting",
              {{"schema", options_.schema},
               {"error", st.ToString()},
               {"retry_in", absl::FormatDuration(backoff)}});
    if (SleepUnlessStopped(backoff)) break;
    backoff = std::min(backoff * 2, options_.retry_backoff_max);
  }
  log::Info("outbox relay stopped", {{"schema", options_.schema}});
  return absl::OkStatus();
}

absl::Status OutboxRelay::Session() {
  // A session of its own, never pooled: the advisory lock lives and dies with it.
  SUNDESK_ASSIGN_OR_RETURN(
      std::unique_ptr<pg::Connection> conn,
      pg::Connection::Open({.dsn = options_.dsn}, absl::Now() + options_.connect_timeout));
  table_ = absl::StrCat(conn->QuoteIdentifier(options_.schema), ".outbox");
  // Marking rows published need not wait for its WAL flush: a mark lost in a crash only
  // means those rows are published again, which at-least-once delivery allows. The next
  // batch then starts without waiting for the disk.
  SUNDESK_RETURN_IF_ERROR(conn->ExecuteScript("SET synchronous_commit = off"));
  // Without LISTEN the relay still works, polling every poll_interval.
  std::unique_ptr<pg::Listener> listener;
  if (auto l = pg::Listener::Create({.dsn = options_.dsn,
                                     .channels = {OutboxChannel(options_.schema)},
                                     .connect_timeout = options_.connect_timeout});
      l.ok()) {
    listener = std::move(*l);
  } else {
    log::Warn("outbox relay cannot LISTEN; polling", {{"error", l.status().ToString()}});
  }

  absl::Duration backoff = options_.retry_backoff_initial;
  while (!stopping()) {
    if (!active_) {
      SUNDESK_ASSIGN_OR_RETURN(pg::Result r,
                               conn->Execute("SELECT pg_try_advisory_lock($1)", {lock_key_}));
      SUNDESK_ASSIGN_OR_RETURN(bool locked, r.Bool(0, 0));
      if (!locked) {
        SUNDESK_RETURN_IF_ERROR(Housekeeping(*conn, /*caught_up=*/false));
        SleepUnlessStopped(options_.poll_interval);
        continue;
      }
      active_ = true;
      log::Info("outbox relay is active", {{"schema", options_.schema}});
    }
    auto read = PublishBatch(*conn);
    if (!read.ok()) {
      if (stopping()) break;
      if (!conn->healthy()) return read.status();
      failures_.Increment();
      log::Warn("outbox publish failed; retrying from the first unpublished row",
                {{"schema", options_.schema},
                 {"error", read.status().ToString()},
                 {"retry_in", absl::FormatDuration(backoff)}});
      SUNDESK_RETURN_IF_ERROR(Housekeeping(*conn, /*caught_up=*/false));
      SleepUnlessStopped(backoff);
      backoff = std::min(backoff * 2, options_.retry_backoff_max);
      continue;
    }
    backoff = options_.retry_backoff_initial;
    bool more = *read == options_.batch_size;
    SUNDESK_RETURN_IF_ERROR(Housekeeping(*conn, /*caught_up=*/!more));
    if (!more) WaitForWork(listener.get());
  }
  return absl::OkStatus();
}

absl::StatusOr<int> OutboxRelay::PublishBatch(pg::Connection& conn) {
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn.Execute(absl::StrCat("SELECT id, topic, key, payload, headers FROM ", table_,
                                " WHERE published_at IS NULL ORDER BY id LIMIT $1"),
                   {options_.batch_size}));
  std::vector<Row> rows(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    Row& row = rows[static_cast<size_t>(i)];
    SUNDESK_ASSIGN_OR_RETURN(row.id, r.Int64(i, 0));
    row.topic = std::string(r.Text(i, 1));
    row.key = std::string(r.Text(i, 2));
    SUNDESK_ASSIGN_OR_RETURN(row.payload, r.Bytea(i, 3));
    SUNDESK_ASSIGN_OR_RETURN(std::string headers, r.Bytea(i, 4));
    auto decoded = DecodeHeaders(headers);
    if (!decoded.ok()) {
      return absl::DataLossError(
          absl::StrCat(table_, " row ", row.id, ": ", decoded.status().message()));
    }
    row.headers = std::move(*decoded);
  }
  if (rows.empty()) return 0;

  auto reports = std::make_shared<BatchReports>(rows.size());
  size_t queued = 0;
  absl::Status refused;
  for (; queued < rows.size(); ++queued) {
    const Row& row = rows[queued];
    refused = producer_.Produce(row.topic, row.key, row.payload, row.headers,
                                [reports, i = queued](const Delivery& d) {
                                  absl::MutexLock lock(&reports->mu);
                                  reports->status[i] = d.status;
                                  ++reports->reported;
                                });
    if (!refused.ok()) break;
  }
  // Every queued row gets a report within the producer's delivery timeout.
  {
    absl::MutexLock lock(&reports->mu);
    reports->expected = queued;
  }
  bool all_reported = false;
  while (!all_reported && !stopping()) {
    absl::MutexLock lock(&reports->mu);
    all_reported = reports->mu.AwaitWithTimeout(absl::Condition(reports.get(), &BatchReports::Done),
                                                absl::Milliseconds(100));
  }
  if (!all_reported) return absl::CancelledError("outbox relay stopping");

  // Only the acknowledged prefix: a later row of the same key must not be marked while
  // an earlier one is still to be sent.
  size_t prefix = 0;
  absl::Status first_failure = refused;
  {
    absl::MutexLock lock(&reports->mu);
    while (prefix < queued && reports->status[prefix].ok()) ++prefix;
    if (prefix < queued) first_failure = reports->status[prefix];
  }
  SUNDESK_RETURN_IF_ERROR(MarkPublished(conn, rows, prefix));
  if (prefix < rows.size()) {
    return absl::Status(first_failure.code(),
                        absl::StrCat("row ", rows[prefix].id, " to ", rows[prefix].topic, ": ",
                                     first_failure.message()));
  }
  log::Debug("outbox published", {{"schema", options_.schema}, {"events", rows.size()}});
  return static_cast<int>(rows.size());
}

absl::Status OutboxRelay::MarkPublished(pg::Connection& conn, const std::vector<Row>& rows,
                                        size_t count) {
  if (count == 0) return absl::OkStatus();
  std::vector<int64_t> ids;
  ids.reserve(count);
  for (size_t i = 0; i < count; ++i) ids.push_back(rows[i].id);
  std::string id_array = absl::StrCat("{", absl::StrJoin(ids, ","), "}");
  std::string sql =
      options_.retention <= absl::ZeroDuration()
          ? absl::StrCat("DELETE FROM ", table_,
                         " WHERE id = ANY($1::bigint[]) AND published_at IS NULL RETURNING "
                         "extract(epoch FROM clock_timestamp() - created_at)::float8")
          : absl::StrCat("UPDATE ", table_,
                         " SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[]) "
                         "AND published_at IS NULL RETURNING "
                         "extract(epoch FROM published_at - created_at)::float8");
  SUNDESK_ASSIGN_OR_RETURN(pg::Result r, conn.Execute(sql, {id_array}));
  for (int i = 0; i < r.rows(); ++i) {
    SUNDESK_ASSIGN_OR_RETURN(double seconds, r.Double(i, 0));
    delay_.Observe(std::max(seconds, 0.0));
  }
  return absl::OkStatus();
}

absl::Status OutboxRelay::Housekeeping(pg::Connection& conn, bool caught_up) {
  absl::Time now = absl::Now();
  // Counting is cheap on the partial index while the backlog is small; while working
  // through a large one, once a second is plenty.
  if (now - last_count_ >= (caught_up ? absl::Milliseconds(100) : absl::Seconds(1))) {
    SUNDESK_ASSIGN_OR_RETURN(
        pg::Result r,
        conn.Execute(absl::StrCat("SELECT count(*) FROM ", table_, " WHERE published_at IS NULL")));
    SUNDESK_ASSIGN_OR_RETURN(int64_t pending, r.Int64(0, 0));
    pending_.Set(static_cast<double>(pending));
    last_count_ = now;
  }
  if (active_ && options_.retention > absl::ZeroDuration() &&
      now - last_cleanup_ >= absl::Minutes(1)) {
    SUNDESK_RETURN_IF_ERROR(
        conn.Execute(absl::StrCat("DELETE FROM ", table_,
                                  " WHERE published_at < clock_timestamp() - $1::interval"),
                     {absl::StrCat(absl::ToInt64Milliseconds(options_.retention), " milliseconds")})
            .status());
    last_cleanup_ = now;
  }
  return absl::OkStatus();
}

bool OutboxRelay::WaitForWork(pg::Listener* listener) {
  absl::Time deadline = absl::Now() + options_.poll_interval;
  while (!stopping()) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return true;
    // Short waits, so that Stop() is seen promptly.
    absl::Duration step = std::min(left, absl::Milliseconds(100));
    if (listener == nullptr) {
      SleepUnlessStopped(step);
      continue;
    }
    auto woken = listener->Wait(step);
    if (!woken.ok()) {
      SleepUnlessStopped(step);  // the next query finds out whether the database is gone
      continue;
    }
    if (!woken->notifications.empty() || woken->maybe_missed) return true;
  }
  return false;
}

}  // namespace sundesk::kafka
