#include "services/notification/domain/tenant_directory.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace sundesk::notification {

absl::Status TenantNotFound(const std::string& tenant_id) {
  return absl::NotFoundError(
      absl::StrCat("tenant_id: no tenant \"", absl::CEscape(tenant_id), "\""));
}

}  // namespace sundesk::notification
