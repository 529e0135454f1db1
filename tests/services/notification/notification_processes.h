// The built notification-server as a child process against real servers (PostgreSQL,
// devkafka) with the built ticket-server beside it: the tenant is made there, and
// notification asks it (GrpcTenantDirectory, SERVICE key) whether an ADMIN's tenant exists.
#pragma once

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
#include "tests/support/devkafka_server.h"
#include "tests/support/http_sink.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"
#include "tests/support/ticket_server.h"

namespace sundesk::notification {

namespace pb = ::sundesk::notification::v1;
using testing::HttpSink;

inline constexpr char kAdminKey[] = "crash-test-admin-key";
inline constexpr char kServiceKey[] = "crash-test-service-key";

class NotificationProcessesTest : public ::testing::Test {
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
    auto server = testing::TicketServer::Start(*pg_, {.admin_key = kAdminKey,
                                                      .service_key = kServiceKey,
                                                      .kafka_bootstrap = kafka_->bootstrap(),
                                                      .log_path = log_dir_.path() + "/ticket.log"});
    ASSERT_TRUE(server.ok()) << server.status();
    ticket_server_ = std::move(*server);
    ticket::v1::Tenant tenant;
    tenant.set_name("Crash Test AB");
    tenant.set_time_zone("Europe/Stockholm");
    tenant.set_default_language("sv");
    auto created = ticket_server_->CreateTenant(tenant, "crash-test-tenant");
    ASSERT_TRUE(created.ok()) << created.status();
    tenant_ = *created;
  }

  // `drain_timeout`: how long a SIGTERM may wait for calls in flight.
  void StartServer(const std::string& drain_timeout = "2s") {
    auto p = testing::Subprocess::Start(
        {.argv = {testing::BinDir() + "/notification-server"},
         .env = {{"SUNDESK_GRPC_ADDR", absl::StrCat("127.0.0.1:", grpc_port_)},
                 {"SUNDESK_METRICS_ADDR", absl::StrCat("127.0.0.1:", metrics_port_)},
                 {"SUNDESK_PG_DSN", dsn_},
                 {"SUNDESK_KAFKA_BOOTSTRAP", kafka_->bootstrap()},
                 {"SUNDESK_KAFKA_FETCH_WAIT", testing::DevKafka::FetchWaitFlag()},
                 {"SUNDESK_ADMIN_KEY", kAdminKey},
                 {"SUNDESK_SERVICE_KEY", kServiceKey},
                 {"SUNDESK_TICKET_ADDR", ticket_server_->address()},
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
                 {"SUNDESK_DRAIN_TIMEOUT", drain_timeout}},
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
  int grpc_port_ = 0, metrics_port_ = 0;
  std::unique_ptr<testing::TicketServer> ticket_server_;
  std::string tenant_;
  std::unique_ptr<testing::Subprocess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::NotificationService::Stub> stub_;
};

}  // namespace sundesk::notification
