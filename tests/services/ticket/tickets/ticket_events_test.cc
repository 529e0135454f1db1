// Ticket events end to end inside one process: gRPC calls commit changes with their outbox
// rows on a throwaway PostgreSQL, kafka::OutboxRelay publishes them to devkafka, and a
// consumer sees every event once, with its CloudEvents headers, in per-ticket order.
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/envelope.h"
#include "libs/kafka/outbox.h"
#include "libs/kafka/outbox_relay.h"
#include "libs/kafka/producer.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pool.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/client.h"
#include "libs/rpc/server.h"
#include "prometheus/registry.h"
#include "services/ticket/api/ticket_service_handlers.h"
#include "services/ticket/domain/ticket_service.h"
#include "services/ticket/store/pg_ticket_store.h"
#include "services/ticket/store/schema.h"
#include "sundesk/ticket/v1/ticket_service.grpc.pb.h"
#include "tests/support/devkafka_server.h"
#include "tests/support/migrated_database.h"

namespace sundesk::ticket {
namespace {

namespace pb = ::sundesk::ticket::v1;
constexpr char kTenant[] = "0190a000-0000-7000-8000-00000000000a";

template <typename Fn>
bool WaitFor(Fn done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

class TicketEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = testing::MigratedDatabase::Start(
        {.database = "ticket_events", .schemas = {{kSchema, AllMigrations()}}});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    {
      auto lease = db_->pool->Acquire();
      ASSERT_TRUE(lease.ok());
      ASSERT_TRUE((*lease)
                      ->Execute("INSERT INTO ticket.tenants (tenant_id, name, time_zone, "
                                "default_language, routing_mode, create_time, update_time) "
                                "VALUES ($1, 'Client', 'UTC', 'en', 1, now(), now())",
                                {kTenant})
                      .ok());
    }

    auto kafka = testing::DevKafka::Start();
    ASSERT_TRUE(kafka.ok()) << kafka.status();
    kafka_ = std::move(*kafka);
    // A short delivery timeout, so that an outage fails the relay's batches quickly.
    auto producer = kafka::Producer::Create(
        {.bootstrap_servers = kafka_->bootstrap(), .delivery_timeout = absl::Milliseconds(800)});
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = std::move(*producer);
    auto relay = kafka::OutboxRelay::Create(
        {.dsn = db_->dsn, .schema = kSchema, .poll_interval = absl::Milliseconds(100)}, *producer_,
        registry_);
    ASSERT_TRUE(relay.ok()) << relay.status();
    relay_ = std::move(*relay);
    relay_thread_ = std::thread([this] { (void)relay_->Run(); });

    auth_.Add("client", {.role = rpc::Role::kClient, .tenant_id = kTenant, .key_id = "kc"});
    auth_.Add("routing", {.role = rpc::Role::kService, .key_id = "routing"});
    auth_.Add("agent-1", {.role = rpc::Role::kAgent, .agent_id = "agent-1", .key_id = "ka"});
    notifier_ = std::make_unique<kafka::OutboxNotifier>(*db_->pool, "ticket");
    store_ = std::make_unique<PgTicketStore>(*db_->pool, notifier_.get());
    tickets_ = std::make_unique<TicketService>(*store_, clock_, ids_, page_tokens_);
    handlers_ = std::make_unique<TicketServiceHandlers>(auth_, *tickets_, &workers_);
    rpc::ServerOptions options;
    options.services = {{pb::TicketService::service_full_name(), handlers_.get()}};
    auto server = rpc::Server::Start(std::move(options), registry_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto channel = rpc::MakeChannel({.target = absl::StrCat("127.0.0.1:", server_->port())});
    ASSERT_TRUE(channel.ok());
    stub_ = pb::TicketService::NewStub(*channel);
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
    if (relay_) relay_->Stop();
    if (relay_thread_.joinable()) relay_thread_.join();
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(const char* key) {
    return rpc::NewClientContext({.timeout = absl::Seconds(20), .api_key = key});
  }

  // Reads the ticket topic until `count` distinct events arrived (or `timeout`): each
  // event's first delivery, grouped by key in the order consumed.
  std::map<std::string, std::vector<kafka::Message>> Consume(size_t count, absl::Duration timeout) {
    absl::Mutex mu;
    std::map<std::string, std::vector<kafka::Message>> by_ticket;
    std::set<std::string> seen;
    auto consumer = kafka::Consumer::Create({.bootstrap_servers = kafka_->bootstrap(),
                                             .group_id = "ticket-events-test",
                                             .topics = {"sundesk.ticket.events.v1"},
                                             .fetch_wait_max = testing::DevKafka::kFetchWaitMax},
                                            [&](const kafka::Message& m) {
                                              auto h = kafka::ParseEventHeaders(m.headers);
                                              absl::MutexLock lock(&mu);
                                              if (h.ok() && seen.insert(h->id).second)
                                                by_ticket[m.key].push_back(m);
                                              return absl::OkStatus();
                                            });
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    if (!consumer.ok()) return {};
    std::thread runner([&] { (void)(*consumer)->Run(); });
    WaitFor(
        [&] {
          absl::MutexLock lock(&mu);
          return seen.size() >= count;
        },
        timeout);
    (*consumer)->Stop();
    runner.join();
    absl::MutexLock lock(&mu);
    return by_ticket;
  }

  int64_t Unpublished() {
    auto lease = db_->pool->Acquire();
    if (!lease.ok()) return -1;
    auto r = (*lease)->Execute("SELECT count(*) FROM ticket.outbox WHERE published_at IS NULL");
    return r.ok() ? *r->Int64(0, 0) : -1;
  }

  std::unique_ptr<testing::MigratedDatabase> db_;
  std::unique_ptr<testing::DevKafka> kafka_;
  std::unique_ptr<kafka::Producer> producer_;
  prometheus::Registry registry_;
  std::unique_ptr<kafka::OutboxRelay> relay_;
  std::thread relay_thread_;
  rpc::StaticKeyAuthenticator auth_;
  SystemClock clock_;
  UuidV7Generator ids_{clock_};
  std::unique_ptr<kafka::OutboxNotifier> notifier_;
  std::unique_ptr<PgTicketStore> store_;
  api::PageTokenSigner page_tokens_{"events-test-page-token-key"};
  std::unique_ptr<TicketService> tickets_;
  std::unique_ptr<TicketServiceHandlers> handlers_;
  WorkerPool workers_{4, "test"};
  std::unique_ptr<rpc::Server> server_;
  std::unique_ptr<pb::TicketService::Stub> stub_;
};

TEST_F(TicketEventsTest, EveryChangeReachesKafkaWithCloudEventsHeadersInPerTicketOrder) {
  // Four tickets changed concurrently, eight changes each.
  constexpr int kTickets = 4;
  const std::vector<std::string> kTypes = {
      "TicketCreated", "TicketStatusChanged", "TicketAssigned",      "CommentAdded",
      "CommentAdded",  "TicketStatusChanged", "TicketStatusChanged", "CommentAdded"};
  std::vector<std::thread> writers;
  std::vector<std::string> ticket_ids(kTickets);
  for (int i = 0; i < kTickets; ++i) {
    writers.emplace_back([&, i] {
      pb::CreateTicketRequest create;
      create.set_subject(absl::StrCat("Ticket ", i));
      pb::Ticket t;
      ASSERT_TRUE(stub_->CreateTicket(Ctx("client").get(), create, &t).ok());
      ticket_ids[i] = t.ticket_id();
      auto transition = [&](pb::TicketStatus to) {
        pb::TransitionTicketRequest r;
        r.set_ticket_id(t.ticket_id());
        r.set_to_status(to);
        pb::Ticket out;
        ASSERT_TRUE(stub_->TransitionTicket(Ctx("client").get(), r, &out).ok());
      };
      auto comment = [&](const char* key, bool is_public) {
        pb::AddCommentRequest r;
        r.set_ticket_id(t.ticket_id());
        r.set_body("text");
        r.set_public_(is_public);
        pb::Comment out;
        grpc::Status s = stub_->AddComment(Ctx(key).get(), r, &out);
        ASSERT_TRUE(s.ok()) << s.error_message();
      };
      transition(pb::TICKET_STATUS_OPEN);
      pb::AssignTicketRequest assign;
      assign.set_ticket_id(t.ticket_id());
      assign.set_agent_id("agent-1");
      pb::Ticket out;
      ASSERT_TRUE(stub_->AssignTicket(Ctx("routing").get(), assign, &out).ok());
      comment("agent-1", true);
      comment("client", true);
      transition(pb::TICKET_STATUS_PENDING);
      transition(pb::TICKET_STATUS_OPEN);
      comment("agent-1", false);
    });
  }
  for (auto& w : writers) w.join();

  auto by_ticket = Consume(kTickets * kTypes.size(), absl::Seconds(60));
  for (const std::string& id : ticket_ids) {
    const auto& messages = by_ticket[id];
    ASSERT_EQ(messages.size(), kTypes.size()) << id;
    for (size_t v = 0; v < messages.size(); ++v) {
      auto headers = kafka::ParseEventHeaders(messages[v].headers);
      ASSERT_TRUE(headers.ok()) << headers.status();
      EXPECT_EQ(headers->type, kTypes[v]) << id << " v" << v + 1;
      EXPECT_EQ(headers->source, "sundesk/ticket");
      EXPECT_EQ(headers->subject, id);
      EXPECT_EQ(headers->tenant_id, kTenant);
      auto event = kafka::ParseEvent(messages[v]);
      ASSERT_TRUE(event.ok()) << event.status();
      EXPECT_EQ(event->sequence(), static_cast<int64_t>(v + 1)) << id;
      EXPECT_EQ(event->event_id(), headers->id);
    }
  }
}

TEST_F(TicketEventsTest, CreatesSucceedWhileKafkaIsDownAndTheirEventsFollow) {
  for (int id = 1; id <= 3; ++id) {
    ASSERT_TRUE(kafka_->ControlOk(absl::StrCat("broker-down ", id)).ok());
  }
  constexpr int kCreates = 200;
  std::set<std::string> created;
  for (int i = 0; i < kCreates; ++i) {
    pb::CreateTicketRequest create;
    create.set_request_id(absl::StrCat("outage-", i));
    create.set_subject(absl::StrCat("During the outage ", i));
    pb::Ticket t;
    grpc::Status s = stub_->CreateTicket(Ctx("client").get(), create, &t);
    ASSERT_TRUE(s.ok()) << i << ": " << s.error_message();
    created.insert(t.ticket_id());
  }
  EXPECT_EQ(Unpublished(), kCreates);  // the events wait in the outbox
  for (int id = 1; id <= 3; ++id) {
    ASSERT_TRUE(kafka_->ControlOk(absl::StrCat("broker-up ", id)).ok());
  }
  ASSERT_TRUE(WaitFor([&] { return Unpublished() == 0; }, absl::Seconds(60)));
  auto by_ticket = Consume(kCreates, absl::Seconds(60));
  size_t events = 0;
  for (const std::string& id : created) {
    ASSERT_EQ(by_ticket[id].size(), 1u) << id;
    auto event = kafka::ParseEvent(by_ticket[id][0]);
    ASSERT_TRUE(event.ok()) << event.status();
    EXPECT_EQ(event->type(), "TicketCreated");
    EXPECT_EQ(event->ticket_created().ticket().ticket_id(), id);
    ++events;
  }
  EXPECT_EQ(events, static_cast<size_t>(kCreates));
}

}  // namespace
}  // namespace sundesk::ticket
