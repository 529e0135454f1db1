// The ticket service: composes configuration, stores, handlers and the gRPC server.
#include "libs/kafka/outbox.h"
#include "libs/runtime/dependencies.h"
#include "libs/runtime/service_runtime.h"
#include "services/ticket/api/tenant_service_handlers.h"
#include "services/ticket/api/ticket_service_handlers.h"
#include "services/ticket/store/migrations.h"

int main(int argc, char** argv) {
  using namespace sundesk;  // NOLINT(google-build-using-namespace): main only
  auto options = runtime::CommonOptions(
      {.name = "ticket", .grpc_address = "127.0.0.1:50051", .metrics_address = "127.0.0.1:9101"});
  for (auto& o : runtime::PostgresOptions()) options.push_back(std::move(o));
  for (auto& o : runtime::KafkaOptions()) options.push_back(std::move(o));
  Config config = runtime::ParseOrExit(std::move(options), argc, argv);
  auto service = runtime::ServiceRuntime::CreateOrExit("ticket", config);

  // The outbox is migration 1; store/migrations/*.sql are numbered from 2.
  std::vector<pg::Migration> migrations = {kafka::OutboxMigration(1)};
  for (auto& m : ticket::Migrations()) migrations.push_back(std::move(m));
  runtime::Postgres postgres = runtime::PostgresOrExit(config, "ticket", std::move(migrations));
  runtime::Kafka kafka = runtime::KafkaProducerOrExit(config, "sundesk-ticket");
  service->Defer("kafka producer", [&] { (void)kafka.producer->Flush(absl::Seconds(10)); });
  runtime::StartOutboxRelayOrExit(*service, "ticket", *kafka.producer);

  ticket::TenantServiceHandlers tenant_handlers(service->authenticator());
  ticket::TicketServiceHandlers ticket_handlers(service->authenticator());
  return service->Serve({{ticket::v1::TenantService::service_full_name(), &tenant_handlers},
                         {ticket::v1::TicketService::service_full_name(), &ticket_handlers}},
                        {postgres.readiness, kafka.readiness});
}
