#include "services/ticket/domain/api_key.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/clock.h"
#include "tests/services/ticket/tenants/fake_tenant_store.h"

namespace sundesk::ticket {
namespace {

constexpr absl::string_view kKeyId = "018f3a2b-0000-7000-8000-000000000001";

TEST(ApiKeySecretFormat, FormatParseRoundTrip) {
  std::string secret = NewApiKeySecret();
  EXPECT_EQ(secret.size(), 2 * kApiKeySecretBytes);
  EXPECT_NE(secret, NewApiKeySecret());
  std::string presented = FormatApiKeySecret({std::string(kKeyId), secret});
  EXPECT_EQ(presented, absl::StrCat("sdk_", kKeyId, "_", secret));
  auto parsed = ParseApiKeySecret(presented);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->key_id, kKeyId);
  EXPECT_EQ(parsed->secret, secret);
}

TEST(ApiKeySecretFormat, MalformedIsRejected) {
  std::string good = FormatApiKeySecret({std::string(kKeyId), NewApiKeySecret()});
  EXPECT_FALSE(ParseApiKeySecret("").has_value());
  EXPECT_FALSE(ParseApiKeySecret(good.substr(1)).has_value());
  EXPECT_FALSE(ParseApiKeySecret(good + "0").has_value());
  EXPECT_FALSE(ParseApiKeySecret("xdk" + good.substr(3)).has_value());
  std::string upper = good;
  upper.back() = 'A';
  EXPECT_FALSE(ParseApiKeySecret(upper).has_value());
  std::string bad_sep = good;
  bad_sep[4 + 36] = '.';
  EXPECT_FALSE(ParseApiKeySecret(bad_sep).has_value());
  std::string bad_uuid = good;
  bad_uuid[4 + 8] = 'x';
  EXPECT_FALSE(ParseApiKeySecret(bad_uuid).has_value());
}

TEST(ApiKeyHash, SaltedSha256AndConstantTimeMatch) {
  StoredApiKey stored;
  stored.salt = RandomBytes(kApiKeySaltBytes);
  stored.secret_hash = HashApiKeySecret(stored.salt, "s3cret");
  EXPECT_EQ(stored.secret_hash.size(), 32u);
  EXPECT_TRUE(ApiKeySecretMatches(stored, "s3cret"));
  EXPECT_FALSE(ApiKeySecretMatches(stored, "s3creT"));
  EXPECT_FALSE(ApiKeySecretMatches(stored, ""));
  // Another salt, another hash for the same secret.
  EXPECT_NE(HashApiKeySecret(RandomBytes(kApiKeySaltBytes), "s3cret"), stored.secret_hash);
}

class VerifierTest : public ::testing::Test {
 protected:
  // Stores a key and returns its bearer secret.
  std::string AddKey(KeyRole role, const std::string& tenant_id = "",
                     const std::string& agent_id = "") {
    StoredApiKey stored;
    stored.key = {.key_id = absl::StrCat("018f3a2b-0000-7000-8000-00000000000", next_++),
                  .role = role,
                  .tenant_id = tenant_id,
                  .agent_id = agent_id,
                  .create_time = clock_.Now()};
    if (role == KeyRole::kClient) {
      Tenant t{.tenant_id = tenant_id, .name = tenant_id};
      (void)store_.CreateTenant(t, "", "");
    }
    std::string secret = NewApiKeySecret();
    stored.salt = RandomBytes(kApiKeySaltBytes);
    stored.secret_hash = HashApiKeySecret(stored.salt, secret);
    EXPECT_TRUE(store_.CreateApiKey(stored, "").ok());
    return FormatApiKeySecret({stored.key.key_id, secret});
  }

  FakeClock clock_;
  testing::FakeTenantStore store_;
  ApiKeyVerifier verifier_{store_, clock_, absl::Milliseconds(500)};
  int next_ = 1;
};

TEST_F(VerifierTest, ResolvesRoleTenantAgentAndKeyId) {
  std::string client = AddKey(KeyRole::kClient, "tenant-1");
  std::string agent = AddKey(KeyRole::kAgent, "", "agent-7");
  auto c = verifier_.Verify(client);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->role, KeyRole::kClient);
  EXPECT_EQ(c->tenant_id, "tenant-1");
  EXPECT_EQ(c->key_id, ParseApiKeySecret(client)->key_id);
  auto a = verifier_.Verify(agent);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->role, KeyRole::kAgent);
  EXPECT_EQ(a->agent_id, "agent-7");
}

TEST_F(VerifierTest, EveryRefusalLooksTheSame) {
  std::string key = AddKey(KeyRole::kAdmin);
  std::string wrong_secret = key;
  wrong_secret.back() = wrong_secret.back() == '0' ? '1' : '0';
  std::string unknown =
      FormatApiKeySecret({"018f3a2b-0000-7000-8000-0000000000ff", NewApiKeySecret()});
  std::vector<absl::Status> refusals;
  for (const std::string& presented : {std::string("garbage"), wrong_secret, unknown}) {
    refusals.push_back(verifier_.Verify(presented).status());
  }
  (void)store_.RevokeApiKey(ParseApiKeySecret(key)->key_id, clock_.Now());
  clock_.Advance(absl::Seconds(1));
  refusals.push_back(verifier_.Verify(key).status());
  for (const absl::Status& st : refusals) {
    EXPECT_EQ(st.code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(st.message(), refusals.front().message());
  }
}

TEST_F(VerifierTest, CachesForTtlThenSeesRevocation) {
  std::string key = AddKey(KeyRole::kAdmin);
  ASSERT_TRUE(verifier_.Verify(key).ok());
  ASSERT_TRUE(verifier_.Verify(key).ok());
  EXPECT_EQ(store_.lookups, 1);  // the second call was served from the cache

  (void)store_.RevokeApiKey(ParseApiKeySecret(key)->key_id, clock_.Now());
  clock_.Advance(absl::Milliseconds(499));
  EXPECT_TRUE(verifier_.Verify(key).ok());  // still cached: at most the TTL stale
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(verifier_.Verify(key).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(store_.lookups, 2);
}

TEST_F(VerifierTest, RevokedByAReplicaWhoseClockIsAheadIsRefusedAtOnce) {
  ApiKeyVerifier uncached(store_, clock_, absl::ZeroDuration());
  std::string key = AddKey(KeyRole::kAdmin);
  (void)store_.RevokeApiKey(ParseApiKeySecret(key)->key_id, clock_.Now() + absl::Seconds(30));
  EXPECT_EQ(uncached.Verify(key).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(VerifierTest, TtlIsCappedAtOneSecond) {
  ApiKeyVerifier slow(store_, clock_, absl::Minutes(5));
  std::string key = AddKey(KeyRole::kAdmin);
  ASSERT_TRUE(slow.Verify(key).ok());
  (void)store_.RevokeApiKey(ParseApiKeySecret(key)->key_id, clock_.Now());
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(slow.Verify(key).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(VerifierTest, ExpiryFollowsTheClockEvenWhenCached) {
  StoredApiKey stored;
  std::string secret = NewApiKeySecret();
  stored.key = {.key_id = "018f3a2b-0000-7000-8000-0000000000aa",
                .role = KeyRole::kAdmin,
                .expire_time = clock_.Now() + absl::Milliseconds(100)};
  stored.salt = RandomBytes(kApiKeySaltBytes);
  stored.secret_hash = HashApiKeySecret(stored.salt, secret);
  ASSERT_TRUE(store_.CreateApiKey(stored, "").ok());
  std::string presented = FormatApiKeySecret({stored.key.key_id, secret});
  EXPECT_TRUE(verifier_.Verify(presented).ok());
  clock_.Advance(absl::Milliseconds(100));
  EXPECT_EQ(verifier_.Verify(presented).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(VerifierTest, StoreDownIsUnavailableNotUnauthenticated) {
  std::string key = AddKey(KeyRole::kAdmin);
  store_.down = true;
  EXPECT_EQ(verifier_.Verify(key).status().code(), absl::StatusCode::kUnavailable);
  // A malformed key needs no database to be refused.
  EXPECT_EQ(verifier_.Verify("nope").status().code(), absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace sundesk::ticket
