// The routing service: composes configuration, stores, handlers and the gRPC server.
#include "libs/runtime/dependencies.h"
#include "libs/runtime/service_runtime.h"
#include "services/routing/api/agent_service_handlers.h"
#include "services/routing/api/routing_service_handlers.h"
#include "services/routing/store/migrations.h"

int main(int argc, char** argv) {
  using namespace sundesk;  // NOLINT(google-build-using-namespace): main only
  auto options = runtime::CommonOptions(
      {.name = "routing", .grpc_address = "127.0.0.1:50052", .metrics_address = "127.0.0.1:9102"});
  for (auto& o : runtime::PostgresOptions()) options.push_back(std::move(o));
  for (auto& o : runtime::KafkaOptions()) options.push_back(std::move(o));
  for (auto& o : runtime::RedisOptions()) options.push_back(std::move(o));
  options.push_back({"ticket-addr", "127.0.0.1:50051", "the ticket service, for assignments"});
  Config config = runtime::ParseOrExit(std::move(options), argc, argv);
  auto service = runtime::ServiceRuntime::CreateOrExit("routing", config);

  runtime::Postgres postgres = runtime::PostgresOrExit(config, "routing", routing::Migrations());
  runtime::Redis redis = runtime::RedisOrExit(config);
  runtime::Kafka kafka = runtime::KafkaProducerOrExit(config, "sundesk-routing");
  service->Defer("kafka producer", [&] { (void)kafka.producer->Flush(absl::Seconds(10)); });

  routing::AgentServiceHandlers agent_handlers(service->authenticator());
  routing::RoutingServiceHandlers routing_handlers(service->authenticator());
  return service->Serve({{routing::v1::AgentService::service_full_name(), &agent_handlers},
                         {routing::v1::RoutingService::service_full_name(), &routing_handlers}},
                        {postgres.readiness, redis.readiness, kafka.readiness});
}
