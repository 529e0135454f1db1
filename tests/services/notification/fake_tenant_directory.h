#pragma once

#include <set>
#include <string>

#include "absl/synchronization/mutex.h"
#include "services/notification/domain/tenant_directory.h"

namespace sundesk::notification {

// The ticket service's tenants as a set, for tests of notification alone (the real
// TicketTenantDirectory is exercised against the ticket-server binary in the process tests).
class FakeTenantDirectory final : public TenantDirectory {
 public:
  explicit FakeTenantDirectory(std::set<std::string> tenants) : tenants_(std::move(tenants)) {}

  absl::Status CheckExists(const std::string& tenant_id) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    if (unavailable_) return absl::UnavailableError("ticket service: down");
    return tenants_.contains(tenant_id) ? absl::OkStatus() : TenantNotFound(tenant_id);
  }
  void Add(const std::string& tenant_id) {
    absl::MutexLock lock(&mu_);
    tenants_.insert(tenant_id);
  }
  void SetUnavailable(bool unavailable) {
    absl::MutexLock lock(&mu_);
    unavailable_ = unavailable;
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  absl::Mutex mu_;
  std::set<std::string> tenants_ ABSL_GUARDED_BY(mu_);
  bool unavailable_ ABSL_GUARDED_BY(mu_) = false;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sundesk::notification
