// The notification service: composes configuration, stores, handlers and the gRPC server.
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/api/page_token.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/core/log.h"
#include "libs/kafka/consumer.h"
#include "libs/runtime/dependencies.h"
#include "libs/runtime/issued_keys.h"
#include "libs/runtime/service_runtime.h"
#include "services/notification/api/notification_service_handlers.h"
#include "services/notification/delivery/delivery_metrics.h"
#include "services/notification/delivery/dispatcher.h"
#include "services/notification/delivery/event_intake.h"
#include "services/notification/delivery/host_resolver.h"
#include "services/notification/delivery/webhook_sender.h"
#include "services/notification/domain/delivery_service.h"
#include "services/notification/domain/subscription_service.h"
#include "services/notification/store/pg_delivery_store.h"
#include "services/notification/store/pg_event_feed.h"
#include "services/notification/store/pg_subscription_store.h"
#include "services/notification/store/schema.h"
#include "services/notification/store/secret_box.h"
#include "services/notification/store/ticket_tenant_directory.h"

int main(int argc, char** argv) {
  using namespace sundesk;  // NOLINT(google-build-using-namespace): main only
  auto options = runtime::CommonOptions({.name = "notification",
                                         .grpc_address = "127.0.0.1:50054",
                                         .metrics_address = "127.0.0.1:9104"});
  for (auto& o : runtime::PostgresOptions()) options.push_back(std::move(o));
  for (auto& o : runtime::KafkaOptions()) options.push_back(std::move(o));
  for (auto& o : runtime::KafkaConsumerOptions()) options.push_back(std::move(o));
  options.push_back(runtime::TicketAddrOption());
  options.push_back({"webhook-allow-loopback", "false",
                     "let webhooks target loopback and private addresses (local use only)"});
  for (auto& o : runtime::PageTokenOptions()) options.push_back(std::move(o));
  options.push_back({"webhook-secret-keys", "",
                     "keys sealing webhook secrets at rest (AES-256-GCM): "
                     "<id>:<64 hex>[,<id>:<64 hex>...], the sealing key first; older keys "
                     "after it still open, and start-up reseals under the first"});
  options.push_back({"delivery-attempts", "8", "attempts per delivery before it is dead-lettered"});
  options.push_back({"delivery-backoff", "30s", "wait after the first failed attempt (doubles)"});
  options.push_back({"delivery-backoff-max", "30m", "longest wait between two attempts"});
  options.push_back({"dispatch-interval", "200ms", "how often due deliveries are looked for"});
  options.push_back({"webhook-timeout", "10s", "longest one webhook attempt may take"});
  options.push_back({"delivery-lease", "2m",
                     "how long a claimed delivery is kept from other dispatchers (after a "
                     "crash, its attempt is made again once this passes); > webhook-timeout"});
  options.push_back({"webhook-per-endpoint", "16", "webhook attempts in flight per endpoint"});
  options.push_back({"webhook-breaker-failures", "5",
                     "consecutive retryable failures of an endpoint that open its breaker"});
  options.push_back({"webhook-breaker-open", "30s",
                     "how long an open breaker holds an endpoint's deliveries before a probe"});
  options.push_back({"stream-buffer", "64", "events read ahead per StreamEvents call"});
  options.push_back({"stream-retention", "168h", "how long StreamEvents can resume from"});
  options.push_back({"stream-slow-reader-timeout", "10s",
                     "a stream whose reader takes nothing for this long is ended"});
  options.push_back({"smtp-url", "", "SMTP relay, smtp://host:port; empty: no email delivery"});
  options.push_back({"smtp-from", "notifications@sundesk.local", "sender address of emails"});
  options.push_back({"smtp-user", "", "SMTP user name (AUTH), if the relay wants one"});
  options.push_back({"smtp-password", "", "SMTP password"});
  options.push_back({"smtp-starttls", "false", "require STARTTLS with the relay"});
  options.push_back(
      {"smtp-ca-file", "", "PEM CA bundle the relay's certificate is checked against"});
  Config config = runtime::ParseOrExit(std::move(options), argc, argv);
  auto service = runtime::ServiceRuntime::CreateOrExit("notification", config);

  runtime::Postgres postgres =
      runtime::PostgresOrExit(config, notification::kSchema, notification::AllMigrations());
  runtime::Kafka kafka = runtime::KafkaProducerOrExit(config, "sundesk-notification");
  service->Defer("kafka producer", [&] { (void)kafka.producer->Flush(absl::Seconds(10)); });
  // Dead letters go to sundesk.notification.dlq.v1 through the outbox.
  runtime::StartOutboxRelayOrExit(*service, notification::kSchema, *kafka.producer);
  const bool allow_private = runtime::BoolOrExit(config, "webhook-allow-loopback");

  SystemClock clock;
  UuidV7Generator ids(clock);
  api::PageTokenSigner page_tokens(runtime::PageTokenKey(config));
  notification::SystemHostResolver resolver;
  // Tenants are the ticket service's: an ADMIN's tenant_id is checked there (SERVICE key).
  std::shared_ptr<grpc::Channel> ticket_channel = runtime::TicketChannelOrExit(config);
  if (config.Get("service-key").empty()) {
    log::Warn(
        "no --service-key (SUNDESK_SERVICE_KEY): the ticket service cannot be asked whether a "
        "tenant exists, so ADMIN calls naming a tenant answer UNAVAILABLE");
  }
  ticket::GrpcTenantLookup ticket_tenants(ticket_channel, config.Get("service-key"));
  ticket::CachedTenantLookup cached_tenants(ticket_tenants, clock);
  notification::TicketTenantDirectory tenants(cached_tenants);
  std::optional<notification::SecretBox> secret_box;
  if (const std::string spec = config.Get("webhook-secret-keys"); !spec.empty()) {
    absl::StatusOr<notification::SecretBox> box = notification::SecretBox::Parse(spec);
    if (!box.ok()) runtime::ExitWith("--webhook-secret-keys", box.status());
    secret_box = *std::move(box);
  }
  const notification::SecretBox* secrets = secret_box ? &*secret_box : nullptr;
  notification::PgSubscriptionStore subscription_store(*postgres.pool, secrets);
  if (secrets != nullptr) {
    // Seals what is still plain (rows from before keys were set) or under an older key.
    absl::StatusOr<int> resealed = subscription_store.ResealSecrets(*secrets);
    if (!resealed.ok()) runtime::ExitWith("--webhook-secret-keys", resealed.status());
    if (*resealed > 0) {
      log::Info("notification: webhook secrets resealed",
                {{"count", *resealed}, {"key_id", secrets->current_key_id()}});
    }
  } else {
    absl::StatusOr<std::vector<std::string>> in_use = subscription_store.SecretKeyIdsInUse();
    if (!in_use.ok()) runtime::ExitWith("postgres", in_use.status());
    if (!in_use->empty()) {
      runtime::ExitWith("--webhook-secret-keys",
                        absl::FailedPreconditionError(absl::StrCat(
                            "webhook secrets are sealed with key(s) ", absl::StrJoin(*in_use, ", "),
                            " but no keys are configured")));
    }
    log::Warn(
        "no --webhook-secret-keys (SUNDESK_WEBHOOK_SECRET_KEYS): webhook secrets are stored "
        "unencrypted");
  }
  notification::SubscriptionService subscriptions(subscription_store, clock, ids, page_tokens,
                                                  resolver, tenants,
                                                  {.allow_private_targets = allow_private});
  notification::PgDeliveryStore delivery_store(*postgres.pool, ids, secrets);
  notification::DeliveryService deliveries(delivery_store, subscriptions, clock, page_tokens);

  if (runtime::DurationOrExit(config, "delivery-lease") <=
      runtime::DurationOrExit(config, "webhook-timeout")) {
    runtime::ExitWith("--delivery-lease",
                      absl::InvalidArgumentError("must be longer than --webhook-timeout"));
  }
  // Webhooks: one sender thread, the dispatcher that feeds it, the consumer that makes
  // deliveries out of events. Stopped in reverse: consumer, dispatcher, then the sender.
  auto webhooks = std::make_unique<notification::WebhookSender>(
      clock,
      notification::WebhookSenderOptions{
          .timeout = runtime::DurationOrExit(config, "webhook-timeout"),
          .max_per_endpoint = static_cast<int>(runtime::IntOrExit(config, "webhook-per-endpoint")),
          .allow_private_targets = allow_private,
          .breaker = {.failure_threshold =
                          static_cast<int>(runtime::IntOrExit(config, "webhook-breaker-failures")),
                      .open_duration = runtime::DurationOrExit(config, "webhook-breaker-open")}});
  std::unique_ptr<notification::EmailSender> emails;
  if (!config.Get("smtp-url").empty()) {
    emails = std::make_unique<notification::EmailSender>(
        clock, notification::SmtpOptions{.url = config.Get("smtp-url"),
                                         .from = config.Get("smtp-from"),
                                         .username = config.Get("smtp-user"),
                                         .password = config.Get("smtp-password"),
                                         .starttls = runtime::BoolOrExit(config, "smtp-starttls"),
                                         .ca_file = config.Get("smtp-ca-file")});
  }
  notification::DeliveryMetrics delivery_metrics(service->registry());
  notification::Dispatcher dispatcher(
      delivery_store, *webhooks, emails.get(), clock, &delivery_metrics,
      {.schedule = {.max_attempts =
                        static_cast<int>(runtime::IntOrExit(config, "delivery-attempts")),
                    .initial_backoff = runtime::DurationOrExit(config, "delivery-backoff"),
                    .max_backoff = runtime::DurationOrExit(config, "delivery-backoff-max")},
       .poll_interval = runtime::DurationOrExit(config, "dispatch-interval"),
       .lease = runtime::DurationOrExit(config, "delivery-lease")});
  std::thread dispatch_thread([&] { dispatcher.Run(); });
  service->Defer("dispatcher", [&] {
    dispatcher.Stop();
    dispatch_thread.join();
    webhooks.reset();  // completes what is in flight; the leases bring it back later
    emails.reset();
  });

  notification::EventIntake intake(delivery_store, clock, dispatcher);
  std::vector<std::string> topics(std::begin(notification::kEventTopics),
                                  std::end(notification::kEventTopics));
  // Events already fetched are made durable in one transaction, up to kIntakeBatch.
  constexpr int kIntakeBatch = 200;
  auto consumer = kafka::Consumer::CreateBatched(
      runtime::ConsumerOptionsOrExit(config, "sundesk-notification", std::move(topics)),
      [&](absl::Span<const kafka::Message> batch) { return intake.HandleBatch(batch); },
      kIntakeBatch);
  if (!consumer.ok()) runtime::ExitWith("kafka consumer", consumer.status());
  std::thread consume_thread([&] {
    absl::Status st = (*consumer)->Run();
    if (!st.ok()) log::Error("notification: consumer stopped", {{"error", st.ToString()}});
  });
  service->Defer("consumer", [&] {
    (*consumer)->Stop();
    consume_thread.join();
  });

  notification::PgEventFeed feed(*postgres.pool);
  notification::EventStreams streams(
      feed, service->registry(),
      {.max_buffered = static_cast<int>(runtime::IntOrExit(config, "stream-buffer")),
       .slow_reader_timeout = runtime::DurationOrExit(config, "stream-slow-reader-timeout"),
       .retention = runtime::DurationOrExit(config, "stream-retention")});
  // On SIGTERM, once health is NOT_SERVING: end every open StreamEvents call (UNAVAILABLE)
  // so its client resumes from its cursor on another replica now, instead of holding the
  // drain until --drain-timeout.
  service->BeforeDrain("event streams", [&] { streams.CloseAll(); });
  // The configured admin/service keys first, then the keys the ticket service issued.
  runtime::IssuedKeyAuthenticator issued_keys(ticket_channel, clock);
  rpc::ChainAuthenticator authenticator({&service->authenticator(), &issued_keys});
  notification::NotificationServiceHandlers notification_handlers(
      authenticator, subscriptions, deliveries, feed, streams, &service->rpc_workers());
  return service->Serve(
      {{notification::v1::NotificationService::service_full_name(), &notification_handlers}},
      {postgres.readiness, kafka.readiness});
}
