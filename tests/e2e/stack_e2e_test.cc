// The whole stack as `make run` starts it — PostgreSQL, Redis, devkafka and the four
// service binaries as separate processes on free loopback ports — checked from outside:
// health, reflection, metrics (through promtool), authentication, clear errors for empty
// requests, readiness that follows PostgreSQL, and SIGTERM.
#include <atomic>
#include <csignal>
#include <fstream>
#include <mutex>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/envelope.h"
#include "libs/kafka/outbox.h"
#include "libs/pg/pool.h"
#include "libs/pg/transaction.h"
#include "libs/rpc/client.h"
#include "sundesk/notification/v1/notification_service.grpc.pb.h"
#include "sundesk/routing/v1/agent_service.grpc.pb.h"
#include "sundesk/routing/v1/routing_service.grpc.pb.h"
#include "sundesk/sla/v1/sla_service.grpc.pb.h"
#include "sundesk/ticket/v1/tenant_service.grpc.pb.h"
#include "sundesk/ticket/v1/ticket_service.grpc.pb.h"
#include "tests/support/devkafka_server.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"

namespace sundesk::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kAdminKey[] = "e2e-admin-key";

struct ServiceUnderTest {
  std::string name;
  std::vector<std::string> services;  // gRPC services it must expose
  int grpc_port = 0;
  int metrics_port = 0;
  std::unique_ptr<Subprocess> process;
  std::shared_ptr<grpc::Channel> channel;
};

std::string HealthOf(grpc::Channel& channel, const std::string& service = "") {
  auto stub = grpc::health::v1::Health::NewStub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  grpc::health::v1::HealthCheckResponse resp;
  grpc::Status st = stub->Check(&ctx, req, &resp);
  if (!st.ok()) return absl::StrCat("error ", st.error_code());
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp.status());
}

// A plain HTTP/1.0 GET on loopback; returns the body.
std::string HttpGet(int port, const std::string& path) {
  TempDir dir;
  std::string out = dir.path() + "/body";
  auto curl = Subprocess::Start(
      {.argv = {"curl", "-sf", "-o", out, absl::StrCat("http://127.0.0.1:", port, path)}});
  if (!curl.ok() || (*curl)->Wait(absl::Seconds(10)).value_or(-1) != 0) return "";
  return ReadFile(out);
}

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult RunCommand(std::vector<std::string> argv,
                         std::map<std::string, std::string> env = {}) {
  TempDir dir;
  std::string log = dir.path() + "/out";
  auto p = Subprocess::Start({.argv = std::move(argv), .env = std::move(env), .log_path = log});
  if (!p.ok()) return {-1, p.status().ToString()};
  int code = (*p)->Wait(absl::Seconds(30)).value_or(-1);
  return {code, ReadFile(log)};
}

class StackTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pg = PostgresServer::Start();
    ASSERT_TRUE(pg.ok()) << pg.status();
    pg_ = pg->release();
    auto redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = redis->release();
    auto kafka = DevKafka::Start();
    ASSERT_TRUE(kafka.ok()) << kafka.status();
    kafka_ = kafka->release();
    auto dsn = pg_->CreateDatabase("sundesk");
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    dsn_ = *dsn;

    services_ = new std::vector<ServiceUnderTest>(4);
    (*services_)[0].name = "ticket";
    (*services_)[0].services = {"sundesk.ticket.v1.TenantService",
                                "sundesk.ticket.v1.TicketService"};
    (*services_)[1].name = "routing";
    (*services_)[1].services = {"sundesk.routing.v1.AgentService",
                                "sundesk.routing.v1.RoutingService"};
    (*services_)[2].name = "sla";
    (*services_)[2].services = {"sundesk.sla.v1.SlaService"};
    (*services_)[3].name = "notification";
    (*services_)[3].services = {"sundesk.notification.v1.NotificationService"};
    for (auto& s : *services_) StartService(s);
    for (auto& s : *services_) {
      EXPECT_TRUE(WaitFor([&] { return HealthOf(*s.channel) == "SERVING"; }, absl::Seconds(60)))
          << s.name << " did not become SERVING; log:\n"
          << s.process->Log();
    }
  }

  static void TearDownTestSuite() {
    delete services_;  // stops the services before their dependencies
    delete kafka_;
    delete redis_;
    delete pg_;
  }

  static std::map<std::string, std::string> Env(const ServiceUnderTest& s) {
    return {{"SUNDESK_GRPC_ADDR", absl::StrCat("127.0.0.1:", s.grpc_port)},
            {"SUNDESK_METRICS_ADDR", absl::StrCat("127.0.0.1:", s.metrics_port)},
            {"SUNDESK_PG_DSN", dsn_},
            {"SUNDESK_KAFKA_BOOTSTRAP", kafka_->bootstrap()},
            {"SUNDESK_KAFKA_FETCH_WAIT", testing::DevKafka::FetchWaitFlag()},
            {"SUNDESK_REDIS_ADDR", absl::StrCat("127.0.0.1:", redis_->port())},
            {"SUNDESK_ADMIN_KEY", kAdminKey},
            {"SUNDESK_SERVICE_KEY", "e2e-service-key"},
            // The ticket service starts first, so its port is known here.
            {"SUNDESK_TICKET_ADDR", absl::StrCat("127.0.0.1:", (*services_)[0].grpc_port)},
            {"SUNDESK_LOG_FORMAT", "json"},
            {"SUNDESK_DRAIN_TIMEOUT", "5s"}};
  }

  // Starts (or restarts, on the same ports) one service binary.
  static void StartService(ServiceUnderTest& s) {
    if (s.grpc_port == 0) s.grpc_port = FreePort();
    if (s.metrics_port == 0) s.metrics_port = FreePort();
    log_dir_ = log_dir_ != nullptr ? log_dir_ : new TempDir();
    auto p = Subprocess::Start({.argv = {BinDir() + "/" + s.name + "-server"},
                                .env = Env(s),
                                .log_path = log_dir_->path() + "/" + s.name + ".log"});
    ASSERT_TRUE(p.ok()) << p.status();
    s.process = std::move(*p);
    s.channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", s.grpc_port),
                                    grpc::InsecureChannelCredentials());
  }

  // The outsourcer's admin creates a tenant and a CLIENT key for it; returns the secret.
  static std::string MakeClientCompany(const std::string& name) {
    auto tenants = ticket::v1::TenantService::NewStub((*services_)[0].channel);
    ticket::v1::CreateTenantRequest create;
    create.set_request_id("e2e-" + name);
    create.mutable_tenant()->set_name(name);
    create.mutable_tenant()->set_time_zone("Europe/Stockholm");
    create.mutable_tenant()->set_default_language("sv");
    ticket::v1::Tenant tenant;
    auto ctx = rpc::NewClientContext({.api_key = kAdminKey});
    grpc::Status st = tenants->CreateTenant(ctx.get(), create, &tenant);
    EXPECT_TRUE(st.ok()) << st.error_message();
    ticket::v1::CreateApiKeyRequest key_request;
    key_request.set_request_id("e2e-key-" + name);
    key_request.mutable_api_key()->set_role(common::v1::ROLE_CLIENT);
    key_request.mutable_api_key()->set_tenant_id(tenant.tenant_id());
    ticket::v1::CreateApiKeyResponse key;
    auto key_ctx = rpc::NewClientContext({.api_key = kAdminKey});
    st = tenants->CreateApiKey(key_ctx.get(), key_request, &key);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return key.secret();
  }

  // Every event on sundesk.ticket.events.v1 whose key is in `ticket_ids`, read until each
  // of them has one or `timeout` passes.
  static std::map<std::string, std::vector<events::v1::Event>> TicketEvents(
      const std::set<std::string>& ticket_ids, const std::string& group,
      absl::Duration timeout = absl::Seconds(30)) {
    absl::Mutex mu;
    std::map<std::string, std::vector<events::v1::Event>> seen;
    auto consumer = kafka::Consumer::Create({.bootstrap_servers = kafka_->bootstrap(),
                                             .group_id = group,
                                             .topics = {"sundesk.ticket.events.v1"},
                                             .fetch_wait_max = DevKafka::kFetchWaitMax},
                                            [&](const kafka::Message& m) {
                                              if (!ticket_ids.contains(m.key)) {
                                                return absl::OkStatus();
                                              }
                                              auto e = kafka::ParseEvent(m);
                                              absl::MutexLock lock(&mu);
                                              if (e.ok()) seen[m.key].push_back(*e);
                                              return absl::OkStatus();
                                            });
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    if (!consumer.ok()) return {};
    std::thread runner([&] { (void)(*consumer)->Run(); });
    WaitFor(
        [&] {
          absl::MutexLock lock(&mu);
          return seen.size() == ticket_ids.size();
        },
        timeout);
    (*consumer)->Stop();
    runner.join();
    absl::MutexLock lock(&mu);
    return seen;
  }

  static inline PostgresServer* pg_ = nullptr;
  static inline RedisServer* redis_ = nullptr;
  static inline DevKafka* kafka_ = nullptr;
  static inline TempDir* log_dir_ = nullptr;
  static inline std::string dsn_;
  static inline std::vector<ServiceUnderTest>* services_ = nullptr;
};

TEST_F(StackTest, EveryServiceIsServingOverallAndPerService) {
  for (auto& s : *services_) {
    EXPECT_EQ(HealthOf(*s.channel), "SERVING") << s.name;
    for (const auto& svc : s.services) EXPECT_EQ(HealthOf(*s.channel, svc), "SERVING") << svc;
    EXPECT_EQ(HealthOf(*s.channel, "no.such.Service"), absl::StrCat("error ", grpc::NOT_FOUND));
  }
}

TEST_F(StackTest, ReflectionListsEveryServiceOfTheContract) {
  for (auto& s : *services_) {
    CommandResult r =
        RunCommand({BinDir() + "/deskctl", absl::StrCat("--addr=127.0.0.1:", s.grpc_port), "list"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    for (const auto& svc : s.services) EXPECT_THAT(r.output, HasSubstr(svc)) << s.name;
    EXPECT_THAT(r.output, HasSubstr("grpc.health.v1.Health"));
  }
}

TEST_F(StackTest, MetricsShowGrpcFamiliesAndPassPromtool) {
  for (auto& s : *services_) {
    // One call first, so the histogram has an observation too.
    EXPECT_EQ(HealthOf(*s.channel), "SERVING");
    std::string body = HttpGet(s.metrics_port, "/metrics");
    ASSERT_FALSE(body.empty()) << s.name;
    for (const char* family : {"grpc_server_started_total", "grpc_server_handled_total",
                               "grpc_server_handling_seconds_bucket", "sundesk_build_info"}) {
      EXPECT_THAT(body, HasSubstr(family)) << s.name;
    }
    EXPECT_THAT(body, HasSubstr(absl::StrCat("service=\"", s.name, "\"")));
    TempDir dir;
    std::string file = dir.path() + "/metrics.txt";
    std::ofstream(file) << body;
    CommandResult lint = RunCommand({"sh", "-c", "promtool check metrics < " + file});
    EXPECT_EQ(lint.exit_code, 0) << s.name << ": " << lint.output;
  }
}

// Every unary RPC of the contract, called with an empty request through a generic stub:
// without a key it is UNAUTHENTICATED. With the admin key, every service answers the empty
// request with a clear client error (never UNKNOWN, INTERNAL, UNIMPLEMENTED or a crash).
TEST_F(StackTest, EveryRpcAuthenticatesThenAnswersWithoutInternalErrors) {
  // Generated descriptors register when first used; touch one message of each file.
  for (const auto* d :
       {ticket::v1::CreateTenantRequest::descriptor(),
        ticket::v1::CreateTicketRequest::descriptor(),
        routing::v1::CreateAgentRequest::descriptor(),
        routing::v1::SetPresenceRequest::descriptor(), sla::v1::CreateCalendarRequest::descriptor(),
        notification::v1::CreateSubscriptionRequest::descriptor()}) {
    ASSERT_NE(d, nullptr);
  }
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  int unary_methods = 0;
  for (auto& s : *services_) {
    grpc::GenericStub stub(s.channel);
    for (const auto& name : s.services) {
      const auto* svc = pool->FindServiceByName(name);
      ASSERT_NE(svc, nullptr) << name;
      for (int i = 0; i < svc->method_count(); ++i) {
        const auto* m = svc->method(i);
        if (m->client_streaming() || m->server_streaming()) continue;
        ++unary_methods;
        std::string path = absl::StrCat("/", name, "/", m->name());
        for (const char* key : {"", kAdminKey}) {
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
          if (*key != '\0') ctx.AddMetadata("authorization", absl::StrCat("Bearer ", key));
          grpc::Slice empty_message("");  // an all-defaults request serializes to nothing
          grpc::ByteBuffer request(&empty_message, 1), response;
          grpc::Status st;
          absl::Notification done;
          grpc::StubOptions options;
          stub.UnaryCall(&ctx, path, options, &request, &response, [&](grpc::Status status) {
            st = std::move(status);
            done.Notify();
          });
          done.WaitForNotification();
          if (*key == '\0') {
            EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << path;
          } else {
            EXPECT_THAT(
                st.error_code(),
                ::testing::AnyOf(grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::NOT_FOUND,
                                 grpc::StatusCode::PERMISSION_DENIED, grpc::StatusCode::OK))
                << path << ": " << st.error_message();
          }
        }
      }
    }
  }
  EXPECT_GE(unary_methods, 39);  // the contract has 41 RPCs, 2 of them streaming
}

// Streams without a key are UNAUTHENTICATED (each service's own tests cover its streams
// with keys).
TEST_F(StackTest, StreamingRpcsAuthenticateFirst) {
  auto& routing = (*services_)[1];
  auto& notification = (*services_)[3];
  {
    auto stub = routing::v1::RoutingService::NewStub(routing.channel);
    auto ctx = rpc::NewClientContext({.timeout = absl::Seconds(5)});
    auto stream = stub->AgentSession(ctx.get());
    routing::v1::RoutingMessage msg;
    while (stream->Read(&msg)) {
    }
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    auto stub = notification::v1::NotificationService::NewStub(notification.channel);
    auto ctx = rpc::NewClientContext({.timeout = absl::Seconds(5)});
    notification::v1::StreamEventsRequest req;
    auto stream = stub->StreamEvents(ctx.get(), req);
    events::v1::Event event;
    while (stream->Read(&event)) {
    }
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
}

// The ticket binary's outbox relay: a row committed into ticket.outbox (as the ticket
// service's writes will do) reaches sundesk.ticket.events.v1, keyed by the ticket, with its
// CloudEvents headers.
TEST_F(StackTest, TicketOutboxRowReachesKafkaWithCloudEventsHeaders) {
  auto pool = pg::Pool::Create({.dsn = dsn_, .size = 1});
  ASSERT_TRUE(pool.ok()) << pool.status();
  SystemClock clock;
  UuidV7Generator ids(clock);
  events::v1::TicketCreated payload;
  payload.mutable_ticket()->set_ticket_id("e2e-ticket-1");
  auto event = kafka::NewEvent(ids, clock,
                               {.source = "sundesk/ticket",
                                .tenant_id = "e2e-tenant",
                                .subject = "e2e-ticket-1",
                                .sequence = 1},
                               payload);
  ASSERT_TRUE(event.ok()) << event.status();
  ASSERT_TRUE(pg::WithTransaction(**pool, [&](pg::Connection& tx) {
                return kafka::InsertOutboxEvent(tx, "ticket", "sundesk.ticket.events.v1", *event);
              }).ok());

  absl::Mutex mu;
  std::optional<kafka::Message> seen;
  auto consumer = kafka::Consumer::Create({.bootstrap_servers = kafka_->bootstrap(),
                                           .group_id = "e2e-outbox-check",
                                           .topics = {"sundesk.ticket.events.v1"},
                                           .fetch_wait_max = DevKafka::kFetchWaitMax},
                                          [&](const kafka::Message& m) {
                                            auto h = kafka::ParseEventHeaders(m.headers);
                                            absl::MutexLock lock(&mu);
                                            if (h.ok() && h->id == event->event_id()) seen = m;
                                            return absl::OkStatus();
                                          });
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  std::thread runner([&] { (void)(*consumer)->Run(); });
  bool found = WaitFor(
      [&] {
        absl::MutexLock lock(&mu);
        return seen.has_value();
      },
      absl::Seconds(30));
  (*consumer)->Stop();
  runner.join();
  ASSERT_TRUE(found) << "the event never reached Kafka; ticket log:\n"
                     << (*services_)[0].process->Log();
  EXPECT_EQ(seen->key, "e2e-ticket-1");
  auto headers = kafka::ParseEventHeaders(seen->headers);
  ASSERT_TRUE(headers.ok()) << headers.status();
  EXPECT_EQ(headers->type, "TicketCreated");
  EXPECT_EQ(headers->source, "sundesk/ticket");
  EXPECT_EQ(headers->tenant_id, "e2e-tenant");
  auto decoded = kafka::ParseEvent(*seen);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->ticket_created().ticket().ticket_id(), "e2e-ticket-1");
}

// A client company's integration, end to end across processes: the outsourcer's admin
// creates the tenant and a CLIENT key; the client creates a ticket with it (twice, same
// request_id), reads it back, cannot see it with another tenant's key, and the
// TicketCreated event reaches Kafka with the ticket's id as key and sequence 1.
TEST_F(StackTest, ClientCompanyCreatesATicketAndItsEventReachesKafka) {
  auto& ticket_service = (*services_)[0];
  auto tickets = ticket::v1::TicketService::NewStub(ticket_service.channel);

  std::string acme_key = MakeClientCompany("Acme");
  std::string globex_key = MakeClientCompany("Globex");
  ASSERT_FALSE(acme_key.empty());
  ASSERT_FALSE(globex_key.empty());

  ticket::v1::CreateTicketRequest create;
  create.set_request_id("acme-order-4711");
  create.set_subject("Printer on floor 3 prints blank pages");
  create.set_priority(common::v1::PRIORITY_HIGH);
  create.set_channel(common::v1::CHANNEL_EMAIL);
  create.set_language("sv");
  ticket::v1::Ticket first, again;
  auto ctx = rpc::NewClientContext({.api_key = acme_key});
  grpc::Status st = tickets->CreateTicket(ctx.get(), create, &first);
  ASSERT_TRUE(st.ok()) << st.error_message();
  auto retry_ctx = rpc::NewClientContext({.api_key = acme_key});
  st = tickets->CreateTicket(retry_ctx.get(), create, &again);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(again.ticket_id(), first.ticket_id()) << "a retried create made a second ticket";

  ticket::v1::GetTicketRequest get;
  get.set_ticket_id(first.ticket_id());
  ticket::v1::Ticket read;
  auto get_ctx = rpc::NewClientContext({.api_key = acme_key});
  ASSERT_TRUE(tickets->GetTicket(get_ctx.get(), get, &read).ok());
  EXPECT_EQ(read.subject(), create.subject());
  EXPECT_EQ(read.status(), ticket::v1::TICKET_STATUS_NEW);
  auto other_ctx = rpc::NewClientContext({.api_key = globex_key});
  EXPECT_EQ(tickets->GetTicket(other_ctx.get(), get, &read).error_code(),
            grpc::StatusCode::NOT_FOUND);

  auto events = TicketEvents({first.ticket_id()}, "e2e-client-flow");
  bool found = events.contains(first.ticket_id());
  std::vector<events::v1::Event> seen = events[first.ticket_id()];
  ASSERT_TRUE(found) << "no event for the ticket reached Kafka";
  EXPECT_EQ(seen.size(), 1u) << "the retried create produced a second event";
  EXPECT_EQ(seen[0].type(), "TicketCreated");
  EXPECT_EQ(seen[0].sequence(), 1);
  EXPECT_EQ(seen[0].tenant_id(), first.tenant_id());
}

// A key the ticket service issued works on every service (each asks TenantService.WhoAmI):
// a CLIENT key lists its own tenant's subscriptions and policies, is refused (not unknown)
// where its role may not go, and a made-up key is UNAUTHENTICATED everywhere.
TEST_F(StackTest, IssuedClientKeysAreRecognisedByEveryService) {
  std::string key = MakeClientCompany("Hooli");
  ASSERT_FALSE(key.empty());
  for (const std::string& k : {key, std::string("sdk_0190a000-0000-7000-8000-000000000000_nope")}) {
    const bool issued = k == key;
    {
      auto stub = notification::v1::NotificationService::NewStub((*services_)[3].channel);
      auto ctx = rpc::NewClientContext({.timeout = absl::Seconds(10), .api_key = k});
      notification::v1::ListSubscriptionsResponse resp;
      grpc::Status st =
          stub->ListSubscriptions(ctx.get(), notification::v1::ListSubscriptionsRequest(), &resp);
      EXPECT_EQ(st.error_code(), issued ? grpc::StatusCode::OK : grpc::StatusCode::UNAUTHENTICATED)
          << "notification: " << st.error_message();
    }
    {
      auto stub = sla::v1::SlaService::NewStub((*services_)[2].channel);
      auto ctx = rpc::NewClientContext({.timeout = absl::Seconds(10), .api_key = k});
      sla::v1::ListPoliciesResponse resp;
      grpc::Status st = stub->ListPolicies(ctx.get(), sla::v1::ListPoliciesRequest(), &resp);
      EXPECT_EQ(st.error_code(), issued ? grpc::StatusCode::OK : grpc::StatusCode::UNAUTHENTICATED)
          << "sla: " << st.error_message();
    }
    {
      auto stub = routing::v1::AgentService::NewStub((*services_)[1].channel);
      auto ctx = rpc::NewClientContext({.timeout = absl::Seconds(10), .api_key = k});
      routing::v1::ListAgentsResponse resp;
      grpc::Status st = stub->ListAgents(ctx.get(), routing::v1::ListAgentsRequest(), &resp);
      EXPECT_EQ(st.error_code(),
                issued ? grpc::StatusCode::PERMISSION_DENIED : grpc::StatusCode::UNAUTHENTICATED)
          << "routing: " << st.error_message();
    }
  }
}

// An acknowledged write is durable and gets its event: the ticket binary is SIGKILLed in
// the middle of a stream of creates; after a restart every create that returned OK is
// there, and every one has its TicketCreated event in Kafka.
TEST_F(StackTest, TicketCreatesSurviveSigkillOfTheTicketService) {
  auto& ticket_service = (*services_)[0];
  std::string key = MakeClientCompany("Initech");
  ASSERT_FALSE(key.empty());
  auto tickets = ticket::v1::TicketService::NewStub(ticket_service.channel);

  std::mutex mu;
  std::set<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      ticket::v1::CreateTicketRequest create;
      create.set_request_id(absl::StrCat("initech-", i));
      create.set_subject(absl::StrCat("Badge reader ", i, " refuses every badge"));
      ticket::v1::Ticket created;
      auto ctx = rpc::NewClientContext({.timeout = absl::Seconds(2), .api_key = key});
      if (tickets->CreateTicket(ctx.get(), create, &created).ok()) {
        std::lock_guard<std::mutex> lock(mu);
        acknowledged.insert(created.ticket_id());
      }
    }
  });
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return acknowledged.size() >= 50;
      },
      absl::Seconds(60)));
  ticket_service.process->Signal(SIGKILL);
  ASSERT_TRUE(ticket_service.process->Wait(absl::Seconds(10)).ok());
  stop = true;
  writer.join();

  StartService(ticket_service);
  ASSERT_TRUE(
      WaitFor([&] { return HealthOf(*ticket_service.channel) == "SERVING"; }, absl::Seconds(60)))
      << ticket_service.process->Log();

  std::set<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mu);
    ids = acknowledged;
  }
  for (const auto& id : ids) {
    ticket::v1::GetTicketRequest get;
    get.set_ticket_id(id);
    ticket::v1::Ticket read;
    auto ctx = rpc::NewClientContext({.api_key = key});
    grpc::Status st = tickets->GetTicket(ctx.get(), get, &read);
    EXPECT_TRUE(st.ok()) << "acknowledged ticket " << id << " lost: " << st.error_message();
  }
  auto events = TicketEvents(ids, "e2e-sigkill-check", absl::Seconds(60));
  EXPECT_EQ(events.size(), ids.size()) << "acknowledged creates without a TicketCreated event";
  for (const auto& [id, list] : events) {
    ASSERT_FALSE(list.empty());
    EXPECT_EQ(list.front().type(), "TicketCreated") << id;
  }
}

TEST_F(StackTest, LogsAreJsonLines) {
  std::string log = (*services_)[0].process->Log();
  ASSERT_FALSE(log.empty());
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    EXPECT_TRUE(absl::StartsWith(line, "{\"ts\":\"") && absl::EndsWith(line, "}")) << line;
  }
}

// Runs last among the suite's tests that need the shared stack (gtest runs in order).
TEST_F(StackTest, ZReadinessFollowsPostgresAndSigtermStopsEverything) {
  auto& sla = (*services_)[2];
  pg_->Kill();
  EXPECT_TRUE(WaitFor([&] { return HealthOf(*sla.channel) == "NOT_SERVING"; }, absl::Seconds(30)));
  ASSERT_TRUE(pg_->Restart().ok());
  EXPECT_TRUE(WaitFor([&] { return HealthOf(*sla.channel) == "SERVING"; }, absl::Seconds(30)));

  for (auto& s : *services_) {
    s.process->Signal(SIGTERM);
    auto code = s.process->Wait(absl::Seconds(20));
    ASSERT_TRUE(code.ok()) << s.name << " did not stop on SIGTERM";
    EXPECT_EQ(*code, 0) << s.name << " log:\n" << s.process->Log();
    EXPECT_FALSE(PortAccepts(s.grpc_port)) << s.name;
    EXPECT_FALSE(PortAccepts(s.metrics_port)) << s.name;
  }
}

}  // namespace
}  // namespace sundesk::testing
