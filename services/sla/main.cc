// The sla service: composes configuration, stores, handlers, the ticket-event consumer, the
// timer sweep and the gRPC server.
#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/core/log.h"
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
  options.push_back(runtime::TicketAddrOption());
  options.push_back({"timer-interval", "200ms", "how often due warnings and breaches are swept"});
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
  sla::SlaSettings settings(settings_store, clock, ids);
  sla::PgClockStore clock_store(*postgres.pool);
  sla::SlaEngine engine(settings_store, clock);
  sla::SlaMetrics metrics(service->registry(), clock);
  sla::TicketClocks clocks(clock_store, engine, &metrics);

  // Ticket events in: at least once, applied idempotently (processed_events, sequence).
  auto consumer = kafka::Consumer::Create(
      {.bootstrap_servers = config.Get("kafka-bootstrap"),
       .group_id = "sundesk-sla",
       .topics = {"sundesk.ticket.events.v1"},
       .client_id = "sundesk-sla",
       .fetch_wait_max = runtime::DurationOrExit(config, "kafka-fetch-wait")},
      [&](const kafka::Message& m) { return sla::HandleTicketEventRecord(clocks, m); });
  if (!consumer.ok()) {
    log::Error("bad Kafka consumer configuration", {{"status", consumer.status().ToString()}});
    return 2;
  }
  std::thread consume_thread([&] { (void)(*consumer)->Run(); });
  service->Defer("ticket-event consumer", [&] {
    (*consumer)->Stop();
    consume_thread.join();
  });

  // Timers: every replica sweeps; each due ticket is claimed by one (SKIP LOCKED).
  const absl::Duration timer_interval = runtime::DurationOrExit(config, "timer-interval");
  absl::Notification stop_timers;
  std::thread timer_thread([&] {
    while (!stop_timers.HasBeenNotified()) {
      absl::StatusOr<int> fired = clocks.FireDue(clock.Now(), 500);
      if (!fired.ok()) log::Warn("timer sweep failed", {{"status", fired.status().ToString()}});
      if (!fired.ok() || *fired < 500) stop_timers.WaitForNotificationWithTimeout(timer_interval);
    }
  });
  service->Defer("timer sweep", [&] {
    stop_timers.Notify();
    timer_thread.join();
  });

  // The configured admin/service keys first, then the keys the ticket service issued.
  runtime::IssuedKeyAuthenticator issued_keys(runtime::TicketChannelOrExit(config), clock);
  rpc::ChainAuthenticator authenticator({&service->authenticator(), &issued_keys});
  sla::SlaServiceHandlers sla_handlers(settings, clocks, authenticator, &service->rpc_workers());
  return service->Serve({{sla::v1::SlaService::service_full_name(), &sla_handlers}},
                        {postgres.readiness, kafka.readiness});
}
