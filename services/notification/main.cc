// The notification service: composes configuration, stores, handlers and the gRPC server.
#include "libs/runtime/dependencies.h"
#include "libs/runtime/service_runtime.h"
#include "services/notification/api/notification_service_handlers.h"
#include "services/notification/store/migrations.h"

int main(int argc, char** argv) {
  using namespace sundesk;  // NOLINT(google-build-using-namespace): main only
  auto options = runtime::CommonOptions({.name = "notification",
                                         .grpc_address = "127.0.0.1:50054",
                                         .metrics_address = "127.0.0.1:9104"});
  for (auto& o : runtime::PostgresOptions()) options.push_back(std::move(o));
  for (auto& o : runtime::KafkaOptions()) options.push_back(std::move(o));
  options.push_back({"webhook-allow-loopback", "false",
                     "let webhooks target loopback and private addresses (local use only)"});
  Config config = runtime::ParseOrExit(std::move(options), argc, argv);
  auto service = runtime::ServiceRuntime::CreateOrExit("notification", config);

  runtime::Postgres postgres =
      runtime::PostgresOrExit(config, "notification", notification::Migrations());
  runtime::Kafka kafka = runtime::KafkaProducerOrExit(config, "sundesk-notification");
  service->Defer("kafka producer", [&] { (void)kafka.producer->Flush(absl::Seconds(10)); });

  notification::NotificationServiceHandlers notification_handlers(service->authenticator());
  return service->Serve(
      {{notification::v1::NotificationService::service_full_name(), &notification_handlers}},
      {postgres.readiness, kafka.readiness});
}
