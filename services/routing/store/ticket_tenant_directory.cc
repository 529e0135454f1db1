#include "services/routing/store/ticket_tenant_directory.h"

#include "libs/core/status.h"

namespace sundesk::routing {

absl::StatusOr<TenantInfo> TicketTenantDirectory::GetTenant(absl::string_view tenant_id) {
  SUNDESK_ASSIGN_OR_RETURN(ticket::v1::Tenant tenant, tenants_.GetTenant(tenant_id));
  return TenantInfo{
      .tenant_id = tenant.tenant_id(),
      .languages = {tenant.languages().begin(), tenant.languages().end()},
      .guidelines = tenant.guidelines(),
      .auto_assign = tenant.routing_mode() == ticket::v1::ROUTING_MODE_AUTO_ASSIGN,
  };
}

}  // namespace sundesk::routing
