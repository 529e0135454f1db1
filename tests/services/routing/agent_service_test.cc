// AgentService end to end in one process: a real PostgreSQL (throwaway cluster), the
// routing migrations, and a gRPC server on port 0, driven through the generated stub with
// admin, service and agent keys.
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/core/status.h"
#include "libs/core/worker_pool.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pool.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/client.h"
#include "libs/rpc/server.h"
#include "prometheus/registry.h"
#include "services/routing/api/agent_service_handlers.h"
#include "services/routing/domain/agent_directory.h"
#include "services/routing/store/migrations.h"
#include "services/routing/store/pg_agent_store.h"
#include "sundesk/routing/v1/agent_service.grpc.pb.h"
#include "tests/support/postgres_server.h"

namespace sundesk::routing {
namespace {

namespace pb = ::sundesk::routing::v1;
using ::testing::HasSubstr;

constexpr char kAdminKey[] = "admin-key-for-tests";
constexpr char kServiceKey[] = "service-key-for-tests";
constexpr char kClientKey[] = "client-key-for-tests";
constexpr char kTenantA[] = "0190a000-0000-7000-8000-00000000000a";
constexpr char kTenantB[] = "0190a000-0000-7000-8000-00000000000b";

class AgentServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = testing::PostgresServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    postgres_ = server->release();
    auto dsn = postgres_->CreateDatabase("routing");
    ASSERT_TRUE(dsn.ok()) << dsn.status();
    auto pool = pg::Pool::Create({.dsn = *dsn, .acquire_timeout = absl::Seconds(5)});
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = pool->release();
    absl::Status migrated = pg::RunMigrations(*pool_, "routing", Migrations());
    ASSERT_TRUE(migrated.ok()) << migrated;
    // Running them again changes nothing.
    ASSERT_TRUE(pg::RunMigrations(*pool_, "routing", Migrations()).ok());
    store_ = new PgAgentStore(*pool_);
    clock_ = new FakeClock(absl::Now());
    ids_ = new UuidV7Generator(*clock_);
    tokens_ = new api::PageTokenSigner("routing-test-page-token-key");
    directory_ = new AgentDirectory(*store_, *clock_, *ids_, *tokens_);
    auth_ = new rpc::StaticKeyAuthenticator();
    auth_->Add(kAdminKey, {.role = rpc::Role::kAdmin, .key_id = "admin"});
    auth_->Add(kServiceKey, {.role = rpc::Role::kService, .key_id = "service"});
    auth_->Add(kClientKey, {.role = rpc::Role::kClient, .tenant_id = kTenantA, .key_id = "c"});
    auth_->Add("agent-key-ana", {.role = rpc::Role::kAgent, .agent_id = "ana", .key_id = "k1"});
    workers_ = new WorkerPool(4, "rpc");
    handlers_ = new AgentServiceHandlers(*directory_, *auth_, workers_);
    metrics_ = new prometheus::Registry();
    rpc::ServerOptions options;
    options.services = {{pb::AgentService::service_full_name(), handlers_}};
    auto started = rpc::Server::Start(std::move(options), *metrics_);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = started->release();
    auto channel = rpc::MakeChannel({.target = absl::StrCat("127.0.0.1:", server_->port())});
    ASSERT_TRUE(channel.ok());
    stub_ = pb::AgentService::NewStub(*channel).release();
  }

  static void TearDownTestSuite() {
    delete stub_;
    if (server_ != nullptr) server_->Shutdown();
    delete workers_;  // runs what is queued, while the handlers still exist
    delete server_;
    delete metrics_;
    delete handlers_;
    delete auth_;
    delete directory_;
    delete tokens_;
    delete ids_;
    delete clock_;
    delete store_;
    delete pool_;
    delete postgres_;
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& key = kAdminKey) {
    return rpc::NewClientContext({.timeout = absl::Seconds(10), .api_key = key});
  }

  static pb::Agent Sample(const std::string& name) {
    pb::Agent a;
    a.set_display_name(name);
    auto* l = a.add_languages();
    l->set_code("pt-BR");
    l->set_proficiency(5);
    l = a.add_languages();
    l->set_code("en");
    l->set_proficiency(3);
    auto* s = a.add_skills();
    s->set_name("printers");
    s->set_level(4);
    auto* c = a.add_certifications();
    c->set_tenant_id(kTenantA);
    c->mutable_expire_time()->set_seconds(absl::ToUnixSeconds(clock_->Now() + absl::Hours(24)));
    a.set_capacity(3);
    a.set_time_zone("America/Sao_Paulo");
    auto* shift = a.add_shifts();
    shift->set_weekday(1);
    shift->set_start("22:00");
    shift->set_end("06:00");
    a.set_tier(1);
    return a;
  }

  static grpc::Status Create(const pb::Agent& agent, pb::Agent* out, const std::string& id = "",
                             const std::string& request_id = "",
                             const std::string& key = kAdminKey) {
    pb::CreateAgentRequest req;
    *req.mutable_agent() = agent;
    req.set_agent_id(id);
    req.set_request_id(request_id);
    return stub_->CreateAgent(Ctx(key).get(), req, out);
  }

  static pb::Agent MustCreate(const pb::Agent& agent, const std::string& id = "") {
    pb::Agent out;
    grpc::Status st = Create(agent, &out, id);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }

  static inline testing::PostgresServer* postgres_ = nullptr;
  static inline pg::Pool* pool_ = nullptr;
  static inline PgAgentStore* store_ = nullptr;
  static inline FakeClock* clock_ = nullptr;
  static inline UuidV7Generator* ids_ = nullptr;
  static inline api::PageTokenSigner* tokens_ = nullptr;
  static inline AgentDirectory* directory_ = nullptr;
  static inline rpc::StaticKeyAuthenticator* auth_ = nullptr;
  static inline WorkerPool* workers_ = nullptr;
  static inline AgentServiceHandlers* handlers_ = nullptr;
  static inline prometheus::Registry* metrics_ = nullptr;
  static inline rpc::Server* server_ = nullptr;
  static inline pb::AgentService::Stub* stub_ = nullptr;
};

TEST_F(AgentServiceTest, CreateThenGetReturnsEveryField) {
  pb::Agent created = MustCreate(Sample("Beatriz Souza"));
  EXPECT_FALSE(created.agent_id().empty());
  EXPECT_EQ(created.etag(), "v1");
  EXPECT_GT(created.create_time().seconds(), 0);

  pb::GetAgentRequest req;
  req.set_agent_id(created.agent_id());
  pb::Agent got;
  grpc::Status st = stub_->GetAgent(Ctx().get(), req, &got);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, created))
      << got.DebugString() << "\nvs\n"
      << created.DebugString();
  ASSERT_EQ(got.languages_size(), 2);
  EXPECT_EQ(got.languages(0).code(), "pt-BR");
  EXPECT_EQ(got.languages(1).proficiency(), 3);
  EXPECT_EQ(got.shifts(0).start(), "22:00");
  EXPECT_EQ(got.shifts(0).end(), "06:00");
  EXPECT_EQ(got.certifications(0).tenant_id(), kTenantA);
}

TEST_F(AgentServiceTest, CallerChosenIdAndItsDuplicate) {
  pb::Agent created = MustCreate(Sample("Carla"), "hr-1001");
  EXPECT_EQ(created.agent_id(), "hr-1001");
  pb::Agent out;
  grpc::Status st = Create(Sample("Other"), &out, "hr-1001");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(st.error_message(), HasSubstr("agent_id"));
  st = Create(Sample("Bad id"), &out, "HR_1002");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("agent_id"));
}

TEST_F(AgentServiceTest, SameRequestIdReturnsTheSameAgent) {
  pb::Agent first;
  ASSERT_TRUE(Create(Sample("Dora"), &first, "", "req-dora").ok());
  pb::Agent again;
  ASSERT_TRUE(Create(Sample("Dora"), &again, "", "req-dora").ok());
  EXPECT_EQ(first.agent_id(), again.agent_id());
  pb::Agent other;
  grpc::Status st = Create(Sample("Not Dora"), &other, "", "req-dora");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(st.error_message(), HasSubstr("request_id"));
}

TEST_F(AgentServiceTest, InvalidFieldsAreNamed) {
  struct Case {
    std::function<void(pb::Agent&)> mutate;
    std::string field;
  };
  std::vector<Case> cases = {
      {[](pb::Agent& a) { a.set_display_name(""); }, "agent.display_name"},
      {[](pb::Agent& a) { a.mutable_languages(1)->set_code("english!"); },
       "agent.languages[1].code"},
      {[](pb::Agent& a) { a.mutable_languages(0)->set_proficiency(6); },
       "agent.languages[0].proficiency"},
      {[](pb::Agent& a) { a.mutable_languages(1)->set_code("PT-br"); },
       "agent.languages[1].code"},  // listed twice
      {[](pb::Agent& a) { a.clear_languages(); }, "agent.languages"},
      {[](pb::Agent& a) { a.mutable_skills(0)->set_level(0); }, "agent.skills[0].level"},
      {[](pb::Agent& a) { a.mutable_skills(0)->set_name(""); }, "agent.skills[0].name"},
      {[](pb::Agent& a) { a.mutable_certifications(0)->set_tenant_id("acme"); },
       "agent.certifications[0].tenant_id"},
      {[](pb::Agent& a) { a.mutable_certifications(0)->mutable_expire_time()->set_nanos(-1); },
       "agent.certifications[0].expire_time"},
      {[](pb::Agent& a) { a.set_capacity(-2); }, "agent.capacity"},
      {[](pb::Agent& a) { a.set_capacity(0); }, "agent.capacity"},
      {[](pb::Agent& a) { a.set_time_zone("Mars/Olympus"); }, "agent.time_zone"},
      {[](pb::Agent& a) { a.set_time_zone(""); }, "agent.time_zone"},
      {[](pb::Agent& a) { a.mutable_shifts(0)->set_weekday(8); }, "agent.shifts[0].weekday"},
      {[](pb::Agent& a) { a.mutable_shifts(0)->set_start("24:00"); }, "agent.shifts[0].start"},
      {[](pb::Agent& a) { a.mutable_shifts(0)->set_end("9:00"); }, "agent.shifts[0].end"},
      {[](pb::Agent& a) { a.set_tier(-1); }, "agent.tier"},
  };
  for (const Case& c : cases) {
    pb::Agent a = Sample("Invalid");
    c.mutate(a);
    pb::Agent out;
    grpc::Status st = Create(a, &out);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(st.error_message(), HasSubstr(c.field + ":")) << st.error_message();
  }
}

TEST_F(AgentServiceTest, RolesAndAgentSeesOnlyItself) {
  pb::Agent ana = MustCreate(Sample("Ana"), "ana");
  MustCreate(Sample("Bruno"), "bruno");
  pb::Agent out;
  // Only ADMIN creates.
  for (const char* key : {kServiceKey, kClientKey, "agent-key-ana"}) {
    EXPECT_EQ(Create(Sample("X"), &out, "", "", key).error_code(),
              grpc::StatusCode::PERMISSION_DENIED)
        << key;
  }
  EXPECT_EQ(Create(Sample("X"), &out, "", "", "unknown-key").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  pb::GetAgentRequest get;
  get.set_agent_id("ana");
  ASSERT_TRUE(stub_->GetAgent(Ctx("agent-key-ana").get(), get, &out).ok());
  EXPECT_EQ(out.display_name(), "Ana");
  get.set_agent_id("bruno");
  EXPECT_EQ(stub_->GetAgent(Ctx("agent-key-ana").get(), get, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  get.set_agent_id("nobody");
  EXPECT_EQ(stub_->GetAgent(Ctx().get(), get, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  get.set_agent_id("");
  EXPECT_EQ(stub_->GetAgent(Ctx().get(), get, &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  get.set_agent_id("bruno");
  EXPECT_TRUE(stub_->GetAgent(Ctx(kServiceKey).get(), get, &out).ok());
  EXPECT_EQ(stub_->GetAgent(Ctx(kClientKey).get(), get, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  pb::ListAgentsRequest list;
  pb::ListAgentsResponse listed;
  EXPECT_EQ(stub_->ListAgents(Ctx("agent-key-ana").get(), list, &listed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(stub_->ListAgents(Ctx(kServiceKey).get(), list, &listed).ok());

  pb::UpdateAgentRequest update;
  update.mutable_agent()->set_agent_id("ana");
  update.mutable_agent()->set_capacity(9);
  update.mutable_update_mask()->add_paths("capacity");
  EXPECT_EQ(stub_->UpdateAgent(Ctx("agent-key-ana").get(), update, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ana.capacity(), 3);
}

TEST_F(AgentServiceTest, UpdateReplacesMaskedFieldsAndChecksEtag) {
  pb::Agent agent = MustCreate(Sample("Elena"));
  pb::UpdateAgentRequest req;
  req.mutable_agent()->set_agent_id(agent.agent_id());
  req.mutable_agent()->set_capacity(5);
  auto* l = req.mutable_agent()->add_languages();
  l->set_code("sv");
  l->set_proficiency(4);
  req.mutable_agent()->set_display_name("ignored: not in the mask");
  req.mutable_update_mask()->add_paths("capacity");
  req.mutable_update_mask()->add_paths("languages");
  req.set_etag(agent.etag());
  pb::Agent updated;
  grpc::Status st = stub_->UpdateAgent(Ctx().get(), req, &updated);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(updated.capacity(), 5);
  ASSERT_EQ(updated.languages_size(), 1);
  EXPECT_EQ(updated.languages(0).code(), "sv");
  EXPECT_EQ(updated.display_name(), "Elena");
  EXPECT_EQ(updated.skills_size(), 1);  // not in the mask: kept
  EXPECT_EQ(updated.etag(), "v2");

  pb::GetAgentRequest get;
  get.set_agent_id(agent.agent_id());
  pb::Agent got;
  ASSERT_TRUE(stub_->GetAgent(Ctx().get(), get, &got).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, updated));

  // The first etag is stale now.
  EXPECT_EQ(stub_->UpdateAgent(Ctx().get(), req, &updated).error_code(), grpc::StatusCode::ABORTED);

  req.clear_etag();
  req.mutable_update_mask()->Clear();
  st = stub_->UpdateAgent(Ctx().get(), req, &updated);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("update_mask"));
  req.mutable_update_mask()->add_paths("create_time");
  st = stub_->UpdateAgent(Ctx().get(), req, &updated);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("update_mask"));
  req.mutable_update_mask()->Clear();
  req.mutable_update_mask()->add_paths("capacity");
  req.mutable_agent()->set_capacity(-1);
  st = stub_->UpdateAgent(Ctx().get(), req, &updated);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("agent.capacity"));
  req.mutable_agent()->set_agent_id("no-such-agent");
  req.mutable_agent()->set_capacity(2);
  EXPECT_EQ(stub_->UpdateAgent(Ctx().get(), req, &updated).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(AgentServiceTest, ListFiltersAndPagesInDisplayNameOrder) {
  // A tenant and a language no other test uses keep this listing to these agents.
  const std::string tenant = "0190a000-0000-7000-8000-0000000000cc";
  std::set<std::string> expected_names;
  for (int i = 0; i < 7; ++i) {
    pb::Agent a = Sample(absl::StrCat("Lister ", std::string(1, static_cast<char>('G' - i))));
    a.mutable_certifications(0)->set_tenant_id(tenant);
    a.mutable_languages(1)->set_code("fi");
    if (i == 6) a.mutable_certifications(0)->mutable_expire_time()->set_seconds(1);  // lapsed
    if (i == 5) a.set_tier(2);
    if (i == 4) a.set_disabled(true);
    MustCreate(a);
  }
  pb::ListAgentsRequest req;
  req.mutable_filter()->set_tenant_id(tenant);
  req.set_page_size(2);
  std::vector<std::string> names;
  for (int pages = 0; pages < 10; ++pages) {
    pb::ListAgentsResponse resp;
    grpc::Status st = stub_->ListAgents(Ctx().get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    for (const auto& a : resp.agents()) names.push_back(a.display_name());
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  // i = 6 (Lister A) has lapsed, i = 4 (Lister C) is disabled.
  EXPECT_THAT(names,
              ::testing::ElementsAre("Lister B", "Lister D", "Lister E", "Lister F", "Lister G"));

  pb::ListAgentsRequest tiered;
  tiered.mutable_filter()->set_tenant_id(tenant);
  tiered.mutable_filter()->set_tier(2);
  pb::ListAgentsResponse resp;
  ASSERT_TRUE(stub_->ListAgents(Ctx().get(), tiered, &resp).ok());
  ASSERT_EQ(resp.agents_size(), 1);
  EXPECT_EQ(resp.agents(0).display_name(), "Lister B");

  pb::ListAgentsRequest with_disabled;
  with_disabled.mutable_filter()->set_language("FI");
  with_disabled.mutable_filter()->set_include_disabled(true);
  ASSERT_TRUE(stub_->ListAgents(Ctx().get(), with_disabled, &resp).ok());
  EXPECT_EQ(resp.agents_size(), 7);

  // A token belongs to its query: reused with another filter it is refused.
  ASSERT_FALSE(req.page_token().empty());
  req.mutable_filter()->set_language("fi");
  grpc::Status st = stub_->ListAgents(Ctx().get(), req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("page_token"));

  pb::ListAgentsRequest bad;
  bad.mutable_filter()->set_language("not a tag");
  st = stub_->ListAgents(Ctx().get(), bad, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("filter.language"));
  bad.Clear();
  bad.set_page_size(-1);
  st = stub_->ListAgents(Ctx().get(), bad, &resp);
  EXPECT_THAT(st.error_message(), HasSubstr("page_size"));
}

TEST_F(AgentServiceTest, SkillNamesWithQuotesAndCommasSurvive) {
  pb::Agent a = Sample("Quoting");
  a.mutable_skills(0)->set_name("sap \"fi\", co\\mm");
  pb::Agent created = MustCreate(a);
  pb::ListAgentsRequest req;
  req.mutable_filter()->set_skill("sap \"fi\", co\\mm");
  pb::ListAgentsResponse resp;
  ASSERT_TRUE(stub_->ListAgents(Ctx().get(), req, &resp).ok());
  ASSERT_EQ(resp.agents_size(), 1);
  EXPECT_EQ(resp.agents(0).agent_id(), created.agent_id());
  EXPECT_EQ(resp.agents(0).skills(0).name(), "sap \"fi\", co\\mm");
}

}  // namespace
}  // namespace sundesk::routing
