#include "services/routing/api/queue_events.h"

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/kafka/envelope.h"
#include "services/routing/store/grpc_waiting_tickets.h"

namespace sundesk::routing {
namespace {

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace

absl::Status ApplyQueueEvent(TicketQueue& queue, const kafka::Message& message) {
  absl::StatusOr<events::v1::Event> parsed = kafka::ParseEvent(message);
  if (!parsed.ok()) {
    log::Warn("skipping a message that is not a sundesk event",
              {{"topic", message.topic},
               {"partition", absl::StrCat(message.partition)},
               {"offset", absl::StrCat(message.offset)},
               {"error", parsed.status().ToString()}});
    return absl::OkStatus();
  }
  const events::v1::Event& e = *parsed;
  const absl::Time at = ToTime(e.time());
  switch (e.payload_case()) {
    case events::v1::Event::kTicketCreated:
      return queue.OnTicket(TicketCopyFromProto(e.ticket_created().ticket()), at);
    case events::v1::Event::kTicketUpdated:
      return queue.OnTicket(TicketCopyFromProto(e.ticket_updated().ticket()), at);
    case events::v1::Event::kTicketStatusChanged:
      return queue.OnTicket(TicketCopyFromProto(e.ticket_status_changed().ticket()), at);
    case events::v1::Event::kTicketAssigned:
      return queue.OnAssignee(e.subject(), e.sequence(), e.ticket_assigned().agent_id(),
                              e.ticket_assigned().previous_agent_id(), at);
    case events::v1::Event::kTicketUnassigned:
      return queue.OnAssignee(e.subject(), e.sequence(), "",
                              e.ticket_unassigned().previous_agent_id(), at);
    case events::v1::Event::kSlaWarning:
      return queue.OnSlaAtRisk(e.subject(), ToTime(e.sla_warning().deadline()));
    case events::v1::Event::kSlaBreached:
      return queue.OnSlaAtRisk(e.subject(), ToTime(e.sla_breached().deadline()));
    default:
      return absl::OkStatus();
  }
}

}  // namespace sundesk::routing
