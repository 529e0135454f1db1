#include "services/notification/delivery/event_facts.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sundesk::notification {

EventFacts FactsOf(const events::v1::Event& e) {
  EventFacts f;
  f.type = e.type();
  f.event_id = e.event_id();
  f.tenant_id = e.tenant_id();
  f.ticket_id = e.subject();
  f.time = absl::FromUnixSeconds(e.time().seconds()) + absl::Nanoseconds(e.time().nanos());
  switch (e.payload_case()) {
    case events::v1::Event::kTicketCreated:
      f.ticket_subject = e.ticket_created().ticket().subject();
      break;
    case events::v1::Event::kTicketUpdated:
      f.ticket_subject = e.ticket_updated().ticket().subject();
      f.detail = absl::StrJoin(e.ticket_updated().changed_fields(), ", ");
      break;
    case events::v1::Event::kTicketStatusChanged:
      f.ticket_subject = e.ticket_status_changed().ticket().subject();
      f.detail = absl::StrCat(
          ticket::v1::TicketStatus_Name(e.ticket_status_changed().from_status()), " -> ",
          ticket::v1::TicketStatus_Name(e.ticket_status_changed().to_status()));
      break;
    case events::v1::Event::kTicketAssigned:
      f.detail = absl::StrCat("to agent ", e.ticket_assigned().agent_id());
      break;
    case events::v1::Event::kSlaWarning:
      f.detail = absl::StrCat(sla::v1::SlaMetric_Name(e.sla_warning().metric()), ", ",
                              e.sla_warning().percent_elapsed(), "% elapsed");
      break;
    case events::v1::Event::kSlaBreached:
      f.detail = sla::v1::SlaMetric_Name(e.sla_breached().metric());
      break;
    case events::v1::Event::kSlaMet:
      f.detail = sla::v1::SlaMetric_Name(e.sla_met().metric());
      break;
    default:
      break;
  }
  return f;
}

}  // namespace sundesk::notification
