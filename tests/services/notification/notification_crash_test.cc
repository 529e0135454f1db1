// The built notification-server as a child process, SIGKILLed while it delivers: after a
// restart every subscribed event reaches the webhook (a de-duplicating sink counts them by
// Sundesk-Event-Id), none is missing, and the delivery log holds exactly one delivery per
// event. The ticket-server binary runs beside it: the tenant is made there, and notification
// asks it (GrpcTenantDirectory, SERVICE key) whether an ADMIN's tenant exists.
#include <csignal>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/kafka/envelope.h"
#include "libs/kafka/producer.h"
#include "libs/rpc/client.h"
#include "sundesk/notification/v1/notification_service.grpc.pb.h"
#include "sundesk/ticket/v1/tenant_service.grpc.pb.h"
#include "tests/support/devkafka_server.h"
#include "tests/support/http_sink.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"

namespace sundesk::notification {
namespace {

namespace pb = ::sundesk::notification::v1;
using testing::HttpSink;

constexpr char kAdminKey[] = "crash-test-admin-key";
constexpr char kServiceKey[] = "crash-test-service-key";

class NotificationCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = testing::PostgresServer::Start();
    ASSERT_TRUE(pg.ok()) << pg.status();
    pg_ = std::move(*pg);
    auto dsn = pg_->CreateDatabase("notification");
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    dsn_ = *dsn;
    auto kafka = testing::DevKafka::Start();
    ASSERT_TRUE(kafka.ok()) << kafka.status();
    kafka_ = std::move(*kafka);
    auto producer = kafka::Producer::Create({.bootstrap_servers = kafka_->bootstrap()});
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = std::move(*producer);
    grpc_port_ = testing::FreePort();
    metrics_port_ = testing::FreePort();
    StartTicketServer();
  }

  // The ticket service, and one tenant made there.
  void StartTicketServer() {
    auto dsn = pg_->CreateDatabase("ticket");
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    ticket_port_ = testing::FreePort();
    auto p = testing::Subprocess::Start(
        {.argv = {testing::BinDir() + "/ticket-server"},
         .env = {{"SUNDESK_GRPC_ADDR", absl::StrCat("127.0.0.1:", ticket_port_)},
                 {"SUNDESK_METRICS_ADDR", absl::StrCat("127.0.0.1:", testing::FreePort())},
                 {"SUNDESK_PG_DSN", *dsn},
                 {"SUNDESK_KAFKA_BOOTSTRAP", kafka_->bootstrap()},
                 {"SUNDESK_ADMIN_KEY", kAdminKey},
                 {"SUNDESK_SERVICE_KEY", kServiceKey},
                 {"SUNDESK_DRAIN_TIMEOUT", "2s"}},
         .log_path = log_dir_.path() + "/ticket.log"});
    ASSERT_TRUE(p.ok()) << p.status();
    ticket_server_ = std::move(*p);
    auto tenants = ticket::v1::TenantService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", ticket_port_), grpc::InsecureChannelCredentials()));
    ticket::v1::CreateTenantRequest create;
    create.set_request_id("crash-test-tenant");
    create.mutable_tenant()->set_name("Crash Test AB");
    create.mutable_tenant()->set_time_zone("Europe/Stockholm");
    create.mutable_tenant()->set_default_language("sv");
    ticket::v1::Tenant tenant;
    ASSERT_TRUE(testing::WaitFor(
        [&] {
          auto ctx = rpc::NewClientContext({.timeout = absl::Seconds(5), .api_key = kAdminKey});
          return tenants->CreateTenant(ctx.get(), create, &tenant).ok();
        },
        absl::Seconds(60)))
        << ticket_server_->Log();
    tenant_ = tenant.tenant_id();
  }

  void StartServer() {
    auto p = testing::Subprocess::Start(
        {.argv = {testing::BinDir() + "/notification-server"},
         .env = {{"SUNDESK_GRPC_ADDR", absl::StrCat("127.0.0.1:", grpc_port_)},
                 {"SUNDESK_METRICS_ADDR", absl::StrCat("127.0.0.1:", metrics_port_)},
                 {"SUNDESK_PG_DSN", dsn_},
                 {"SUNDESK_KAFKA_BOOTSTRAP", kafka_->bootstrap()},
                 {"SUNDESK_KAFKA_FETCH_WAIT", "10ms"},
                 {"SUNDESK_ADMIN_KEY", kAdminKey},
                 {"SUNDESK_SERVICE_KEY", kServiceKey},
                 {"SUNDESK_TICKET_ADDR", absl::StrCat("127.0.0.1:", ticket_port_)},
                 {"SUNDESK_WEBHOOK_ALLOW_LOOPBACK", "true"},
                 {"SUNDESK_DELIVERY_BACKOFF", "200ms"},
                 {"SUNDESK_DELIVERY_BACKOFF_MAX", "2s"},
                 {"SUNDESK_DELIVERY_ATTEMPTS", "30"},
                 {"SUNDESK_DISPATCH_INTERVAL", "50ms"},
                 // On a loaded machine the slow sink can miss a short timeout several
                 // times in a row; the breaker's default 30 s open (twice or more) then
                 // held every delivery for minutes. This test is about the crash: a
                 // generous timeout, a short open breaker and attempts to spare.
                 {"SUNDESK_WEBHOOK_TIMEOUT", "5s"},
                 {"SUNDESK_WEBHOOK_BREAKER_OPEN", "1s"},
                 {"SUNDESK_DELIVERY_LEASE", "8s"},
                 {"SUNDESK_KAFKA_SESSION_TIMEOUT", "6s"},
                 {"SUNDESK_DRAIN_TIMEOUT", "2s"}},
         .log_path = log_dir_.path() + "/notification.log"});
    ASSERT_TRUE(p.ok()) << p.status();
    server_ = std::move(*p);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port_),
                                   grpc::InsecureChannelCredentials());
    stub_ = pb::NotificationService::NewStub(channel_);
  }

  std::unique_ptr<grpc::ClientContext> Ctx() {
    return rpc::NewClientContext({.timeout = absl::Seconds(5), .api_key = kAdminKey});
  }

  void Publish(int n, std::vector<std::string>& ids) {
    for (int i = 0; i < n; ++i) {
      const std::string ticket = ids_.NewId();
      events::v1::TicketCreated p;
      p.mutable_ticket()->set_ticket_id(ticket);
      auto e = kafka::NewEvent(
          ids_, clock_,
          {.source = "sundesk/ticket", .tenant_id = tenant_, .subject = ticket, .sequence = 1}, p);
      ASSERT_TRUE(e.ok());
      ASSERT_TRUE(kafka::ProduceEvent(*producer_, "sundesk.ticket.events.v1", *e,
                                      [](const kafka::Delivery&) {})
                      .ok());
      ids.push_back(e->event_id());
    }
    ASSERT_TRUE(producer_->Flush(absl::Seconds(10)).ok());
  }

  SystemClock clock_;
  UuidV7Generator ids_{clock_};
  testing::TempDir log_dir_;
  std::unique_ptr<testing::PostgresServer> pg_;
  std::string dsn_;
  std::unique_ptr<testing::DevKafka> kafka_;
  std::unique_ptr<kafka::Producer> producer_;
  int grpc_port_ = 0, metrics_port_ = 0, ticket_port_ = 0;
  std::unique_ptr<testing::Subprocess> ticket_server_;
  std::string tenant_;
  std::unique_ptr<testing::Subprocess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::NotificationService::Stub> stub_;
};

TEST_F(NotificationCrashTest, KilledMidRunMissesNothingAndLogsEachEventOnce) {
  // Each event is answered slowly, so a kill lands with deliveries in flight.
  auto sink = HttpSink::Start([](const testing::HttpSinkRequest&) {
    return testing::HttpSinkResponse{.status = 200, .delay = absl::Milliseconds(20)};
  });
  ASSERT_TRUE(sink.ok());
  StartServer();
  pb::Subscription sub;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        pb::CreateSubscriptionRequest r;
        r.set_request_id("crash-test");
        r.set_tenant_id(tenant_);
        r.mutable_webhook()->set_url((*sink)->Url("/hook"));
        r.mutable_webhook()->set_secret("crash-test-secret-0123");
        return stub_->CreateSubscription(Ctx().get(), r, &sub).ok();
      },
      absl::Seconds(60)))
      << server_->Log();
  // A tenant the ticket service does not know is NOT_FOUND (asked there, not guessed).
  {
    pb::ListSubscriptionsRequest unknown;
    unknown.set_tenant_id("0190a000-0000-7000-8000-0000000000dd");
    pb::ListSubscriptionsResponse page;
    grpc::Status st = stub_->ListSubscriptions(Ctx().get(), unknown, &page);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  }

  std::vector<std::string> published;
  Publish(150, published);
  ASSERT_TRUE((*sink)->WaitForRequests(20, absl::Seconds(60))) << server_->Log();
  server_->Signal(SIGKILL);
  ASSERT_TRUE(server_->Wait(absl::Seconds(10)).ok());
  Publish(50, published);  // while it is down
  StartServer();

  auto distinct = [&] {
    std::set<std::string> ids;
    for (const auto& r : (*sink)->Requests()) ids.insert(r.headers.at("sundesk-event-id"));
    return ids;
  };
  const std::set<std::string> want(published.begin(), published.end());
  EXPECT_TRUE(testing::WaitFor([&] { return distinct() == want; }, absl::Seconds(90)))
      << "sink has " << distinct().size() << " of " << want.size() << "\n"
      << server_->Log();
  EXPECT_EQ(distinct(), want);  // nothing missing, nothing else

  // The delivery log: one delivery per event, all delivered.
  pb::ListDeliveriesRequest list;
  list.set_subscription_id(sub.subscription_id());
  list.set_page_size(500);
  pb::ListDeliveriesResponse out;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        out.Clear();
        if (!stub_->ListDeliveries(Ctx().get(), list, &out).ok()) return false;
        for (const auto& d : out.deliveries()) {
          if (d.state() != pb::DELIVERY_STATE_DELIVERED) return false;
        }
        return true;
      },
      absl::Seconds(30)));
  std::set<std::string> logged;
  for (const auto& d : out.deliveries()) logged.insert(d.event_id());
  EXPECT_EQ(out.deliveries_size(), static_cast<int>(want.size()));
  EXPECT_EQ(logged, want);

  // The binary serves the live feed too: from the first event on, the tenant's others.
  auto ctx = rpc::NewClientContext({.timeout = absl::Seconds(20), .api_key = kAdminKey});
  pb::StreamEventsRequest stream_request;
  stream_request.set_tenant_id(tenant_);
  stream_request.set_after_cursor(out.deliveries(out.deliveries_size() - 1).event_id());
  auto stream = stub_->StreamEvents(ctx.get(), stream_request);
  events::v1::Event e;
  ASSERT_TRUE(stream->Read(&e)) << stream->Finish().error_message();
  EXPECT_TRUE(want.contains(e.event_id()));
  ctx->TryCancel();
}

}  // namespace
}  // namespace sundesk::notification
