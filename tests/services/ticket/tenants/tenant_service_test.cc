// TenantService and API-key authentication end to end in one process: a real PostgreSQL
// (throwaway cluster), the service's migrations, and two "replicas" (each its own gRPC
// server on port 0 with its own key cache) sharing the database, driven through the
// generated stubs.
#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <set>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "libs/core/status.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pool.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/client.h"
#include "libs/rpc/server.h"
#include "libs/runtime/issued_keys.h"
#include "prometheus/registry.h"
#include "services/ticket/api/tenant_service_handlers.h"
#include "services/ticket/client/tenant_lookup.h"
#include "services/ticket/domain/api_key.h"
#include "services/ticket/store/pg_tenant_store.h"
#include "services/ticket/store/schema.h"
#include "sundesk/ticket/v1/tenant_service.grpc.pb.h"
#include "tests/support/migrated_database.h"
#include "tests/support/process.h"

namespace sundesk::ticket {
namespace {

namespace v1 = ::sundesk::ticket::v1;
using ::sundesk::common::v1::Role;
using ::testing::HasSubstr;

constexpr char kBootstrapAdmin[] = "bootstrap-admin-key-for-tests";

// One replica of the ticket service's TenantService: its own verifier (and so its own key
// cache), authenticator chain, handlers and gRPC server.
struct Replica {
  Replica(TenantStore& store, const Clock& clock, IdGenerator& ids,
          const api::PageTokenSigner& tokens)
      : registry(store, clock, ids, tokens), verifier(store, clock, absl::Milliseconds(500)) {
    statics.Add(kBootstrapAdmin, {.role = rpc::Role::kAdmin, .key_id = "bootstrap"});
    statics.Add("service-key-for-tests", {.role = rpc::Role::kService, .key_id = "service"});
  }

  absl::Status Start() {
    rpc::ServerOptions options;
    options.services = {{v1::TenantService::service_full_name(), &handlers}};
    SUNDESK_ASSIGN_OR_RETURN(server, rpc::Server::Start(std::move(options), *registry_metrics));
    SUNDESK_ASSIGN_OR_RETURN(
        channel, rpc::MakeChannel({.target = absl::StrCat("127.0.0.1:", server->port())}));
    stub = v1::TenantService::NewStub(channel);
    return absl::OkStatus();
  }

  TenantRegistry registry;
  ApiKeyVerifier verifier;
  KeyAuthenticator keys{verifier};
  rpc::StaticKeyAuthenticator statics;
  rpc::ChainAuthenticator auth{{&statics, &keys}};
  TenantServiceHandlers handlers{registry, auth};
  std::shared_ptr<prometheus::Registry> registry_metrics = std::make_shared<prometheus::Registry>();
  std::unique_ptr<rpc::Server> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::TenantService::Stub> stub;
};

class TenantServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto db = testing::MigratedDatabase::Start(
        {.database = "tenants",
         .schemas = {{kSchema, AllMigrations()}},
         .pool = {.connect_timeout = absl::Seconds(1), .acquire_timeout = absl::Seconds(2)}});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = db->release();
    pool_ = db_->pool.get();
    store_ = new PgTenantStore(*pool_);
    clock_ = new SystemClock();
    ids_ = new UuidV7Generator(*clock_);
    tokens_ = new api::PageTokenSigner("integration-test-page-token-key");
    a_ = new Replica(*store_, *clock_, *ids_, *tokens_);
    b_ = new Replica(*store_, *clock_, *ids_, *tokens_);
    ASSERT_TRUE(a_->Start().ok());
    ASSERT_TRUE(b_->Start().ok());
  }

  static void TearDownTestSuite() {
    for (Replica* r : {a_, b_}) {
      if (r != nullptr && r->server) r->server->Shutdown();
      delete r;
    }
    delete tokens_;
    delete ids_;
    delete clock_;
    delete store_;
    delete db_;
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& key = kBootstrapAdmin) {
    return rpc::NewClientContext({.timeout = absl::Seconds(10), .api_key = key});
  }

  // A valid tenant with a name no other test uses.
  static v1::Tenant Sample(absl::string_view label) {
    static int counter = 0;
    v1::Tenant t;
    t.set_name(absl::StrCat("Acme ", label, " ", ++counter, " ", ids_->NewId()));
    t.set_time_zone("America/Sao_Paulo");
    t.set_default_language("pt-BR");
    t.add_languages("pt-BR");
    t.add_languages("en");
    t.set_guidelines("Greet with 'Olá'. Never promise refunds.");
    return t;
  }

  static v1::Tenant MustCreate(const v1::Tenant& t, const std::string& request_id = "") {
    v1::CreateTenantRequest req;
    req.set_request_id(request_id);
    *req.mutable_tenant() = t;
    v1::Tenant out;
    grpc::Status st = a_->stub->CreateTenant(Ctx().get(), req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }

  static v1::CreateApiKeyResponse MustCreateKey(Role role, const std::string& tenant_id = "",
                                                const std::string& agent_id = "") {
    v1::CreateApiKeyRequest req;
    req.mutable_api_key()->set_role(role);
    req.mutable_api_key()->set_tenant_id(tenant_id);
    req.mutable_api_key()->set_agent_id(agent_id);
    req.mutable_api_key()->set_display_name("integration");
    v1::CreateApiKeyResponse out;
    grpc::Status st = a_->stub->CreateApiKey(Ctx().get(), req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }

  static grpc::Status Get(Replica& r, const std::string& key, const std::string& tenant_id,
                          v1::Tenant* out = nullptr) {
    v1::GetTenantRequest req;
    req.set_tenant_id(tenant_id);
    v1::Tenant ignored;
    return r.stub->GetTenant(Ctx(key).get(), req, out != nullptr ? out : &ignored);
  }

  static testing::MigratedDatabase* db_;
  static pg::Pool* pool_;  // db_'s
  static PgTenantStore* store_;
  static SystemClock* clock_;
  static UuidV7Generator* ids_;
  static api::PageTokenSigner* tokens_;
  static Replica* a_;
  static Replica* b_;
};

testing::MigratedDatabase* TenantServiceTest::db_ = nullptr;
pg::Pool* TenantServiceTest::pool_ = nullptr;
PgTenantStore* TenantServiceTest::store_ = nullptr;
SystemClock* TenantServiceTest::clock_ = nullptr;
UuidV7Generator* TenantServiceTest::ids_ = nullptr;
api::PageTokenSigner* TenantServiceTest::tokens_ = nullptr;
Replica* TenantServiceTest::a_ = nullptr;
Replica* TenantServiceTest::b_ = nullptr;

TEST_F(TenantServiceTest, CreateGetUpdate) {
  v1::Tenant in = Sample("crud");
  in.set_tenant_id("ignored-output-only");
  v1::Tenant created = MustCreate(in);
  EXPECT_TRUE(IsUuid(created.tenant_id()));
  EXPECT_EQ(created.name(), in.name());
  EXPECT_EQ(created.routing_mode(), v1::ROUTING_MODE_OFFER);  // UNSPECIFIED -> OFFER
  EXPECT_THAT(created.languages(), ::testing::ElementsAre("pt-BR", "en"));
  EXPECT_FALSE(created.etag().empty());
  EXPECT_GT(created.create_time().seconds(), 0);

  v1::Tenant got;
  ASSERT_TRUE(Get(*b_, kBootstrapAdmin, created.tenant_id(), &got).ok());
  EXPECT_EQ(got.SerializeAsString(), created.SerializeAsString());

  v1::UpdateTenantRequest update;
  update.mutable_tenant()->set_tenant_id(created.tenant_id());
  update.mutable_tenant()->set_guidelines("Be brief.");
  update.mutable_tenant()->set_routing_mode(v1::ROUTING_MODE_AUTO_ASSIGN);
  update.mutable_tenant()->set_name("not in the mask: ignored");
  update.mutable_update_mask()->add_paths("guidelines");
  update.mutable_update_mask()->add_paths("routing_mode");
  update.set_etag(created.etag());
  v1::Tenant updated;
  grpc::Status st = a_->stub->UpdateTenant(Ctx().get(), update, &updated);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(updated.guidelines(), "Be brief.");
  EXPECT_EQ(updated.routing_mode(), v1::ROUTING_MODE_AUTO_ASSIGN);
  EXPECT_EQ(updated.name(), created.name());
  EXPECT_NE(updated.etag(), created.etag());

  // The same etag again is stale now.
  v1::Tenant ignored;
  st = a_->stub->UpdateTenant(Ctx().get(), update, &ignored);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ABORTED) << st.error_message();
  EXPECT_THAT(st.error_message(), HasSubstr("etag"));

  EXPECT_EQ(Get(*a_, kBootstrapAdmin, ids_->NewId()).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Get(*a_, kBootstrapAdmin, "not-a-uuid").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Get(*a_, kBootstrapAdmin, "").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// The other services' view of tenants: GrpcTenantLookup with their SERVICE key.
TEST_F(TenantServiceTest, OtherServicesLookUpTenantsWithTheirServiceKey) {
  const v1::Tenant created = MustCreate(Sample("lookup"));
  GrpcTenantLookup lookup(a_->channel, "service-key-for-tests");
  auto found = lookup.GetTenant(created.tenant_id());
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->tenant_id(), created.tenant_id());
  EXPECT_EQ(found->guidelines(), "Greet with 'Olá'. Never promise refunds.");
  EXPECT_EQ(found->languages_size(), 2);

  auto missing = lookup.GetTenant(ids_->NewId());
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
  EXPECT_THAT(missing.status().message(), HasSubstr("tenant_id"));
  EXPECT_TRUE(absl::IsNotFound(lookup.GetTenant("not a tenant id").status()));

  // A key the ticket service refuses is the caller's configuration error, not a missing tenant.
  GrpcTenantLookup misconfigured(a_->channel, "not-a-key");
  auto refused = misconfigured.GetTenant(created.tenant_id());
  EXPECT_TRUE(absl::IsUnavailable(refused.status())) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("service-key"));
}

TEST_F(TenantServiceTest, EveryValidationErrorNamesItsField) {
  struct Case {
    const char* field;
    std::function<void(v1::Tenant&)> mutate;
  };
  const std::vector<Case> cases = {
      {"tenant.name", [](v1::Tenant& t) { t.set_name(""); }},
      {"tenant.name", [](v1::Tenant& t) { t.set_name(std::string(201, 'x')); }},
      {"tenant.time_zone", [](v1::Tenant& t) { t.set_time_zone("Europe/Atlantis"); }},
      {"tenant.time_zone", [](v1::Tenant& t) { t.set_time_zone(""); }},
      {"tenant.default_language", [](v1::Tenant& t) { t.set_default_language("portuguese"); }},
      {"tenant.default_language", [](v1::Tenant& t) { t.set_default_language("sv"); }},
      {"tenant.languages[1]", [](v1::Tenant& t) { t.set_languages(1, "en_US"); }},
      {"tenant.guidelines", [](v1::Tenant& t) { t.set_guidelines(std::string(16385, 'g')); }},
      {"tenant.routing_mode",
       [](v1::Tenant& t) { t.set_routing_mode(static_cast<v1::RoutingMode>(9)); }},
  };
  for (const Case& c : cases) {
    v1::CreateTenantRequest req;
    *req.mutable_tenant() = Sample("invalid");
    c.mutate(*req.mutable_tenant());
    v1::Tenant out;
    grpc::Status st = a_->stub->CreateTenant(Ctx().get(), req, &out);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(st.error_message(), HasSubstr(c.field));
  }

  // Invalid UTF-8 in a string field never reaches the handler: gRPC's protobuf parser
  // refuses the request first (the domain's UTF-8 checks are covered by the unit tests).
  {
    v1::CreateTenantRequest req;
    *req.mutable_tenant() = Sample("bad-utf8");
    req.mutable_tenant()->set_name("bad \xC3\x28 utf8");
    v1::Tenant out;
    grpc::Status st = a_->stub->CreateTenant(Ctx().get(), req, &out);
    EXPECT_FALSE(st.ok());
  }

  v1::Tenant t = MustCreate(Sample("update-invalid"));
  v1::UpdateTenantRequest update;
  update.mutable_tenant()->set_tenant_id(t.tenant_id());
  v1::Tenant out;
  grpc::Status st = a_->stub->UpdateTenant(Ctx().get(), update, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("update_mask"));
  update.mutable_update_mask()->add_paths("etag");
  st = a_->stub->UpdateTenant(Ctx().get(), update, &out);
  EXPECT_THAT(st.error_message(), HasSubstr("update_mask"));
  update.mutable_update_mask()->set_paths(0, "time_zone");
  update.mutable_tenant()->set_time_zone("Nowhere");
  st = a_->stub->UpdateTenant(Ctx().get(), update, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("tenant.time_zone"));

  struct KeyCase {
    const char* field;
    grpc::StatusCode code;
    std::function<void(v1::ApiKey&)> fill;
  };
  const std::vector<KeyCase> key_cases = {
      {"api_key.role", grpc::StatusCode::INVALID_ARGUMENT, [](v1::ApiKey&) {}},
      {"api_key.role", grpc::StatusCode::INVALID_ARGUMENT,
       [](v1::ApiKey& k) { k.set_role(::sundesk::common::v1::ROLE_SERVICE); }},
      {"api_key.tenant_id", grpc::StatusCode::INVALID_ARGUMENT,
       [](v1::ApiKey& k) { k.set_role(::sundesk::common::v1::ROLE_CLIENT); }},
      {"api_key.tenant_id", grpc::StatusCode::NOT_FOUND,
       [](v1::ApiKey& k) {
         k.set_role(::sundesk::common::v1::ROLE_CLIENT);
         k.set_tenant_id(ids_->NewId());
       }},
      {"api_key.agent_id", grpc::StatusCode::INVALID_ARGUMENT,
       [](v1::ApiKey& k) { k.set_role(::sundesk::common::v1::ROLE_AGENT); }},
      {"api_key.expire_time", grpc::StatusCode::INVALID_ARGUMENT,
       [](v1::ApiKey& k) {
         k.set_role(::sundesk::common::v1::ROLE_ADMIN);
         k.mutable_expire_time()->set_seconds(1000);
       }},
  };
  for (const KeyCase& c : key_cases) {
    v1::CreateApiKeyRequest req;
    c.fill(*req.mutable_api_key());
    v1::CreateApiKeyResponse resp;
    grpc::Status kst = a_->stub->CreateApiKey(Ctx().get(), req, &resp);
    EXPECT_EQ(kst.error_code(), c.code) << c.field << ": " << kst.error_message();
    EXPECT_THAT(kst.error_message(), HasSubstr(c.field));
  }
}

TEST_F(TenantServiceTest, IdempotentCreate) {
  v1::Tenant in = Sample("idem");
  const std::string request_id = ids_->NewId();
  v1::Tenant first = MustCreate(in, request_id);
  v1::Tenant again = MustCreate(in, request_id);
  EXPECT_EQ(again.tenant_id(), first.tenant_id());
  EXPECT_EQ(again.etag(), first.etag());

  v1::CreateTenantRequest changed;
  changed.set_request_id(request_id);
  *changed.mutable_tenant() = in;
  changed.mutable_tenant()->set_guidelines("different");
  v1::Tenant out;
  grpc::Status st = a_->stub->CreateTenant(Ctx().get(), changed, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(st.error_message(), HasSubstr("request_id"));

  // Another request with a taken name.
  v1::CreateTenantRequest dup;
  dup.set_request_id(ids_->NewId());
  *dup.mutable_tenant() = in;
  st = a_->stub->CreateTenant(Ctx().get(), dup, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(st.error_message(), HasSubstr("tenant.name"));
}

TEST_F(TenantServiceTest, ConcurrentDuplicatesCreateOneTenant) {
  v1::CreateTenantRequest req;
  req.set_request_id(ids_->NewId());
  *req.mutable_tenant() = Sample("race");
  constexpr int kCallers = 16;
  std::vector<std::string> ids(kCallers);
  std::vector<grpc::Status> statuses(kCallers);
  std::vector<std::thread> callers;
  callers.reserve(kCallers);
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, i] {
      v1::Tenant out;
      statuses[i] = (i % 2 == 0 ? a_ : b_)->stub->CreateTenant(Ctx().get(), req, &out);
      ids[i] = out.tenant_id();
    });
  }
  for (auto& t : callers) t.join();
  for (int i = 0; i < kCallers; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    EXPECT_EQ(ids[i], ids[0]);
  }
  auto conn = pool_->Acquire();
  ASSERT_TRUE(conn.ok());
  auto count = (*conn)->Execute("SELECT count(*) FROM ticket.tenants WHERE request_id = $1",
                                {req.request_id()});
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->Text(0, 0), "1");
}

TEST_F(TenantServiceTest, ListPagesEveryTenantExactlyOnceOrderedByName) {
  std::set<std::string> created;
  for (int i = 0; i < 5; ++i) created.insert(MustCreate(Sample("list")).tenant_id());
  std::set<std::string> seen;
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    v1::ListTenantsRequest req;
    req.set_page_size(2);
    req.set_page_token(token);
    v1::ListTenantsResponse resp;
    grpc::Status st = (pages % 2 == 0 ? a_ : b_)->stub->ListTenants(Ctx().get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_LE(resp.tenants_size(), 2);
    for (const auto& t : resp.tenants()) {
      EXPECT_TRUE(seen.insert(t.tenant_id()).second);
      names.push_back(t.name());
    }
    token = resp.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 1000);
  for (const auto& id : created) EXPECT_TRUE(seen.contains(id)) << id;
  // Test clusters are initdb --locale=C: byte order.
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));

  v1::ListTenantsRequest first;
  first.set_page_size(1);
  v1::ListTenantsResponse resp;
  ASSERT_TRUE(a_->stub->ListTenants(Ctx().get(), first, &resp).ok());
  ASSERT_FALSE(resp.next_page_token().empty());
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(resp.next_page_token(), &raw));
  raw[0] = static_cast<char>(raw[0] ^ 1);  // the position, not the MAC
  v1::ListTenantsRequest tampered;
  tampered.set_page_token(absl::WebSafeBase64Escape(raw));
  grpc::Status st = a_->stub->ListTenants(Ctx().get(), tampered, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("page_token"));
  // Bound to the caller's scope: the SERVICE key cannot continue the ADMIN's listing.
  v1::ListTenantsRequest other_scope;
  other_scope.set_page_token(resp.next_page_token());
  ASSERT_TRUE(a_->stub->ListTenants(Ctx().get(), first, &resp).ok());
  other_scope.set_page_token(resp.next_page_token());
  st = a_->stub->ListTenants(Ctx("service-key-for-tests").get(), other_scope, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListTenantsRequest negative;
  negative.set_page_size(-1);
  st = a_->stub->ListTenants(Ctx().get(), negative, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("page_size"));
  v1::ListTenantsRequest huge;
  huge.set_page_size(100000);
  EXPECT_TRUE(a_->stub->ListTenants(Ctx().get(), huge, &resp).ok());
  EXPECT_LE(resp.tenants_size(), 500);
}

TEST_F(TenantServiceTest, ClientKeyAuthenticatesAsItsTenantAndIsNotAdmin) {
  v1::Tenant mine = MustCreate(Sample("client-own"));
  v1::Tenant other = MustCreate(Sample("client-other"));
  v1::CreateApiKeyResponse key =
      MustCreateKey(::sundesk::common::v1::ROLE_CLIENT, mine.tenant_id());
  EXPECT_EQ(key.api_key().role(), ::sundesk::common::v1::ROLE_CLIENT);
  EXPECT_EQ(key.api_key().tenant_id(), mine.tenant_id());
  EXPECT_THAT(key.secret(), ::testing::StartsWith("sdk_" + key.api_key().key_id() + "_"));

  v1::Tenant got;
  grpc::Status st = Get(*b_, key.secret(), mine.tenant_id(), &got);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(got.name(), mine.name());
  // Another tenant answers like a missing one.
  EXPECT_EQ(Get(*b_, key.secret(), other.tenant_id()).error_code(), grpc::StatusCode::NOT_FOUND);

  // Everything else is for admins.
  v1::Tenant t;
  v1::CreateTenantRequest create;
  *create.mutable_tenant() = Sample("client-may-not");
  EXPECT_EQ(a_->stub->CreateTenant(Ctx(key.secret()).get(), create, &t).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::ListTenantsResponse list;
  EXPECT_EQ(a_->stub->ListTenants(Ctx(key.secret()).get(), {}, &list).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::UpdateTenantRequest update;
  update.mutable_tenant()->set_tenant_id(mine.tenant_id());
  update.mutable_update_mask()->add_paths("guidelines");
  EXPECT_EQ(a_->stub->UpdateTenant(Ctx(key.secret()).get(), update, &t).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::CreateApiKeyRequest new_key;
  new_key.mutable_api_key()->set_role(::sundesk::common::v1::ROLE_ADMIN);
  v1::CreateApiKeyResponse new_key_resp;
  EXPECT_EQ(a_->stub->CreateApiKey(Ctx(key.secret()).get(), new_key, &new_key_resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::RevokeApiKeyRequest revoke;
  revoke.set_key_id(key.api_key().key_id());
  v1::ApiKey revoked;
  EXPECT_EQ(a_->stub->RevokeApiKey(Ctx(key.secret()).get(), revoke, &revoked).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // AGENT keys authenticate too, and are not admins either.
  v1::CreateApiKeyResponse agent = MustCreateKey(::sundesk::common::v1::ROLE_AGENT, "", "agent-42");
  EXPECT_EQ(agent.api_key().agent_id(), "agent-42");
  EXPECT_EQ(Get(*a_, agent.secret(), mine.tenant_id()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A database ADMIN key is an admin.
  v1::CreateApiKeyResponse admin = MustCreateKey(::sundesk::common::v1::ROLE_ADMIN);
  EXPECT_TRUE(a_->stub->ListTenants(Ctx(admin.secret()).get(), {}, &list).ok());
}

TEST_F(TenantServiceTest, UnknownMalformedAndMissingKeysAreUnauthenticated) {
  v1::Tenant t = MustCreate(Sample("unauth"));
  v1::CreateApiKeyResponse key = MustCreateKey(::sundesk::common::v1::ROLE_ADMIN);
  std::string wrong = key.secret();
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  std::string unknown = FormatApiKeySecret({ids_->NewId(), NewApiKeySecret()});
  std::set<std::string> messages;
  for (const std::string& presented : {wrong, unknown, std::string("garbage")}) {
    grpc::Status st = Get(*a_, presented, t.tenant_id());
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    messages.insert(st.error_message());
  }
  EXPECT_EQ(messages.size(), 1u);  // no oracle
  v1::GetTenantRequest req;
  req.set_tenant_id(t.tenant_id());
  grpc::ClientContext no_key;
  v1::Tenant out;
  EXPECT_EQ(a_->stub->GetTenant(&no_key, req, &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(TenantServiceTest, RevokedKeyIsRefusedWithinOneSecondOnEveryReplica) {
  v1::Tenant t = MustCreate(Sample("revoke"));
  v1::CreateApiKeyResponse key = MustCreateKey(::sundesk::common::v1::ROLE_CLIENT, t.tenant_id());
  // Both replicas have the key hot in their caches.
  ASSERT_TRUE(Get(*a_, key.secret(), t.tenant_id()).ok());
  ASSERT_TRUE(Get(*b_, key.secret(), t.tenant_id()).ok());

  v1::RevokeApiKeyRequest revoke;
  revoke.set_key_id(key.api_key().key_id());
  v1::ApiKey revoked;
  ASSERT_TRUE(a_->stub->RevokeApiKey(Ctx().get(), revoke, &revoked).ok());
  const absl::Time revoked_at = absl::Now();
  EXPECT_TRUE(revoked.has_revoke_time());

  auto refused_everywhere = [&] {
    return Get(*a_, key.secret(), t.tenant_id()).error_code() ==
               grpc::StatusCode::UNAUTHENTICATED &&
           Get(*b_, key.secret(), t.tenant_id()).error_code() == grpc::StatusCode::UNAUTHENTICATED;
  };
  ASSERT_TRUE(testing::WaitFor(refused_everywhere, absl::Seconds(1)));
  EXPECT_LT(absl::Now() - revoked_at, absl::Seconds(1));
  // And it stays refused.
  EXPECT_EQ(Get(*b_, key.secret(), t.tenant_id()).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // Revoking twice is fine and keeps the first revoke_time.
  v1::ApiKey again;
  ASSERT_TRUE(b_->stub->RevokeApiKey(Ctx().get(), revoke, &again).ok());
  EXPECT_EQ(again.revoke_time().SerializeAsString(), revoked.revoke_time().SerializeAsString());
  revoke.set_key_id(ids_->NewId());
  EXPECT_EQ(b_->stub->RevokeApiKey(Ctx().get(), revoke, &again).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(TenantServiceTest, ExpiredKeyIsRefused) {
  v1::CreateApiKeyRequest req;
  req.mutable_api_key()->set_role(::sundesk::common::v1::ROLE_ADMIN);
  const absl::Time expire = absl::Now() + absl::Milliseconds(300);
  req.mutable_api_key()->mutable_expire_time()->set_seconds(absl::ToUnixSeconds(expire));
  req.mutable_api_key()->mutable_expire_time()->set_nanos(static_cast<int>(
      (expire - absl::FromUnixSeconds(absl::ToUnixSeconds(expire))) / absl::Nanoseconds(1)));
  v1::CreateApiKeyResponse key;
  ASSERT_TRUE(a_->stub->CreateApiKey(Ctx().get(), req, &key).ok());
  v1::ListTenantsResponse list;
  // Valid until it expires (unless this machine is very slow), then refused.
  auto refused = [&] {
    return a_->stub->ListTenants(Ctx(key.secret()).get(), {}, &list).error_code() ==
           grpc::StatusCode::UNAUTHENTICATED;
  };
  ASSERT_TRUE(testing::WaitFor(refused, absl::Seconds(5)));
  EXPECT_GE(absl::Now(), expire);
}

TEST_F(TenantServiceTest, TheSecretIsNotStored) {
  v1::CreateApiKeyResponse key = MustCreateKey(::sundesk::common::v1::ROLE_ADMIN);
  auto parsed = ParseApiKeySecret(key.secret());
  ASSERT_TRUE(parsed.has_value());
  auto conn = pool_->Acquire();
  ASSERT_TRUE(conn.ok()) << conn.status();
  auto row = (*conn)->Execute(
      "SELECT k::text AS whole, salt, secret_hash FROM ticket.api_keys k WHERE key_id = $1",
      {parsed->key_id});
  ASSERT_TRUE(row.ok()) << row.status();
  ASSERT_EQ(row->rows(), 1);
  std::string whole(row->Text(0, "whole"));
  EXPECT_EQ(whole.find(parsed->secret), std::string::npos) << whole;
  std::string salt = *row->Bytea(0, "salt");
  std::string hash = *row->Bytea(0, "secret_hash");
  for (const std::string& column : {salt, hash}) {
    EXPECT_EQ(column.find(parsed->secret), std::string::npos);
    EXPECT_EQ(absl::BytesToHexString(column).find(parsed->secret), std::string::npos);
  }
  EXPECT_EQ(salt.size(), kApiKeySaltBytes);
  EXPECT_EQ(hash, HashApiKeySecret(salt, parsed->secret));
}

// Last: it stops and restarts the database under the running service.
TEST_F(TenantServiceTest, DatabaseDownIsUnavailableNotUnauthenticated) {
  v1::CreateApiKeyResponse key = MustCreateKey(::sundesk::common::v1::ROLE_ADMIN);
  db_->server->Kill();
  v1::ListTenantsResponse list;
  grpc::Status st = b_->stub->ListTenants(Ctx(key.secret()).get(), {}, &list);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  // The bootstrap key needs no database to authenticate; the listing itself then cannot run.
  st = b_->stub->ListTenants(Ctx().get(), {}, &list);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  ASSERT_TRUE(db_->server->Restart().ok());
  ASSERT_TRUE(testing::WaitFor(
      [&] { return b_->stub->ListTenants(Ctx(key.secret()).get(), {}, &list).ok(); },
      absl::Seconds(10)));
}

// How the other services accept keys issued here: runtime::IssuedKeyAuthenticator asks
// TenantService.WhoAmI with the presented key and remembers the answer for its ttl.
TEST_F(TenantServiceTest, IssuedKeysResolveEverywhereThroughWhoAmI) {
  v1::Tenant tenant = MustCreate(Sample("whoami"));
  v1::CreateApiKeyResponse key = MustCreateKey(Role::ROLE_CLIENT, tenant.tenant_id());
  FakeClock clock(absl::Now());
  runtime::IssuedKeyAuthenticator issued(a_->channel, clock, absl::Seconds(1));

  auto principal = issued.Resolve(key.secret());
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->role, rpc::Role::kClient);
  EXPECT_EQ(principal->tenant_id, tenant.tenant_id());
  EXPECT_EQ(principal->key_id, key.api_key().key_id());
  auto admin = issued.Resolve(kBootstrapAdmin);
  ASSERT_TRUE(admin.ok()) << admin.status();
  EXPECT_EQ(admin->role, rpc::Role::kAdmin);
  EXPECT_EQ(issued.Resolve("sdk_not_a_key").status().code(), absl::StatusCode::kUnauthenticated);

  v1::RevokeApiKeyRequest revoke;
  revoke.set_key_id(key.api_key().key_id());
  v1::ApiKey revoked;
  ASSERT_TRUE(a_->stub->RevokeApiKey(Ctx().get(), revoke, &revoked).ok());
  EXPECT_TRUE(issued.Resolve(key.secret()).ok()) << "remembered for the ttl";
  // Past the ttl it asks again, and the ticket service refuses the key once its own
  // (500 ms) cache lets go.
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        clock.Advance(absl::Seconds(1));
        return absl::IsUnauthenticated(issued.Resolve(key.secret()).status());
      },
      absl::Seconds(10)));

  // A ticket service nobody answers for is UNAVAILABLE, never "bad key".
  auto nowhere = rpc::MakeChannel({.target = absl::StrCat("127.0.0.1:", testing::FreePort())});
  ASSERT_TRUE(nowhere.ok());
  runtime::IssuedKeyAuthenticator down(*nowhere, clock);
  EXPECT_EQ(down.Resolve(key.secret()).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sundesk::ticket
