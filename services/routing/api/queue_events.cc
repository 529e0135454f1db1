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

std::optional<QueueFact> QueueFactOf(const kafka::Message& message) {
  absl::StatusOr<events::v1::Event> parsed = kafka::ParseEvent(message);
  if (!parsed.ok()) {
    log::Warn("skipping a message that is not a sundesk event",
              {{"topic", message.topic},
               {"partition", absl::StrCat(message.partition)},
               {"offset", absl::StrCat(message.offset)},
               {"error", parsed.status().ToString()}});
    return std::nullopt;
  }
  const events::v1::Event& e = *parsed;
  QueueFact f;
  f.at = ToTime(e.time());
  auto snapshot = [&](const ticket::v1::Ticket& t) {
    f.kind = QueueFact::Kind::kTicket;
    f.ticket = TicketCopyFromProto(t);
    return f;
  };
  auto assignee = [&](const std::string& agent_id, const std::string& previous) {
    f.kind = QueueFact::Kind::kAssignee;
    f.id = e.subject();
    f.version = e.sequence();
    f.assignee_id = agent_id;
    f.previous_agent_id = previous;
    return f;
  };
  auto at_risk = [&](const google::protobuf::Timestamp& deadline) {
    f.kind = QueueFact::Kind::kSlaAtRisk;
    f.id = e.subject();
    f.deadline = ToTime(deadline);
    return f;
  };
  switch (e.payload_case()) {
    case events::v1::Event::kTicketCreated:
      return snapshot(e.ticket_created().ticket());
    case events::v1::Event::kTicketUpdated:
      return snapshot(e.ticket_updated().ticket());
    case events::v1::Event::kTicketStatusChanged:
      return snapshot(e.ticket_status_changed().ticket());
    case events::v1::Event::kTicketAssigned:
      return assignee(e.ticket_assigned().agent_id(), e.ticket_assigned().previous_agent_id());
    case events::v1::Event::kTicketUnassigned:
      return assignee("", e.ticket_unassigned().previous_agent_id());
    case events::v1::Event::kSlaWarning:
      return at_risk(e.sla_warning().deadline());
    case events::v1::Event::kSlaBreached:
      return at_risk(e.sla_breached().deadline());
    default:
      return std::nullopt;
  }
}

absl::Status ApplyQueueEvent(TicketQueue& queue, const kafka::Message& message) {
  return ApplyQueueEvents(queue, {&message, 1});
}

absl::Status ApplyQueueEvents(TicketQueue& queue, absl::Span<const kafka::Message> batch) {
  std::vector<QueueFact> facts;
  facts.reserve(batch.size());
  for (const kafka::Message& m : batch) {
    if (std::optional<QueueFact> f = QueueFactOf(m)) facts.push_back(*std::move(f));
  }
  return queue.OnFacts(facts);
}

}  // namespace sundesk::routing
