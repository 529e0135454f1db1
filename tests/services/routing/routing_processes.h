// routing-server as separate processes (the built binary) against real servers: PostgreSQL,
// redis-server, devkafka, and the ticket service (TenantService and TicketService) running
// in the test process with its outbox relayed to devkafka, so routing sees real ticket
// events and assigns through the real AssignTicket. Agents are created in routing's
// directory directly; their desktops set presence through routing-server with AGENT keys
// the ticket service vouches for (WhoAmI). A "worker" solves assigned tickets after a
// random moment, freeing capacity; a sampler reads every agent's open assignments in the
// ticket service and its load in Redis throughout.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/core/worker_pool.h"
#include "libs/kafka/outbox_relay.h"
#include "libs/kafka/producer.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pool.h"
#include "libs/redis/pool.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/client.h"
#include "libs/rpc/server.h"
#include "prometheus/registry.h"
#include "services/routing/domain/agent_directory.h"
#include "services/routing/store/migrations.h"
#include "services/routing/store/pg_agent_store.h"
#include "services/ticket/api/tenant_service_handlers.h"
#include "services/ticket/api/ticket_service_handlers.h"
#include "services/ticket/domain/tenant_registry.h"
#include "services/ticket/domain/ticket_service.h"
#include "services/ticket/store/pg_tenant_store.h"
#include "services/ticket/store/pg_ticket_store.h"
#include "services/ticket/store/schema.h"
#include "sundesk/routing/v1/routing_service.grpc.pb.h"
#include "tests/support/devkafka_server.h"
#include "tests/support/migrated_database.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"

namespace sundesk::routing {

inline constexpr char kProcAdminKey[] = "routing-processes-admin-key";
inline constexpr char kProcServiceKey[] = "routing-processes-service-key";
// routing-server's default key prefix in Redis.
inline constexpr char kRedisPrefix[] = "sundesk:routing:";

inline std::string ProcAgentKey(const std::string& agent) {
  return absl::StrCat("agent-key-", agent);
}

class RoutingProcessesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = testing::MigratedDatabase::Start(
        {.schemas = {{"routing", Migrations()}, {ticket::kSchema, ticket::AllMigrations()}},
         .pool = {.size = 16}});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);

    auto redis_server = testing::RedisServer::Start();
    ASSERT_TRUE(redis_server.ok()) << redis_server.status();
    redis_server_ = std::move(*redis_server);
    auto redis_pool = redis::Pool::Create({.port = redis_server_->port(), .size = 4});
    ASSERT_TRUE(redis_pool.ok()) << redis_pool.status();
    redis_ = std::move(*redis_pool);

    auto kafka = testing::DevKafka::Start();
    ASSERT_TRUE(kafka.ok()) << kafka.status();
    kafka_ = std::move(*kafka);
    auto producer = kafka::Producer::Create({.bootstrap_servers = kafka_->bootstrap()});
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = std::move(*producer);
    auto relay = kafka::OutboxRelay::Create(
        {.dsn = db_->dsn, .schema = "ticket", .poll_interval = absl::Milliseconds(20)}, *producer_,
        metrics_);
    ASSERT_TRUE(relay.ok()) << relay.status();
    relay_ = std::move(*relay);
    relay_thread_ = std::thread([this] { (void)relay_->Run(); });

    auth_.Add(kProcAdminKey, {.role = rpc::Role::kAdmin, .key_id = "admin"});
    auth_.Add(kProcServiceKey, {.role = rpc::Role::kService, .key_id = "service"});
    for (int i = 0; i < kMaxAgents; ++i) {
      const std::string agent = AgentName(i);
      auth_.Add(ProcAgentKey(agent),
                {.role = rpc::Role::kAgent, .agent_id = agent, .key_id = agent});
    }
    tenant_store_ = std::make_unique<ticket::PgTenantStore>(*db_->pool);
    tenant_registry_ =
        std::make_unique<ticket::TenantRegistry>(*tenant_store_, clock_, ids_, tokens_);
    ticket_store_ = std::make_unique<ticket::PgTicketStore>(*db_->pool);
    tickets_ = std::make_unique<ticket::TicketService>(*ticket_store_, clock_, ids_, tokens_);
    tenant_handlers_ =
        std::make_unique<ticket::TenantServiceHandlers>(*tenant_registry_, auth_, &workers_);
    ticket_handlers_ = std::make_unique<ticket::TicketServiceHandlers>(auth_, *tickets_, &workers_);
    rpc::ServerOptions options;
    options.services = {{ticket::v1::TenantService::service_full_name(), tenant_handlers_.get()},
                        {ticket::v1::TicketService::service_full_name(), ticket_handlers_.get()}};
    auto server = rpc::Server::Start(std::move(options), metrics_);
    ASSERT_TRUE(server.ok()) << server.status();
    ticket_server_ = std::move(*server);

    agent_store_ = std::make_unique<PgAgentStore>(*db_->pool);
    directory_ = std::make_unique<AgentDirectory>(*agent_store_, clock_, ids_, tokens_);
  }

  void TearDown() override {
    StopWorker();
    StopSampler();
    StopHeartbeats();
    servers_.clear();  // SIGTERM before their dependencies go
    if (ticket_server_ != nullptr) ticket_server_->Shutdown();
    if (relay_ != nullptr) {
      relay_->Stop();
      relay_thread_.join();
    }
  }

  static constexpr int kMaxAgents = 30;
  static std::string AgentName(int i) { return absl::StrCat("agent-", i); }

  // A client company, in AUTO_ASSIGN mode unless told otherwise.
  std::string NewTenant(const std::string& name,
                        ticket::RoutingMode mode = ticket::RoutingMode::kAutoAssign) {
    ticket::Tenant t;
    t.name = name;
    t.time_zone = "Europe/Stockholm";
    t.default_language = "sv";
    t.languages = {"sv", "en"};
    t.routing_mode = mode;
    auto created = tenant_registry_->CreateTenant("", t);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->tenant_id : "";
  }

  // `n` agents of `capacity`, certified for `tenant`, always on shift, speaking Swedish.
  void NewAgents(int n, int capacity, const std::string& tenant) {
    for (int i = 0; i < n; ++i) {
      Agent a;
      a.display_name = AgentName(i);
      a.languages = {{"sv", 5}};
      a.capacity = capacity;
      a.time_zone = "Europe/Stockholm";
      a.tier = 1;
      a.certifications = {{tenant, std::nullopt}};
      auto created = directory_->CreateAgent("", a, AgentName(i));
      ASSERT_TRUE(created.ok()) << created.status();
      agents_.push_back(AgentName(i));
    }
    capacity_ = capacity;
  }

  std::vector<std::string> NewTickets(const std::string& tenant, int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      ticket::CreateTicketInput in;
      in.tenant_id = tenant;
      in.subject = absl::StrCat("Ärende ", i);
      in.language = "sv";
      in.requester.email = "kund@example.se";
      auto created = tickets_->CreateTicket(kAdmin, in);
      EXPECT_TRUE(created.ok()) << created.status();
      if (created.ok()) ids.push_back(created->ticket_id);
    }
    return ids;
  }

  // Starts routing-server replica `index` (or restarts it on the same ports).
  void StartRouting(size_t index, const std::string& drain_timeout = "1s") {
    if (servers_.size() <= index) servers_.resize(index + 1);
    while (ports_.size() <= index) ports_.push_back({testing::FreePort(), testing::FreePort()});
    auto p = testing::Subprocess::Start(
        {.argv = {testing::BinDir() + "/routing-server"},
         .env = {{"SUNDESK_GRPC_ADDR", absl::StrCat("127.0.0.1:", ports_[index].first)},
                 {"SUNDESK_METRICS_ADDR", absl::StrCat("127.0.0.1:", ports_[index].second)},
                 {"SUNDESK_PG_DSN", db_->dsn},
                 {"SUNDESK_PG_POOL_SIZE", "6"},
                 {"SUNDESK_REDIS_ADDR", absl::StrCat("127.0.0.1:", redis_server_->port())},
                 {"SUNDESK_KAFKA_BOOTSTRAP", kafka_->bootstrap()},
                 {"SUNDESK_KAFKA_FETCH_WAIT", testing::DevKafka::FetchWaitFlag()},
                 {"SUNDESK_ADMIN_KEY", kProcAdminKey},
                 {"SUNDESK_SERVICE_KEY", kProcServiceKey},
                 {"SUNDESK_TICKET_ADDR", absl::StrCat("127.0.0.1:", ticket_server_->port())},
                 {"SUNDESK_PAGE_TOKEN_KEY", "routing-processes"},
                 {"SUNDESK_DISPATCH_INTERVAL", "100ms"},
                 {"SUNDESK_PRESENCE_TTL", "120s"},
                 // A SIGKILLed replica's partitions move on after this.
                 {"SUNDESK_KAFKA_SESSION_TIMEOUT", "6s"},
                 {"SUNDESK_DRAIN_TIMEOUT", drain_timeout}},
         .log_path = absl::StrCat(log_dir_.path(), "/routing-", index, "-", ++starts_, ".log")});
    ASSERT_TRUE(p.ok()) << p.status();
    servers_[index] = std::move(*p);
    const int port = ports_[index].first;
    ASSERT_TRUE(testing::WaitFor([&] { return testing::PortAccepts(port); }, absl::Seconds(30)))
        << servers_[index]->Log();
    auto channel = rpc::MakeChannel({.target = absl::StrCat("127.0.0.1:", port)});
    ASSERT_TRUE(channel.ok());
    if (stubs_.size() <= index) stubs_.resize(index + 1);
    stubs_[index] = v1::RoutingService::NewStub(*channel);
  }

  std::string Logs() {
    std::string out;
    for (size_t i = 0; i < servers_.size(); ++i) {
      if (servers_[i] != nullptr)
        absl::StrAppend(&out, "--- routing ", i, ":\n", servers_[i]->Log());
    }
    return out;
  }

  // The agent's desktop says it is available (through replica `via`).
  grpc::Status SetAvailable(const std::string& agent, size_t via = 0) {
    v1::SetPresenceRequest req;
    req.set_status(v1::PRESENCE_STATUS_AVAILABLE);
    v1::Presence presence;
    auto ctx =
        rpc::NewClientContext({.timeout = absl::Seconds(10), .api_key = ProcAgentKey(agent)});
    return stubs_[via]->SetPresence(ctx.get(), req, &presence);
  }
  void AllAvailable(size_t via = 0) {
    for (const std::string& agent : agents_) {
      grpc::Status st = SetAvailable(agent, via);
      ASSERT_TRUE(st.ok()) << agent << ": " << st.error_message() << "\n" << Logs();
    }
  }

  // Every agent's desktop sets its presence every `period` (a heartbeat), as long as the
  // test runs.
  void StartHeartbeats(absl::Duration period) {
    heartbeats_ = std::thread([this, period] {
      do {
        for (const std::string& agent : agents_) (void)SetAvailable(agent);
      } while (!stop_heartbeats_.WaitForNotificationWithTimeout(period));
    });
  }
  void StopHeartbeats() {
    if (!heartbeats_.joinable()) return;
    stop_heartbeats_.Notify();
    heartbeats_.join();
  }

  int64_t Count(const std::string& sql) {
    auto lease = db_->pool->Acquire();
    if (!lease.ok()) return -1;
    auto r = (*lease)->Execute(sql);
    if (!r.ok()) {
      ADD_FAILURE() << sql << ": " << r.status();
      return -1;
    }
    return *r->Int64(0, 0);
  }

  // Tickets of `tenant` the ticket service has assigned and not solved or closed, per agent.
  std::map<std::string, int64_t> OpenAssignments(const std::string& tenant) {
    std::map<std::string, int64_t> out;
    auto lease = db_->pool->Acquire();
    if (!lease.ok()) return out;
    auto r = (*lease)->Execute(
        "SELECT assignee_id, count(*) AS n FROM ticket.tickets WHERE tenant_id = $1::uuid "
        "AND assignee_id IS NOT NULL AND status NOT IN (5, 6) GROUP BY assignee_id",
        {tenant});
    if (!r.ok()) return out;
    for (int row = 0; row < r->rows(); ++row) {
      out[std::string(r->Text(row, "assignee_id"))] = *r->Int64(row, "n");
    }
    return out;
  }

  // Every agent's load as Redis has it.
  std::map<std::string, int64_t> RedisLoads() {
    std::vector<std::vector<std::string>> commands;
    for (const std::string& agent : agents_) {
      commands.push_back({"SCARD", absl::StrCat(kRedisPrefix, "load:", agent)});
    }
    std::map<std::string, int64_t> out;
    auto replies = redis_->Pipeline(commands);
    if (!replies.ok()) return out;  // Redis restarting
    for (size_t i = 0; i < agents_.size(); ++i) out[agents_[i]] = (*replies)[i].integer;
    return out;
  }

  // Samples the ticket service's assignments and Redis's loads until stopped, remembering
  // the most any agent ever had.
  void StartSampler(const std::string& tenant) {
    sampler_ = std::thread([this, tenant] {
      do {
        for (const auto& [agent, n] : OpenAssignments(tenant)) {
          max_assigned_ = std::max<int64_t>(max_assigned_, n);
          if (n > capacity_) {
            absl::MutexLock lock(&mu_);
            over_capacity_.insert(agent);
          }
        }
        for (const auto& [agent, n] : RedisLoads()) {
          max_redis_load_ = std::max<int64_t>(max_redis_load_, n);
        }
        ++samples_;
      } while (!stop_sampler_.WaitForNotificationWithTimeout(absl::Milliseconds(5)));
    });
  }
  void StopSampler() {
    if (!sampler_.joinable()) return;
    stop_sampler_.Notify();
    sampler_.join();
  }

  // Agents working: each assigned open ticket is solved a random 0–150 ms after it is first
  // seen assigned, which frees the agent's capacity (through the ticket events).
  void StartWorker(const std::string& tenant) {
    worker_ = std::thread([this, tenant] {
      std::mt19937 random(42);
      std::map<std::string, absl::Time> due;  // ticket -> when it gets solved
      do {
        absl::StatusOr<pg::Result> r = absl::UnavailableError("not read");
        if (auto lease = db_->pool->Acquire(); lease.ok()) {
          r = (*lease)->Execute(
              "SELECT ticket_id::text AS ticket_id, status FROM ticket.tickets "
              "WHERE tenant_id = $1::uuid AND assignee_id IS NOT NULL AND status NOT IN (5, 6)",
              {tenant});
        }
        if (!r.ok()) continue;
        const absl::Time now = absl::Now();
        for (int row = 0; row < r->rows(); ++row) {
          const std::string id(r->Text(row, "ticket_id"));
          auto [it, fresh] = due.emplace(id, now + absl::Milliseconds(random() % 150));
          if (it->second > now) continue;
          if (*r->Int64(row, "status") == 1) {
            (void)tickets_->TransitionTicket(
                kAdmin, {.ticket_id = id, .to_status = ticket::TicketStatus::kOpen});
          }
          auto solved = tickets_->TransitionTicket(
              kAdmin, {.ticket_id = id, .to_status = ticket::TicketStatus::kSolved});
          if (solved.ok()) ++solved_;
        }
      } while (!stop_worker_.WaitForNotificationWithTimeout(absl::Milliseconds(20)));
    });
  }
  void StopWorker() {
    if (!worker_.joinable()) return;
    stop_worker_.Notify();
    worker_.join();
  }

  // Waits until every running replica logged that its queue consumer holds partitions, so
  // that no replica joining late holds the group while tickets are produced.
  void WaitForPartitions() {
    for (size_t i = 0; i < servers_.size(); ++i) {
      if (servers_[i] == nullptr) continue;
      ASSERT_TRUE(testing::WaitFor(
          [&] { return absl::StrContains(servers_[i]->Log(), "kafka partitions assigned"); },
          absl::Seconds(30)))
          << Logs();
    }
  }

  // TicketAssigned per ticket of `tenant` in the ticket service's history.
  std::map<std::string, int64_t> Assignments(const std::string& tenant) {
    std::map<std::string, int64_t> out;
    auto lease = db_->pool->Acquire();
    if (!lease.ok()) return out;
    auto r = (*lease)->Execute(
        "SELECT ticket_id::text AS ticket_id, count(*) AS n FROM ticket.ticket_history "
        "WHERE tenant_id = $1::uuid AND action = 'TicketAssigned' GROUP BY ticket_id",
        {tenant});
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return out;
    for (int row = 0; row < r->rows(); ++row) {
      out[std::string(r->Text(row, "ticket_id"))] = *r->Int64(row, "n");
    }
    return out;
  }

  // Every one of `tickets` assigned exactly once in the ticket service.
  void ExpectEachAssignedOnce(const std::string& tenant, const std::vector<std::string>& tickets) {
    const std::map<std::string, int64_t> assigned = Assignments(tenant);
    int twice = 0;
    int never = 0;
    for (const std::string& id : tickets) {
      auto it = assigned.find(id);
      if (it == assigned.end()) {
        ++never;
      } else if (it->second != 1) {
        ++twice;
        ADD_FAILURE() << "ticket " << id << " assigned " << it->second << " times";
      }
    }
    EXPECT_EQ(never, 0) << "tickets never assigned";
    EXPECT_EQ(twice, 0) << "tickets assigned more than once";
  }

  const ticket::Caller kAdmin{.role = ticket::CallerRole::kAdmin, .key_id = "admin"};
  SystemClock clock_;
  UuidV7Generator ids_{clock_};
  api::PageTokenSigner tokens_{"routing-processes"};
  rpc::StaticKeyAuthenticator auth_;
  WorkerPool workers_{8, "rpc"};
  prometheus::Registry metrics_;
  std::unique_ptr<testing::MigratedDatabase> db_;
  std::unique_ptr<testing::RedisServer> redis_server_;
  std::unique_ptr<redis::Pool> redis_;
  std::unique_ptr<testing::DevKafka> kafka_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::OutboxRelay> relay_;
  std::thread relay_thread_;
  std::unique_ptr<ticket::PgTenantStore> tenant_store_;
  std::unique_ptr<ticket::TenantRegistry> tenant_registry_;
  std::unique_ptr<ticket::PgTicketStore> ticket_store_;
  std::unique_ptr<ticket::TicketService> tickets_;
  std::unique_ptr<ticket::TenantServiceHandlers> tenant_handlers_;
  std::unique_ptr<ticket::TicketServiceHandlers> ticket_handlers_;
  std::unique_ptr<rpc::Server> ticket_server_;
  std::unique_ptr<PgAgentStore> agent_store_;
  std::unique_ptr<AgentDirectory> directory_;

  testing::TempDir log_dir_;
  std::vector<std::pair<int, int>> ports_;
  std::vector<std::unique_ptr<testing::Subprocess>> servers_;
  std::vector<std::unique_ptr<v1::RoutingService::Stub>> stubs_;
  int starts_ = 0;

  std::vector<std::string> agents_;
  int capacity_ = 0;
  std::thread heartbeats_;
  absl::Notification stop_heartbeats_;
  std::thread sampler_;
  absl::Notification stop_sampler_;
  std::atomic<int64_t> max_assigned_{0};
  std::atomic<int64_t> max_redis_load_{0};
  std::atomic<int64_t> samples_{0};
  absl::Mutex mu_;
  std::set<std::string> over_capacity_ ABSL_GUARDED_BY(mu_);
  std::thread worker_;
  absl::Notification stop_worker_;
  std::atomic<int> solved_{0};
};

}  // namespace sundesk::routing
