#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/api/page_token.h"
#include "libs/core/clock.h"
#include "libs/core/ids.h"
#include "services/ticket/domain/tenant.h"

namespace sundesk::ticket {

inline constexpr size_t kMaxTenantNameChars = 200;
inline constexpr size_t kMaxGuidelinesBytes = 16 * 1024;  // Tenant.guidelines in resources.proto
inline constexpr size_t kMaxTenantLanguages = 64;
inline constexpr size_t kMaxKeyDisplayNameChars = 200;

struct TenantPage {
  std::vector<Tenant> tenants;
  std::string next_page_token;  // empty on the last page
};

struct IssuedApiKey {
  ApiKey key;
  std::string secret;  // the bearer token, shown once
};

// The tenants (client companies) and API keys of the outsourcer: validation, idempotency,
// optimistic concurrency and key issuing. Who may call what is the api layer's business;
// everything here assumes an admin. Field names in errors are the request's
// ("tenant.time_zone", "api_key.role").
class TenantRegistry {
 public:
  TenantRegistry(TenantStore& store, const Clock& clock, IdGenerator& ids,
                 const api::PageTokenSigner& page_tokens)
      : store_(store), clock_(clock), ids_(ids), page_tokens_(page_tokens) {}

  // Output-only fields of `tenant` are ignored. The same non-empty `request_id` returns
  // the tenant it created; with a different body it answers ALREADY_EXISTS.
  absl::StatusOr<Tenant> CreateTenant(absl::string_view request_id, Tenant tenant);
  absl::StatusOr<Tenant> GetTenant(absl::string_view tenant_id);
  // `scope` binds page tokens to the caller (e.g. its role): another scope's token is
  // INVALID_ARGUMENT.
  absl::StatusOr<TenantPage> ListTenants(absl::string_view scope, int64_t page_size,
                                         absl::string_view page_token);
  // Copies the fields named in `update_mask` from `changes` onto the stored tenant
  // `changes.tenant_id`. A non-empty stale `etag` answers ABORTED.
  absl::StatusOr<Tenant> UpdateTenant(const Tenant& changes,
                                      const std::vector<std::string>& update_mask,
                                      absl::string_view etag);

  // Uses role, tenant_id, agent_id, display_name and expire_time of `spec`.
  absl::StatusOr<IssuedApiKey> CreateApiKey(absl::string_view request_id, const ApiKey& spec);
  absl::StatusOr<ApiKey> RevokeApiKey(absl::string_view key_id);

 private:
  TenantStore& store_;
  const Clock& clock_;
  IdGenerator& ids_;
  const api::PageTokenSigner& page_tokens_;
};

// Every field check of a tenant's writable fields (exposed for tests and reuse).
absl::Status ValidateTenant(const Tenant& tenant);

}  // namespace sundesk::ticket
