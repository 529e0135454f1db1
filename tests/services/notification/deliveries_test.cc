// Deliveries end to end inside one process, on real servers: events produced to devkafka
// are consumed into delivery rows on a throwaway PostgreSQL, the dispatcher sends them as
// signed webhooks to real HTTP sinks on loopback, retries with backoff, dead-letters to
// sundesk.notification.dlq.v1 through the outbox, and ListDeliveries / RedeliverDelivery
// show and act on it over gRPC.
#include <openssl/hmac.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/core/worker_pool.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/envelope.h"
#include "libs/kafka/outbox_relay.h"
#include "libs/kafka/producer.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pool.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/client.h"
#include "libs/rpc/server.h"
#include "prometheus/registry.h"
#include "services/notification/api/event_streams.h"
#include "services/notification/api/notification_service_handlers.h"
#include "services/notification/delivery/delivery_metrics.h"
#include "services/notification/delivery/dispatcher.h"
#include "services/notification/delivery/email_sender.h"
#include "services/notification/delivery/event_intake.h"
#include "services/notification/delivery/host_resolver.h"
#include "services/notification/delivery/webhook_sender.h"
#include "services/notification/store/pg_delivery_store.h"
#include "services/notification/store/pg_event_feed.h"
#include "services/notification/store/pg_subscription_store.h"
#include "services/notification/store/schema.h"
#include "sundesk/notification/v1/notification_service.grpc.pb.h"
#include "tests/services/notification/fake_tenant_directory.h"
#include "tests/support/devkafka_server.h"
#include "tests/support/http_sink.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"

namespace sundesk::notification {
namespace {

namespace pb = ::sundesk::notification::v1;
using ::testing::HasSubstr;
using testing::HttpSink;
using testing::HttpSinkRequest;
using testing::HttpSinkResponse;

constexpr char kSecret[] = "whsec-deliveries-0123456789";
constexpr absl::Duration kInitialBackoff = absl::Milliseconds(300);
constexpr int kMaxAttempts = 4;
constexpr char kOtherTenant[] = "0190a000-0000-7000-8000-0000000000ee";
constexpr char kTenantX[] = "0190a000-0000-7000-8000-0000000000f1";
constexpr char kTenantY[] = "0190a000-0000-7000-8000-0000000000f2";

bool SignatureValid(const HttpSinkRequest& r, const std::string& secret) {
  auto it = r.headers.find("sundesk-signature");
  if (it == r.headers.end()) return false;
  std::string t, v1;
  for (absl::string_view part : absl::StrSplit(it->second, ',')) {
    if (absl::ConsumePrefix(&part, "t=")) t = std::string(part);
    if (absl::ConsumePrefix(&part, "v1=")) v1 = std::string(part);
  }
  std::string payload = absl::StrCat(t, ".", r.body);
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), secret.size(),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac, &len);
  return v1 == absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), len));
}

// Requests a sink got, counted by Sundesk-Event-Id.
std::map<std::string, int> ByEventId(const HttpSink& sink) {
  std::map<std::string, int> out;
  for (const auto& r : sink.Requests())
    ++out[r.headers.count("sundesk-event-id") ? r.headers.at("sundesk-event-id") : ""];
  return out;
}

class DeliveriesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = testing::PostgresServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    postgres_ = server->release();
    auto dsn = postgres_->CreateDatabase("notification");
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    auto pool = pg::Pool::Create({.dsn = *dsn, .size = 8});
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = pool->release();
    ASSERT_TRUE(pg::RunMigrations(*pool_, kSchema, AllMigrations()).ok());

    auto kafka = testing::DevKafka::Start();
    ASSERT_TRUE(kafka.ok()) << kafka.status();
    kafka_ = kafka->release();
    auto producer = kafka::Producer::Create({.bootstrap_servers = kafka_->bootstrap()});
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = producer->release();
    registry_ = new prometheus::Registry();
    auto relay = kafka::OutboxRelay::Create(
        {.dsn = *dsn, .schema = kSchema, .poll_interval = absl::Milliseconds(100)}, *producer_,
        *registry_);
    ASSERT_TRUE(relay.ok()) << relay.status();
    relay_ = relay->release();
    relay_thread_ = new std::thread([] { (void)relay_->Run(); });

    auth_ = new rpc::StaticKeyAuthenticator();
    auth_->Add("admin", {.role = rpc::Role::kAdmin, .key_id = "admin"});
    auth_->Add("client-x", {.role = rpc::Role::kClient, .tenant_id = kTenantX, .key_id = "kx"});
    auth_->Add("client-y", {.role = rpc::Role::kClient, .tenant_id = kTenantY, .key_id = "ky"});
    auth_->Add("client-other",
               {.role = rpc::Role::kClient, .tenant_id = kOtherTenant, .key_id = "ko"});
    ids_ = new UuidV7Generator(clock_);
    // Webhook secrets sealed at rest, as in production: every signature the sinks verify
    // was made with a secret opened from the database.
    subscription_store_ = new PgSubscriptionStore(*pool_, &secrets_);
    subscriptions_ = new SubscriptionService(*subscription_store_, clock_, *ids_, tokens_,
                                             resolver_, tenants_, {.allow_private_targets = true});
    delivery_store_ = new PgDeliveryStore(*pool_, *ids_, &secrets_);
    deliveries_ = new DeliveryService(*delivery_store_, *subscriptions_, clock_, tokens_);
    sender_ = new WebhookSender(clock_, {.timeout = absl::Seconds(5),
                                         .allow_private_targets = true,
                                         .breaker = {.failure_threshold = 1000}});
    metrics_ = new DeliveryMetrics(*registry_);
    // A real SMTP server: Debian's aiosmtpd, storing what it receives in a maildir.
    maildir_ = new testing::TempDir();
    const int smtp_port = testing::FreePort();
    auto smtp = testing::Subprocess::Start(
        {.argv = {"/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l",
                  absl::StrCat("127.0.0.1:", smtp_port), "-c", "aiosmtpd.handlers.Mailbox",
                  maildir_->path() + "/mail"},
         .log_path = maildir_->path() + "/aiosmtpd.log"});
    ASSERT_TRUE(smtp.ok()) << smtp.status();
    smtp_ = smtp->release();
    ASSERT_TRUE(
        testing::WaitFor([&] { return testing::PortAccepts(smtp_port); }, absl::Seconds(20)))
        << smtp_->Log();
    emails_ = new EmailSender(clock_, {.url = absl::StrCat("smtp://127.0.0.1:", smtp_port),
                                       .from = "notifications@sundesk.test",
                                       .timeout = absl::Seconds(10),
                                       .workers = 2});
    dispatcher_ = new Dispatcher(*delivery_store_, *sender_, emails_, clock_, metrics_,
                                 {.schedule = {.max_attempts = kMaxAttempts,
                                               .initial_backoff = kInitialBackoff,
                                               .max_backoff = absl::Seconds(1)},
                                  .poll_interval = absl::Milliseconds(50)});
    dispatcher_thread_ = new std::thread([] { dispatcher_->Run(); });
    intake_ = new EventIntake(*delivery_store_, clock_, *dispatcher_);
    std::vector<std::string> topics(std::begin(kEventTopics), std::end(kEventTopics));
    auto consumer =
        kafka::Consumer::Create({.bootstrap_servers = kafka_->bootstrap(),
                                 .group_id = "notification-deliveries-test",
                                 .topics = topics,
                                 .fetch_wait_max = testing::DevKafka::kFetchWaitMax},
                                [](const kafka::Message& m) { return intake_->Handle(m); });
    ASSERT_TRUE(consumer.ok()) << consumer.status();
    consumer_ = consumer->release();
    consumer_thread_ = new std::thread([] { (void)consumer_->Run(); });

    feed_ = new PgEventFeed(*pool_);
    streams_ = new EventStreams(*feed_, *registry_,
                                {.poll_interval = absl::Milliseconds(50),
                                 .max_buffered = 8,
                                 .slow_reader_timeout = absl::Seconds(1)});
    // As in the service: handlers' blocking work (incl. opening a stream) on a worker pool.
    workers_ = new WorkerPool(4, "rpc");
    handlers_ = new NotificationServiceHandlers(*auth_, *subscriptions_, *deliveries_, *feed_,
                                                *streams_, workers_);
    rpc::ServerOptions options;
    options.services = {{pb::NotificationService::service_full_name(), handlers_}};
    auto grpc_server = rpc::Server::Start(std::move(options), *registry_);
    ASSERT_TRUE(grpc_server.ok()) << grpc_server.status();
    server_ = grpc_server->release();
    auto channel = rpc::MakeChannel({.target = absl::StrCat("127.0.0.1:", server_->port())});
    ASSERT_TRUE(channel.ok());
    stub_ = pb::NotificationService::NewStub(*channel).release();
    ASSERT_TRUE(testing::WaitFor([] { return consumer_->Ready(); }, absl::Seconds(30)));
  }

  // Safe after a set-up that stopped half way: stops what started, in reverse.
  static void TearDownTestSuite() {
    if (consumer_ != nullptr) consumer_->Stop();
    if (consumer_thread_ != nullptr) consumer_thread_->join();
    if (dispatcher_ != nullptr) dispatcher_->Stop();
    if (dispatcher_thread_ != nullptr) dispatcher_thread_->join();
    delete sender_;  // completes in-flight calls into the stopped dispatcher's queue
    delete emails_;
    delete smtp_;
    delete maildir_;
    if (relay_ != nullptr) relay_->Stop();
    if (relay_thread_ != nullptr) relay_thread_->join();
    if (server_ != nullptr) server_->Shutdown();
    delete streams_;
    delete workers_;
    delete feed_;
    delete stub_;
    delete server_;
    delete handlers_;
    delete consumer_;
    delete consumer_thread_;
    delete intake_;
    delete dispatcher_;
    delete dispatcher_thread_;
    delete metrics_;
    delete deliveries_;
    delete delivery_store_;
    delete subscriptions_;
    delete subscription_store_;
    delete ids_;
    delete auth_;
    delete relay_;
    delete relay_thread_;
    delete registry_;
    if (producer_ != nullptr) (void)producer_->Flush(absl::Seconds(5));
    delete producer_;
    delete kafka_;
    delete pool_;
    delete postgres_;
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& key) {
    return rpc::NewClientContext({.timeout = absl::Seconds(20), .api_key = key});
  }

  // A tenant the (fake) ticket service knows.
  static std::string NewTenant() {
    std::string tenant = ids_->NewId();
    tenants_.Add(tenant);
    return tenant;
  }

  // A webhook subscription of `tenant` (through the API, as an ADMIN).
  static pb::Subscription Subscribe(const std::string& tenant, const std::string& url,
                                    std::vector<std::string> types = {}) {
    pb::CreateSubscriptionRequest r;
    r.set_tenant_id(tenant);
    for (auto& t : types) r.add_event_types(t);
    r.mutable_webhook()->set_url(url);
    r.mutable_webhook()->set_secret(kSecret);
    pb::Subscription s;
    grpc::Status st = stub_->CreateSubscription(Ctx("admin").get(), r, &s);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return s;
  }

  static events::v1::Event Event(const std::string& tenant, const std::string& subject,
                                 const google::protobuf::Message& payload,
                                 const std::string& source = "sundesk/ticket") {
    auto e = kafka::NewEvent(
        *ids_, clock_, {.source = source, .tenant_id = tenant, .subject = subject, .sequence = 1},
        payload);
    EXPECT_TRUE(e.ok()) << e.status();
    return *e;
  }

  static void Publish(const std::string& topic, const events::v1::Event& e) {
    ASSERT_TRUE(kafka::ProduceEvent(*producer_, topic, e, [](const kafka::Delivery& d) {
                  EXPECT_TRUE(d.status.ok()) << d.status;
                }).ok());
    ASSERT_TRUE(producer_->Flush(absl::Seconds(10)).ok());
  }

  static std::vector<pb::Delivery> Deliveries(const std::string& subscription_id) {
    pb::ListDeliveriesRequest r;
    r.set_subscription_id(subscription_id);
    pb::ListDeliveriesResponse out;
    grpc::Status st = stub_->ListDeliveries(Ctx("admin").get(), r, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {out.deliveries().begin(), out.deliveries().end()};
  }

  // Waits until the subscription's only delivery is in `state`; returns it.
  static pb::Delivery WaitForState(const std::string& subscription_id, pb::DeliveryState state) {
    pb::Delivery last;
    testing::WaitFor(
        [&] {
          auto all = Deliveries(subscription_id);
          if (all.size() != 1) return false;
          last = all[0];
          return last.state() == state;
        },
        absl::Seconds(30));
    return last;
  }

  static inline testing::PostgresServer* postgres_ = nullptr;
  static inline pg::Pool* pool_ = nullptr;
  static inline testing::DevKafka* kafka_ = nullptr;
  static inline kafka::Producer* producer_ = nullptr;
  static inline prometheus::Registry* registry_ = nullptr;
  static inline kafka::OutboxRelay* relay_ = nullptr;
  static inline std::thread* relay_thread_ = nullptr;
  static inline rpc::StaticKeyAuthenticator* auth_ = nullptr;
  static inline SystemClock clock_;
  static inline UuidV7Generator* ids_ = nullptr;
  static inline api::PageTokenSigner tokens_{"deliveries-test"};
  static inline FakeTenantDirectory tenants_{{kTenantX, kTenantY, kOtherTenant}};
  static inline const SecretBox secrets_ = *SecretBox::Parse(
      "test-key-1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  static inline SystemHostResolver resolver_;
  static inline PgSubscriptionStore* subscription_store_ = nullptr;
  static inline SubscriptionService* subscriptions_ = nullptr;
  static inline PgDeliveryStore* delivery_store_ = nullptr;
  static inline DeliveryService* deliveries_ = nullptr;
  static inline WebhookSender* sender_ = nullptr;
  static inline DeliveryMetrics* metrics_ = nullptr;
  static inline testing::TempDir* maildir_ = nullptr;
  static inline testing::Subprocess* smtp_ = nullptr;
  static inline EmailSender* emails_ = nullptr;
  static inline Dispatcher* dispatcher_ = nullptr;
  static inline std::thread* dispatcher_thread_ = nullptr;
  static inline EventIntake* intake_ = nullptr;
  static inline kafka::Consumer* consumer_ = nullptr;
  static inline std::thread* consumer_thread_ = nullptr;
  static inline PgEventFeed* feed_ = nullptr;
  static inline EventStreams* streams_ = nullptr;
  static inline WorkerPool* workers_ = nullptr;
  static inline NotificationServiceHandlers* handlers_ = nullptr;
  static inline rpc::Server* server_ = nullptr;
  static inline pb::NotificationService::Stub* stub_ = nullptr;
};

events::v1::TicketCreated Created(const std::string& ticket_id) {
  events::v1::TicketCreated p;
  p.mutable_ticket()->set_ticket_id(ticket_id);
  p.mutable_ticket()->set_subject("VPN drops every hour");
  return p;
}

TEST_F(DeliveriesTest, EachSubscribedEventOnceSignedAndOnlyToItsTenant) {
  const std::string tenant_a = NewTenant(), tenant_b = NewTenant();
  auto sink_a = HttpSink::Start();
  auto sink_b = HttpSink::Start();
  ASSERT_TRUE(sink_a.ok() && sink_b.ok());
  Subscribe(tenant_a, (*sink_a)->Url("/a"), {"TicketCreated", "SlaBreached"});
  Subscribe(tenant_b, (*sink_b)->Url("/b"));

  const std::string ticket = ids_->NewId();
  events::v1::Event created = Event(tenant_a, ticket, Created(ticket));
  events::v1::TicketUpdated updated_payload;
  updated_payload.add_changed_fields("priority");
  events::v1::Event updated = Event(tenant_a, ticket, updated_payload);  // not subscribed
  events::v1::SlaBreached breached_payload;
  events::v1::Event breached = Event(tenant_a, ticket, breached_payload, "sundesk/sla");
  const std::string ticket_b = ids_->NewId();
  events::v1::Event other_tenant = Event(tenant_b, ticket_b, Created(ticket_b));
  Publish("sundesk.ticket.events.v1", created);
  Publish("sundesk.ticket.events.v1", updated);
  Publish("sundesk.sla.events.v1", breached);
  Publish("sundesk.ticket.events.v1", created);  // Kafka redelivers: same event id again
  Publish("sundesk.ticket.events.v1", other_tenant);
  // Same key, same partition: once this is delivered, the duplicate was consumed before it.
  events::v1::Event marker = Event(tenant_a, ticket, Created(ticket));
  Publish("sundesk.ticket.events.v1", marker);

  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto seen = ByEventId(**sink_a);
        return seen.count(created.event_id()) && seen.count(breached.event_id()) &&
               seen.count(marker.event_id());
      },
      absl::Seconds(40)))
      << "sink a got " << (*sink_a)->RequestCount();
  ASSERT_TRUE((*sink_b)->WaitForRequests(1, absl::Seconds(20)));

  auto seen = ByEventId(**sink_a);
  EXPECT_EQ(seen, (std::map<std::string, int>{
                      {created.event_id(), 1}, {breached.event_id(), 1}, {marker.event_id(), 1}}));
  for (const auto& r : (*sink_a)->Requests()) {
    EXPECT_TRUE(SignatureValid(r, kSecret)) << r.headers.at("sundesk-signature");
    events::v1::Event body;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.body, &body).ok()) << r.body;
    EXPECT_EQ(r.headers.at("sundesk-event-type"), body.type());
    if (body.event_id() == created.event_id()) {
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(body, created));
    }
  }
  EXPECT_EQ(ByEventId(**sink_b), (std::map<std::string, int>{{other_tenant.event_id(), 1}}));
}

TEST_F(DeliveriesTest, TwoServiceUnavailableThenOkIsDeliveredOnTheThirdAttempt) {
  const std::string tenant = NewTenant();
  std::atomic<int> calls{0};
  auto sink = HttpSink::Start([&](const HttpSinkRequest&) -> HttpSinkResponse {
    return {.status = ++calls <= 2 ? 503 : 200};
  });
  ASSERT_TRUE(sink.ok());
  pb::Subscription sub = Subscribe(tenant, (*sink)->Url("/flaky"));
  const std::string ticket = ids_->NewId();
  events::v1::Event e = Event(tenant, ticket, Created(ticket));
  Publish("sundesk.ticket.events.v1", e);

  pb::Delivery d = WaitForState(sub.subscription_id(), pb::DELIVERY_STATE_DELIVERED);
  ASSERT_EQ(d.state(), pb::DELIVERY_STATE_DELIVERED) << d.DebugString();
  EXPECT_EQ(d.attempts(), 3);
  EXPECT_EQ(d.last_http_status(), 200);
  EXPECT_EQ(d.last_error(), "");
  EXPECT_EQ(d.event_id(), e.event_id());
  EXPECT_TRUE(d.has_deliver_time());
  auto requests = (*sink)->Requests();
  ASSERT_EQ(requests.size(), 3u);
  // The backoff: each retry waited at least half the (doubling) base, jitter included.
  EXPECT_GE(requests[1].received - requests[0].received, kInitialBackoff / 2);
  EXPECT_GE(requests[2].received - requests[1].received, kInitialBackoff);
  for (const auto& r : requests) EXPECT_EQ(r.headers.at("sundesk-event-id"), e.event_id());
}

TEST_F(DeliveriesTest, GoneIsPermanentAtOnce) {
  const std::string tenant = NewTenant();
  auto sink =
      HttpSink::Start([](const HttpSinkRequest&) -> HttpSinkResponse { return {.status = 410}; });
  ASSERT_TRUE(sink.ok());
  pb::Subscription sub = Subscribe(tenant, (*sink)->Url("/gone"));
  const std::string ticket = ids_->NewId();
  Publish("sundesk.ticket.events.v1", Event(tenant, ticket, Created(ticket)));
  pb::Delivery d = WaitForState(sub.subscription_id(), pb::DELIVERY_STATE_DEAD_LETTERED);
  EXPECT_EQ(d.state(), pb::DELIVERY_STATE_DEAD_LETTERED);
  EXPECT_EQ(d.attempts(), 1);
  EXPECT_EQ(d.last_http_status(), 410);
  EXPECT_EQ(d.last_error(), "HTTP 410");
  EXPECT_EQ((*sink)->RequestCount(), 1u);
}

TEST_F(DeliveriesTest, AlwaysFailingGoesToTheDlqAndAnAdminRedeliversIt) {
  const std::string tenant = NewTenant();
  std::atomic<bool> healthy{false};
  auto sink = HttpSink::Start(
      [&](const HttpSinkRequest&) -> HttpSinkResponse { return {.status = healthy ? 200 : 500}; });
  ASSERT_TRUE(sink.ok());
  pb::Subscription sub = Subscribe(tenant, (*sink)->Url("/down"));
  const std::string ticket = ids_->NewId();
  events::v1::Event e = Event(tenant, ticket, Created(ticket));
  Publish("sundesk.ticket.events.v1", e);

  pb::Delivery d = WaitForState(sub.subscription_id(), pb::DELIVERY_STATE_DEAD_LETTERED);
  ASSERT_EQ(d.state(), pb::DELIVERY_STATE_DEAD_LETTERED) << d.DebugString();
  EXPECT_EQ(d.attempts(), kMaxAttempts);
  EXPECT_EQ(d.last_http_status(), 500);
  EXPECT_EQ(d.last_error(), "HTTP 500");
  EXPECT_EQ((*sink)->RequestCount(), static_cast<size_t>(kMaxAttempts));

  // The DLQ record: the event itself, with the delivery and its error in headers.
  absl::Mutex mu;
  std::optional<kafka::Message> dead;
  auto dlq = kafka::Consumer::Create({.bootstrap_servers = kafka_->bootstrap(),
                                      .group_id = absl::StrCat("dlq-reader-", tenant),
                                      .topics = {kDeadLetterTopic},
                                      .fetch_wait_max = testing::DevKafka::kFetchWaitMax},
                                     [&](const kafka::Message& m) {
                                       auto id = kafka::FindHeader(m.headers, "ce_id");
                                       absl::MutexLock lock(&mu);
                                       if (id && *id == e.event_id()) dead = m;
                                       return absl::OkStatus();
                                     });
  ASSERT_TRUE(dlq.ok()) << dlq.status();
  std::thread runner([&] { (void)(*dlq)->Run(); });
  bool got = testing::WaitFor(
      [&] {
        absl::MutexLock lock(&mu);
        return dead.has_value();
      },
      absl::Seconds(30));
  (*dlq)->Stop();
  runner.join();
  ASSERT_TRUE(got);
  auto parsed = kafka::ParseEvent(*dead);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*parsed, e));
  EXPECT_EQ(kafka::FindHeader(dead->headers, "sundesk_error").value_or(""), "HTTP 500");
  EXPECT_EQ(kafka::FindHeader(dead->headers, "sundesk_delivery_id").value_or(""), d.delivery_id());
  EXPECT_EQ(kafka::FindHeader(dead->headers, "sundesk_attempts").value_or(""),
            absl::StrCat(kMaxAttempts));

  // The event's feed row (which holds the delivery's payload, 0010_payload_once.sql) ages
  // out before the operator acts: the retention leaves the delivery a copy.
  auto pruned = feed_->DeleteReceivedBefore(absl::Now() + absl::Seconds(1));
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_GE(*pruned, 1);

  // The endpoint is fixed; an operator sends it again.
  healthy = true;
  pb::RedeliverDeliveryRequest again;
  again.set_delivery_id(d.delivery_id());
  pb::Delivery restarted;
  grpc::Status st = stub_->RedeliverDelivery(Ctx("admin").get(), again, &restarted);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(restarted.state(), pb::DELIVERY_STATE_PENDING);
  EXPECT_EQ(restarted.attempts(), 0);
  pb::Delivery delivered = WaitForState(sub.subscription_id(), pb::DELIVERY_STATE_DELIVERED);
  EXPECT_EQ(delivered.state(), pb::DELIVERY_STATE_DELIVERED);
  EXPECT_EQ(delivered.attempts(), 1);
  // The same event, read from the delivery's own copy.
  std::vector<HttpSinkRequest> received = (*sink)->Requests();
  ASSERT_EQ(received.size(), static_cast<size_t>(kMaxAttempts + 1));
  events::v1::Event sent;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(received.back().body, &sent).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(sent, e));
  // Only dead deliveries are redelivered.
  st = stub_->RedeliverDelivery(Ctx("admin").get(), again, &restarted);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

// The messages the SMTP server stored, each as its raw text.
std::vector<std::string> Mailbox(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/new", ec)) {
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    out.push_back(text.str());
  }
  return out;
}

TEST_F(DeliveriesTest, EmailArrivesWithTheRightSubjectAndRecipient) {
  const std::string tenant = NewTenant();
  pb::CreateSubscriptionRequest r;
  r.set_tenant_id(tenant);
  r.add_event_types("TicketCreated");
  r.mutable_email()->set_address("oncall@client.example.com");
  pb::Subscription sub;
  ASSERT_TRUE(stub_->CreateSubscription(Ctx("admin").get(), r, &sub).ok());
  const std::string ticket = ids_->NewId();
  events::v1::Event e = Event(tenant, ticket, Created(ticket));
  Publish("sundesk.ticket.events.v1", e);

  std::string message;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        for (const std::string& m : Mailbox(maildir_->path() + "/mail")) {
          if (m.find(e.event_id()) != std::string::npos) message = m;
        }
        return !message.empty();
      },
      absl::Seconds(30)))
      << smtp_->Log();
  EXPECT_THAT(message, HasSubstr("To: <oncall@client.example.com>"));
  EXPECT_THAT(message, HasSubstr("From: <notifications@sundesk.test>"));
  EXPECT_THAT(message, HasSubstr("Subject: [sundesk] New ticket: VPN drops every hour"));
  EXPECT_THAT(message, HasSubstr(absl::StrCat("Ticket: ", ticket)));
  pb::Delivery d = WaitForState(sub.subscription_id(), pb::DELIVERY_STATE_DELIVERED);
  EXPECT_EQ(d.state(), pb::DELIVERY_STATE_DELIVERED);
  EXPECT_EQ(d.attempts(), 1);
}

TEST_F(DeliveriesTest, DeletingASubscriptionDropsItsPendingDeliveries) {
  const std::string tenant = NewTenant();
  auto sink = HttpSink::Start([](const HttpSinkRequest&) -> HttpSinkResponse {
    return {.status = 503, .headers = {{"Retry-After", "3600"}}};  // retry much later
  });
  ASSERT_TRUE(sink.ok());
  pb::Subscription sub = Subscribe(tenant, (*sink)->Url("/later"));
  const std::string ticket = ids_->NewId();
  Publish("sundesk.ticket.events.v1", Event(tenant, ticket, Created(ticket)));
  pb::Delivery d = WaitForState(sub.subscription_id(), pb::DELIVERY_STATE_RETRYING);
  ASSERT_EQ(d.state(), pb::DELIVERY_STATE_RETRYING) << d.DebugString();
  EXPECT_EQ(d.last_error(), "HTTP 503");
  ASSERT_TRUE(d.has_next_attempt_time());
  EXPECT_GE(d.next_attempt_time().seconds(), absl::ToUnixSeconds(absl::Now()) + 3000);
  // Still to be attempted: it is in the delivery queue until the subscription goes.
  auto queued = [&] {
    auto conn = pool_->Acquire();
    if (!conn.ok()) return int64_t{-1};
    auto r =
        (*conn)->Execute("SELECT count(*) FROM notification.delivery_queue WHERE delivery_id = $1",
                         {d.delivery_id()});
    return r.ok() ? r->Int64(0, 0).value_or(-1) : int64_t{-1};
  };
  EXPECT_EQ(queued(), 1);

  pb::DeleteSubscriptionRequest del;
  del.set_subscription_id(sub.subscription_id());
  google::protobuf::Empty empty;
  ASSERT_TRUE(stub_->DeleteSubscription(Ctx("admin").get(), del, &empty).ok());
  EXPECT_EQ(queued(), 0) << "a dropped delivery left its queue row behind";
  pb::ListDeliveriesRequest list;
  list.set_tenant_id(tenant);
  pb::ListDeliveriesResponse out;
  ASSERT_TRUE(stub_->ListDeliveries(Ctx("admin").get(), list, &out).ok());
  EXPECT_EQ(out.deliveries_size(), 0);
  // And its deliveries are no longer listed by subscription: it is gone.
  pb::ListDeliveriesRequest by_sub;
  by_sub.set_subscription_id(sub.subscription_id());
  EXPECT_EQ(stub_->ListDeliveries(Ctx("admin").get(), by_sub, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(DeliveriesTest, ListDeliveriesIsScopedAndValidated) {
  const std::string tenant = NewTenant();
  auto sink = HttpSink::Start();
  ASSERT_TRUE(sink.ok());
  pb::Subscription sub = Subscribe(tenant, (*sink)->Url("/list"));
  const std::string ticket = ids_->NewId();
  for (int i = 0; i < 3; ++i)
    Publish("sundesk.ticket.events.v1", Event(tenant, ticket, Created(ticket)));
  ASSERT_TRUE((*sink)->WaitForRequests(3, absl::Seconds(30)));
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        pb::ListDeliveriesRequest r;
        r.set_tenant_id(tenant);
        r.set_state(pb::DELIVERY_STATE_DELIVERED);
        pb::ListDeliveriesResponse out;
        return stub_->ListDeliveries(Ctx("admin").get(), r, &out).ok() &&
               out.deliveries_size() == 3;
      },
      absl::Seconds(20)));

  // Pages, newest first.
  pb::ListDeliveriesRequest r;
  r.set_tenant_id(tenant);
  r.set_page_size(2);
  pb::ListDeliveriesResponse first, second;
  ASSERT_TRUE(stub_->ListDeliveries(Ctx("admin").get(), r, &first).ok());
  ASSERT_EQ(first.deliveries_size(), 2);
  EXPECT_GT(first.deliveries(0).delivery_id(), first.deliveries(1).delivery_id());
  ASSERT_FALSE(first.next_page_token().empty());
  r.set_page_token(first.next_page_token());
  ASSERT_TRUE(stub_->ListDeliveries(Ctx("admin").get(), r, &second).ok());
  ASSERT_EQ(second.deliveries_size(), 1);
  EXPECT_TRUE(second.next_page_token().empty());

  // Another tenant's key sees none of it.
  pb::ListDeliveriesRequest foreign;
  foreign.set_subscription_id(sub.subscription_id());
  pb::ListDeliveriesResponse out;
  EXPECT_EQ(stub_->ListDeliveries(Ctx("client-other").get(), foreign, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(
      stub_->ListDeliveries(Ctx("client-other").get(), pb::ListDeliveriesRequest(), &out).ok());
  EXPECT_EQ(out.deliveries_size(), 0);
  pb::RedeliverDeliveryRequest redeliver;
  redeliver.set_delivery_id(first.deliveries(0).delivery_id());
  pb::Delivery d;
  EXPECT_EQ(stub_->RedeliverDelivery(Ctx("client-other").get(), redeliver, &d).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  pb::ListDeliveriesRequest bad;
  bad.set_tenant_id(tenant);
  bad.set_state(static_cast<pb::DeliveryState>(42));
  grpc::Status st = stub_->ListDeliveries(Ctx("admin").get(), bad, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), ::testing::StartsWith("state: "));
  st = stub_->ListDeliveries(Ctx("admin").get(), pb::ListDeliveriesRequest(), &out);
  EXPECT_THAT(st.error_message(), ::testing::StartsWith("tenant_id: "));
}

class StreamEventsTest : public DeliveriesTest {
 protected:
  // A published event of `tenant`, once it is in the feed.
  static events::v1::Event Fed(const std::string& tenant, const std::string& ticket,
                               const std::string& subject = "") {
    events::v1::TicketCreated p;
    p.mutable_ticket()->set_ticket_id(ticket);
    p.mutable_ticket()->set_subject(subject);
    events::v1::Event e = Event(tenant, ticket, p);
    Publish("sundesk.ticket.events.v1", e);
    EXPECT_TRUE(testing::WaitFor(
        [&] {
          auto pos = feed_->PositionOf(tenant, e.event_id());
          return pos.ok() && pos->has_value();
        },
        absl::Seconds(30)));
    return e;
  }

  struct Reader {
    std::unique_ptr<grpc::ClientContext> ctx;
    std::unique_ptr<grpc::ClientReader<events::v1::Event>> stream;
  };
  static Reader Open(const std::string& key, const std::string& cursor,
                     std::vector<std::string> types = {}) {
    Reader r;
    r.ctx = rpc::NewClientContext({.timeout = absl::Seconds(60), .api_key = key});
    pb::StreamEventsRequest req;
    req.set_after_cursor(cursor);
    for (auto& t : types) req.add_event_types(t);
    r.stream = stub_->StreamEvents(r.ctx.get(), req);
    return r;
  }
  static std::vector<std::string> ReadIds(Reader& r, size_t n) {
    std::vector<std::string> ids;
    events::v1::Event e;
    while (ids.size() < n && r.stream->Read(&e)) ids.push_back(e.event_id());
    return ids;
  }
};

TEST_F(StreamEventsTest, TwoTenantsEachSeeOnlyTheirOwnEvents) {
  const std::string ticket_x = ids_->NewId(), ticket_y = ids_->NewId();
  events::v1::Event anchor_x = Fed(kTenantX, ticket_x);
  events::v1::Event anchor_y = Fed(kTenantY, ticket_y);
  Reader x = Open("client-x", anchor_x.event_id());
  Reader y = Open("client-y", anchor_y.event_id());
  std::vector<std::string> want_x, want_y;
  for (int i = 0; i < 3; ++i) {
    want_x.push_back(Fed(kTenantX, ticket_x).event_id());
    want_y.push_back(Fed(kTenantY, ticket_y).event_id());
  }
  std::vector<std::string> got_x, got_y;
  std::thread tx([&] { got_x = ReadIds(x, 3); });
  std::thread ty([&] { got_y = ReadIds(y, 3); });
  tx.join();
  ty.join();
  EXPECT_EQ(got_x, want_x);
  EXPECT_EQ(got_y, want_y);
  x.ctx->TryCancel();
  y.ctx->TryCancel();

  // A CLIENT key cannot name another tenant; unknown cursors and types are refused.
  pb::StreamEventsRequest foreign;
  foreign.set_tenant_id(kTenantY);
  auto ctx = rpc::NewClientContext({.timeout = absl::Seconds(10), .api_key = "client-x"});
  auto s = stub_->StreamEvents(ctx.get(), foreign);
  events::v1::Event e;
  EXPECT_FALSE(s->Read(&e));
  EXPECT_EQ(s->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  Reader bad_cursor = Open("client-x", anchor_y.event_id());  // Y's event is not in X's feed
  EXPECT_FALSE(bad_cursor.stream->Read(&e));
  EXPECT_EQ(bad_cursor.stream->Finish().error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  Reader bad_type = Open("client-x", "", {"TicketCreated", "Nope"});
  EXPECT_FALSE(bad_type.stream->Read(&e));
  grpc::Status st = bad_type.stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), ::testing::StartsWith("event_types[1]: "));
}

TEST_F(StreamEventsTest, AnAdminNamingAnUnknownTenantIsNotFound) {
  pb::StreamEventsRequest unknown;
  unknown.set_tenant_id("0190a000-0000-7000-8000-0000000000dd");
  auto ctx = rpc::NewClientContext({.timeout = absl::Seconds(10), .api_key = "admin"});
  auto s = stub_->StreamEvents(ctx.get(), unknown);
  events::v1::Event e;
  EXPECT_FALSE(s->Read(&e));
  grpc::Status st = s->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_THAT(st.error_message(), ::testing::StartsWith("tenant_id: "));
}

TEST_F(StreamEventsTest, ResumingFromTheCursorHasNoGapAndNoDuplicate) {
  const std::string ticket = ids_->NewId();
  events::v1::Event anchor = Fed(kTenantX, ticket);
  std::vector<std::string> all;
  for (int i = 0; i < 5; ++i) all.push_back(Fed(kTenantX, ticket).event_id());
  Reader first = Open("client-x", anchor.event_id());
  std::vector<std::string> got = ReadIds(first, 2);
  ASSERT_EQ(got.size(), 2u);
  first.ctx->TryCancel();
  (void)first.stream->Finish();
  for (int i = 0; i < 3; ++i) all.push_back(Fed(kTenantX, ticket).event_id());
  Reader second = Open("client-x", got.back());
  std::vector<std::string> rest = ReadIds(second, all.size() - got.size());
  got.insert(got.end(), rest.begin(), rest.end());
  EXPECT_EQ(got, all);
  second.ctx->TryCancel();
}

TEST_F(StreamEventsTest, ACursorOlderThanTheRetainedFeedIsRefused) {
  events::v1::Event old = Fed(kTenantX, ids_->NewId());
  // Retention passes over everything received so far.
  auto pruned = feed_->DeleteReceivedBefore(absl::Now() + absl::Seconds(1));
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_GE(*pruned, 1);
  Reader r = Open("client-x", old.event_id());
  events::v1::Event e;
  EXPECT_FALSE(r.stream->Read(&e));
  grpc::Status st = r.stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), ::testing::StartsWith("after_cursor: "));
}

TEST_F(StreamEventsTest, TypeFilterAndSlowReaderIsDisconnectedThenResumes) {
  const std::string ticket = ids_->NewId();
  events::v1::Event anchor = Fed(kTenantY, ticket);
  // A reader that takes nothing, on a connection whose flow-control window holds about
  // one event (no BDP growth): the server's buffer (8 events) fills behind the blocked
  // write, and the stream ends RESOURCE_EXHAUSTED.
  ASSERT_TRUE(testing::WaitFor([&] { return streams_->open_streams() == 0; }, absl::Seconds(10)));
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 * 1024);
  auto narrow = pb::NotificationService::NewStub(grpc::CreateCustomChannel(
      absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials(), args));
  Reader slow;
  slow.ctx = rpc::NewClientContext({.timeout = absl::Seconds(60), .api_key = "client-y"});
  pb::StreamEventsRequest req;
  req.set_after_cursor(anchor.event_id());
  req.add_event_types("TicketCreated");
  slow.stream = narrow->StreamEvents(slow.ctx.get(), req);
  ASSERT_TRUE(testing::WaitFor([&] { return streams_->open_streams() == 1; }, absl::Seconds(10)));
  const int64_t slow_before = streams_->slow_readers();
  const std::string big(64 * 1024, 'x');
  std::vector<std::string> all;
  for (int i = 0; i < 60; ++i) {
    events::v1::TicketCreated p;
    p.mutable_ticket()->set_ticket_id(ticket);
    p.mutable_ticket()->set_description(big);
    events::v1::Event e = Event(kTenantY, ticket, p);
    ASSERT_TRUE(delivery_store_->RecordEvent(e, absl::Now()).ok());
    all.push_back(e.event_id());
    if (i % 10 == 0) {  // not subscribed: filtered out of the stream
      events::v1::TicketUnassigned u;
      ASSERT_TRUE(delivery_store_->RecordEvent(Event(kTenantY, ticket, u), absl::Now()).ok());
    }
  }
  ASSERT_TRUE(testing::WaitFor([&] { return streams_->slow_readers() == slow_before + 1; },
                               absl::Seconds(30)))
      << "the slow stream was never ended";
  std::vector<std::string> got;
  events::v1::Event e;
  while (slow.stream->Read(&e)) {
    EXPECT_EQ(e.type(), "TicketCreated");
    got.push_back(e.event_id());
  }
  grpc::Status st = slow.stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  ASSERT_LT(got.size(), all.size());
  ASSERT_FALSE(got.empty());
  Reader again = Open("client-y", got.back(), {"TicketCreated"});
  std::vector<std::string> rest = ReadIds(again, all.size() - got.size());
  got.insert(got.end(), rest.begin(), rest.end());
  EXPECT_EQ(got, all);
  again.ctx->TryCancel();
}

}  // namespace
}  // namespace sundesk::notification
