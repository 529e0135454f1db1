#include "libs/core/ids.h"

#include <set>

#include "gtest/gtest.h"

namespace sundesk {
namespace {

TEST(UuidV7, CanonicalFormVersionAndVariant) {
  FakeClock clock;
  UuidV7Generator ids(clock, 42);
  std::string id = ids.NewId();
  EXPECT_TRUE(IsUuid(id)) << id;
  EXPECT_EQ(id[14], '7') << id;
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
  EXPECT_EQ(UuidV7Millis(id), absl::ToUnixMillis(clock.Now()));
}

TEST(UuidV7, IdsOfOneMillisecondSortInCreationOrder) {
  FakeClock clock;
  UuidV7Generator ids(clock, 7);
  std::string prev = ids.NewId();
  std::set<std::string> seen{prev};
  for (int i = 0; i < 10000; ++i) {  // more than the 4096 a millisecond holds
    std::string next = ids.NewId();
    ASSERT_LT(prev, next);
    seen.insert(next);
    prev = next;
  }
  EXPECT_EQ(seen.size(), 10001u);
}

TEST(UuidV7, LaterMillisecondSortsLater) {
  FakeClock clock;
  UuidV7Generator ids(clock, 1);
  std::string a = ids.NewId();
  clock.Advance(absl::Milliseconds(1));
  std::string b = ids.NewId();
  EXPECT_LT(a, b);
  EXPECT_EQ(UuidV7Millis(b) - UuidV7Millis(a), 1);
}

TEST(NameBasedUuid, SameNameSameIdVersion8) {
  // Expected values computed independently (Python hashlib: SHA-256, first 16 bytes,
  // version and variant bits set).
  EXPECT_EQ(NameBasedUuid("sundesk/routing/offer/1/expired"),
            "16112f78-e981-8e12-8e57-fafad948d9d4");
  EXPECT_EQ(NameBasedUuid(""), "e3b0c442-98fc-8c14-9afb-f4c8996fb924");
  const std::string a = NameBasedUuid("sundesk/sla/t1/breach");
  EXPECT_EQ(a, NameBasedUuid("sundesk/sla/t1/breach"));
  EXPECT_NE(a, NameBasedUuid("sundesk/sla/t1/warning"));
  EXPECT_TRUE(IsUuid(a)) << a;
  EXPECT_EQ(a[14], '8') << a;
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos) << a;
}

TEST(IsUuid, RejectsMalformed) {
  EXPECT_FALSE(IsUuid(""));
  EXPECT_FALSE(IsUuid("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2"));   // short
  EXPECT_FALSE(IsUuid("0190A1B2-C3D4-7E5F-8A6B-7C8D9E0F1A2B"));  // upper case
  EXPECT_FALSE(IsUuid("0190a1b2xc3d4-7e5f-8a6b-7c8d9e0f1a2b"));
  EXPECT_TRUE(IsUuid("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b"));
}

}  // namespace
}  // namespace sundesk
