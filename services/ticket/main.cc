// The ticket service: composes configuration, stores, handlers and the gRPC server.
#include "libs/api/page_token.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/core/log.h"
#include "libs/core/periodic.h"
#include "libs/kafka/outbox_notifier.h"
#include "libs/runtime/dependencies.h"
#include "libs/runtime/service_runtime.h"
#include "services/ticket/api/tenant_service_handlers.h"
#include "services/ticket/api/ticket_service_handlers.h"
#include "services/ticket/domain/api_key.h"
#include "services/ticket/domain/tenant_registry.h"
#include "services/ticket/domain/ticket_service.h"
#include "services/ticket/store/pg_tenant_store.h"
#include "services/ticket/store/pg_ticket_store.h"
#include "services/ticket/store/schema.h"

int main(int argc, char** argv) {
  using namespace sundesk;  // NOLINT(google-build-using-namespace): main only
  auto options = runtime::CommonOptions(
      {.name = "ticket", .grpc_address = "127.0.0.1:50051", .metrics_address = "127.0.0.1:9101"});
  for (auto& o : runtime::PostgresOptions()) options.push_back(std::move(o));
  for (auto& o : runtime::KafkaOptions()) options.push_back(std::move(o));
  for (auto& o : runtime::PageTokenOptions()) options.push_back(std::move(o));
  options.push_back({"idempotency-window", "24h", "how long a request_id is remembered"});
  Config config = runtime::ParseOrExit(std::move(options), argc, argv);
  auto service = runtime::ServiceRuntime::CreateOrExit("ticket", config);

  runtime::Postgres postgres =
      runtime::PostgresOrExit(config, ticket::kSchema, ticket::AllMigrations());
  runtime::Kafka kafka = runtime::KafkaProducerOrExit(config, "sundesk-ticket");
  service->Defer("kafka producer", [&] { (void)kafka.producer->Flush(absl::Seconds(10)); });
  runtime::StartOutboxRelayOrExit(*service, "ticket", *kafka.producer);

  SystemClock clock;
  UuidV7Generator ids(clock);
  api::PageTokenSigner page_tokens(runtime::PageTokenKey(config));

  ticket::PgTenantStore tenant_store(*postgres.pool);
  ticket::TenantRegistry tenant_registry(tenant_store, clock, ids, page_tokens);
  ticket::ApiKeyVerifier key_verifier(tenant_store, clock);
  ticket::KeyAuthenticator issued_keys(key_verifier);
  // The configured admin/service keys first, then the keys TenantService issued.
  rpc::ChainAuthenticator authenticator({&service->authenticator(), &issued_keys});

  kafka::OutboxNotifier outbox_notifier(*postgres.pool, "ticket");
  // Creates commit in groups on the store's writer threads; the few that must look up an
  // earlier request with the same request_id continue on the rpc workers.
  ticket::PgTicketStore ticket_store(*postgres.pool, &outbox_notifier, &service->rpc_workers());
  ticket::TicketMetrics ticket_metrics(service->registry());
  ticket::TicketService tickets(
      ticket_store, clock, ids, page_tokens,
      {.idempotency_window = runtime::DurationOrExit(config, "idempotency-window")},
      &ticket_metrics);

  // Expired idempotency records are dead weight: purge them every few minutes, in batches.
  // Every replica may run it; deleting a row twice deletes nothing.
  Periodic purge("idem-purge", absl::Minutes(5), [&] {
    for (int round = 0; round < 100; ++round) {
      absl::StatusOr<int64_t> deleted =
          ticket_store.PurgeExpiredIdempotencyRecords(clock.Now(), 5000);
      if (!deleted.ok()) {
        log::Warn("idempotency purge failed", {{"error", deleted.status().ToString()}});
        return;
      }
      if (*deleted > 0) log::Info("purged expired idempotency records", {{"rows", *deleted}});
      if (*deleted < 5000) return;
    }
  });

  ticket::TenantServiceHandlers tenant_handlers(tenant_registry, authenticator,
                                                &service->rpc_workers());
  ticket::TicketServiceHandlers ticket_handlers(authenticator, tickets, &service->rpc_workers());
  return service->Serve({{ticket::v1::TenantService::service_full_name(), &tenant_handlers},
                         {ticket::v1::TicketService::service_full_name(), &ticket_handlers}},
                        {postgres.readiness, kafka.readiness});
}
