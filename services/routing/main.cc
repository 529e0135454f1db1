// The routing service: composes configuration, stores, handlers and the gRPC server.
#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/core/log.h"
#include "libs/core/periodic.h"
#include "libs/core/status.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/outbox_notifier.h"
#include "libs/runtime/dependencies.h"
#include "libs/runtime/issued_keys.h"
#include "libs/runtime/service_runtime.h"
#include "services/routing/api/agent_service_handlers.h"
#include "services/routing/api/agent_sessions.h"
#include "services/routing/api/dispatch_loop.h"
#include "services/routing/api/queue_events.h"
#include "services/routing/api/queue_metrics.h"
#include "services/routing/api/routing_metrics.h"
#include "services/routing/api/routing_service_handlers.h"
#include "services/routing/domain/agent_directory.h"
#include "services/routing/domain/offers.h"
#include "services/routing/domain/queue.h"
#include "services/routing/domain/reconcile.h"
#include "services/routing/domain/router.h"
#include "services/routing/store/grpc_ticket_assigner.h"
#include "services/routing/store/grpc_waiting_tickets.h"
#include "services/routing/store/migrations.h"
#include "services/routing/store/pg_agent_store.h"
#include "services/routing/store/pg_offer_store.h"
#include "services/routing/store/pg_offer_wakeups.h"
#include "services/routing/store/pg_presence_events.h"
#include "services/routing/store/pg_queue_store.h"
#include "services/routing/store/pg_routing_policy_store.h"
#include "services/routing/store/redis_presence_store.h"
#include "services/routing/store/ticket_tenant_directory.h"

int main(int argc, char** argv) {
  using namespace sundesk;  // NOLINT(google-build-using-namespace): main only
  auto options = runtime::CommonOptions(
      {.name = "routing", .grpc_address = "127.0.0.1:50052", .metrics_address = "127.0.0.1:9102"});
  for (auto& o : runtime::PostgresOptions()) options.push_back(std::move(o));
  for (auto& o : runtime::KafkaOptions()) options.push_back(std::move(o));
  for (auto& o : runtime::KafkaConsumerOptions()) options.push_back(std::move(o));
  for (auto& o : runtime::RedisOptions()) options.push_back(std::move(o));
  options.push_back(runtime::TicketAddrOption());
  for (auto& o : runtime::PageTokenOptions()) options.push_back(std::move(o));
  options.push_back({"dispatch-interval", "200ms",
                     "how often the dispatcher expires offers, withdraws those of agents off "
                     "shift and routes the queue (it also routes as soon as the queue changed)"});
  options.push_back({"route-workers", "4",
                     "queued tickets the dispatcher decides at once, each in its own "
                     "transaction (1: one after another)"});
  options.push_back(
      {"event-batch", "500",
       "ticket and SLA events the queue consumer applies per batch (one transaction) at most"});
  options.push_back({"live-state-max-age", "250ms",
                     "how long a decision may use agents' presence and load read by an earlier "
                     "one (0: read at every decision); the claim checks availability and "
                     "capacity itself"});
  options.push_back({"outbox-notify-interval", "1ms",
                     "after a commit that wrote routing events the relay is woken by a NOTIFY, "
                     "at most one per this interval (an offer's OfferMade waits up to this long "
                     "for it)"});
  options.push_back({"presence-ttl", "60s",
                     "how long a status set by SetPresence lasts without an AgentSession"});
  options.push_back({"session-heartbeat-timeout", "30s",
                     "an AgentSession without any message for this long ends (UNAVAILABLE)"});
  options.push_back({"session-poll-interval", "1s",
                     "how often sessions re-read their offers (other replicas' offers also "
                     "arrive at once by LISTEN/NOTIFY; the poll covers a lost notification)"});
  Config config = runtime::ParseOrExit(std::move(options), argc, argv);
  auto service = runtime::ServiceRuntime::CreateOrExit("routing", config);

  runtime::Postgres postgres = runtime::PostgresOrExit(config, "routing", routing::Migrations());
  runtime::Redis redis = runtime::RedisOrExit(config);
  runtime::Kafka kafka = runtime::KafkaProducerOrExit(config, "sundesk-routing");
  service->Defer("kafka producer", [&] { (void)kafka.producer->Flush(absl::Seconds(10)); });
  // Routing events (offers, presence) go through routing's transactional outbox.
  runtime::StartOutboxRelayOrExit(*service, "routing", *kafka.producer);
  // Commits that wrote routing events wake the relay at once.
  const absl::Duration notify_interval = runtime::DurationOrExit(config, "outbox-notify-interval");
  if (notify_interval < absl::ZeroDuration() || notify_interval > absl::Seconds(1)) {
    runtime::ExitWith("flags",
                      absl::InvalidArgumentError("--outbox-notify-interval must be 0..1s"));
  }
  kafka::OutboxNotifier outbox_notifier(*postgres.pool, "routing", notify_interval);

  SystemClock clock;
  UuidV7Generator ids(clock);
  api::PageTokenSigner page_tokens(runtime::PageTokenKey(config));
  routing::PgAgentStore agent_store(*postgres.pool);
  routing::AgentDirectory directory(agent_store, clock, ids, page_tokens);

  // The queue, fed by ticket and SLA events (at least once, applied idempotently) into
  // PostgreSQL, so it is complete when offers start from it.
  routing::RedisPresenceStore presence_store(*redis.pool);
  routing::PgRoutingPolicyStore policy_store(*postgres.pool);
  routing::PgQueueStore queue_store(*postgres.pool, clock, ids);
  queue_store.set_outbox_notifier(&outbox_notifier);
  routing::TicketQueue queue(queue_store, presence_store, policy_store, clock, page_tokens);
  // Set once the dispatcher runs: woken after each batch of queue changes.
  std::atomic<routing::DispatchLoop*> dispatcher{nullptr};
  auto wake_dispatcher = [&] {
    if (routing::DispatchLoop* d = dispatcher.load()) d->Wake();
  };
  const int64_t event_batch = runtime::IntOrExit(config, "event-batch");
  if (event_batch < 1 || event_batch > 10000) {
    runtime::ExitWith("flags", absl::InvalidArgumentError("--event-batch must be 1..10000"));
  }
  auto consumer = kafka::Consumer::CreateBatched(
      runtime::ConsumerOptionsOrExit(config, "sundesk-routing",
                                     {routing::kTicketEventsTopic, routing::kSlaEventsTopic}),
      [&](absl::Span<const kafka::Message> batch) -> absl::Status {
        // The whole batch in one transaction (redelivered, it changes nothing), then one
        // wake-up for the dispatcher.
        SUNDESK_RETURN_IF_ERROR(routing::ApplyQueueEvents(queue, batch));
        wake_dispatcher();
        return absl::OkStatus();
      },
      static_cast<int>(event_batch));
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

  // Tenants and assignments: the ticket service with routing's SERVICE key.
  std::shared_ptr<grpc::Channel> ticket_channel = runtime::TicketChannelOrExit(config);
  ticket::GrpcTenantLookup ticket_tenants(ticket_channel, config.Get("service-key"));
  ticket::CachedTenantLookup cached_tenants(ticket_tenants, clock);
  routing::TicketTenantDirectory tenants(cached_tenants);
  routing::GrpcTicketAssigner assigner(ticket_channel, config.Get("service-key"));

  routing::PgPresenceEvents presence_events(*postgres.pool, clock, ids);
  presence_events.set_outbox_notifier(&outbox_notifier);
  routing::PresenceService presence(agent_store, presence_store, clock,
                                    {.unary_ttl = runtime::DurationOrExit(config, "presence-ttl")});
  presence.set_observer(&presence_events);
  routing::RoutingPolicies policies(policy_store, tenants, clock);
  const absl::Duration live_state_max_age = runtime::DurationOrExit(config, "live-state-max-age");
  if (live_state_max_age < absl::ZeroDuration() || live_state_max_age > absl::Seconds(5)) {
    runtime::ExitWith("flags", absl::InvalidArgumentError("--live-state-max-age must be 0..5s"));
  }
  routing::Router router(agent_store, presence_store, policy_store, tenants, clock,
                         {.live_state_max_age = live_state_max_age});
  routing::PgOfferStore offer_store(*postgres.pool, clock, ids);
  offer_store.set_outbox_notifier(&outbox_notifier);
  const int64_t route_workers = runtime::IntOrExit(config, "route-workers");
  if (route_workers < 1 || route_workers > 64) {
    runtime::ExitWith("flags", absl::InvalidArgumentError("--route-workers must be 1..64"));
  }
  routing::OfferService offers(offer_store, agent_store, router, presence_store, policy_store,
                               tenants, assigner, clock, ids,
                               {.route_workers = static_cast<int>(route_workers)});
  routing::RoutingMetrics routing_metrics(service->registry());
  offers.set_observer(&routing_metrics);

  // The configured admin/service keys first, then the keys the ticket service issued.
  runtime::IssuedKeyAuthenticator issued_keys(ticket_channel, clock);
  rpc::ChainAuthenticator authenticator({&service->authenticator(), &issued_keys});
  routing::AgentSessions sessions(
      offers, presence, directory, authenticator, clock,
      {.heartbeat_timeout = runtime::DurationOrExit(config, "session-heartbeat-timeout"),
       .poll_interval = runtime::DurationOrExit(config, "session-poll-interval")});
  // Offers changed here reach this process's sessions at once and, by a NOTIFY after the
  // commit, those of every other replica (instead of at their --session-poll-interval).
  auto offer_wakeups =
      routing::PgOfferWakeups::Create(*postgres.pool, sessions, {.dsn = config.Get("pg-dsn")});
  if (!offer_wakeups.ok()) runtime::ExitWith("offer wake-ups (LISTEN)", offer_wakeups.status());
  offers.set_listener(offer_wakeups->get());
  // On SIGTERM, once health is NOT_SERVING: end every agent's session (UNAVAILABLE) so its
  // desktop reconnects to another replica now instead of holding the drain until it times
  // out; each ended session makes its agent OFFLINE here and withdraws its offers.
  service->BeforeDrain("agent sessions", [&] { sessions.CloseAll(); });

  // Start-up reconciliation: open unassigned tickets the queue does not hold get queued.
  // Retried until the ticket service answers once.
  routing::GrpcWaitingTickets waiting(ticket_channel, config.Get("service-key"));
  absl::Notification stop_reconcile;
  std::thread reconcile_thread([&] {
    do {
      absl::StatusOr<int> read = routing::ReconcileQueue(queue, waiting, clock);
      if (read.ok()) {
        log::Info("queue reconciled with the ticket service", {{"tickets", *read}});
        return;
      }
      log::Warn("queue not reconciled yet", {{"error", read.status().ToString()}});
    } while (!stop_reconcile.WaitForNotificationWithTimeout(absl::Seconds(5)));
  });
  service->Defer("reconciliation", [&] {
    stop_reconcile.Notify();
    reconcile_thread.join();
  });

  // The dispatcher: every pass expires offers and routes the queue. Every replica runs one;
  // a ticket is decided by one replica at a time (its queue row is locked meanwhile).
  // Full passes (offer expiry, follow-the-sun, the queue) every --dispatch-interval; routing
  // passes as soon as the queue consumer committed changes or an offer was rejected or
  // withdrawn.
  routing::DispatchLoop dispatch_loop(
      "dispatch", runtime::DurationOrExit(config, "dispatch-interval"),
      [&] {
        if (absl::StatusOr<int> routed = offers.Dispatch(); !routed.ok()) {
          log::Warn("dispatch pass failed", {{"error", routed.status().ToString()}});
        }
      },
      [&] {
        if (absl::StatusOr<int> routed = offers.RouteQueue(); !routed.ok()) {
          log::Warn("routing pass failed", {{"error", routed.status().ToString()}});
        }
      });
  dispatcher.store(&dispatch_loop);
  offers.set_requeued(wake_dispatcher);
  service->Defer("dispatcher wake-ups", [&] { dispatcher.store(nullptr); });
  Periodic agent_metrics("agent-metrics", absl::Seconds(5), [&] {
    if (absl::Status st = routing_metrics.RefreshAgents(agent_store, presence_store, clock);
        !st.ok()) {
      log::Warn("agent metrics not refreshed", {{"error", st.ToString()}});
    }
  });

  routing::AgentServiceHandlers agent_handlers(directory, authenticator, &service->rpc_workers());
  routing::RoutingServiceHandlers routing_handlers(presence, policies, queue, directory, offers,
                                                   sessions, authenticator,
                                                   &service->rpc_workers());
  int code = service->Serve({{routing::v1::AgentService::service_full_name(), &agent_handlers},
                             {routing::v1::RoutingService::service_full_name(), &routing_handlers}},
                            {postgres.readiness, redis.readiness, kafka.readiness});
  offers.set_listener(nullptr);
  return code;
}
