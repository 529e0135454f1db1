#include "services/routing/domain/reconcile.h"

#include "libs/core/status.h"

namespace sundesk::routing {

absl::StatusOr<int> ReconcileQueue(TicketQueue& queue, WaitingTickets& source, const Clock& clock) {
  int read = 0;
  std::string token;
  do {
    SUNDESK_ASSIGN_OR_RETURN(WaitingTicketsPage page, source.List(token));
    for (const TicketCopy& t : page.tickets) {
      ++read;
      if (!WaitsForAgent(t.status, t.assignee_id)) continue;
      SUNDESK_RETURN_IF_ERROR(queue.OnTicket(t, clock.Now()));
    }
    token = page.next_page_token;
  } while (!token.empty());
  return read;
}

}  // namespace sundesk::routing
