#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/pg/result.h"
#include "services/routing/domain/queue.h"

// Reading routing.tickets rows (alias `t`), shared by the queue and offer stores.
namespace sundesk::routing {

inline constexpr absl::string_view kTicketColumns =
    "t.ticket_id::text AS ticket_id, t.tenant_id::text AS tenant_id, t.subject, t.language, "
    "t.priority, t.required_skills::text AS required_skills, t.status, t.assignee_id, t.version, "
    "t.queued_time";

absl::StatusOr<TicketCopy> TicketCopyFromRow(const pg::Result& r, int row);

}  // namespace sundesk::routing
