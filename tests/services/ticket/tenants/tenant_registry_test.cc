#include "services/ticket/domain/tenant_registry.h"

#include <algorithm>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "services/ticket/domain/api_key.h"
#include "tests/services/ticket/tenants/fake_tenant_store.h"

namespace sundesk::ticket {
namespace {

using ::testing::HasSubstr;

Tenant Acme() {
  return {.name = "Acme",
          .time_zone = "Europe/Stockholm",
          .default_language = "sv",
          .languages = {"sv", "en"},
          .guidelines = "Be kind.",
          .routing_mode = RoutingMode::kUnspecified};
}

class RegistryTest : public ::testing::Test {
 protected:
  void ExpectInvalid(const Tenant& t, absl::string_view field) {
    absl::StatusOr<Tenant> st = registry_.CreateTenant("", t);
    EXPECT_EQ(st.status().code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_THAT(st.status().message(), HasSubstr(field));
  }

  FakeClock clock_;
  UuidV7Generator ids_{clock_, 42};
  testing::FakeTenantStore store_;
  api::PageTokenSigner tokens_{"test-key"};
  TenantRegistry registry_{store_, clock_, ids_, tokens_};
};

TEST_F(RegistryTest, CreateDefaultsRoutingModeAndSetsOutputFields) {
  auto t = registry_.CreateTenant("", Acme());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(IsUuid(t->tenant_id));
  EXPECT_EQ(t->routing_mode, RoutingMode::kOffer);
  EXPECT_EQ(t->version, 1);
  EXPECT_EQ(t->create_time, clock_.Now());
  EXPECT_EQ(TenantEtag(*t), "\"v1\"");
}

TEST_F(RegistryTest, EveryFieldIsValidated) {
  Tenant t = Acme();
  t.name = "";
  ExpectInvalid(t, "tenant.name");
  t.name = std::string(201, 'n');
  ExpectInvalid(t, "tenant.name");
  t.name = "bad\xFF";
  ExpectInvalid(t, "tenant.name");
  t = Acme();
  t.time_zone = "Nowhere/Special";
  ExpectInvalid(t, "tenant.time_zone");
  t.time_zone = "";
  ExpectInvalid(t, "tenant.time_zone");
  t = Acme();
  t.default_language = "swedish";
  ExpectInvalid(t, "tenant.default_language");
  t = Acme();
  t.languages = {"sv", "en_US"};
  ExpectInvalid(t, "tenant.languages[1]");
  t = Acme();
  t.default_language = "fi";
  ExpectInvalid(t, "tenant.default_language");  // not among languages
  t = Acme();
  t.guidelines = std::string(kMaxGuidelinesBytes + 1, 'g');
  ExpectInvalid(t, "tenant.guidelines");
  t.guidelines = "\xC3\x28";
  ExpectInvalid(t, "tenant.guidelines");
  t = Acme();
  t.routing_mode = static_cast<RoutingMode>(7);
  ExpectInvalid(t, "tenant.routing_mode");
  EXPECT_THAT(registry_.CreateTenant(std::string(129, 'r'), Acme()).status().message(),
              HasSubstr("request_id"));
  t = Acme();
  t.guidelines = std::string(kMaxGuidelinesBytes, 'g');
  t.languages = {};
  t.default_language = "zh-Hant-TW";
  EXPECT_TRUE(registry_.CreateTenant("", t).ok());
}

TEST_F(RegistryTest, IdempotentCreate) {
  auto first = registry_.CreateTenant("req-1", Acme());
  ASSERT_TRUE(first.ok()) << first.status();
  clock_.Advance(absl::Seconds(3));
  auto again = registry_.CreateTenant("req-1", Acme());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->tenant_id, first->tenant_id);
  Tenant other = Acme();
  other.guidelines = "Be brief.";
  auto conflict = registry_.CreateTenant("req-1", other);
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(conflict.status().message(), HasSubstr("request_id"));
  EXPECT_THAT(conflict.status().message(), HasSubstr("different body"));
}

TEST_F(RegistryTest, UpdateHonoursMaskAndEtag) {
  auto t = registry_.CreateTenant("", Acme());
  ASSERT_TRUE(t.ok());
  Tenant changes{.tenant_id = t->tenant_id, .name = "Ignored", .guidelines = "New."};
  auto u = registry_.UpdateTenant(changes, {"guidelines"}, TenantEtag(*t));
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->name, "Acme");
  EXPECT_EQ(u->guidelines, "New.");
  EXPECT_EQ(u->version, 2);
  auto stale = registry_.UpdateTenant(changes, {"guidelines"}, TenantEtag(*t));
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(stale.status().message(), HasSubstr("etag"));
  EXPECT_THAT(registry_.UpdateTenant(changes, {}, "").status().message(), HasSubstr("update_mask"));
  EXPECT_THAT(registry_.UpdateTenant(changes, {"create_time"}, "").status().message(),
              HasSubstr("update_mask"));
  changes.time_zone = "Moon/Base";
  auto invalid = registry_.UpdateTenant(changes, {"time_zone"}, "");
  EXPECT_THAT(invalid.status().message(), HasSubstr("tenant.time_zone"));
  changes.tenant_id = "018f3a2b-0000-7000-8000-000000000000";
  EXPECT_EQ(registry_.UpdateTenant(changes, {"guidelines"}, "").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RegistryTest, ListPagesEveryTenantOnceByNameAndRejectsForeignTokens) {
  for (int i = 6; i >= 0; --i) {  // created in reverse: the order is by name, not age
    Tenant t = Acme();
    t.name = absl::StrCat("Tenant ", i);
    ASSERT_TRUE(registry_.CreateTenant("", t).ok());
    clock_.Advance(absl::Milliseconds(1));
  }
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    auto page = registry_.ListTenants("ADMIN", 3, token);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& t : page->tenants) names.push_back(t.name);
    token = page->next_page_token;
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(names.size(), 7u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(names.front(), "Tenant 0");
  EXPECT_EQ(names.back(), "Tenant 6");

  auto first = registry_.ListTenants("ADMIN", 3, "");
  ASSERT_FALSE(first->next_page_token.empty());
  EXPECT_EQ(registry_.ListTenants("SERVICE", 3, first->next_page_token).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string tampered = first->next_page_token;
  tampered[2] = tampered[2] == 'A' ? 'B' : 'A';
  auto bad = registry_.ListTenants("ADMIN", 3, tampered);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("page_token"));
  EXPECT_THAT(registry_.ListTenants("ADMIN", -1, "").status().message(), HasSubstr("page_size"));
}

TEST_F(RegistryTest, ApiKeyValidation) {
  auto tenant = registry_.CreateTenant("", Acme());
  ASSERT_TRUE(tenant.ok());
  auto code_and_field = [&](const ApiKey& spec, absl::StatusCode code, absl::string_view field) {
    auto st = registry_.CreateApiKey("", spec).status();
    EXPECT_EQ(st.code(), code) << st;
    EXPECT_THAT(st.message(), HasSubstr(field));
  };
  code_and_field({.role = KeyRole::kUnspecified}, absl::StatusCode::kInvalidArgument,
                 "api_key.role");
  code_and_field({.role = KeyRole::kService}, absl::StatusCode::kInvalidArgument, "api_key.role");
  code_and_field({.role = KeyRole::kClient}, absl::StatusCode::kInvalidArgument,
                 "api_key.tenant_id");
  code_and_field({.role = KeyRole::kClient, .tenant_id = "018f3a2b-0000-7000-8000-000000000000"},
                 absl::StatusCode::kNotFound, "api_key.tenant_id");
  code_and_field({.role = KeyRole::kAgent}, absl::StatusCode::kInvalidArgument, "api_key.agent_id");
  code_and_field({.role = KeyRole::kAdmin, .tenant_id = tenant->tenant_id},
                 absl::StatusCode::kInvalidArgument, "api_key.tenant_id");
  code_and_field({.role = KeyRole::kAdmin, .expire_time = clock_.Now()},
                 absl::StatusCode::kInvalidArgument, "api_key.expire_time");
  code_and_field({.role = KeyRole::kAdmin, .display_name = std::string(201, 'd')},
                 absl::StatusCode::kInvalidArgument, "api_key.display_name");
}

TEST_F(RegistryTest, IssuedSecretVerifiesAndRevokes) {
  auto tenant = registry_.CreateTenant("", Acme());
  ASSERT_TRUE(tenant.ok());
  auto issued = registry_.CreateApiKey(
      "", {.role = KeyRole::kClient, .tenant_id = tenant->tenant_id, .display_name = "bridge"});
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_EQ(ParseApiKeySecret(issued->secret)->key_id, issued->key.key_id);
  StoredApiKey stored = *store_.FindApiKey(issued->key.key_id);
  EXPECT_EQ(stored.salt.size(), kApiKeySaltBytes);
  EXPECT_EQ(stored.secret_hash.find(issued->secret), std::string::npos);

  ApiKeyVerifier verifier(store_, clock_, absl::ZeroDuration());
  auto who = verifier.Verify(issued->secret);
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->tenant_id, tenant->tenant_id);

  auto revoked = registry_.RevokeApiKey(issued->key.key_id);
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(revoked->revoke_time, clock_.Now());
  clock_.Advance(absl::Seconds(1));
  auto twice = registry_.RevokeApiKey(issued->key.key_id);
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->revoke_time, revoked->revoke_time);
  EXPECT_EQ(verifier.Verify(issued->secret).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(registry_.RevokeApiKey("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_.RevokeApiKey("nope").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace sundesk::ticket
