#include "services/sla/domain/ticket_clocks.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace sundesk::sla {

absl::Status TicketClocks::Apply(const TicketEvent& event) {
  if (event.kind == TicketEvent::Kind::kOther) return absl::OkStatus();  // no clock cares
  return store_.Update(event.ticket.ticket_id, event.event_id,
                       [&](TicketSla& sla) { return engine_.Apply(sla, event); });
}

absl::StatusOr<int> TicketClocks::FireDue(absl::Time now, int limit) {
  return store_.UpdateDue(now, limit, [&](TicketSla& sla) { return engine_.FireDue(sla); });
}

absl::StatusOr<TicketClocks::TicketView> TicketClocks::Get(const Caller& caller,
                                                           const std::string& ticket_id,
                                                           bool include_ledger) {
  if (ticket_id.empty()) return absl::InvalidArgumentError("ticket_id: required");
  absl::StatusOr<TicketSla> sla = store_.Get(ticket_id);
  if (absl::IsNotFound(sla.status()) ||
      (sla.ok() && !caller.all_tenants && sla->ticket.tenant_id != caller.tenant_id)) {
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
