#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"
#include "services/ticket/domain/tenant.h"

// API key secrets: how they look, how they are hashed and checked, and the cached lookup
// that turns a presented secret into the identity of its key.
namespace sundesk::ticket {

// A presented secret is "sdk_<key_id>_<64 hex digits>": the key id (a UUID) lets the
// server find the key's row, the 32 random bytes are what only the holder knows.
inline constexpr absl::string_view kApiKeyPrefix = "sdk_";
inline constexpr size_t kApiKeySecretBytes = 32;
inline constexpr size_t kApiKeySaltBytes = 16;

struct ApiKeySecret {
  std::string key_id;
  std::string secret;  // the random part, hex
};

std::string FormatApiKeySecret(const ApiKeySecret& secret);
// nullopt unless `presented` has exactly the format above.
std::optional<ApiKeySecret> ParseApiKeySecret(absl::string_view presented);

// `n` bytes from OpenSSL's CSPRNG (RAND_bytes); aborts if it fails, as it only can when
// the system has no entropy source at all.
std::string RandomBytes(size_t n);
// A fresh random secret part: kApiKeySecretBytes bytes, hex.
std::string NewApiKeySecret();
// SHA-256(salt || secret), raw bytes.
std::string HashApiKeySecret(absl::string_view salt, absl::string_view secret);
// Constant-time comparison of the secret's hash with the stored one.
bool ApiKeySecretMatches(const StoredApiKey& stored, absl::string_view secret);

// Who a verified key speaks for.
struct KeyIdentity {
  KeyRole role = KeyRole::kUnspecified;
  std::string tenant_id;
  std::string agent_id;
  std::string key_id;
};

// Resolves presented secrets to identities. Looked-up keys are cached for `cache_ttl` at
// most (capped at one second), so a hot key does not cost a database round trip per call
// while a key revoked on any replica is refused by every replica within that TTL (plus one
// lookup). The secret is checked against the hash on every call, expiry against the clock.
// Thread-safe.
class ApiKeyVerifier {
 public:
  static constexpr absl::Duration kMaxCacheTtl = absl::Seconds(1);

  ApiKeyVerifier(ApiKeyLookup& lookup, const Clock& clock,
                 absl::Duration cache_ttl = absl::Milliseconds(500), size_t max_cached = 10000);

  // UNAUTHENTICATED, with one message for every reason (malformed, unknown, wrong secret,
  // revoked, expired) so the answer is no oracle; UNAVAILABLE when the store cannot answer.
  absl::StatusOr<KeyIdentity> Verify(absl::string_view presented) const;

 private:
  struct Cached {
    StoredApiKey key;
    absl::Time fetched;
  };
  absl::StatusOr<StoredApiKey> Lookup(const std::string& key_id) const;

  ApiKeyLookup& lookup_;
  const Clock& clock_;
  const absl::Duration cache_ttl_;
  const size_t max_cached_;
  mutable absl::Mutex mu_;
  mutable std::unordered_map<std::string, Cached> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sundesk::ticket
