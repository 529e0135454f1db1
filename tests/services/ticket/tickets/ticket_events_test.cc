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
#include "services/ticket/store/migrations.h"
#include "services/ticket/store/pg_ticket_store.h"
#include "sundesk/ticket/v1/ticket_service.grpc.pb.h"
#include "tests/support/devkafka_server.h"
#include "tests/support/postgres_server.h"

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

TEST(TicketEventsTest, EveryChangeReachesKafkaWithCloudEventsHeadersInPerTicketOrder) {
  auto postgres = testing::PostgresServer::Start();
  ASSERT_TRUE(postgres.ok()) << postgres.status();
  auto dsn = (*postgres)->CreateDatabase("ticket_events");
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  auto pool = pg::Pool::Create({.dsn = *dsn});
  ASSERT_TRUE(pool.ok());
  std::vector<pg::Migration> migrations = {kafka::OutboxMigration(1)};
  for (auto& m : Migrations()) migrations.push_back(std::move(m));
  ASSERT_TRUE(pg::RunMigrations(**pool, "ticket", std::move(migrations)).ok());
  {
    auto lease = (*pool)->Acquire();
    ASSERT_TRUE(lease.ok());
    ASSERT_TRUE((*lease)
                    ->Execute("INSERT INTO ticket.tenants (tenant_id, name, time_zone, "
                              "default_language, routing_mode, create_time, update_time) VALUES "
                              "($1, 'Client', 'UTC', 'en', 1, now(), now())",
                              {kTenant})
                    .ok());
  }

  auto kafka = testing::DevKafka::Start();
  ASSERT_TRUE(kafka.ok()) << kafka.status();
  auto producer = kafka::Producer::Create({.bootstrap_servers = (*kafka)->bootstrap()});
  ASSERT_TRUE(producer.ok()) << producer.status();
  prometheus::Registry registry;
  auto relay = kafka::OutboxRelay::Create(
      {.dsn = *dsn, .schema = "ticket", .poll_interval = absl::Milliseconds(100)}, **producer,
      registry);
  ASSERT_TRUE(relay.ok()) << relay.status();
  std::thread relay_thread([&] { (void)(*relay)->Run(); });

  rpc::StaticKeyAuthenticator auth;
  auth.Add("client", {.role = rpc::Role::kClient, .tenant_id = kTenant, .key_id = "kc"});
  auth.Add("routing", {.role = rpc::Role::kService, .key_id = "routing"});
  auth.Add("agent-1", {.role = rpc::Role::kAgent, .agent_id = "agent-1", .key_id = "ka"});
  SystemClock clock;
  UuidV7Generator ids(clock);
  PgTicketStore store(**pool);
  TicketService tickets(store, clock, ids, {.page_token_key = "events-test-page-token-key"});
  TicketServiceHandlers handlers(auth, tickets);
  rpc::ServerOptions options;
  options.services = {{pb::TicketService::service_full_name(), &handlers}};
  auto server = rpc::Server::Start(std::move(options), registry);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = rpc::MakeChannel({.target = absl::StrCat("127.0.0.1:", (*server)->port())});
  ASSERT_TRUE(channel.ok());
  auto stub = pb::TicketService::NewStub(*channel);
  auto ctx = [](const char* key) {
    return rpc::NewClientContext({.timeout = absl::Seconds(20), .api_key = key});
  };

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
      ASSERT_TRUE(stub->CreateTicket(ctx("client").get(), create, &t).ok());
      ticket_ids[i] = t.ticket_id();
      auto transition = [&](pb::TicketStatus to) {
        pb::TransitionTicketRequest r;
        r.set_ticket_id(t.ticket_id());
        r.set_to_status(to);
        pb::Ticket out;
        ASSERT_TRUE(stub->TransitionTicket(ctx("client").get(), r, &out).ok());
      };
      auto comment = [&](const char* key, bool is_public) {
        pb::AddCommentRequest r;
        r.set_ticket_id(t.ticket_id());
        r.set_body("text");
        r.set_public_(is_public);
        pb::Comment out;
        grpc::Status s = stub->AddComment(ctx(key).get(), r, &out);
        ASSERT_TRUE(s.ok()) << s.error_message();
      };
      transition(pb::TICKET_STATUS_OPEN);
      pb::AssignTicketRequest assign;
      assign.set_ticket_id(t.ticket_id());
      assign.set_agent_id("agent-1");
      pb::Ticket out;
      ASSERT_TRUE(stub->AssignTicket(ctx("routing").get(), assign, &out).ok());
      comment("agent-1", true);
      comment("client", true);
      transition(pb::TICKET_STATUS_PENDING);
      transition(pb::TICKET_STATUS_OPEN);
      comment("agent-1", false);
    });
  }
  for (auto& w : writers) w.join();

  absl::Mutex mu;
  std::map<std::string, std::vector<kafka::Message>> by_ticket;  // first delivery per event
  std::set<std::string> seen_ids;
  auto consumer = kafka::Consumer::Create({.bootstrap_servers = (*kafka)->bootstrap(),
                                           .group_id = "ticket-events-test",
                                           .topics = {"sundesk.ticket.events.v1"},
                                           .fetch_wait_max = testing::DevKafka::kFetchWaitMax},
                                          [&](const kafka::Message& m) {
                                            auto h = kafka::ParseEventHeaders(m.headers);
                                            absl::MutexLock lock(&mu);
                                            if (h.ok() && seen_ids.insert(h->id).second)
                                              by_ticket[m.key].push_back(m);
                                            return absl::OkStatus();
                                          });
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  std::thread consumer_thread([&] { (void)(*consumer)->Run(); });
  const bool all = WaitFor(
      [&] {
        absl::MutexLock lock(&mu);
        return seen_ids.size() >= kTickets * kTypes.size();
      },
      absl::Seconds(60));
  (*consumer)->Stop();
  consumer_thread.join();
  (*relay)->Stop();
  relay_thread.join();
  ASSERT_TRUE(all) << "only " << seen_ids.size() << " events arrived";

  absl::MutexLock lock(&mu);
  EXPECT_EQ(seen_ids.size(), kTickets * kTypes.size());
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
  (*server)->Shutdown();
}

}  // namespace
}  // namespace sundesk::ticket
