#pragma once

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"

namespace sundesk::notification {

// Which tenants exist. The ticket service owns tenants; notification only asks, so that an
// ADMIN naming an unknown tenant is told NOT_FOUND instead of getting an empty page or a
// subscription nobody's events will ever reach.
class TenantDirectory {
 public:
  virtual ~TenantDirectory() = default;
  // OK when the tenant exists; NOT_FOUND when it does not; UNAVAILABLE when that cannot be
  // told now. Thread-safe.
  virtual absl::Status CheckExists(const std::string& tenant_id) = 0;
};

struct TenantCacheOptions {
  absl::Duration found_ttl = absl::Seconds(30);   // tenants are not deleted, only created
  absl::Duration missing_ttl = absl::Seconds(2);  // a tenant just created shows up soon
  size_t max_entries = 10000;                     // then the cache starts over
};

// Remembers another directory's answers briefly. UNAVAILABLE is never remembered.
class CachedTenantDirectory final : public TenantDirectory {
 public:
  CachedTenantDirectory(TenantDirectory& source, const Clock& clock,
                        TenantCacheOptions options = {})
      : source_(source), clock_(clock), options_(options) {}

  absl::Status CheckExists(const std::string& tenant_id) override;

 private:
  struct Entry {
    bool exists = false;
    absl::Time expires = absl::InfinitePast();
  };
  TenantDirectory& source_;
  const Clock& clock_;
  const TenantCacheOptions options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

absl::Status TenantNotFound(const std::string& tenant_id);

}  // namespace sundesk::notification
