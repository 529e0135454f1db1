// The routing service: composes configuration, stores, handlers and the gRPC server.
#include <openssl/rand.h>

#include <thread>

#include "absl/strings/escaping.h"
#include "absl/synchronization/notification.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/core/log.h"
#include "libs/kafka/consumer.h"
#include "libs/runtime/dependencies.h"
#include "libs/runtime/issued_keys.h"
#include "libs/runtime/service_runtime.h"
#include "services/routing/api/agent_service_handlers.h"
#include "services/routing/api/queue_events.h"
#include "services/routing/api/queue_metrics.h"
#include "services/routing/api/unimplemented_routing_service.h"
#include "services/routing/domain/agent_directory.h"
#include "services/routing/domain/queue.h"
#include "services/routing/store/migrations.h"
#include "services/routing/store/pg_agent_store.h"
#include "services/routing/store/pg_queue_store.h"
#include "services/routing/store/pg_routing_policy_store.h"
#include "services/routing/store/redis_presence_store.h"

namespace {

// Without a configured key, page tokens only work against the process that made them.
std::string PageTokenKeyOrRandom(const std::string& configured) {
  if (!configured.empty()) return configured;
  unsigned char bytes[32];
  RAND_bytes(bytes, sizeof(bytes));
  sundesk::log::Warn(
      "no --page-token-key (SUNDESK_PAGE_TOKEN_KEY): using a random one; ListAgents page "
      "tokens will not work across replicas or restarts");
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sundesk;  // NOLINT(google-build-using-namespace): main only
  auto options = runtime::CommonOptions(
      {.name = "routing", .grpc_address = "127.0.0.1:50052", .metrics_address = "127.0.0.1:9102"});
  for (auto& o : runtime::PostgresOptions()) options.push_back(std::move(o));
  for (auto& o : runtime::KafkaOptions()) options.push_back(std::move(o));
  for (auto& o : runtime::RedisOptions()) options.push_back(std::move(o));
  options.push_back(runtime::TicketAddrOption());
  options.push_back(
      {"page-token-key", "", "HMAC key of list page tokens; the same on every replica"});
  Config config = runtime::ParseOrExit(std::move(options), argc, argv);
  auto service = runtime::ServiceRuntime::CreateOrExit("routing", config);

  runtime::Postgres postgres = runtime::PostgresOrExit(config, "routing", routing::Migrations());
  runtime::Redis redis = runtime::RedisOrExit(config);
  runtime::Kafka kafka = runtime::KafkaProducerOrExit(config, "sundesk-routing");
  service->Defer("kafka producer", [&] { (void)kafka.producer->Flush(absl::Seconds(10)); });

  SystemClock clock;
  UuidV7Generator ids(clock);
  ticket::PageTokenSigner page_tokens(PageTokenKeyOrRandom(config.Get("page-token-key")));
  routing::PgAgentStore agent_store(*postgres.pool);
  routing::AgentDirectory directory(agent_store, clock, ids, page_tokens);

  // The queue, fed by ticket and SLA events (at least once, applied idempotently) into
  // PostgreSQL, so it is complete when offers start from it.
  routing::RedisPresenceStore presence_store(*redis.pool);
  routing::PgRoutingPolicyStore policy_store(*postgres.pool);
  routing::PgQueueStore queue_store(*postgres.pool);
  routing::TicketQueue queue(queue_store, presence_store, policy_store, clock, page_tokens);
  kafka::ConsumerOptions consumer_options;
  consumer_options.bootstrap_servers = config.Get("kafka-bootstrap");
  consumer_options.group_id = "sundesk-routing";
  consumer_options.client_id = "sundesk-routing";
  consumer_options.topics = {routing::kTicketEventsTopic, routing::kSlaEventsTopic};
  consumer_options.fetch_wait_max = runtime::DurationOrExit(config, "kafka-fetch-wait");
  auto consumer = kafka::Consumer::Create(
      std::move(consumer_options),
      [&](const kafka::Message& m) { return routing::ApplyQueueEvent(queue, m); });
  if (!consumer.ok()) runtime::ExitWith("kafka consumer", consumer.status());
  std::thread consumer_thread([&] {
    if (absl::Status st = (*consumer)->Run(); !st.ok()) {
      log::Error("queue consumer stopped", {{"error", st.ToString()}});
    }
  });
  service->Defer("queue consumer", [&] {
    (*consumer)->Stop();
    consumer_thread.join();
  });

  // sundesk_routing_queue_depth, refreshed from the queue every few seconds.
  routing::QueueMetrics queue_metrics(service->registry());
  absl::Notification stop_metrics;
  std::thread metrics_thread([&] {
    do {
      if (absl::Status st = queue_metrics.Refresh(queue); !st.ok()) {
        log::Warn("queue depth not refreshed", {{"error", st.ToString()}});
      }
    } while (!stop_metrics.WaitForNotificationWithTimeout(absl::Seconds(5)));
  });
  service->Defer("queue metrics", [&] {
    stop_metrics.Notify();
    metrics_thread.join();
  });

  // RoutingService's presence, policy and queue RPCs are built (RoutingServiceHandlers) but
  // a service is served whole: until offers land it answers UNIMPLEMENTED.
  // The configured admin/service keys first, then the keys the ticket service issued.
  runtime::IssuedKeyAuthenticator issued_keys(runtime::TicketChannelOrExit(config), clock);
  rpc::ChainAuthenticator authenticator({&service->authenticator(), &issued_keys});
  routing::AgentServiceHandlers agent_handlers(directory, authenticator);
  routing::UnimplementedRoutingService routing_handlers(authenticator);
  return service->Serve({{routing::v1::AgentService::service_full_name(), &agent_handlers},
                         {routing::v1::RoutingService::service_full_name(), &routing_handlers}},
                        {postgres.readiness, redis.readiness, kafka.readiness});
}
