#include "services/ticket/domain/api_key.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/ids.h"

namespace sundesk::ticket {

std::string FormatApiKeySecret(const ApiKeySecret& secret) {
  return absl::StrCat(kApiKeyPrefix, secret.key_id, "_", secret.secret);
}

std::optional<ApiKeySecret> ParseApiKeySecret(absl::string_view presented) {
  constexpr size_t kUuidChars = 36;
  constexpr size_t kSecretChars = 2 * kApiKeySecretBytes;
  if (presented.size() != kApiKeyPrefix.size() + kUuidChars + 1 + kSecretChars ||
      !absl::StartsWith(presented, kApiKeyPrefix)) {
    return std::nullopt;
  }
  absl::string_view key_id = presented.substr(kApiKeyPrefix.size(), kUuidChars);
  absl::string_view rest = presented.substr(kApiKeyPrefix.size() + kUuidChars);
  if (!IsUuid(key_id) || rest[0] != '_') return std::nullopt;
  absl::string_view secret = rest.substr(1);
  for (char c : secret) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c)) ||
        absl::ascii_isupper(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
  }
  return ApiKeySecret{std::string(key_id), std::string(secret)};
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();  // no entropy: issuing a guessable secret would be worse than stopping
  }
  return out;
}

std::string NewApiKeySecret() { return absl::BytesToHexString(RandomBytes(kApiKeySecretBytes)); }

std::string HashApiKeySecret(absl::string_view salt, absl::string_view secret) {
  std::string input = absl::StrCat(salt, secret);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    std::abort();  // SHA-256 is always available; failing here is a broken libcrypto
  }
  OPENSSL_cleanse(input.data(), input.size());
  return std::string(reinterpret_cast<const char*>(digest), size);
}

bool ApiKeySecretMatches(const StoredApiKey& stored, absl::string_view secret) {
  std::string hash = HashApiKeySecret(stored.salt, secret);
  return stored.secret_hash.size() == hash.size() &&
         CRYPTO_memcmp(hash.data(), stored.secret_hash.data(), hash.size()) == 0;
}

ApiKeyVerifier::ApiKeyVerifier(ApiKeyLookup& lookup, const Clock& clock, absl::Duration cache_ttl,
                               size_t max_cached)
    : lookup_(lookup),
      clock_(clock),
      cache_ttl_(std::clamp(cache_ttl, absl::ZeroDuration(), kMaxCacheTtl)),
      max_cached_(max_cached) {}

absl::StatusOr<StoredApiKey> ApiKeyVerifier::Lookup(const std::string& key_id) const {
  const absl::Time now = clock_.Now();
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(key_id);
    if (it != cache_.end() && now - it->second.fetched < cache_ttl_) return it->second.key;
  }
  // Not under the lock: a slow database must not hold up calls with cached keys.
  absl::StatusOr<StoredApiKey> found = lookup_.FindApiKey(key_id);
  if (!found.ok()) return found.status();
  if (cache_ttl_ > absl::ZeroDuration()) {
    absl::MutexLock lock(&mu_);
    if (cache_.size() >= max_cached_) {
      std::erase_if(cache_,
                    [&](const auto& entry) { return now - entry.second.fetched >= cache_ttl_; });
      if (cache_.size() >= max_cached_) cache_.clear();
    }
    cache_.insert_or_assign(key_id, Cached{*found, now});
  }
  return found;
}

absl::StatusOr<KeyIdentity> ApiKeyVerifier::Verify(absl::string_view presented) const {
  const absl::Status refused = absl::UnauthenticatedError("unknown, revoked or expired API key");
  std::optional<ApiKeySecret> parsed = ParseApiKeySecret(presented);
  if (!parsed) return refused;
  absl::StatusOr<StoredApiKey> stored = Lookup(parsed->key_id);
  if (!stored.ok()) {
    if (absl::IsNotFound(stored.status())) return refused;
    return absl::UnavailableError(
        absl::StrCat("cannot check the API key now: ", stored.status().message()));
  }
  if (!ApiKeySecretMatches(*stored, parsed->secret)) return refused;
  const ApiKey& key = stored->key;
  const absl::Time now = clock_.Now();
  // Any revoke_time refuses, even one ahead of this replica's clock (skew between replicas).
  if (key.revoke_time.has_value()) return refused;
  if (key.expire_time.has_value() && *key.expire_time <= now) return refused;
  return KeyIdentity{
      .role = key.role, .tenant_id = key.tenant_id, .agent_id = key.agent_id, .key_id = key.key_id};
}

}  // namespace sundesk::ticket
