#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/core/clock.h"
#include "services/routing/domain/queue.h"

// Start-up reconciliation: the queue is built from events, so a ticket whose events routing
// never applied (a lost topic, a queue restored from an old backup) would wait unseen. At
// start-up routing asks the ticket service for its open, unassigned tickets and applies them
// like snapshot events: by version, so a copy routing already holds changes nothing.
namespace sundesk::routing {

struct WaitingTicketsPage {
  std::vector<TicketCopy> tickets;
  std::string next_page_token;  // empty on the last page
};

// The ticket service's tickets without an assignee (any tenant).
class WaitingTickets {
 public:
  virtual ~WaitingTickets() = default;
  virtual absl::StatusOr<WaitingTicketsPage> List(absl::string_view page_token) = 0;
};

// Applies every waiting ticket (SOLVED and CLOSED ones skipped) to `queue`; returns how many
// were read.
absl::StatusOr<int> ReconcileQueue(TicketQueue& queue, WaitingTickets& source, const Clock& clock);

}  // namespace sundesk::routing
