#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/calendar/business_calendar.h"
#include "libs/core/clock.h"
#include "services/sla/domain/sla_model.h"

namespace sundesk::sla {

// Where the engine finds a tenant's policies and calendars (the store, or a fake in tests).
class PolicyCatalog {
 public:
  virtual ~PolicyCatalog() = default;
  virtual absl::StatusOr<std::vector<Policy>> Policies(const std::string& tenant_id) const = 0;
  // NOT_FOUND when there is no such calendar.
  virtual absl::StatusOr<std::shared_ptr<const calendar::BusinessCalendar>> CalendarById(
      const std::string& calendar_id) const = 0;
};

// The policy that measures a ticket: every match field that is set equals the ticket's (`tag`:
// is among its tags); the most match fields set wins; ties go to the oldest. nullptr if none.
const Policy* MatchPolicy(const std::vector<Policy>& policies, const TicketFacts& ticket);

// Runs a ticket's SLA clocks from its events and from time passing. Pure: state in, state
// and signals out; the caller stores the TicketSla and publishes the signals.
//
// Rules (ISSUE 5, API.md):
// - first_response and resolution start at creation; only open calendar time counts, so a
//   ticket created while the desk is closed counts from the opening.
// - A public agent comment meets first_response and the running next_response cycle, and
//   ends the periodic_update cycle, starting the next (the first cycle starts at the first
//   public agent comment).
// - A public customer comment starts a next_response cycle once the first response is given,
//   unless one is already waiting.
// - PENDING and ON_HOLD pause every counting clock; back to NEW or OPEN resumes them.
// - SOLVED meets resolution and cancels the response clocks; a reopen resumes resolution with
//   its elapsed time and starts a periodic_update cycle.
// - A change of priority, channel or tags re-matches the policy: running clocks take the new
//   targets (and calendar) keeping their elapsed time; a target the new policy lacks is
//   canceled.
// - A target is met by a reply strictly before its deadline; at the deadline it is breached.
//   A breach is final for its cycle; a breached clock keeps counting until stopped.
// - A settings change re-plans (TicketSla::pending_replans, applied first by Apply and
//   FireDue): a calendar change keeps the time counted on the old calendar up to the change
//   and recomputes deadlines on the new one (LEDGER_ACTION_REPLANNED); a policy change
//   re-targets running clocks as a priority change does (LEDGER_ACTION_RETARGETED).
// - Each ticket event applies once: an event whose `sequence` is not above the last one
//   applied (redelivered, or older than one already applied) changes nothing.
class SlaEngine {
 public:
  SlaEngine(const PolicyCatalog& catalog, const Clock& clock) : catalog_(catalog), clock_(clock) {}

  // The same engine reading policies and calendars from `catalog` (a store's transaction).
  SlaEngine WithCatalog(const PolicyCatalog& catalog) const { return SlaEngine(catalog, clock_); }

  // Applies `event` to `sla` (a default TicketSla for a ticket not seen before). Warnings and
  // breaches due at or before the event's time fire first, so the ledger stays in time order.
  absl::StatusOr<std::vector<SlaSignal>> Apply(TicketSla& sla, const TicketEvent& event) const;

  // Fires the warnings and breaches due by now, each at its own due instant.
  absl::StatusOr<std::vector<SlaSignal>> FireDue(TicketSla& sla) const;
  // The same as of `now` (a timer sweep prepares a deadline's commit ahead of it).
  absl::StatusOr<std::vector<SlaSignal>> FireDueAt(TicketSla& sla, absl::Time now) const;

  // The earliest instant at which FireDue has something to do; absl::InfiniteFuture() if none.
  static absl::Time NextDue(const TicketSla& sla);

  // The clocks as of now.
  absl::StatusOr<std::vector<ClockView>> View(const TicketSla& sla) const;

 private:
  const PolicyCatalog& catalog_;
  const Clock& clock_;
};

}  // namespace sundesk::sla
