// The sla service: composes configuration, stores, handlers, the ticket-event consumer, the
// timer sweep and the gRPC server.
#include <algorithm>
#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "libs/api/page_token.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/core/log.h"
#include "libs/core/periodic.h"
#include "libs/kafka/consumer.h"
#include "libs/runtime/dependencies.h"
#include "libs/runtime/issued_keys.h"
#include "libs/runtime/service_runtime.h"
#include "services/sla/api/sla_metrics.h"
#include "services/sla/api/sla_service_handlers.h"
#include "services/sla/api/ticket_events.h"
#include "services/sla/domain/settings.h"
#include "services/sla/domain/sla_engine.h"
#include "services/sla/domain/ticket_clocks.h"
#include "services/sla/store/pg_clock_store.h"
#include "services/sla/store/pg_settings_store.h"

int main(int argc, char** argv) {
  using namespace sundesk;  // NOLINT(google-build-using-namespace): main only
  auto options = runtime::CommonOptions(
      {.name = "sla", .grpc_address = "127.0.0.1:50053", .metrics_address = "127.0.0.1:9103"});
  for (auto& o : runtime::PostgresOptions()) options.push_back(std::move(o));
  for (auto& o : runtime::KafkaOptions()) options.push_back(std::move(o));
  for (auto& o : runtime::KafkaConsumerOptions()) options.push_back(std::move(o));
  for (auto& o : runtime::PageTokenOptions()) options.push_back(std::move(o));
  options.push_back(runtime::TicketAddrOption());
  options.push_back({"timer-interval", "200ms",
                     "longest wait between sweeps (a sweep also wakes at the next deadline)"});
  options.push_back({"timer-threads", "4", "threads sweeping due timers (and replans)"});
  options.push_back({"timer-batch", "2500", "due tickets claimed per sweep transaction"});
  options.push_back({"timer-lookahead", "1s",
                     "timers due this soon are claimed, fired and written ahead, then committed "
                     "at their instant (0: only when due)"});
  options.push_back({"event-batch", "1000", "ticket events taken from Kafka at once (at most)"});
  options.push_back({"event-shards", "2",
                     "parts (by ticket) each batch of events is split into, applied at once in "
                     "their own transactions"});
  options.push_back(
      {"clock-count-interval", "15s", "how often the sundesk_sla_clocks gauge is recounted"});
  Config config = runtime::ParseOrExit(std::move(options), argc, argv);
  auto service = runtime::ServiceRuntime::CreateOrExit("sla", config);

  runtime::Postgres postgres =
      runtime::PostgresOrExit(config, sla::kSlaSchema, sla::SlaMigrations());
  runtime::Kafka kafka = runtime::KafkaProducerOrExit(config, "sundesk-sla");
  service->Defer("kafka producer", [&] { (void)kafka.producer->Flush(absl::Seconds(10)); });
  runtime::StartOutboxRelayOrExit(*service, sla::kSlaSchema, *kafka.producer);

  SystemClock clock;
  UuidV7Generator ids(clock);
  sla::PgSettingsStore settings_store(*postgres.pool);
  api::PageTokenSigner page_tokens(runtime::PageTokenKey(config));
  sla::SlaSettings settings(settings_store, clock, ids, page_tokens);
  sla::PgClockStore clock_store(*postgres.pool);
  sla::SlaEngine engine(settings_store, clock);
  sla::SlaMetrics metrics(service->registry(), clock);
  sla::TicketClocks clocks(clock_store, engine, &metrics);

  // Ticket events in: at least once, applied idempotently (by the ticket's sequence), what
  // has arrived applied in batches of up to --event-batch per transaction.
  const int64_t event_batch = runtime::IntOrExit(config, "event-batch");
  const int64_t event_shards = runtime::IntOrExit(config, "event-shards");
  if (event_batch < 1 || event_batch > 100000 || event_shards < 1 || event_shards > 8) {
    log::Error("--event-batch must be 1..100000, --event-shards 1..8");
    return 2;
  }
  auto consumer = kafka::Consumer::CreateBatched(
      runtime::ConsumerOptionsOrExit(config, "sundesk-sla", {"sundesk.ticket.events.v1"}),
      [&](absl::Span<const kafka::Message> batch) {
        return sla::HandleTicketEventRecords(clocks, batch, static_cast<int>(event_shards));
      },
      static_cast<int>(event_batch));
  if (!consumer.ok()) {
    log::Error("bad Kafka consumer configuration", {{"status", consumer.status().ToString()}});
    return 2;
  }
  std::thread consume_thread([&] { (void)(*consumer)->Run(); });
  service->Defer("ticket-event consumer", [&] {
    (*consumer)->Stop();
    consume_thread.join();
  });

  // Timers: every replica sweeps, with several threads; each due ticket is claimed by one
  // (SKIP LOCKED), in batches of --timer-batch per commit.
  const absl::Duration timer_interval = runtime::DurationOrExit(config, "timer-interval");
  const int timer_batch = static_cast<int>(runtime::IntOrExit(config, "timer-batch"));
  const int64_t timer_threads = runtime::IntOrExit(config, "timer-threads");
  const absl::Duration timer_lookahead = runtime::DurationOrExit(config, "timer-lookahead");
  if (timer_batch < 1 || timer_threads < 1 || timer_threads > 64 ||
      timer_lookahead < absl::ZeroDuration() || timer_lookahead > absl::Seconds(5)) {
    log::Error("--timer-batch must be >= 1, --timer-threads 1..64, --timer-lookahead 0..5s");
    return 2;
  }
  absl::Notification stop_timers;
  // A claim prepared ahead waits for its deadline here before it commits (cut short by
  // shutdown: then its transaction rolls back, and the deadline is left to the next run).
  const sla::ClockStore::DueClaim due_claim{
      .lookahead = timer_lookahead, .wait_until = [&](absl::Time t) {
        while (clock.Now() < t) {
          if (stop_timers.WaitForNotificationWithTimeout(t - clock.Now())) {
            return false;
          }
        }
        return true;
      }};
  // The earliest deadline any thread saw pending: every sweeper sleeps until then (or
  // --timer-interval, which also bounds how late a deadline stored by another replica is
  // seen), so a deadline is swept when it falls due, not at the next poll.
  std::vector<std::thread> timer_workers;
  for (int64_t i = 0; i < timer_threads; ++i) {
    timer_workers.emplace_back([&] {
      while (!stop_timers.HasBeenNotified()) {
        absl::StatusOr<int> fired = clocks.FireDue(clock.Now(), timer_batch, due_claim);
        if (!fired.ok()) log::Warn("timer sweep failed", {{"status", fired.status().ToString()}});
        // Calendar and policy updates re-plan the running clocks they concern.
        absl::StatusOr<int> replanned = clocks.Replan(timer_batch);
        if (!replanned.ok()) {
          log::Warn("replan failed", {{"status", replanned.status().ToString()}});
        }
        const bool more =
            (fired.ok() && *fired == timer_batch) || (replanned.ok() && *replanned == timer_batch);
        if (more) continue;
        absl::Time wake = clock.Now() + timer_interval;
        if (absl::StatusOr<absl::Time> next = clocks.NextDue();
            next.ok() && *next - timer_lookahead < wake) {
          wake = *next - timer_lookahead;
        }
        absl::Duration wait = wake - clock.Now();
        // A due ticket another sweeper holds: look again shortly rather than spin.
        const bool did_work = (fired.ok() && *fired > 0) || (replanned.ok() && *replanned > 0);
        if (!did_work) wait = std::max(wait, absl::Milliseconds(5));
        if (wait > absl::ZeroDuration()) stop_timers.WaitForNotificationWithTimeout(wait);
      }
    });
  }
  service->Defer("timer sweep", [&] {
    stop_timers.Notify();
    for (std::thread& t : timer_workers) t.join();
  });

  // sundesk_sla_clocks{state}: one COUNT ... GROUP BY per interval (at once, then periodically).
  auto count_clocks = [&] {
    absl::StatusOr<std::map<sla::ClockState, int64_t>> counts = clock_store.CountClocks();
    if (counts.ok()) {
      metrics.SetClocks(*counts);
    } else {
      log::Warn("counting clocks failed", {{"status", counts.status().ToString()}});
    }
  };
  Periodic clock_counter("sla-clock-count", runtime::DurationOrExit(config, "clock-count-interval"),
                         count_clocks);

  // The configured admin/service keys first, then the keys the ticket service issued.
  runtime::IssuedKeyAuthenticator issued_keys(runtime::TicketChannelOrExit(config), clock);
  rpc::ChainAuthenticator authenticator({&service->authenticator(), &issued_keys});
  sla::SlaServiceHandlers sla_handlers(settings, clocks, authenticator, &service->rpc_workers());
  return service->Serve({{sla::v1::SlaService::service_full_name(), &sla_handlers}},
                        {postgres.readiness, kafka.readiness});
}
