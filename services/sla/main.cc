// The sla service: composes configuration, stores, handlers and the gRPC server.
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/runtime/dependencies.h"
#include "libs/runtime/service_runtime.h"
#include "services/sla/api/sla_service_handlers.h"
#include "services/sla/domain/settings.h"
#include "services/sla/store/migrations.h"
#include "services/sla/store/pg_settings_store.h"

int main(int argc, char** argv) {
  using namespace sundesk;  // NOLINT(google-build-using-namespace): main only
  auto options = runtime::CommonOptions(
      {.name = "sla", .grpc_address = "127.0.0.1:50053", .metrics_address = "127.0.0.1:9103"});
  for (auto& o : runtime::PostgresOptions()) options.push_back(std::move(o));
  for (auto& o : runtime::KafkaOptions()) options.push_back(std::move(o));
  Config config = runtime::ParseOrExit(std::move(options), argc, argv);
  auto service = runtime::ServiceRuntime::CreateOrExit("sla", config);

  runtime::Postgres postgres = runtime::PostgresOrExit(config, "sla", sla::Migrations());
  runtime::Kafka kafka = runtime::KafkaProducerOrExit(config, "sundesk-sla");
  service->Defer("kafka producer", [&] { (void)kafka.producer->Flush(absl::Seconds(10)); });

  SystemClock clock;
  UuidV7Generator ids(clock);
  sla::PgSettingsStore settings_store(*postgres.pool);
  sla::SlaSettings settings(settings_store, clock, ids);
  sla::SlaServiceHandlers sla_handlers(settings, service->authenticator());
  return service->Serve({{sla::v1::SlaService::service_full_name(), &sla_handlers}},
                        {postgres.readiness, kafka.readiness});
}
