#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

// Tenants (the outsourcer's client companies) and the API keys that act for them, as plain
// values, and the store the domain keeps them in.
namespace sundesk::ticket {

// Numbers as sundesk.ticket.v1.RoutingMode, so the api layer can pass a wire value
// through and the domain decides whether it is known.
enum class RoutingMode : int { kUnspecified = 0, kOffer = 1, kAutoAssign = 2 };

struct Tenant {
  std::string tenant_id;
  std::string name;
  std::string time_zone;         // IANA
  std::string default_language;  // BCP 47
  std::vector<std::string> languages;
  std::string guidelines;
  RoutingMode routing_mode = RoutingMode::kOffer;
  int64_t version = 0;  // 1 on create, +1 on every update; the etag is made from it
  absl::Time create_time;
  absl::Time update_time;
};

// The opaque etag of a tenant's current version.
std::string TenantEtag(const Tenant& tenant);

// Numbers as sundesk.common.v1.Role. Only kAdmin, kClient and kAgent are issued as keys.
enum class KeyRole : int { kUnspecified = 0, kAdmin = 1, kClient = 2, kAgent = 3, kService = 4 };

struct ApiKey {
  std::string key_id;
  KeyRole role = KeyRole::kUnspecified;
  std::string tenant_id;  // CLIENT keys
  std::string agent_id;   // AGENT keys
  std::string display_name;
  absl::Time create_time;
  std::optional<absl::Time> expire_time;
  std::optional<absl::Time> revoke_time;
};

// A key as stored: never the secret, only a random salt and SHA-256(salt || secret).
struct StoredApiKey {
  ApiKey key;
  std::string salt;
  std::string secret_hash;
};

// Where a key is looked up when a call presents it: all the authenticator needs.
class ApiKeyLookup {
 public:
  virtual ~ApiKeyLookup() = default;
  // NOT_FOUND for an unknown key; UNAVAILABLE when the store cannot answer.
  virtual absl::StatusOr<StoredApiKey> FindApiKey(absl::string_view key_id) = 0;
};

// The result of an idempotent insert: the row that holds the request id, and whether this
// call made it.
struct CreatedTenant {
  Tenant tenant;
  std::string request_hash;  // of the request that created it
  bool created = false;
};

// Where a page of ListTenants ends: names are unique, so the name alone orders tenants.
struct TenantPosition {
  std::string name;
};

// Persistence of tenants and keys. Errors: NOT_FOUND, ALREADY_EXISTS and ABORTED with a
// message naming the field, UNAVAILABLE when the database cannot be reached.
class TenantStore : public ApiKeyLookup {
 public:
  // Inserts `tenant` unless a tenant with the same non-empty `request_id` exists; then
  // returns that one (created = false). ALREADY_EXISTS "tenant.name" for a taken name.
  virtual absl::StatusOr<CreatedTenant> CreateTenant(const Tenant& tenant,
                                                     absl::string_view request_id,
                                                     absl::string_view request_hash) = 0;
  virtual absl::StatusOr<Tenant> GetTenant(absl::string_view tenant_id) = 0;
  // Up to `limit` tenants ordered by (create_time, tenant_id), after `after` when set.
  virtual absl::StatusOr<std::vector<Tenant>> ListTenants(
      const std::optional<TenantPosition>& after, int limit) = 0;
  // Writes every field of `tenant` and bumps its version, only while the stored version is
  // still `tenant.version`: ABORTED when it moved on, NOT_FOUND when the tenant is gone.
  virtual absl::StatusOr<Tenant> UpdateTenant(const Tenant& tenant, absl::Time update_time) = 0;

  // NOT_FOUND "api_key.tenant_id" when a CLIENT key's tenant does not exist; ALREADY_EXISTS
  // "request_id" when the request id already issued a key.
  virtual absl::StatusOr<ApiKey> CreateApiKey(const StoredApiKey& key,
                                              absl::string_view request_id) = 0;
  // Sets revoke_time unless already set; returns the key. NOT_FOUND for an unknown key.
  virtual absl::StatusOr<ApiKey> RevokeApiKey(absl::string_view key_id, absl::Time now) = 0;
};

}  // namespace sundesk::ticket
