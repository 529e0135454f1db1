#pragma once

#include <string>

#include "absl/status/status.h"

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

absl::Status TenantNotFound(const std::string& tenant_id);

}  // namespace sundesk::notification
