#include "services/notification/domain/tenant_directory.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace sundesk::notification {

absl::Status TenantNotFound(const std::string& tenant_id) {
  return absl::NotFoundError(
      absl::StrCat("tenant_id: no tenant \"", absl::CEscape(tenant_id), "\""));
}

absl::Status CachedTenantDirectory::CheckExists(const std::string& tenant_id) {
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(tenant_id);
    if (it != entries_.end() && clock_.Now() < it->second.expires) {
      return it->second.exists ? absl::OkStatus() : TenantNotFound(tenant_id);
    }
  }
  absl::Status st = source_.CheckExists(tenant_id);  // not under the lock: a remote call
  if (!st.ok() && !absl::IsNotFound(st)) return st;
  absl::MutexLock lock(&mu_);
  if (entries_.size() >= options_.max_entries) entries_.clear();
  entries_[tenant_id] = {
      .exists = st.ok(),
      .expires = clock_.Now() + (st.ok() ? options_.found_ttl : options_.missing_ttl)};
  return st.ok() ? absl::OkStatus() : TenantNotFound(tenant_id);
}

}  // namespace sundesk::notification
