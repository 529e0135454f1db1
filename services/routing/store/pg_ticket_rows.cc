#include "services/routing/store/pg_ticket_rows.h"

#include <string>

#include "libs/core/status.h"
#include "libs/pg/text_array.h"

namespace sundesk::routing {

absl::StatusOr<TicketCopy> TicketCopyFromRow(const pg::Result& r, int row) {
  TicketCopy t;
  t.ticket_id = std::string(r.Text(row, "ticket_id"));
  t.tenant_id = std::string(r.Text(row, "tenant_id"));
  t.subject = std::string(r.Text(row, "subject"));
  t.language = std::string(r.Text(row, "language"));
  SUNDESK_ASSIGN_OR_RETURN(int64_t priority, r.Int64(row, "priority"));
  t.priority = static_cast<int>(priority);
  SUNDESK_ASSIGN_OR_RETURN(t.required_skills, pg::ParseTextArray(r.Text(row, "required_skills")));
  SUNDESK_ASSIGN_OR_RETURN(int64_t status, r.Int64(row, "status"));
  t.status = static_cast<int>(status);
  t.assignee_id = std::string(r.Text(row, "assignee_id"));
  SUNDESK_ASSIGN_OR_RETURN(t.version, r.Int64(row, "version"));
  return t;
}

}  // namespace sundesk::routing
