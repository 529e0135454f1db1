// CachedTenantDirectory: answers remembered for their time, UNAVAILABLE never.
#include "services/notification/domain/tenant_directory.h"

#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "tests/services/notification/fake_tenant_directory.h"

namespace sundesk::notification {
namespace {

constexpr char kKnown[] = "0190a000-0000-7000-8000-0000000000a1";
constexpr char kLater[] = "0190a000-0000-7000-8000-0000000000a2";

TEST(CachedTenantDirectoryTest, RemembersFoundLongerThanMissing) {
  FakeTenantDirectory source({kKnown});
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  CachedTenantDirectory cache(source, clock,
                              {.found_ttl = absl::Seconds(30), .missing_ttl = absl::Seconds(2)});
  EXPECT_TRUE(cache.CheckExists(kKnown).ok());
  EXPECT_TRUE(cache.CheckExists(kKnown).ok());
  EXPECT_EQ(source.calls(), 1);

  EXPECT_TRUE(absl::IsNotFound(cache.CheckExists(kLater)));
  source.Add(kLater);  // created at the ticket service meanwhile
  EXPECT_TRUE(absl::IsNotFound(cache.CheckExists(kLater)));
  EXPECT_EQ(source.calls(), 2);
  clock.Advance(absl::Seconds(3));
  EXPECT_TRUE(cache.CheckExists(kLater).ok());
  EXPECT_EQ(source.calls(), 3);

  clock.Advance(absl::Seconds(28));  // kKnown's answer is 31 s old now
  EXPECT_TRUE(cache.CheckExists(kKnown).ok());
  EXPECT_EQ(source.calls(), 4);
}

TEST(CachedTenantDirectoryTest, UnavailableIsPassedOnAndNotRemembered) {
  FakeTenantDirectory source({kKnown});
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  CachedTenantDirectory cache(source, clock);
  source.SetUnavailable(true);
  EXPECT_TRUE(absl::IsUnavailable(cache.CheckExists(kKnown)));
  source.SetUnavailable(false);
  EXPECT_TRUE(cache.CheckExists(kKnown).ok());
  EXPECT_EQ(source.calls(), 2);
}

TEST(CachedTenantDirectoryTest, NotFoundNamesTheField) {
  FakeTenantDirectory source({});
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  CachedTenantDirectory cache(source, clock);
  absl::Status st = cache.CheckExists(kKnown);
  EXPECT_TRUE(absl::IsNotFound(st));
  EXPECT_EQ(st.message().substr(0, 11), "tenant_id: ");
}

}  // namespace
}  // namespace sundesk::notification
