#pragma once

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"
#include "services/routing/domain/routing_policy.h"

namespace sundesk::routing {

// Remembers what another TenantDirectory answered for `ttl`, so routing decisions do not ask
// the ticket service for the same tenant every time (a changed guideline or routing mode
// applies within `ttl`). Errors are not remembered. Thread-safe.
class CachedTenantDirectory final : public TenantDirectory {
 public:
  CachedTenantDirectory(TenantDirectory& inner, const Clock& clock, absl::Duration ttl)
      : inner_(inner), clock_(clock), ttl_(ttl) {}

  absl::StatusOr<TenantInfo> GetTenant(absl::string_view tenant_id) override;

 private:
  struct Entry {
    TenantInfo info;
    absl::Time fetched;
  };
  TenantDirectory& inner_;
  const Clock& clock_;
  const absl::Duration ttl_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sundesk::routing
