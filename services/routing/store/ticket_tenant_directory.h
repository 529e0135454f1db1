#pragma once

#include "services/routing/domain/routing_policy.h"
#include "services/ticket/client/tenant_lookup.h"

namespace sundesk::routing {

// Tenants as the ticket service knows them (in production a ticket::CachedTenantLookup over
// TenantService.GetTenant with routing's SERVICE key), as routing's TenantInfo. Thread-safe.
class TicketTenantDirectory final : public TenantDirectory {
 public:
  explicit TicketTenantDirectory(ticket::TenantLookup& tenants) : tenants_(tenants) {}

  absl::StatusOr<TenantInfo> GetTenant(absl::string_view tenant_id) override;

 private:
  ticket::TenantLookup& tenants_;
};

}  // namespace sundesk::routing
