// CachedTenantLookup: answers remembered for their time, UNAVAILABLE never.
#include "services/ticket/client/tenant_lookup.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"

namespace sundesk::ticket {
namespace {

constexpr char kKnown[] = "0190a000-0000-7000-8000-0000000000a1";
constexpr char kLater[] = "0190a000-0000-7000-8000-0000000000a2";

// The ticket service's tenants as a map, counting the questions asked.
class FakeTenantLookup final : public TenantLookup {
 public:
  absl::StatusOr<v1::Tenant> GetTenant(absl::string_view tenant_id) override {
    ++calls;
    if (unavailable) return absl::UnavailableError("ticket service: down");
    auto it = tenants.find(std::string(tenant_id));
    if (it == tenants.end()) return absl::NotFoundError(absl::StrCat("no tenant ", tenant_id));
    return it->second;
  }
  void Put(const std::string& id, const std::string& guidelines) {
    tenants[id].set_tenant_id(id);
    tenants[id].set_guidelines(guidelines);
  }

  std::map<std::string, v1::Tenant> tenants;
  bool unavailable = false;
  int calls = 0;
};

TEST(CachedTenantLookupTest, RemembersTenantsForFoundTtlAndMissesForMissingTtl) {
  FakeTenantLookup source;
  source.Put(kKnown, "Be kind.");
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  CachedTenantLookup cache(source, clock,
                           {.found_ttl = absl::Seconds(30), .missing_ttl = absl::Seconds(2)});
  EXPECT_EQ(cache.GetTenant(kKnown)->guidelines(), "Be kind.");
  EXPECT_EQ(cache.GetTenant(kKnown)->guidelines(), "Be kind.");
  EXPECT_EQ(source.calls, 1);

  EXPECT_TRUE(absl::IsNotFound(cache.GetTenant(kLater).status()));
  source.Put(kLater, "");  // created at the ticket service meanwhile
  EXPECT_TRUE(absl::IsNotFound(cache.GetTenant(kLater).status()));
  EXPECT_EQ(source.calls, 2);
  clock.Advance(absl::Seconds(3));
  EXPECT_TRUE(cache.GetTenant(kLater).ok());
  EXPECT_EQ(source.calls, 3);

  source.Put(kKnown, "Be brief.");  // changed at the ticket service
  clock.Advance(absl::Seconds(26));
  EXPECT_EQ(cache.GetTenant(kKnown)->guidelines(), "Be kind.");  // 29 s old: still remembered
  clock.Advance(absl::Seconds(2));
  EXPECT_EQ(cache.GetTenant(kKnown)->guidelines(), "Be brief.");
  EXPECT_EQ(source.calls, 4);
}

TEST(CachedTenantLookupTest, UnavailableIsPassedOnAndNotRemembered) {
  FakeTenantLookup source;
  source.Put(kKnown, "");
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  CachedTenantLookup cache(source, clock);
  source.unavailable = true;
  EXPECT_TRUE(absl::IsUnavailable(cache.GetTenant(kKnown).status()));
  source.unavailable = false;
  EXPECT_TRUE(cache.GetTenant(kKnown).ok());
  EXPECT_EQ(source.calls, 2);
}

TEST(CachedTenantLookupTest, ZeroMissingTtlAsksAgainForEveryMiss) {
  FakeTenantLookup source;
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  CachedTenantLookup cache(source, clock, {.missing_ttl = absl::ZeroDuration()});
  EXPECT_TRUE(absl::IsNotFound(cache.GetTenant(kKnown).status()));
  source.Put(kKnown, "");
  EXPECT_TRUE(cache.GetTenant(kKnown).ok());
  EXPECT_EQ(source.calls, 2);
}

TEST(CachedTenantLookupTest, StartsOverWhenFull) {
  FakeTenantLookup source;
  source.Put(kKnown, "");
  source.Put(kLater, "");
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  CachedTenantLookup cache(source, clock, {.max_entries = 1});
  EXPECT_TRUE(cache.GetTenant(kKnown).ok());
  EXPECT_TRUE(cache.GetTenant(kLater).ok());  // the cache was full: kKnown is forgotten
  EXPECT_TRUE(cache.GetTenant(kLater).ok());
  EXPECT_TRUE(cache.GetTenant(kKnown).ok());
  EXPECT_EQ(source.calls, 3);
}

}  // namespace
}  // namespace sundesk::ticket
