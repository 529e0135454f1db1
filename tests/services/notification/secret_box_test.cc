// SecretBox: AES-256-GCM sealing of webhook secrets, bound to their subscription, with
// key rotation.
#include "services/notification/store/secret_box.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sundesk::notification {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKey1[] = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr char kKey2[] = "k2:1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";
constexpr char kSub[] = "0190a000-0000-7000-8000-000000000001";
constexpr char kOtherSub[] = "0190a000-0000-7000-8000-000000000002";

TEST(SecretBoxTest, SealsAndOpensBoundToTheSubscription) {
  auto box = SecretBox::Parse(kKey1);
  ASSERT_TRUE(box.ok()) << box.status();
  auto sealed = box->Seal("whsec-0123456789abcdef", kSub);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(sealed->key_id, "k1");
  EXPECT_THAT(sealed->sealed, Not(HasSubstr("whsec")));
  EXPECT_EQ(sealed->sealed.size(), 12 + 22 + 16u);  // nonce, ciphertext, tag
  auto again = box->Seal("whsec-0123456789abcdef", kSub);
  EXPECT_NE(again->sealed, sealed->sealed);  // a fresh nonce each time

  auto opened = box->Open(*sealed, kSub);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "whsec-0123456789abcdef");
  // Copied to another row, or altered, it does not open.
  EXPECT_EQ(box->Open(*sealed, kOtherSub).status().code(), absl::StatusCode::kDataLoss);
  SealedSecret tampered = *sealed;
  tampered.sealed[14] ^= 1;
  EXPECT_EQ(box->Open(tampered, kSub).status().code(), absl::StatusCode::kDataLoss);
  tampered.sealed = "short";
  EXPECT_EQ(box->Open(tampered, kSub).status().code(), absl::StatusCode::kDataLoss);
}

TEST(SecretBoxTest, RotationSealsWithTheFirstKeyAndOpensWithAny) {
  auto old_box = SecretBox::Parse(kKey1);
  auto sealed_old = old_box->Seal("whsec-rotate-me-please", kSub);
  auto rotated = SecretBox::Parse(absl::StrCat(kKey2, ",", kKey1));
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_EQ(rotated->current_key_id(), "k2");
  EXPECT_EQ(*rotated->Open(*sealed_old, kSub), "whsec-rotate-me-please");
  auto sealed_new = rotated->Seal("whsec-rotate-me-please", kSub);
  EXPECT_EQ(sealed_new->key_id, "k2");
  // The old box does not know k2: a configuration error, not a bad secret.
  EXPECT_EQ(old_box->Open(*sealed_new, kSub).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(SecretBoxTest, BadKeySpecsNameTheEntryWithoutEchoingKeys) {
  for (const char* spec : {"", "k1", "k1:abcd", ":00",
                           "k1:zz02030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"}) {
    auto box = SecretBox::Parse(spec);
    EXPECT_EQ(box.status().code(), absl::StatusCode::kInvalidArgument) << spec;
    EXPECT_THAT(std::string(box.status().message()), HasSubstr("webhook secret keys")) << spec;
    EXPECT_THAT(std::string(box.status().message()), Not(HasSubstr("0a0b0c"))) << spec;
  }
  auto repeated = SecretBox::Parse(absl::StrCat(kKey1, ",", kKey1));
  EXPECT_THAT(std::string(repeated.status().message()), HasSubstr("repeated"));
}

}  // namespace
}  // namespace sundesk::notification
