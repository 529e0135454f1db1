#pragma once
// Tickets' SLA clocks over time: ticket events in, timers firing, GetTicketSla out. The
// engine decides; the store keeps each ticket's state, ledger and published signals
// together.

#include <functional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "libs/core/clock.h"
#include "services/sla/domain/settings.h"
#include "services/sla/domain/sla_engine.h"
#include "services/sla/domain/sla_model.h"

namespace sundesk::sla {

class ClockStore {
 public:
  // Changes one ticket's state with the catalog to read policies and calendars from: the
  // store's, consistent with the state and its pending replans.
  using Mutation =
      absl::FunctionRef<absl::StatusOr<std::vector<SlaSignal>>(TicketSla&, const PolicyCatalog&)>;
  // The same for item `index` of a batch.
  using ItemMutation = absl::FunctionRef<absl::StatusOr<std::vector<SlaSignal>>(
      size_t index, TicketSla&, const PolicyCatalog&)>;
  struct Item {
    std::string ticket_id;
    std::string tenant_id;  // the event's (for a ticket not seen yet)
    std::string event_id;   // the causing event's (ledger entries name it)
    // A TicketCreated: the ticket's row is created if missing. Any other event of a ticket
    // without a row changes nothing (SlaEngine::Apply ignores events before the creation),
    // so it is not applied.
    bool creates = false;
  };
  virtual ~ClockStore() = default;

  // In one transaction that holds the items' tickets' locks: runs `mutate` on each item in
  // order (items of one ticket see each other's changes; a ticket not seen yet starts as a
  // default TicketSla), stores the changed states and their new ledger entries, and
  // publishes the returned signals in the same commit. Redelivered events are the
  // mutation's to recognise: SlaEngine::Apply changes nothing for a `sequence` not above
  // the ticket's last one, which is read and written under the ticket's lock. Returns the
  // indexes of the items applied in the committed attempt.
  virtual absl::StatusOr<std::vector<size_t>> UpdateBatch(const std::vector<Item>& items,
                                                          ItemMutation mutate) = 0;

  // A timer sweep's change of one ticket, as of `as_of` (what is due by then fires).
  using DueMutation = absl::FunctionRef<absl::StatusOr<std::vector<SlaSignal>>(
      TicketSla&, const PolicyCatalog&, absl::Time as_of)>;

  // How UpdateDue claims. With a `lookahead`, tickets whose timers fall due within it are
  // claimed before their due instant (those due within `spread` of the earliest one), read,
  // mutated as of the latest due instant among them and written, all in their transaction,
  // which nobody sees before it commits; then `wait_until` is called with that instant and
  // the transaction commits once it returns true: when the deadline comes, only the commit
  // remains, and nothing is visible before it. `wait_until` returning false (shutdown) rolls
  // the transaction back. The claimed tickets stay locked meanwhile (an event of one of
  // them waits at most the lookahead).
  struct DueClaim {
    absl::Duration lookahead = absl::ZeroDuration();
    absl::Duration spread = absl::Milliseconds(50);
    std::function<bool(absl::Time)> wait_until;
  };

  // Claims up to `limit` tickets whose next timer is due by `now` (see DueClaim) and that no
  // other replica holds, and updates each as UpdateBatch does (without an event id), as of
  // `now` (or, ahead, the claim's due instant), all in one commit. Returns how many it
  // claimed (0 when the wait was given up).
  virtual absl::StatusOr<int> UpdateDue(absl::Time now, int limit, DueMutation mutate,
                                        const DueClaim& claim) = 0;

  // The earliest instant a stored ticket has a timer due; absl::InfiniteFuture() if none.
  virtual absl::StatusOr<absl::Time> NextDue() = 0;

  // NOT_FOUND for a ticket not seen yet.
  virtual absl::StatusOr<TicketSla> Get(const std::string& ticket_id) = 0;

  // Takes the oldest settings change (calendar or policy update) whose tickets are not all
  // re-planned yet and that no other replica walks, and updates its next `limit` tickets as
  // UpdateBatch does (each TicketSla comes with its pending replans), all in one commit.
  // Returns how many tickets it updated; 0 when no replan is pending.
  virtual absl::StatusOr<int> Replan(int limit, Mutation mutate) = 0;
};

// Told of each signal once its commit succeeded (metrics).
class SlaObserver {
 public:
  virtual ~SlaObserver() = default;
  // `from_timer`: fired by a timer sweep (its lateness is worth measuring).
  virtual void Published(const SlaSignal& signal, bool from_timer) = 0;
};

class TicketClocks {
 public:
  TicketClocks(ClockStore& store, const SlaEngine& engine, SlaObserver* observer = nullptr)
      : store_(store), engine_(engine), observer_(observer) {}

  // Applies one ticket event; at-least-once safe (by the ticket's sequence).
  absl::Status Apply(const TicketEvent& event);
  // Applies `events` in order in one transaction (several may concern one ticket); as
  // at-least-once safe as Apply.
  absl::Status ApplyBatch(const std::vector<TicketEvent>& events);

  // When the next timer falls due (absl::InfiniteFuture() if none is pending).
  absl::StatusOr<absl::Time> NextDue() { return store_.NextDue(); }

  // Fires up to `limit` tickets' due warnings and breaches; returns how many tickets.
  absl::StatusOr<int> FireDue(absl::Time now, int limit,
                              const ClockStore::DueClaim& claim = ClockStore::DueClaim());

  // Re-plans up to `limit` tickets after a calendar or policy update; returns how many.
  absl::StatusOr<int> Replan(int limit);

  struct TicketView {
    TicketSla sla;
    std::vector<ClockView> clocks;
  };
  // Another tenant's ticket is NOT_FOUND, as is one not seen yet.
  absl::StatusOr<TicketView> Get(const Caller& caller, const std::string& ticket_id,
                                 bool include_ledger);

 private:
  void Tell(const std::vector<SlaSignal>& signals, bool from_timer);

  ClockStore& store_;
  const SlaEngine& engine_;
  SlaObserver* observer_;
};

}  // namespace sundesk::sla
