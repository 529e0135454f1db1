#include "services/routing/domain/cached_tenants.h"

#include "libs/core/status.h"

namespace sundesk::routing {

absl::StatusOr<TenantInfo> CachedTenantDirectory::GetTenant(absl::string_view tenant_id) {
  const absl::Time now = clock_.Now();
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(tenant_id);
    if (it != entries_.end() && now - it->second.fetched < ttl_) return it->second.info;
  }
  SUNDESK_ASSIGN_OR_RETURN(TenantInfo info, inner_.GetTenant(tenant_id));
  absl::MutexLock lock(&mu_);
  entries_[std::string(tenant_id)] = Entry{info, now};
  return info;
}

}  // namespace sundesk::routing
