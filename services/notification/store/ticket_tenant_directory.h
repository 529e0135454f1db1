#pragma once

#include <string>

#include "services/notification/domain/tenant_directory.h"
#include "services/ticket/client/tenant_lookup.h"

namespace sundesk::notification {

// Which tenants exist, as the ticket service knows them (in production a
// ticket::CachedTenantLookup over TenantService.GetTenant with notification's SERVICE key).
// Thread-safe.
class TicketTenantDirectory final : public TenantDirectory {
 public:
  explicit TicketTenantDirectory(ticket::TenantLookup& tenants) : tenants_(tenants) {}

  absl::Status CheckExists(const std::string& tenant_id) override {
    return tenants_.GetTenant(tenant_id).status();
  }

 private:
  ticket::TenantLookup& tenants_;
};

}  // namespace sundesk::notification
