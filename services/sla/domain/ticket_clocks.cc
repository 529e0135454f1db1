#include "services/sla/domain/ticket_clocks.h"

#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace sundesk::sla {

void TicketClocks::Tell(const std::vector<SlaSignal>& signals, bool from_timer) {
  if (observer_ == nullptr) return;
  for (const SlaSignal& s : signals) observer_->Published(s, from_timer);
}

absl::Status TicketClocks::Apply(const TicketEvent& event) { return ApplyBatch({event}); }

absl::Status TicketClocks::ApplyBatch(const std::vector<TicketEvent>& events) {
  std::vector<const TicketEvent*> relevant;
  std::vector<ClockStore::Item> items;
  for (const TicketEvent& e : events) {
    if (e.kind == TicketEvent::Kind::kOther) continue;  // no clock cares
    relevant.push_back(&e);
    items.push_back({.ticket_id = e.ticket.ticket_id,
                     .tenant_id = e.ticket.tenant_id,
                     .event_id = e.event_id,
                     .creates = e.kind == TicketEvent::Kind::kCreated});
  }
  if (items.empty()) return absl::OkStatus();
  // A transaction may run the mutations again after a serialization failure: only the
  // items of the committed run count.
  std::vector<std::vector<SlaSignal>> signals(items.size());
  SUNDESK_ASSIGN_OR_RETURN(
      std::vector<size_t> applied,
      store_.UpdateBatch(items,
                         [&](size_t i, TicketSla& sla, const PolicyCatalog& catalog)
                             -> absl::StatusOr<std::vector<SlaSignal>> {
                           SUNDESK_ASSIGN_OR_RETURN(
                               signals[i], engine_.WithCatalog(catalog).Apply(sla, *relevant[i]));
                           return signals[i];
                         }));
  for (size_t i : applied) Tell(signals[i], /*from_timer=*/false);
  return absl::OkStatus();
}

absl::StatusOr<int> TicketClocks::FireDue(absl::Time now, int limit,
                                          const ClockStore::DueClaim& claim) {
  // By ticket: a retried transaction runs a ticket's mutation again and replaces its entry.
  std::map<std::string, std::vector<SlaSignal>> committed;
  SUNDESK_ASSIGN_OR_RETURN(int claimed,
                           store_.UpdateDue(
                               now, limit,
                               [&](TicketSla& sla, const PolicyCatalog& catalog,
                                   absl::Time as_of) -> absl::StatusOr<std::vector<SlaSignal>> {
                                 SUNDESK_ASSIGN_OR_RETURN(
                                     std::vector<SlaSignal> fired,
                                     engine_.WithCatalog(catalog).FireDueAt(sla, as_of));
                                 committed[sla.ticket.ticket_id] = fired;
                                 return fired;
                               },
                               claim));
  for (const auto& [ticket_id, signals] : committed) Tell(signals, /*from_timer=*/true);
  return claimed;
}

absl::StatusOr<int> TicketClocks::Replan(int limit) {
  std::map<std::string, std::vector<SlaSignal>> committed;
  SUNDESK_ASSIGN_OR_RETURN(
      int claimed,
      store_.Replan(limit,
                    [&](TicketSla& sla,
                        const PolicyCatalog& catalog) -> absl::StatusOr<std::vector<SlaSignal>> {
                      // The pending replans apply first, then whatever the new plan makes
                      // due by now.
                      SUNDESK_ASSIGN_OR_RETURN(std::vector<SlaSignal> fired,
                                               engine_.WithCatalog(catalog).FireDue(sla));
                      committed[sla.ticket.ticket_id] = fired;
                      return fired;
                    }));
  // Not timer lateness: a new plan can make a deadline due that already passed.
  for (const auto& [ticket_id, signals] : committed) Tell(signals, /*from_timer=*/false);
  return claimed;
}

absl::StatusOr<TicketClocks::TicketView> TicketClocks::Get(const Caller& caller,
                                                           const std::string& ticket_id,
                                                           bool include_ledger) {
  if (ticket_id.empty()) return absl::InvalidArgumentError("ticket_id: required");
  absl::StatusOr<TicketSla> sla = store_.Get(ticket_id);
  // ADMIN and SERVICE keys see every ticket, a CLIENT key its tenant's, an AGENT key the
  // tickets assigned to its agent (as in the ticket service).
  const auto visible = [&](const TicketSla& t) {
    if (caller.all_tenants) return true;
    if (caller.agent) return !caller.agent_id.empty() && t.ticket.assignee_id == caller.agent_id;
    return !caller.tenant_id.empty() && t.ticket.tenant_id == caller.tenant_id;
  };
  if (absl::IsNotFound(sla.status()) || (sla.ok() && !visible(*sla))) {
    return absl::NotFoundError(absl::StrCat(
        "ticket_id: ticket '", absl::CHexEscape(ticket_id.substr(0, 64)), "' not found"));
  }
  if (!sla.ok()) return sla.status();
  TicketView view;
  SUNDESK_ASSIGN_OR_RETURN(view.clocks, engine_.View(*sla));
  view.sla = *std::move(sla);
  if (!include_ledger) view.sla.ledger.clear();
  return view;
}

}  // namespace sundesk::sla
