#include "libs/api/page_token.h"

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sundesk::api {
namespace {

using ::testing::HasSubstr;

TEST(PageToken, RoundTrip) {
  PageTokenSigner signer("key-1");
  std::string token = signer.Sign("tenant-a", "q=open", "1700000000|abc");
  auto position = signer.Verify("page_token", "tenant-a", "q=open", token);
  ASSERT_TRUE(position.ok()) << position.status();
  EXPECT_EQ(*position, "1700000000|abc");
  // Opaque and URL-safe.
  EXPECT_EQ(token.find_first_of("+/="), std::string::npos);
}

TEST(PageToken, EveryFlippedBitIsDetected) {
  PageTokenSigner signer("key-1");
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(signer.Sign("s", "q", "position"), &raw));
  for (size_t i = 0; i < raw.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string tampered = raw;
      tampered[i] = static_cast<char>(tampered[i] ^ (1 << bit));
      auto st = signer.Verify("page_token", "s", "q", absl::WebSafeBase64Escape(tampered));
      ASSERT_EQ(st.status().code(), absl::StatusCode::kInvalidArgument) << i << "/" << bit;
    }
  }
}

TEST(PageToken, BoundToScopeQueryAndKey) {
  PageTokenSigner signer("key-1");
  std::string token = signer.Sign("tenant-a", "q=open", "p");
  auto other_scope = signer.Verify("page_token", "tenant-b", "q=open", token);
  EXPECT_EQ(other_scope.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(other_scope.status().message(), HasSubstr("page_token"));
  EXPECT_FALSE(signer.Verify("page_token", "tenant-a", "q=closed", token).ok());
  EXPECT_FALSE(PageTokenSigner("key-2").Verify("page_token", "tenant-a", "q=open", token).ok());
  // Field boundaries are part of what is signed.
  EXPECT_FALSE(signer.Verify("page_token", "tenant-", "aq=open", token).ok());
}

TEST(PageToken, GarbageIsInvalidArgument) {
  PageTokenSigner signer("key-1");
  for (const char* bad : {"", "!!!", "abc", "AAAA", "not a token at all"}) {
    EXPECT_EQ(signer.Verify("page_token", "s", "q", bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_FALSE(signer.Verify("page_token", "s", "q", std::string(10000, 'A')).ok());
}

}  // namespace
}  // namespace sundesk::api
