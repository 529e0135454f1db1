// Subscriptions through a real in-process gRPC server and generated stubs, on a throwaway
// PostgreSQL with the service's migrations: tenant scope from the key, validation naming
// the field, the SSRF guard with the system resolver, idempotent creates, pagination,
// deletes, and secrets that never come back.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/kafka/envelope.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pool.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/client.h"
#include "libs/rpc/server.h"
#include "prometheus/registry.h"
#include "services/notification/api/notification_service_handlers.h"
#include "services/notification/delivery/host_resolver.h"
#include "services/notification/store/pg_delivery_store.h"
#include "services/notification/store/pg_event_feed.h"
#include "services/notification/store/pg_subscription_store.h"
#include "services/notification/store/schema.h"
#include "sundesk/notification/v1/notification_service.grpc.pb.h"
#include "tests/services/notification/fake_tenant_directory.h"
#include "tests/support/postgres_server.h"

namespace sundesk::notification {
namespace {

namespace pb = ::sundesk::notification::v1;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kTenantA[] = "0190a000-0000-7000-8000-00000000000a";
constexpr char kTenantB[] = "0190a000-0000-7000-8000-00000000000b";
constexpr char kTenantC[] = "0190a000-0000-7000-8000-00000000000c";
constexpr char kUnknownTenant[] = "0190a000-0000-7000-8000-0000000000dd";
constexpr char kSecret[] = "whsec-0123456789abcdef";

class SubscriptionIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = testing::PostgresServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    postgres_ = server->release();
    auto dsn = postgres_->CreateDatabase("notification");
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    auto pool = pg::Pool::Create({.dsn = *dsn, .size = 4});
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = pool->release();
    ASSERT_TRUE(pg::RunMigrations(*pool_, "notification", AllMigrations()).ok());

    auth_ = new rpc::StaticKeyAuthenticator();
    auth_->Add("client-a", {.role = rpc::Role::kClient, .tenant_id = kTenantA, .key_id = "ka"});
    auth_->Add("client-b", {.role = rpc::Role::kClient, .tenant_id = kTenantB, .key_id = "kb"});
    auth_->Add("admin", {.role = rpc::Role::kAdmin, .key_id = "admin"});
    auth_->Add("agent-1", {.role = rpc::Role::kAgent, .agent_id = "agent-1", .key_id = "ag"});

    registry_ = new prometheus::Registry();
    store_ = new PgSubscriptionStore(*pool_);
    ids_ = new UuidV7Generator(clock_);
    subscriptions_ = new SubscriptionService(*store_, clock_, *ids_, tokens_, resolver_, tenants_,
                                             {.allow_private_targets = false});
    delivery_store_ = new PgDeliveryStore(*pool_, *ids_);
    deliveries_ = new DeliveryService(*delivery_store_, *subscriptions_, clock_, tokens_);
    feed_ = new PgEventFeed(*pool_);
    streams_ = new EventStreams(*feed_, *registry_, {});
    handlers_ =
        new NotificationServiceHandlers(*auth_, *subscriptions_, *deliveries_, *feed_, *streams_);
    rpc::ServerOptions options;
    options.services = {{pb::NotificationService::service_full_name(), handlers_}};
    auto grpc_server = rpc::Server::Start(std::move(options), *registry_);
    ASSERT_TRUE(grpc_server.ok()) << grpc_server.status();
    server_ = grpc_server->release();
    auto channel = rpc::MakeChannel({.target = absl::StrCat("127.0.0.1:", server_->port())});
    ASSERT_TRUE(channel.ok());
    channel_ = new std::shared_ptr<grpc::Channel>(*channel);
  }

  static void TearDownTestSuite() {
    delete server_;
    delete handlers_;
    delete streams_;
    delete feed_;
    delete deliveries_;
    delete delivery_store_;
    delete subscriptions_;
    delete ids_;
    delete store_;
    delete registry_;
    delete channel_;
    delete auth_;
    delete pool_;
    delete postgres_;
  }

  static std::unique_ptr<pb::NotificationService::Stub> Stub() {
    return pb::NotificationService::NewStub(*channel_);
  }
  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& key) {
    return rpc::NewClientContext({.timeout = absl::Seconds(20), .api_key = key});
  }

  // A public address literal: resolves without DNS and passes the SSRF guard.
  static pb::CreateSubscriptionRequest WebhookRequest() {
    pb::CreateSubscriptionRequest r;
    r.add_event_types("TicketCreated");
    r.add_event_types("SlaBreached");
    r.mutable_webhook()->set_url("https://93.184.216.34/sundesk/hooks");
    r.mutable_webhook()->set_secret(kSecret);
    r.set_display_name("helpdesk bridge");
    return r;
  }

  static grpc::Status Create(const std::string& key, const pb::CreateSubscriptionRequest& r,
                             pb::Subscription* out) {
    return Stub()->CreateSubscription(Ctx(key).get(), r, out);
  }

  static inline testing::PostgresServer* postgres_ = nullptr;
  static inline pg::Pool* pool_ = nullptr;
  static inline rpc::StaticKeyAuthenticator* auth_ = nullptr;
  static inline prometheus::Registry* registry_ = nullptr;
  static inline SystemClock clock_;
  static inline UuidV7Generator* ids_ = nullptr;
  static inline api::PageTokenSigner tokens_{"page-key"};
  static inline FakeTenantDirectory tenants_{{kTenantA, kTenantB, kTenantC}};
  static inline SystemHostResolver resolver_;
  static inline PgSubscriptionStore* store_ = nullptr;
  static inline SubscriptionService* subscriptions_ = nullptr;
  static inline PgDeliveryStore* delivery_store_ = nullptr;
  static inline DeliveryService* deliveries_ = nullptr;
  static inline PgEventFeed* feed_ = nullptr;
  static inline EventStreams* streams_ = nullptr;
  static inline NotificationServiceHandlers* handlers_ = nullptr;
  static inline rpc::Server* server_ = nullptr;
  static inline std::shared_ptr<grpc::Channel>* channel_ = nullptr;
};

TEST_F(SubscriptionIntegrationTest, CreateReturnsTheSubscriptionWithoutItsSecret) {
  pb::Subscription s;
  grpc::Status st = Create("client-a", WebhookRequest(), &s);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_FALSE(s.subscription_id().empty());
  EXPECT_EQ(s.tenant_id(), kTenantA);
  EXPECT_THAT(s.event_types(), ::testing::ElementsAre("TicketCreated", "SlaBreached"));
  EXPECT_EQ(s.webhook().url(), "https://93.184.216.34/sundesk/hooks");
  EXPECT_EQ(s.webhook().secret(), "");
  EXPECT_EQ(s.display_name(), "helpdesk bridge");
  EXPECT_GT(s.create_time().seconds(), 0);

  // Stored for the sender to sign with (see SecretsAreSealedAtRest...), but a subscription
  // read back never carries it, and it is never listed.
  auto stored = store_->GetSubscription(s.subscription_id());
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->secret, "");
  pb::ListSubscriptionsRequest list;
  pb::ListSubscriptionsResponse page;
  ASSERT_TRUE(Stub()->ListSubscriptions(Ctx("client-a").get(), list, &page).ok());
  bool found = false;
  for (const auto& item : page.subscriptions()) {
    EXPECT_EQ(item.webhook().secret(), "");
    if (item.subscription_id() == s.subscription_id()) {
      found = true;
      EXPECT_EQ(item.create_time().seconds(), s.create_time().seconds());
      EXPECT_EQ(item.create_time().nanos(), s.create_time().nanos());
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(SubscriptionIntegrationTest, EmailSubscriptions) {
  pb::CreateSubscriptionRequest r;
  r.mutable_email()->set_address("oncall@client-a.example.com");
  pb::Subscription s;
  ASSERT_TRUE(Create("client-a", r, &s).ok());
  EXPECT_EQ(s.email().address(), "oncall@client-a.example.com");
  EXPECT_TRUE(s.event_types().empty());
}

TEST_F(SubscriptionIntegrationTest, ValidationNamesTheField) {
  struct Case {
    std::function<void(pb::CreateSubscriptionRequest&)> edit;
    std::string prefix;
  };
  std::vector<Case> cases = {
      {[](auto& r) { r.clear_webhook(); }, "channel: "},
      {[](auto& r) { r.add_event_types("TicketExploded"); }, "event_types[2]: "},
      {[](auto& r) { r.mutable_webhook()->set_url("ftp://93.184.216.34/"); }, "webhook.url: "},
      {[](auto& r) { r.mutable_webhook()->set_url("/relative"); }, "webhook.url: "},
      {[](auto& r) { r.mutable_webhook()->set_url("http://127.0.0.1:8080/hook"); },
       "webhook.url: "},
      {[](auto& r) { r.mutable_webhook()->set_url("http://169.254.169.254/latest/"); },
       "webhook.url: "},
      {[](auto& r) { r.mutable_webhook()->set_url("http://[::1]:9000/"); }, "webhook.url: "},
      {[](auto& r) { r.mutable_webhook()->set_url("http://10.0.0.8/"); }, "webhook.url: "},
      {[](auto& r) { r.mutable_webhook()->set_secret("too-short"); }, "webhook.secret: "},
      {[](auto& r) { r.mutable_email()->set_address("no-at-sign"); }, "email.address: "},
      {[](auto& r) { r.set_display_name(std::string(201, 'n')); }, "display_name: "},
      {[](auto& r) { r.set_request_id(std::string(129, 'q')); }, "request_id: "},
  };
  for (const auto& c : cases) {
    pb::CreateSubscriptionRequest r = WebhookRequest();
    c.edit(r);
    pb::Subscription s;
    grpc::Status st = Create("client-a", r, &s);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.prefix;
    EXPECT_THAT(st.error_message(), StartsWith(c.prefix));
  }
}

TEST_F(SubscriptionIntegrationTest, TenantsNeverSeeEachOther) {
  pb::Subscription a;
  ASSERT_TRUE(Create("client-a", WebhookRequest(), &a).ok());

  pb::CreateSubscriptionRequest foreign = WebhookRequest();
  foreign.set_tenant_id(kTenantA);
  pb::Subscription s;
  EXPECT_EQ(Create("client-b", foreign, &s).error_code(), grpc::StatusCode::NOT_FOUND);

  pb::ListSubscriptionsRequest list;
  pb::ListSubscriptionsResponse page;
  ASSERT_TRUE(Stub()->ListSubscriptions(Ctx("client-b").get(), list, &page).ok());
  for (const auto& item : page.subscriptions()) EXPECT_EQ(item.tenant_id(), kTenantB);
  list.set_tenant_id(kTenantA);
  EXPECT_EQ(Stub()->ListSubscriptions(Ctx("client-b").get(), list, &page).error_code(),
            grpc::StatusCode::NOT_FOUND);

  pb::DeleteSubscriptionRequest del;
  del.set_subscription_id(a.subscription_id());
  google::protobuf::Empty empty;
  grpc::Status st = Stub()->DeleteSubscription(Ctx("client-b").get(), del, &empty);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  pb::DeleteSubscriptionRequest missing;
  missing.set_subscription_id("0190a000-0000-7000-8000-0000000000ff");
  grpc::Status missing_st = Stub()->DeleteSubscription(Ctx("client-b").get(), missing, &empty);
  EXPECT_EQ(missing_st.error_code(), grpc::StatusCode::NOT_FOUND);
  // The two answers differ only in the id they name.
  EXPECT_EQ(st.error_message().substr(0, 14), missing_st.error_message().substr(0, 14));
  EXPECT_TRUE(store_->GetSubscription(a.subscription_id())->has_value());
}

TEST_F(SubscriptionIntegrationTest, AdminNamesTheTenantAgentsAreRefused) {
  pb::Subscription s;
  grpc::Status st = Create("admin", WebhookRequest(), &s);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), StartsWith("tenant_id: "));
  pb::CreateSubscriptionRequest r = WebhookRequest();
  r.set_tenant_id(kTenantB);
  ASSERT_TRUE(Create("admin", r, &s).ok());
  EXPECT_EQ(s.tenant_id(), kTenantB);
  EXPECT_EQ(Create("agent-1", WebhookRequest(), &s).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Create("", WebhookRequest(), &s).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  pb::ListSubscriptionsRequest list;
  pb::ListSubscriptionsResponse page;
  st = Stub()->ListSubscriptions(Ctx("admin").get(), list, &page);
  EXPECT_THAT(st.error_message(), StartsWith("tenant_id: "));
}

TEST_F(SubscriptionIntegrationTest, RetriedCreateReturnsTheSameSubscription) {
  pb::CreateSubscriptionRequest r = WebhookRequest();
  r.set_request_id("create-hook-1");
  pb::Subscription first, again, other;
  ASSERT_TRUE(Create("client-a", r, &first).ok());
  ASSERT_TRUE(Create("client-a", r, &again).ok());
  EXPECT_EQ(first.subscription_id(), again.subscription_id());
  // The same request_id from another tenant is that tenant's own.
  ASSERT_TRUE(Create("client-b", r, &other).ok());
  EXPECT_NE(other.subscription_id(), first.subscription_id());
  // Only the secret differs: compared with the stored one (it is not in the fingerprint).
  pb::CreateSubscriptionRequest other_secret = r;
  other_secret.mutable_webhook()->set_secret("another-secret-0123456789");
  grpc::Status st = Create("client-a", other_secret, &other);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  r.mutable_webhook()->set_url("https://93.184.216.35/other");
  st = Create("client-a", r, &other);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(st.error_message(), StartsWith("request_id: "));
}

TEST_F(SubscriptionIntegrationTest, ListPagesOldestFirstAndSkipsDeleted) {
  std::vector<std::string> created;
  for (int i = 0; i < 7; ++i) {
    pb::CreateSubscriptionRequest r = WebhookRequest();
    r.set_tenant_id(kTenantC);
    pb::Subscription s;
    ASSERT_TRUE(Create("admin", r, &s).ok());
    created.push_back(s.subscription_id());
  }
  pb::DeleteSubscriptionRequest del;
  del.set_subscription_id(created[3]);
  google::protobuf::Empty empty;
  ASSERT_TRUE(Stub()->DeleteSubscription(Ctx("admin").get(), del, &empty).ok());
  EXPECT_EQ(Stub()->DeleteSubscription(Ctx("admin").get(), del, &empty).error_code(),
            grpc::StatusCode::NOT_FOUND);

  std::vector<std::string> listed;
  pb::ListSubscriptionsRequest list;
  list.set_tenant_id(kTenantC);
  list.set_page_size(3);
  do {
    pb::ListSubscriptionsResponse page;
    grpc::Status st = Stub()->ListSubscriptions(Ctx("admin").get(), list, &page);
    ASSERT_TRUE(st.ok()) << st.error_message();
    for (const auto& s : page.subscriptions()) listed.push_back(s.subscription_id());
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  std::vector<std::string> expected = created;
  expected.erase(expected.begin() + 3);
  EXPECT_EQ(listed, expected);

  list.set_page_token("forged");
  pb::ListSubscriptionsResponse page;
  grpc::Status st = Stub()->ListSubscriptions(Ctx("admin").get(), list, &page);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), StartsWith("page_token: "));
  pb::DeleteSubscriptionRequest empty_id;
  st = Stub()->DeleteSubscription(Ctx("admin").get(), empty_id, &empty);
  EXPECT_THAT(st.error_message(), StartsWith("subscription_id: "));
}

}  // namespace
}  // namespace sundesk::notification

namespace sundesk::notification {
namespace {

// Tenants belong to the ticket service: an ADMIN naming one it does not know is told
// NOT_FOUND by every RPC that takes a tenant, and nothing is created for it.
TEST_F(SubscriptionIntegrationTest, AdminNamingAnUnknownTenantIsNotFound) {
  pb::CreateSubscriptionRequest create = WebhookRequest();
  create.set_tenant_id(kUnknownTenant);
  pb::Subscription s;
  grpc::Status st = Create("admin", create, &s);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_THAT(st.error_message(), StartsWith("tenant_id: "));

  pb::ListSubscriptionsRequest list;
  list.set_tenant_id(kUnknownTenant);
  pb::ListSubscriptionsResponse subscriptions;
  st = Stub()->ListSubscriptions(Ctx("admin").get(), list, &subscriptions);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_THAT(st.error_message(), StartsWith("tenant_id: "));

  pb::ListDeliveriesRequest deliveries;
  deliveries.set_tenant_id(kUnknownTenant);
  pb::ListDeliveriesResponse delivery_page;
  st = Stub()->ListDeliveries(Ctx("admin").get(), deliveries, &delivery_page);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_THAT(st.error_message(), StartsWith("tenant_id: "));

  // Known tenants still answer; a CLIENT key's own tenant is not asked about.
  list.set_tenant_id(kTenantB);
  EXPECT_TRUE(Stub()->ListSubscriptions(Ctx("admin").get(), list, &subscriptions).ok());
  const int calls = tenants_.calls();
  list.clear_tenant_id();
  EXPECT_TRUE(Stub()->ListSubscriptions(Ctx("client-a").get(), list, &subscriptions).ok());
  EXPECT_EQ(tenants_.calls(), calls);
}

TEST_F(SubscriptionIntegrationTest, AdminCallsAnswerUnavailableWhenTenantsCannotBeChecked) {
  tenants_.SetUnavailable(true);
  pb::ListSubscriptionsRequest list;
  list.set_tenant_id(kTenantA);
  pb::ListSubscriptionsResponse page;
  grpc::Status st = Stub()->ListSubscriptions(Ctx("admin").get(), list, &page);
  tenants_.SetUnavailable(false);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
}

}  // namespace
}  // namespace sundesk::notification

namespace sundesk::notification {
namespace {

// The webhook secret of subscription `id` as the database holds it.
struct StoredSecret {
  std::string plain;
  std::string key_id;  // empty: not sealed
  std::string sealed;
};
StoredSecret SecretRow(pg::Pool& pool, const std::string& id) {
  auto conn = pool.Acquire();
  EXPECT_TRUE(conn.ok());
  auto r = (*conn)->Execute(
      "SELECT webhook_secret, coalesce(webhook_secret_key_id, '') AS key_id, "
      "coalesce(webhook_secret_sealed, ''::bytea) AS sealed FROM notification.subscriptions "
      "WHERE subscription_id = $1",
      {id});
  EXPECT_TRUE(r.ok() && r->rows() == 1);
  return {std::string(r->Text(0, "webhook_secret")), std::string(r->Text(0, "key_id")),
          *r->Bytea(0, "sealed")};
}

// Secrets written before keys were configured are sealed by the start-up migration, keys
// rotate by resealing, and a delivery's claim opens the secret to sign with.
TEST_F(SubscriptionIntegrationTest, SecretsAreSealedAtRestResealedOnRotationAndOpenedToSign) {
  pb::Subscription plain_sub;
  ASSERT_TRUE(Create("client-a", WebhookRequest(), &plain_sub).ok());  // a store without keys
  StoredSecret row = SecretRow(*pool_, plain_sub.subscription_id());
  EXPECT_EQ(row.plain, kSecret);
  EXPECT_EQ(row.key_id, "");

  auto k1 = SecretBox::Parse("k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  ASSERT_TRUE(k1.ok());
  PgSubscriptionStore sealing(*pool_, &*k1);
  auto resealed = sealing.ResealSecrets(*k1);
  ASSERT_TRUE(resealed.ok()) << resealed.status();
  EXPECT_GE(*resealed, 1);
  row = SecretRow(*pool_, plain_sub.subscription_id());
  EXPECT_EQ(row.plain, "");
  EXPECT_EQ(row.key_id, "k1");
  EXPECT_THAT(row.sealed, ::testing::Not(::testing::HasSubstr(kSecret)));
  EXPECT_EQ(*sealing.ResealSecrets(*k1), 0);  // nothing left to do
  auto in_use = sealing.SecretKeyIdsInUse();
  ASSERT_TRUE(in_use.ok());
  EXPECT_EQ(*in_use, std::vector<std::string>{"k1"});

  // A new subscription through a sealing store is sealed from the start.
  Subscription fresh{.subscription_id = ids_->NewId(),
                     .tenant_id = kTenantB,
                     .channel = ChannelKind::kWebhook,
                     .target = "https://93.184.216.34/fresh",
                     .secret = "whsec-fresh-0123456789",
                     .create_time = absl::Now() - absl::Minutes(1)};
  ASSERT_TRUE(sealing.CreateSubscription(fresh, std::nullopt).ok());
  row = SecretRow(*pool_, fresh.subscription_id);
  EXPECT_EQ(row.plain, "");
  EXPECT_EQ(row.key_id, "k1");

  // A replayed create compares its secret with the sealed one.
  Subscription keyed = fresh;
  keyed.subscription_id = ids_->NewId();
  const CreateRecord record{.request_id = "sealed-replay", .fingerprint = "v2:test"};
  ASSERT_TRUE(sealing.CreateSubscription(keyed, record).ok());
  Subscription retry = keyed;
  retry.subscription_id = ids_->NewId();
  auto replayed = sealing.CreateSubscription(retry, record);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_TRUE(replayed->replayed);
  EXPECT_TRUE(replayed->same_secret);
  EXPECT_EQ(replayed->subscription.subscription_id, keyed.subscription_id);
  retry.secret = "whsec-another-0123456789";
  replayed = sealing.CreateSubscription(retry, record);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_TRUE(replayed->replayed);
  EXPECT_FALSE(replayed->same_secret);

  // Rotation: k2 seals, k1 still opens; resealing moves every row to k2.
  auto k2 = SecretBox::Parse(
      "k2:1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100,"
      "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  ASSERT_TRUE(k2.ok());
  EXPECT_GE(*sealing.ResealSecrets(*k2), 2);
  EXPECT_EQ(SecretRow(*pool_, fresh.subscription_id).key_id, "k2");
  EXPECT_EQ(*sealing.SecretKeyIdsInUse(), std::vector<std::string>{"k2"});

  // The dispatcher's claim opens it (with k2 only); without keys it says why not.
  events::v1::TicketCreated payload;
  payload.mutable_ticket()->set_ticket_id(ids_->NewId());
  auto event = kafka::NewEvent(*ids_, clock_,
                               {.source = "sundesk/ticket",
                                .tenant_id = kTenantB,
                                .subject = payload.ticket().ticket_id(),
                                .sequence = 1},
                               payload);
  ASSERT_TRUE(event.ok());
  auto only_k2 =
      SecretBox::Parse("k2:1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100");
  PgDeliveryStore with_key(*pool_, *ids_, &*only_k2);
  ASSERT_TRUE(with_key.RecordEvent(*event, absl::Now()).ok());
  auto claimed = with_key.ClaimDue(absl::Now(), 1000, absl::Minutes(1));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  bool found = false;
  for (const DueDelivery& d : *claimed) {
    if (d.delivery.subscription_id != fresh.subscription_id) continue;
    found = true;
    EXPECT_EQ(d.secret, "whsec-fresh-0123456789");
    EXPECT_EQ(d.secret_error, "");
  }
  EXPECT_TRUE(found);
  PgDeliveryStore without_key(*pool_, *ids_);
  claimed = without_key.ClaimDue(absl::Now() + absl::Minutes(2), 1000, absl::Minutes(1));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  found = false;
  for (const DueDelivery& d : *claimed) {
    if (d.delivery.subscription_id != fresh.subscription_id) continue;
    found = true;
    EXPECT_EQ(d.secret, "");
    EXPECT_THAT(d.secret_error, ::testing::HasSubstr("\"k2\""));
  }
  EXPECT_TRUE(found);
}

TEST_F(SubscriptionIntegrationTest, BatchedIntakeAndAttemptRecordsKeepTheirGuarantees) {
  // Two fresh tenants: A with a subscription to everything and one to another type only,
  // B with one to everything.
  const std::string tenant_a = ids_->NewId();
  const std::string tenant_b = ids_->NewId();
  auto subscribe = [&](const std::string& tenant, std::vector<std::string> types) {
    Subscription s{.subscription_id = ids_->NewId(),
                   .tenant_id = tenant,
                   .event_types = std::move(types),
                   .channel = ChannelKind::kWebhook,
                   .target = "https://93.184.216.34/batch",
                   .secret = kSecret,
                   .create_time = absl::Now() - absl::Hours(1)};
    EXPECT_TRUE(store_->CreateSubscription(s, std::nullopt).ok());
    return s.subscription_id;
  };
  const std::string all_a = subscribe(tenant_a, {});
  subscribe(tenant_a, {"SlaBreached"});
  const std::string all_b = subscribe(tenant_b, {});
  auto event = [&](const std::string& tenant) {
    events::v1::TicketCreated payload;
    payload.mutable_ticket()->set_ticket_id(ids_->NewId());
    auto e = kafka::NewEvent(*ids_, clock_,
                             {.source = "sundesk/ticket",
                              .tenant_id = tenant,
                              .subject = payload.ticket().ticket_id(),
                              .sequence = 1},
                             payload);
    EXPECT_TRUE(e.ok());
    return *e;
  };
  const events::v1::Event a1 = event(tenant_a), b1 = event(tenant_b), a2 = event(tenant_a),
                          a3 = event(tenant_a);
  // Tenants interleaved, and one event twice in the same batch (a redelivery).
  const std::vector<events::v1::Event> batch = {a1, b1, a2, a1, a3};
  auto created = delivery_store_->RecordEvents(batch, absl::Now());
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(*created, 4);                                       // a1, a2, a3 to all_a; b1 to all_b
  created = delivery_store_->RecordEvents(batch, absl::Now());  // the whole batch again
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(*created, 0);

  // Each tenant's feed has its events once, in consumed order, positions increasing.
  PgEventFeed feed(*pool_);
  auto feed_a = feed.Read(tenant_a, 0, {}, 10);
  ASSERT_TRUE(feed_a.ok()) << feed_a.status();
  ASSERT_EQ(feed_a->size(), 3u);
  EXPECT_EQ((*feed_a)[0].event_id, a1.event_id());
  EXPECT_EQ((*feed_a)[1].event_id, a2.event_id());
  EXPECT_EQ((*feed_a)[2].event_id, a3.event_id());
  EXPECT_LT((*feed_a)[0].position, (*feed_a)[1].position);
  EXPECT_LT((*feed_a)[1].position, (*feed_a)[2].position);
  auto feed_b = feed.Read(tenant_b, 0, {}, 10);
  ASSERT_TRUE(feed_b.ok()) << feed_b.status();
  ASSERT_EQ(feed_b->size(), 1u);
  EXPECT_EQ((*feed_b)[0].event_id, b1.event_id());

  // Outcomes recorded together: one delivered, one dead (with its DLQ record), one retrying.
  auto claimed = delivery_store_->ClaimDue(absl::Now(), 1000, absl::Minutes(1));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  std::vector<const DueDelivery*> ours;
  for (const DueDelivery& d : *claimed) {
    if (d.delivery.subscription_id == all_a || d.delivery.subscription_id == all_b) {
      ours.push_back(&d);
    }
  }
  ASSERT_EQ(ours.size(), 4u);
  auto outbox_rows = [&] {
    auto conn = pool_->Acquire();
    EXPECT_TRUE(conn.ok());
    auto r = (*conn)->Execute("SELECT count(*) FROM notification.outbox WHERE topic = $1",
                              {kDeadLetterTopic});
    EXPECT_TRUE(r.ok());
    return *r->Int64(0, 0);
  };
  const int64_t dead_letters_before = outbox_rows();
  const absl::Time now = absl::Now();
  std::vector<AttemptOutcome> outcomes = {
      {.due = ours[0],
       .result = {.http_status = 200},
       .decision = {.state = DeliveryState::kDelivered, .attempts = 1}},
      {.due = ours[1],
       .result = {.http_status = 410, .error = "HTTP 410 \"gone\", {braces}"},
       .decision = {.state = DeliveryState::kDead, .attempts = 1, .dead_lettered = true}},
      {.due = ours[2],
       .result = {.http_status = 503, .error = "HTTP 503"},
       .decision = {.state = DeliveryState::kRetrying,
                    .attempts = 1,
                    .next_attempt_time = now + absl::Minutes(5)}}};
  ASSERT_TRUE(delivery_store_->RecordAttempts(outcomes, now).ok());
  EXPECT_EQ(outbox_rows(), dead_letters_before + 1);
  auto delivered = delivery_store_->GetDelivery(ours[0]->delivery.delivery_id);
  ASSERT_TRUE(delivered.ok() && delivered->has_value());
  EXPECT_EQ((*delivered)->state, DeliveryState::kDelivered);
  EXPECT_TRUE((*delivered)->deliver_time.has_value());
  auto dead = delivery_store_->GetDelivery(ours[1]->delivery.delivery_id);
  ASSERT_TRUE(dead.ok() && dead->has_value());
  EXPECT_EQ((*dead)->state, DeliveryState::kDead);
  EXPECT_EQ((*dead)->last_error, "HTTP 410 \"gone\", {braces}");
  EXPECT_EQ((*dead)->last_http_status, 410);
  auto retrying = delivery_store_->GetDelivery(ours[2]->delivery.delivery_id);
  ASSERT_TRUE(retrying.ok() && retrying->has_value());
  EXPECT_EQ((*retrying)->state, DeliveryState::kRetrying);
  EXPECT_EQ((*retrying)->attempts, 1);
  ASSERT_TRUE((*retrying)->next_attempt_time.has_value());
  EXPECT_GT(*(*retrying)->next_attempt_time, now + absl::Minutes(4));
  // Not due yet, and the fourth is still leased: nothing to claim of ours now.
  claimed = delivery_store_->ClaimDue(absl::Now(), 1000, absl::Minutes(1));
  ASSERT_TRUE(claimed.ok());
  for (const DueDelivery& d : *claimed) {
    EXPECT_NE(d.delivery.subscription_id, all_a);
    EXPECT_NE(d.delivery.subscription_id, all_b);
  }
}

}  // namespace
}  // namespace sundesk::notification
