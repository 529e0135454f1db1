#pragma once

#include "libs/pg/pool.h"
#include "services/ticket/domain/tenant.h"

namespace sundesk::ticket {

// TenantStore on PostgreSQL: tables ticket.tenants and ticket.api_keys
// (migrations/0002_tenants_and_api_keys.sql). Every method is one statement (two when a
// conflict needs the existing row), on a pooled connection. Thread-safe.
class PgTenantStore final : public TenantStore {
 public:
  explicit PgTenantStore(pg::Pool& pool) : pool_(pool) {}

  absl::StatusOr<CreatedTenant> CreateTenant(const Tenant& tenant, absl::string_view request_id,
                                             absl::string_view request_hash) override;
  absl::StatusOr<Tenant> GetTenant(absl::string_view tenant_id) override;
  absl::StatusOr<std::vector<Tenant>> ListTenants(const std::optional<TenantPosition>& after,
                                                  int limit) override;
  absl::StatusOr<Tenant> UpdateTenant(const Tenant& tenant, absl::Time update_time) override;

  absl::StatusOr<ApiKey> CreateApiKey(const StoredApiKey& key,
                                      absl::string_view request_id) override;
  absl::StatusOr<ApiKey> RevokeApiKey(absl::string_view key_id, absl::Time now) override;
  absl::StatusOr<StoredApiKey> FindApiKey(absl::string_view key_id) override;

 private:
  pg::Pool& pool_;
};

}  // namespace sundesk::ticket
