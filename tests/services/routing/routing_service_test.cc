// RoutingService against real servers: live presence and capacity claims in a real
// redis-server (TTL lapses to OFFLINE, the Lua capacity claim under many concurrent
// claimers, idempotency by ticket id, release), the agent directory and routing policies in
// a real PostgreSQL, tenants asked of the ticket service's own TenantService over gRPC with
// the SERVICE key, and SetPresence/GetPresence/Get+UpdateRoutingPolicy through gRPC.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
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
#include "libs/core/worker_pool.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pool.h"
#include "libs/redis/pool.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/client.h"
#include "libs/rpc/server.h"
#include "prometheus/registry.h"
#include "services/routing/api/routing_service_handlers.h"
#include "services/routing/domain/agent_directory.h"
#include "services/routing/domain/presence.h"
#include "services/routing/store/grpc_ticket_assigner.h"
#include "services/routing/store/migrations.h"
#include "services/routing/store/pg_agent_store.h"
#include "services/routing/store/pg_offer_store.h"
#include "services/routing/store/pg_queue_store.h"
#include "services/routing/store/pg_routing_policy_store.h"
#include "services/routing/store/redis_presence_store.h"
#include "services/routing/store/ticket_tenant_directory.h"
#include "services/ticket/api/tenant_service_handlers.h"
#include "services/ticket/domain/tenant_registry.h"
#include "services/ticket/store/pg_tenant_store.h"
#include "services/ticket/store/schema.h"
#include "sundesk/routing/v1/routing_service.grpc.pb.h"
#include "tests/support/migrated_database.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"

namespace sundesk::routing {
namespace {

namespace pb = ::sundesk::routing::v1;
using ::testing::HasSubstr;

constexpr char kAdminKey[] = "admin-key-for-tests";
constexpr char kServiceKey[] = "service-key-for-tests";
constexpr char kClientKey[] = "client-key-for-tests";
constexpr char kTenant[] = "0190a000-0000-7000-8000-00000000000a";

class RoutingServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto redis_server = testing::RedisServer::Start();
    ASSERT_TRUE(redis_server.ok()) << redis_server.status();
    redis_server_ = redis_server->release();
    auto redis_pool = redis::Pool::Create({.port = redis_server_->port(), .size = 16});
    ASSERT_TRUE(redis_pool.ok()) << redis_pool.status();
    redis_ = redis_pool->release();
    presence_store_ = new RedisPresenceStore(*redis_, "test:routing:");
    // The loads start known (routing's dispatcher would rebuild them; none here yet).
    ASSERT_TRUE(presence_store_->MarkLoadsReady().ok());

    auto db = testing::MigratedDatabase::Start(
        {.database = "routing",
         .schemas = {{"routing", Migrations()}, {ticket::kSchema, ticket::AllMigrations()}}});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = db->release();
    pool_ = db_->pool.get();
    agent_store_ = new PgAgentStore(*pool_);
    clock_ = new SystemClock();
    ids_ = new UuidV7Generator(*clock_);
    tokens_ = new api::PageTokenSigner("k");
    directory_ = new AgentDirectory(*agent_store_, *clock_, *ids_, *tokens_);
    presence_ = new PresenceService(*agent_store_, *presence_store_, *clock_,
                                    {.unary_ttl = absl::Seconds(60)});

    auth_ = new rpc::StaticKeyAuthenticator();
    auth_->Add(kAdminKey, {.role = rpc::Role::kAdmin, .key_id = "admin"});
    auth_->Add(kServiceKey, {.role = rpc::Role::kService, .key_id = "service"});
    auth_->Add(kClientKey, {.role = rpc::Role::kClient, .tenant_id = kTenant, .key_id = "c"});
    auth_->Add("agent-key-ana", {.role = rpc::Role::kAgent, .agent_id = "ana", .key_id = "k1"});
    // The ticket service's TenantService, as routing's tenant directory talks to it.
    tenant_store_ = new ticket::PgTenantStore(*pool_);
    tenant_registry_ = new ticket::TenantRegistry(*tenant_store_, *clock_, *ids_, *tokens_);
    tenant_handlers_ = new ticket::TenantServiceHandlers(*tenant_registry_, *auth_);
    metrics_ = new prometheus::Registry();
    rpc::ServerOptions ticket_options;
    ticket_options.services = {{ticket::v1::TenantService::service_full_name(), tenant_handlers_}};
    auto ticket_server = rpc::Server::Start(std::move(ticket_options), *metrics_);
    ASSERT_TRUE(ticket_server.ok()) << ticket_server.status();
    ticket_server_ = ticket_server->release();
    auto ticket_channel =
        rpc::MakeChannel({.target = absl::StrCat("127.0.0.1:", ticket_server_->port())});
    ASSERT_TRUE(ticket_channel.ok());
    tenant_lookup_ = new ticket::GrpcTenantLookup(*ticket_channel, kServiceKey);
    tenants_ = new TicketTenantDirectory(*tenant_lookup_);
    policy_store_ = new PgRoutingPolicyStore(*pool_);
    policies_ = new RoutingPolicies(*policy_store_, *tenants_, *clock_);
    ticket::Tenant acme;
    acme.name = "Acme";
    acme.time_zone = "Europe/Stockholm";
    acme.default_language = "sv";
    acme.routing_mode = ticket::RoutingMode::kOffer;
    auto created_tenant = tenant_registry_->CreateTenant("", acme);
    ASSERT_TRUE(created_tenant.ok()) << created_tenant.status();
    tenant_id_ = created_tenant->tenant_id;
    acme.name = "Globex";
    created_tenant = tenant_registry_->CreateTenant("", acme);
    ASSERT_TRUE(created_tenant.ok()) << created_tenant.status();
    other_tenant_id_ = created_tenant->tenant_id;
    for (const char* id : {"ana", "bruno", "disabled-dan"}) {
      Agent a;
      a.display_name = id;
      a.languages = {{"sv", 5}};
      a.capacity = 2;
      a.time_zone = "Europe/Stockholm";
      a.tier = 1;
      a.disabled = std::string(id) == "disabled-dan";
      // Ana serves Acme (certified) and once served Globex (lapsed).
      if (std::string(id) == "ana") {
        a.certifications = {{tenant_id_, std::nullopt},
                            {other_tenant_id_, absl::Now() - absl::Hours(1)}};
      }
      auto created = directory_->CreateAgent("", a, id);
      ASSERT_TRUE(created.ok()) << created.status();
    }
    auth_->Add("client-key-acme",
               {.role = rpc::Role::kClient, .tenant_id = tenant_id_, .key_id = "acme"});

    queue_store_ = new PgQueueStore(*pool_, *clock_, *ids_);
    queue_ = new TicketQueue(*queue_store_, *presence_store_, *policy_store_, *clock_, *tokens_);
    router_ = new Router(*agent_store_, *presence_store_, *policy_store_, *tenants_, *clock_);
    offer_store_ = new PgOfferStore(*pool_, *clock_, *ids_);
    assigner_ = new GrpcTicketAssigner(*ticket_channel, kServiceKey);
    offers_ = new OfferService(*offer_store_, *agent_store_, *router_, *presence_store_,
                               *policy_store_, *tenants_, *assigner_, *clock_, *ids_);
    sessions_ = new AgentSessions(*offers_, *presence_, *directory_, *auth_, *clock_);
    workers_ = new WorkerPool(4, "rpc");
    handlers_ = new RoutingServiceHandlers(*presence_, *policies_, *queue_, *directory_, *offers_,
                                           *sessions_, *auth_, workers_);
    rpc::ServerOptions options;
    options.services = {{pb::RoutingService::service_full_name(), handlers_}};
    auto started = rpc::Server::Start(std::move(options), *metrics_);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = started->release();
    auto channel = rpc::MakeChannel({.target = absl::StrCat("127.0.0.1:", server_->port())});
    ASSERT_TRUE(channel.ok());
    stub_ = pb::RoutingService::NewStub(*channel).release();
  }

  static void TearDownTestSuite() {
    delete stub_;
    if (server_ != nullptr) server_->Shutdown();
    delete server_;
    delete workers_;  // runs what is queued, while the handlers still exist
    delete sessions_;
    delete offers_;
    delete assigner_;
    delete offer_store_;
    delete router_;
    if (ticket_server_ != nullptr) ticket_server_->Shutdown();
    delete ticket_server_;
    delete metrics_;
    delete handlers_;
    delete queue_;
    delete queue_store_;
    delete policies_;
    delete policy_store_;
    delete tenants_;
    delete tenant_lookup_;
    delete tenant_handlers_;
    delete tenant_registry_;
    delete tenant_store_;
    delete auth_;
    delete presence_;
    delete directory_;
    delete tokens_;
    delete ids_;
    delete clock_;
    delete agent_store_;
    delete db_;
    delete presence_store_;
    delete redis_;
    delete redis_server_;
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& key = kAdminKey) {
    return rpc::NewClientContext({.timeout = absl::Seconds(10), .api_key = key});
  }

  static std::string Unique(absl::string_view label) {
    static std::atomic<int> n{0};
    return absl::StrCat(label, "-", ++n);
  }

  static int Load(const std::string& agent) {
    auto r = presence_store_->Get(agent);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->active_tickets : -1;
  }

  static inline testing::RedisServer* redis_server_ = nullptr;
  static inline redis::Pool* redis_ = nullptr;
  static inline RedisPresenceStore* presence_store_ = nullptr;
  static inline testing::MigratedDatabase* db_ = nullptr;
  static inline pg::Pool* pool_ = nullptr;  // db_'s
  static inline PgAgentStore* agent_store_ = nullptr;
  static inline SystemClock* clock_ = nullptr;
  static inline UuidV7Generator* ids_ = nullptr;
  static inline api::PageTokenSigner* tokens_ = nullptr;
  static inline AgentDirectory* directory_ = nullptr;
  static inline PresenceService* presence_ = nullptr;
  static inline rpc::StaticKeyAuthenticator* auth_ = nullptr;
  static inline Router* router_ = nullptr;
  static inline PgOfferStore* offer_store_ = nullptr;
  static inline GrpcTicketAssigner* assigner_ = nullptr;
  static inline OfferService* offers_ = nullptr;
  static inline AgentSessions* sessions_ = nullptr;
  static inline WorkerPool* workers_ = nullptr;
  static inline RoutingServiceHandlers* handlers_ = nullptr;
  static inline prometheus::Registry* metrics_ = nullptr;
  static inline rpc::Server* server_ = nullptr;
  static inline ticket::PgTenantStore* tenant_store_ = nullptr;
  static inline ticket::TenantRegistry* tenant_registry_ = nullptr;
  static inline ticket::TenantServiceHandlers* tenant_handlers_ = nullptr;
  static inline rpc::Server* ticket_server_ = nullptr;
  static inline ticket::GrpcTenantLookup* tenant_lookup_ = nullptr;
  static inline TicketTenantDirectory* tenants_ = nullptr;
  static inline PgRoutingPolicyStore* policy_store_ = nullptr;
  static inline RoutingPolicies* policies_ = nullptr;
  static inline PgQueueStore* queue_store_ = nullptr;
  static inline TicketQueue* queue_ = nullptr;
  static inline std::string tenant_id_;
  static inline std::string other_tenant_id_;
  static inline pb::RoutingService::Stub* stub_ = nullptr;
};

TEST_F(RoutingServiceTest, StatusLapsesToOfflineAfterItsTtl) {
  const std::string agent = Unique("lapsing");
  auto before = presence_store_->SetStatus(agent, PresenceStatus::kAvailable, absl::Now(),
                                           absl::Milliseconds(300));
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(*before, PresenceStatus::kOffline);
  EXPECT_EQ(presence_store_->Get(agent)->status, PresenceStatus::kAvailable);
  EXPECT_TRUE(testing::WaitFor(
      [&] { return presence_store_->Get(agent)->status == PresenceStatus::kOffline; },
      absl::Seconds(10)));
  EXPECT_FALSE(*presence_store_->Refresh(agent, absl::Seconds(1)));  // nothing left to keep
}

TEST_F(RoutingServiceTest, RefreshKeepsItAliveAndUpdateTimeMovesOnlyOnChange) {
  const std::string agent = Unique("steady");
  const absl::Time t0 = absl::FromUnixMillis(1'800'000'000'000);
  ASSERT_TRUE(presence_store_->SetStatus(agent, PresenceStatus::kAway, t0, absl::Seconds(30)).ok());
  ASSERT_TRUE(*presence_store_->Refresh(agent, absl::Seconds(30)));
  auto again = presence_store_->SetStatus(agent, PresenceStatus::kAway, t0 + absl::Seconds(5),
                                          absl::Seconds(30));
  EXPECT_EQ(*again, PresenceStatus::kAway);
  EXPECT_EQ(presence_store_->Get(agent)->update_time, t0);
  ASSERT_TRUE(
      presence_store_
          ->SetStatus(agent, PresenceStatus::kBusy, t0 + absl::Seconds(9), absl::Seconds(30))
          .ok());
  EXPECT_EQ(presence_store_->Get(agent)->update_time, t0 + absl::Seconds(9));
  // OFFLINE has no TTL.
  ASSERT_TRUE(
      presence_store_->SetStatus(agent, PresenceStatus::kOffline, t0, absl::Seconds(30)).ok());
  auto ttl = redis_->Command({"PTTL", presence_store_->PresenceKey(agent)});
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(ttl->integer, -1);
}

TEST_F(RoutingServiceTest, ClaimIsIdempotentByTicketAndBoundedByCapacity) {
  const std::string agent = Unique("claimer");
  const std::string other = Unique("other");
  const absl::Time now = absl::Now();
  EXPECT_EQ(*presence_store_->Claim(agent, "t-1", 2, now), ClaimOutcome::kClaimed);
  EXPECT_EQ(*presence_store_->Claim(agent, "t-1", 2, now), ClaimOutcome::kAlreadyHeld);
  EXPECT_EQ(Load(agent), 1);
  EXPECT_EQ(*presence_store_->Claim(other, "t-1", 2, now), ClaimOutcome::kHeldByOther);
  EXPECT_EQ(Load(other), 0);
  EXPECT_EQ(*presence_store_->Claim(agent, "t-2", 2, now), ClaimOutcome::kClaimed);
  EXPECT_EQ(*presence_store_->Claim(agent, "t-3", 2, now), ClaimOutcome::kAtCapacity);
  EXPECT_EQ(Load(agent), 2);
  EXPECT_EQ(absl::ToUnixMillis(presence_store_->Get(agent)->last_assignment_time),
            absl::ToUnixMillis(now));

  // Solved: the load drops and the ticket is free for anyone.
  EXPECT_TRUE(*presence_store_->Release(agent, "t-1"));
  EXPECT_FALSE(*presence_store_->Release(agent, "t-1"));  // again: nothing to release
  EXPECT_EQ(Load(agent), 1);
  EXPECT_EQ(*presence_store_->Claim(other, "t-1", 2, now), ClaimOutcome::kClaimed);
  EXPECT_EQ(*presence_store_->Claim(agent, "t-3", 2, now), ClaimOutcome::kClaimed);
}

TEST_F(RoutingServiceTest, ClaimIfAvailableClaimsOnlyAnAvailableAgent) {
  const std::string agent = Unique("claimer");
  const std::string other = Unique("other");
  const absl::Time now = absl::Now();
  // Ticket ids of this test only (the server is shared by the fixture's tests).
  const std::string t1 = Unique("t-1"), t2 = Unique("t-2"), t3 = Unique("t-3");
  // No presence at all (never connected, or lapsed): no claim.
  EXPECT_EQ(*presence_store_->ClaimIfAvailable(agent, t1, 2, now), ClaimOutcome::kNotAvailable);
  ASSERT_TRUE(
      presence_store_->SetStatus(agent, PresenceStatus::kAway, now, absl::Seconds(30)).ok());
  EXPECT_EQ(*presence_store_->ClaimIfAvailable(agent, t1, 2, now), ClaimOutcome::kNotAvailable);
  EXPECT_EQ(Load(agent), 0);
  ASSERT_TRUE(
      presence_store_->SetStatus(agent, PresenceStatus::kAvailable, now, absl::Seconds(30)).ok());
  EXPECT_EQ(*presence_store_->ClaimIfAvailable(agent, t1, 2, now), ClaimOutcome::kClaimed);
  EXPECT_EQ(*presence_store_->ClaimIfAvailable(agent, t2, 2, now), ClaimOutcome::kClaimed);
  EXPECT_EQ(*presence_store_->ClaimIfAvailable(agent, t3, 2, now), ClaimOutcome::kAtCapacity);
  // A ticket it holds answers "already held" whatever its status now; another agent's
  // claim of it is refused either way.
  ASSERT_TRUE(
      presence_store_->SetStatus(agent, PresenceStatus::kBusy, now, absl::Seconds(30)).ok());
  EXPECT_EQ(*presence_store_->ClaimIfAvailable(agent, t1, 2, now), ClaimOutcome::kAlreadyHeld);
  EXPECT_EQ(*presence_store_->ClaimIfAvailable(other, t1, 2, now), ClaimOutcome::kHeldByOther);
  EXPECT_EQ(Load(agent), 2);
}

TEST_F(RoutingServiceTest, ConcurrentClaimsNeverExceedCapacity) {
  constexpr int kAgents = 10;
  constexpr int kCapacity = 3;
  constexpr int kTickets = 300;
  constexpr int kThreads = 8;
  const std::string run = Unique("run");
  std::vector<std::string> agents;
  for (int i = 0; i < kAgents; ++i) agents.push_back(absl::StrCat(run, "-agent-", i));

  std::atomic<bool> stop{false};
  std::atomic<int> max_seen{0};
  // A sampler reads every agent's load throughout.
  std::thread sampler([&] {
    while (!stop.load()) {
      for (const auto& a : agents) {
        auto r = redis_->Command({"SCARD", presence_store_->LoadKey(a)});
        if (r.ok() && r->integer > max_seen.load()) max_seen.store(static_cast<int>(r->integer));
      }
    }
  });
  std::mutex mu;
  std::map<std::string, std::set<std::string>> claimed_by;  // ticket -> agents told kClaimed
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < kTickets; ++i) {
        // Every thread races for every ticket, each on a random agent, twice.
        const std::string ticket = absl::StrCat(run, "-ticket-", i);
        for (int attempt = 0; attempt < 2; ++attempt) {
          const std::string& agent = agents[rng() % kAgents];
          auto outcome = presence_store_->Claim(agent, ticket, kCapacity, absl::Now());
          if (!outcome.ok()) {
            ++errors;
            continue;
          }
          if (*outcome == ClaimOutcome::kClaimed) {
            std::lock_guard<std::mutex> lock(mu);
            claimed_by[ticket].insert(agent);
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  stop = true;
  sampler.join();

  EXPECT_EQ(errors.load(), 0);
  EXPECT_LE(max_seen.load(), kCapacity);
  int total = 0;
  for (const auto& a : agents) {
    const int load = Load(a);
    EXPECT_EQ(load, kCapacity) << a;  // 300 tickets for 30 seats: every seat taken
    total += load;
  }
  EXPECT_EQ(total, kAgents * kCapacity);
  EXPECT_EQ(static_cast<int>(claimed_by.size()), kAgents * kCapacity);
  for (const auto& [ticket, holders] : claimed_by) {
    EXPECT_EQ(holders.size(), 1u) << ticket << " claimed by more than one agent";
  }
}

TEST_F(RoutingServiceTest, ClaimsWorkAgainAfterRedisLosesItsScripts) {
  const std::string agent = Unique("flushed");
  ASSERT_TRUE(redis_->Command({"SCRIPT", "FLUSH"}).ok());
  EXPECT_EQ(*presence_store_->Claim(agent, "t-x", 1, absl::Now()), ClaimOutcome::kClaimed);
  EXPECT_EQ(*presence_store_->Claim(agent, "t-y", 1, absl::Now()), ClaimOutcome::kAtCapacity);
}

TEST_F(RoutingServiceTest, SetAndGetPresenceThroughGrpc) {
  pb::SetPresenceRequest set;
  set.set_status(pb::PRESENCE_STATUS_AVAILABLE);  // agent_id empty: the caller's own
  pb::Presence presence;
  grpc::Status st = stub_->SetPresence(Ctx("agent-key-ana").get(), set, &presence);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(presence.agent_id(), "ana");
  EXPECT_EQ(presence.status(), pb::PRESENCE_STATUS_AVAILABLE);
  EXPECT_EQ(presence.capacity(), 2);
  EXPECT_TRUE(presence.has_update_time());
  ASSERT_EQ(*presence_store_->Claim("ana", Unique("ticket"), 2, absl::Now()),
            ClaimOutcome::kClaimed);

  pb::GetPresenceRequest get;
  get.set_agent_id("ana");
  for (const char* key : {kAdminKey, kServiceKey, "agent-key-ana"}) {
    st = stub_->GetPresence(Ctx(key).get(), get, &presence);
    ASSERT_TRUE(st.ok()) << key << ": " << st.error_message();
    EXPECT_EQ(presence.status(), pb::PRESENCE_STATUS_AVAILABLE);
    EXPECT_EQ(presence.active_tickets(), 1);
    EXPECT_TRUE(presence.in_shift());  // no shifts: presence alone decides
  }

  // Bruno has never connected: OFFLINE.
  get.set_agent_id("bruno");
  ASSERT_TRUE(stub_->GetPresence(Ctx().get(), get, &presence).ok());
  EXPECT_EQ(presence.status(), pb::PRESENCE_STATUS_OFFLINE);
  // An agent key sees no other agent, and may not set another's presence.
  EXPECT_EQ(stub_->GetPresence(Ctx("agent-key-ana").get(), get, &presence).error_code(),
            grpc::StatusCode::NOT_FOUND);
  set.set_agent_id("bruno");
  EXPECT_EQ(stub_->SetPresence(Ctx("agent-key-ana").get(), set, &presence).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // An admin may.
  st = stub_->SetPresence(Ctx().get(), set, &presence);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(presence.status(), pb::PRESENCE_STATUS_AVAILABLE);
  set.set_status(pb::PRESENCE_STATUS_OFFLINE);
  ASSERT_TRUE(stub_->SetPresence(Ctx().get(), set, &presence).ok());
  EXPECT_EQ(presence.status(), pb::PRESENCE_STATUS_OFFLINE);
}

TEST_F(RoutingServiceTest, PresenceErrors) {
  pb::SetPresenceRequest set;
  pb::Presence presence;
  set.set_agent_id("bruno");
  grpc::Status st = stub_->SetPresence(Ctx().get(), set, &presence);  // status unspecified
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("status"));
  set.set_status(static_cast<pb::PresenceStatus>(42));
  EXPECT_EQ(stub_->SetPresence(Ctx().get(), set, &presence).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  set.set_status(pb::PRESENCE_STATUS_AVAILABLE);
  set.set_agent_id("nobody");
  EXPECT_EQ(stub_->SetPresence(Ctx().get(), set, &presence).error_code(),
            grpc::StatusCode::NOT_FOUND);
  set.set_agent_id("");
  st = stub_->SetPresence(Ctx().get(), set, &presence);  // an admin must name the agent
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("agent_id"));

  set.set_agent_id("disabled-dan");
  EXPECT_EQ(stub_->SetPresence(Ctx().get(), set, &presence).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  set.set_status(pb::PRESENCE_STATUS_OFFLINE);
  EXPECT_TRUE(stub_->SetPresence(Ctx().get(), set, &presence).ok());

  // Roles: SERVICE and CLIENT keys do not set presence; CLIENT keys do not read it.
  set.set_agent_id("bruno");
  EXPECT_EQ(stub_->SetPresence(Ctx(kServiceKey).get(), set, &presence).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->SetPresence(Ctx(kClientKey).get(), set, &presence).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  pb::GetPresenceRequest get;
  get.set_agent_id("bruno");
  EXPECT_EQ(stub_->GetPresence(Ctx(kClientKey).get(), get, &presence).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->GetPresence(Ctx("").get(), get, &presence).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(RoutingServiceTest, RoutingPolicyDefaultsThenUpdates) {
  pb::GetRoutingPolicyRequest get;
  get.set_tenant_id(tenant_id_);
  pb::RoutingPolicy policy;
  grpc::Status st = stub_->GetRoutingPolicy(Ctx().get(), get, &policy);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(policy.tenant_id(), tenant_id_);
  EXPECT_EQ(policy.overflow_stages_size(), 0);
  EXPECT_EQ(policy.offer_timeout().seconds(), 30);
  EXPECT_EQ(policy.min_language_proficiency(), 3);
  EXPECT_EQ(policy.etag(), "");
  EXPECT_FALSE(policy.has_update_time());

  pb::UpdateRoutingPolicyRequest update;
  update.mutable_routing_policy()->set_tenant_id(tenant_id_);
  auto* stage = update.mutable_routing_policy()->add_overflow_stages();
  stage->set_after_seconds(60);
  stage->set_relax(pb::OVERFLOW_RELAX_ANY_PROFICIENT_LANGUAGE);
  stage = update.mutable_routing_policy()->add_overflow_stages();
  stage->set_after_seconds(180);
  stage->set_relax(pb::OVERFLOW_RELAX_NEXT_TIER);
  update.mutable_routing_policy()->mutable_offer_timeout()->set_seconds(45);
  update.mutable_routing_policy()->set_min_language_proficiency(1);  // not in the mask
  update.mutable_update_mask()->add_paths("overflow_stages");
  update.mutable_update_mask()->add_paths("offer_timeout");
  pb::RoutingPolicy updated;
  st = stub_->UpdateRoutingPolicy(Ctx().get(), update, &updated);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(updated.overflow_stages_size(), 2);
  EXPECT_EQ(updated.overflow_stages(1).relax(), pb::OVERFLOW_RELAX_NEXT_TIER);
  EXPECT_EQ(updated.offer_timeout().seconds(), 45);
  EXPECT_EQ(updated.min_language_proficiency(), 3);
  EXPECT_EQ(updated.etag(), "v1");
  EXPECT_TRUE(updated.has_update_time());

  // The client of that tenant reads it (empty tenant_id: its own), not another's.
  get.clear_tenant_id();
  ASSERT_TRUE(stub_->GetRoutingPolicy(Ctx("client-key-acme").get(), get, &policy).ok());
  EXPECT_EQ(policy.etag(), "v1");
  EXPECT_EQ(policy.overflow_stages(0).after_seconds(), 60);
  get.set_tenant_id(other_tenant_id_);
  EXPECT_EQ(stub_->GetRoutingPolicy(Ctx("client-key-acme").get(), get, &policy).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(stub_->GetRoutingPolicy(Ctx(kServiceKey).get(), get, &policy).ok());
  EXPECT_EQ(policy.etag(), "");  // Globex still has the default

  // A stale etag is refused; only ADMIN updates.
  update.set_etag("v0");
  EXPECT_EQ(stub_->UpdateRoutingPolicy(Ctx().get(), update, &updated).error_code(),
            grpc::StatusCode::ABORTED);
  update.set_etag("v1");
  EXPECT_EQ(stub_->UpdateRoutingPolicy(Ctx("client-key-acme").get(), update, &updated).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->UpdateRoutingPolicy(Ctx().get(), update, &updated).ok());
  EXPECT_EQ(updated.etag(), "v2");
}

TEST_F(RoutingServiceTest, RoutingPolicyErrorsNameTheField) {
  struct Case {
    std::function<void(pb::UpdateRoutingPolicyRequest&)> mutate;
    grpc::StatusCode code;
    std::string text;
  };
  auto stage = [](pb::UpdateRoutingPolicyRequest& r, int after, pb::OverflowRelax relax) {
    auto* s = r.mutable_routing_policy()->add_overflow_stages();
    s->set_after_seconds(after);
    s->set_relax(relax);
  };
  std::vector<Case> cases = {
      {[](auto& r) { r.mutable_update_mask()->Clear(); }, grpc::StatusCode::INVALID_ARGUMENT,
       "update_mask"},
      {[](auto& r) { r.mutable_update_mask()->add_paths("etag"); },
       grpc::StatusCode::INVALID_ARGUMENT, "update_mask"},
      {[&](auto& r) {
         for (int i = 1; i <= 9; ++i) stage(r, i * 10, pb::OVERFLOW_RELAX_SKILLS_OPTIONAL);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "routing_policy.overflow_stages:"},
      {[&](auto& r) {
         stage(r, 60, pb::OVERFLOW_RELAX_SKILLS_OPTIONAL);
         stage(r, 60, pb::OVERFLOW_RELAX_NEXT_TIER);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "routing_policy.overflow_stages[1].after_seconds"},
      {[&](auto& r) { stage(r, 0, pb::OVERFLOW_RELAX_SKILLS_OPTIONAL); },
       grpc::StatusCode::INVALID_ARGUMENT, "routing_policy.overflow_stages[0].after_seconds"},
      {[&](auto& r) { stage(r, 10, pb::OVERFLOW_RELAX_UNSPECIFIED); },
       grpc::StatusCode::INVALID_ARGUMENT, "routing_policy.overflow_stages[0].relax"},
      {[](auto& r) {
         r.mutable_update_mask()->add_paths("offer_timeout");
         r.mutable_routing_policy()->mutable_offer_timeout()->set_seconds(4);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "routing_policy.offer_timeout"},
      {[](auto& r) {
         r.mutable_update_mask()->add_paths("offer_timeout");
         r.mutable_routing_policy()->mutable_offer_timeout()->set_seconds(3601);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "routing_policy.offer_timeout"},
      {[](auto& r) {
         r.mutable_update_mask()->add_paths("min_language_proficiency");
         r.mutable_routing_policy()->set_min_language_proficiency(6);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "routing_policy.min_language_proficiency"},
      {[](auto& r) { r.mutable_routing_policy()->set_tenant_id(""); },
       grpc::StatusCode::INVALID_ARGUMENT, "routing_policy.tenant_id"},
      {[](auto& r) {
         r.mutable_routing_policy()->set_tenant_id("0190a000-0000-7000-8000-0000000000ff");
       },
       grpc::StatusCode::NOT_FOUND, "tenant"},
      {[](auto& r) { r.mutable_routing_policy()->set_tenant_id("acme"); },
       grpc::StatusCode::NOT_FOUND, "tenant"},
  };
  for (const Case& c : cases) {
    pb::UpdateRoutingPolicyRequest req;
    req.mutable_routing_policy()->set_tenant_id(other_tenant_id_);
    req.mutable_update_mask()->add_paths("overflow_stages");
    c.mutate(req);
    pb::RoutingPolicy out;
    grpc::Status st = stub_->UpdateRoutingPolicy(Ctx().get(), req, &out);
    EXPECT_EQ(st.error_code(), c.code) << c.text << ": " << st.error_message();
    EXPECT_THAT(st.error_message(), HasSubstr(c.text));
  }
  pb::GetRoutingPolicyRequest get;  // an admin must name the tenant
  pb::RoutingPolicy out;
  grpc::Status st = stub_->GetRoutingPolicy(Ctx().get(), get, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("tenant_id"));
  // Nothing was stored by the refused updates.
  get.set_tenant_id(other_tenant_id_);
  ASSERT_TRUE(stub_->GetRoutingPolicy(Ctx().get(), get, &out).ok());
  EXPECT_EQ(out.etag(), "");
}

TEST_F(RoutingServiceTest, ListQueueShowsEachCallerItsScope) {
  auto add = [&](const std::string& tenant, int priority) {
    TicketCopy t{.ticket_id = ids_->NewId(),
                 .tenant_id = tenant,
                 .subject = "s",
                 .language = "pt-BR",
                 .priority = priority,
                 .required_skills = {"printers"},
                 .status = 1,
                 .assignee_id = "",
                 .version = 1};
    EXPECT_TRUE(queue_->OnTicket(t, absl::Now()).ok());
    return t.ticket_id;
  };
  const std::string acme_low = add(tenant_id_, 1);
  const std::string acme_urgent = add(tenant_id_, 4);
  const std::string globex = add(other_tenant_id_, 2);
  auto list = [&](const std::string& key, const std::string& tenant_filter) {
    pb::ListQueueRequest req;
    req.mutable_filter()->set_tenant_id(tenant_filter);
    req.mutable_filter()->set_language("pt-br");
    pb::ListQueueResponse resp;
    grpc::Status st = stub_->ListQueue(Ctx(key).get(), req, &resp);
    EXPECT_TRUE(st.ok()) << key << ": " << st.error_message();
    std::vector<std::string> ids;
    for (const auto& q : resp.queued_tickets()) ids.push_back(q.ticket_id());
    return ids;
  };
  EXPECT_THAT(list(kAdminKey, ""), ::testing::ElementsAre(acme_urgent, globex, acme_low));
  EXPECT_THAT(list(kServiceKey, other_tenant_id_), ::testing::ElementsAre(globex));
  EXPECT_THAT(list("client-key-acme", ""), ::testing::ElementsAre(acme_urgent, acme_low));
  EXPECT_TRUE(list("client-key-acme", other_tenant_id_).empty());
  // Ana's Globex certification lapsed: she sees Acme's queue only.
  EXPECT_THAT(list("agent-key-ana", ""), ::testing::ElementsAre(acme_urgent, acme_low));

  pb::ListQueueRequest req;
  pb::ListQueueResponse resp;
  req.mutable_filter()->set_language("pt-BR");
  req.set_page_size(1);
  ASSERT_TRUE(stub_->ListQueue(Ctx().get(), req, &resp).ok());
  ASSERT_EQ(resp.queued_tickets_size(), 1);
  const auto& first = resp.queued_tickets(0);
  EXPECT_EQ(first.ticket_id(), acme_urgent);
  EXPECT_EQ(first.priority(), common::v1::PRIORITY_URGENT);
  EXPECT_THAT(first.required_skills(), ::testing::ElementsAre("printers"));
  EXPECT_GE(first.wait_time().seconds(), 0);
  EXPECT_FALSE(resp.next_page_token().empty());
  // A client cannot use an admin's page token.
  req.set_page_token(resp.next_page_token());
  grpc::Status st = stub_->ListQueue(Ctx("client-key-acme").get(), req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("page_token"));
  req.clear_page_token();
  req.mutable_filter()->set_language("no such tag!");
  st = stub_->ListQueue(Ctx().get(), req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("filter.language"));
}

}  // namespace
}  // namespace sundesk::routing
