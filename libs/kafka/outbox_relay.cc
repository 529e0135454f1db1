#include "libs/kafka/outbox_relay.h"

#include <algorithm>
#include <deque>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/kafka/outbox.h"
#include "libs/pg/param.h"

namespace sundesk::kafka {
namespace {

// Kafka is normally milliseconds away; an outage stretches this to minutes.
const std::vector<double>& DelayBuckets() {
  static const auto* buckets =
      new std::vector<double>{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
  return *buckets;
}

}  // namespace

struct OutboxRelay::Signals {
  absl::Mutex mu;
  bool stopping ABSL_GUARDED_BY(mu) = false;
  bool notified ABSL_GUARDED_BY(mu) = false;  // a NOTIFY (or maybe-missed) since last read
  // Delivery reports by produce sequence, of the current pipeline only: reports of rows
  // produced before `first_seq` (an abandoned pipeline) are dropped.
  uint64_t first_seq ABSL_GUARDED_BY(mu) = 0;
  std::unordered_map<uint64_t, absl::Status> reports ABSL_GUARDED_BY(mu);
};

// The rows produced and not yet marked, in produce order (relay thread only).
struct OutboxRelay::Pipeline {
  struct InFlight {
    uint64_t seq;
    int64_t id;
    std::string topic;  // for the failure's message
  };
  std::deque<InFlight> in_flight;
  // Set on the first failed report or refused produce: nothing more is produced until the
  // reports in flight settled, then the pipeline restarts from the first unpublished row.
  absl::Status failure;
  bool read_more = true;  // rows may be waiting: read before waiting
};

namespace {

// What the relay thread waits for (under Signals::mu).
struct WaitArgs {
  const bool* stopping;
  const bool* notified;
  const std::unordered_map<uint64_t, absl::Status>* reports;
  uint64_t front_seq;  // wake when this report arrives (the prefix can grow)...
  size_t settle;       // ...or, in failure, once this many reports are in (all in flight)
  bool failing;
  bool any_in_flight;
};

bool WaitOver(WaitArgs* a) {
  if (*a->stopping || *a->notified) return true;
  if (!a->any_in_flight) return false;
  if (a->failing) return a->reports->size() >= a->settle;
  return a->reports->contains(a->front_seq);
}

}  // namespace

absl::StatusOr<std::unique_ptr<OutboxRelay>> OutboxRelay::Create(OutboxRelayOptions options,
                                                                 Producer& producer,
                                                                 prometheus::Registry& registry) {
  if (options.dsn.empty()) return absl::InvalidArgumentError("outbox relay: dsn is empty");
  if (options.schema.empty()) return absl::InvalidArgumentError("outbox relay: schema is empty");
  if (options.batch_size < 1) return absl::InvalidArgumentError("outbox relay: batch_size < 1");
  if (options.max_in_flight < 0) {
    return absl::InvalidArgumentError("outbox relay: max_in_flight < 0");
  }
  if (options.max_in_flight == 0) options.max_in_flight = 4 * options.batch_size;
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
                    .Add({})),
      signals_(std::make_shared<Signals>()) {}

void OutboxRelay::Stop() {
  absl::MutexLock lock(&signals_->mu);
  signals_->stopping = true;
}

bool OutboxRelay::stopping() const {
  absl::MutexLock lock(&signals_->mu);
  return signals_->stopping;
}

bool OutboxRelay::SleepUnlessStopped(absl::Duration d) {
  absl::MutexLock lock(&signals_->mu);
  signals_->mu.AwaitWithTimeout(absl::Condition(&signals_->stopping), d);
  return signals_->stopping;
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
  // The listener waits on a thread of its own, so that this one waits for a NOTIFY and for
  // delivery reports at once.
  std::atomic<bool> over{false};
  std::thread listening;
  if (listener != nullptr) listening = std::thread([&] { Listen(*listener, over); });

  Pipeline p;
  absl::Status st = Publish(*conn, p);
  over = true;
  if (listening.joinable()) listening.join();
  if (!st.ok() && !p.in_flight.empty()) {
    // A lost database session: let the rows in flight settle before another session reads
    // them again (Stop() cuts this short; unmarked rows are published again either way).
    absl::MutexLock lock(&signals_->mu);
    signals_->notified = false;
    WaitArgs a{&signals_->stopping, &signals_->notified, &signals_->reports,    0,
               p.in_flight.size(),  /*failing=*/true,    /*any_in_flight=*/true};
    signals_->mu.Await(absl::Condition(&WaitOver, &a));
  }
  return st;
}

absl::Status OutboxRelay::Publish(pg::Connection& conn, Pipeline& p) {
  {
    absl::MutexLock lock(&signals_->mu);
    signals_->first_seq = next_seq_;
    signals_->reports.clear();
  }
  absl::Duration backoff = options_.retry_backoff_initial;
  absl::Time next_poll = absl::Now() + options_.poll_interval;
  while (!stopping()) {
    if (!active_) {
      SUNDESK_ASSIGN_OR_RETURN(pg::Result r,
                               conn.Execute("SELECT pg_try_advisory_lock($1)", {lock_key_}));
      SUNDESK_ASSIGN_OR_RETURN(bool locked, r.Bool(0, 0));
      if (!locked) {
        SUNDESK_RETURN_IF_ERROR(Housekeeping(conn, /*caught_up=*/false));
        SleepUnlessStopped(options_.poll_interval);
        continue;
      }
      active_ = true;
      p.read_more = true;
      log::Info("outbox relay is active", {{"schema", options_.schema}});
    }

    // 1. The acknowledged prefix is marked; the first failed report stops producing.
    std::vector<int64_t> acked;
    bool settled = false;
    {
      absl::MutexLock lock(&signals_->mu);
      while (p.failure.ok() && !p.in_flight.empty()) {
        const Pipeline::InFlight& front = p.in_flight.front();
        auto it = signals_->reports.find(front.seq);
        if (it == signals_->reports.end()) break;
        if (!it->second.ok()) {
          p.failure = absl::Status(
              it->second.code(),
              absl::StrCat("row ", front.id, " to ", front.topic, ": ", it->second.message()));
          break;
        }
        acked.push_back(front.id);
        signals_->reports.erase(it);
        p.in_flight.pop_front();
      }
      if (!p.failure.ok() && signals_->reports.size() >= p.in_flight.size()) {
        // Every report in flight is in; the rows after the failure are published again.
        settled = true;
        p.in_flight.clear();
        signals_->reports.clear();
        signals_->first_seq = next_seq_;
      }
    }
    SUNDESK_RETURN_IF_ERROR(MarkPublished(conn, acked));
    if (!p.failure.ok()) {
      if (!settled) {
        WaitForSignal(p, absl::Now() + absl::Milliseconds(100));
        continue;
      }
      failures_.Increment();
      log::Warn("outbox publish failed; retrying from the first unpublished row",
                {{"schema", options_.schema},
                 {"error", p.failure.ToString()},
                 {"retry_in", absl::FormatDuration(backoff)}});
      SUNDESK_RETURN_IF_ERROR(Housekeeping(conn, /*caught_up=*/false));
      SleepUnlessStopped(backoff);
      backoff = std::min(backoff * 2, options_.retry_backoff_max);
      p.failure = absl::OkStatus();
      p.read_more = true;
      continue;
    }
    if (!acked.empty()) backoff = options_.retry_backoff_initial;

    // 2. The next rows, while earlier ones await their reports.
    const int room = options_.max_in_flight - static_cast<int>(p.in_flight.size());
    if (p.read_more && room > 0) {
      const int limit = std::min(options_.batch_size, room);
      SUNDESK_ASSIGN_OR_RETURN(int read, ReadAndProduce(conn, p, limit));
      p.read_more = read == limit;
      if (p.read_more || !p.failure.ok()) continue;  // a backlog (room permitting), or failed
    }
    SUNDESK_RETURN_IF_ERROR(Housekeeping(conn, /*caught_up=*/!p.read_more && p.in_flight.empty()));

    // 3. Wait for the front row's report, a NOTIFY, the poll interval or Stop(). With no
    // room left, only a report can help.
    const absl::Time deadline = p.read_more ? absl::Now() + options_.poll_interval : next_poll;
    bool notified = WaitForSignal(p, deadline);
    const absl::Time now = absl::Now();
    if (notified || now >= next_poll) {
      p.read_more = true;
      next_poll = now + options_.poll_interval;
    }
  }
  return absl::OkStatus();
}

bool OutboxRelay::WaitForSignal(const Pipeline& p, absl::Time deadline) {
  absl::MutexLock lock(&signals_->mu);
  WaitArgs a{&signals_->stopping,
             &signals_->notified,
             &signals_->reports,
             p.in_flight.empty() ? 0 : p.in_flight.front().seq,
             p.in_flight.size(),
             /*failing=*/!p.failure.ok(),
             /*any_in_flight=*/!p.in_flight.empty()};
  signals_->mu.AwaitWithDeadline(absl::Condition(&WaitOver, &a), deadline);
  const bool notified = signals_->notified;
  signals_->notified = false;
  return notified;
}

absl::StatusOr<int> OutboxRelay::ReadAndProduce(pg::Connection& conn, Pipeline& p, int limit) {
  // Not "id > the last produced": a row whose transaction committed late may have a lower
  // id than rows already in flight.
  std::vector<int64_t> in_flight;
  in_flight.reserve(p.in_flight.size());
  for (const Pipeline::InFlight& f : p.in_flight) in_flight.push_back(f.id);
  SUNDESK_ASSIGN_OR_RETURN(
      pg::Result r,
      conn.Execute(absl::StrCat("SELECT id, topic, key, payload, headers FROM ", table_,
                                " WHERE published_at IS NULL AND id <> ALL($1) "
                                "ORDER BY id LIMIT $2"),
                   {pg::Param::Int64Array(in_flight), limit}));
  for (int i = 0; i < r.rows(); ++i) {
    SUNDESK_ASSIGN_OR_RETURN(int64_t id, r.Int64(i, 0));
    std::string topic(r.Text(i, 1));
    SUNDESK_ASSIGN_OR_RETURN(std::string payload, r.Bytea(i, 3));
    SUNDESK_ASSIGN_OR_RETURN(std::string encoded, r.Bytea(i, 4));
    auto headers = DecodeHeaders(encoded);
    if (!headers.ok()) {
      p.failure =
          absl::DataLossError(absl::StrCat(table_, " row ", id, ": ", headers.status().message()));
      return r.rows();
    }
    const uint64_t seq = next_seq_++;
    absl::Status queued = producer_.Produce(topic, r.Text(i, 2), payload, *headers,
                                            [signals = signals_, seq](const Delivery& d) {
                                              absl::MutexLock lock(&signals->mu);
                                              if (seq >= signals->first_seq)
                                                signals->reports.emplace(seq, d.status);
                                            });
    if (!queued.ok()) {
      p.failure = absl::Status(queued.code(),
                               absl::StrCat("row ", id, " to ", topic, ": ", queued.message()));
      return r.rows();
    }
    p.in_flight.push_back({seq, id, std::move(topic)});
  }
  if (r.rows() > 0) {
    log::Debug("outbox produced", {{"schema", options_.schema}, {"events", r.rows()}});
  }
  return r.rows();
}

absl::Status OutboxRelay::MarkPublished(pg::Connection& conn, const std::vector<int64_t>& ids) {
  if (ids.empty()) return absl::OkStatus();
  std::string sql = options_.retention <= absl::ZeroDuration()
                        ? absl::StrCat("DELETE FROM ", table_,
                                       " WHERE id = ANY($1) AND published_at IS NULL RETURNING "
                                       "extract(epoch FROM clock_timestamp() - created_at)::float8")
                        : absl::StrCat("UPDATE ", table_,
                                       " SET published_at = clock_timestamp() WHERE id = ANY($1) "
                                       "AND published_at IS NULL RETURNING "
                                       "extract(epoch FROM published_at - created_at)::float8");
  SUNDESK_ASSIGN_OR_RETURN(pg::Result r, conn.Execute(sql, {pg::Param::Int64Array(ids)}));
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

void OutboxRelay::Listen(pg::Listener& listener, const std::atomic<bool>& over) {
  while (!over.load() && !stopping()) {
    // Short waits, so that the session's end and Stop() are seen promptly.
    auto woken = listener.Wait(absl::Milliseconds(100));
    if (!woken.ok()) {
      SleepUnlessStopped(absl::Milliseconds(100));  // the relay's next query finds out more
      continue;
    }
    if (!woken->notifications.empty() || woken->maybe_missed) {
      absl::MutexLock lock(&signals_->mu);
      signals_->notified = true;
    }
  }
}

}  // namespace sundesk::kafka
