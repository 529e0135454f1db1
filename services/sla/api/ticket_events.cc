#include "services/sla/api/ticket_events.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "libs/core/ids.h"
#include "libs/core/log.h"
#include "libs/kafka/envelope.h"

namespace sundesk::sla {
namespace {

TicketFacts Facts(const events::v1::Event& e, const ticket::v1::Ticket& t) {
  return TicketFacts{.ticket_id = e.subject(),
                     .tenant_id = e.tenant_id(),
                     .priority = static_cast<Priority>(t.priority()),
                     .channel = static_cast<Channel>(t.channel()),
                     .tags = {t.tags().begin(), t.tags().end()},
                     .status = static_cast<TicketStatus>(t.status()),
                     .assignee_id = t.assignee_id()};
}

}  // namespace

TicketEvent FromEvent(const events::v1::Event& e) {
  TicketEvent out{
      .event_id = e.event_id(),
      .sequence = e.sequence(),
      .time = absl::FromUnixSeconds(e.time().seconds()) + absl::Nanoseconds(e.time().nanos())};
  out.ticket.ticket_id = e.subject();
  out.ticket.tenant_id = e.tenant_id();
  switch (e.payload_case()) {
    case events::v1::Event::kTicketCreated:
      out.kind = TicketEvent::Kind::kCreated;
      out.ticket = Facts(e, e.ticket_created().ticket());
      break;
    case events::v1::Event::kTicketUpdated:
      out.kind = TicketEvent::Kind::kUpdated;
      out.ticket = Facts(e, e.ticket_updated().ticket());
      break;
    case events::v1::Event::kTicketStatusChanged:
      out.kind = TicketEvent::Kind::kStatusChanged;
      out.ticket = Facts(e, e.ticket_status_changed().ticket());
      break;
    case events::v1::Event::kCommentAdded:
      out.kind = TicketEvent::Kind::kCommentAdded;
      out.author_kind = static_cast<AuthorKind>(e.comment_added().author_kind());
      out.is_public = e.comment_added().public_();
      break;
    case events::v1::Event::kTicketAssigned:
      out.kind = TicketEvent::Kind::kAssigned;
      out.ticket.assignee_id = e.ticket_assigned().agent_id();
      break;
    case events::v1::Event::kTicketUnassigned:
      out.kind = TicketEvent::Kind::kAssigned;
      break;
    default:
      out.kind = TicketEvent::Kind::kOther;
      break;
  }
  return out;
}

namespace {

// The record's event, or nullopt (logged) for one that is not a ticket event.
std::optional<TicketEvent> Decode(const kafka::Message& message) {
  absl::StatusOr<events::v1::Event> event = kafka::ParseEvent(message);
  if (!event.ok() || event->subject().empty() || !IsUuid(event->event_id())) {
    log::Warn("skipping a record that is not a ticket event",
              {{"topic", message.topic},
               {"partition", std::to_string(message.partition)},
               {"offset", std::to_string(message.offset)},
               {"error", event.ok() ? "no subject, or an event id that is not a UUID"
                                    : event.status().ToString()}});
    return std::nullopt;
  }
  return FromEvent(*event);
}

}  // namespace

absl::Status HandleTicketEventRecord(TicketClocks& clocks, const kafka::Message& message) {
  return HandleTicketEventRecords(clocks, absl::MakeConstSpan(&message, 1));
}

absl::Status HandleTicketEventRecords(TicketClocks& clocks,
                                      absl::Span<const kafka::Message> messages, int shards) {
  shards = std::max(1, std::min<int>(shards, static_cast<int>(messages.size())));
  std::vector<std::vector<TicketEvent>> parts(shards);
  for (const kafka::Message& m : messages) {
    std::optional<TicketEvent> e = Decode(m);
    if (!e.has_value()) continue;
    const size_t part = std::hash<std::string>()(e->ticket.ticket_id) % shards;
    parts[part].push_back(*std::move(e));
  }
  if (shards == 1) return clocks.ApplyBatch(parts[0]);
  // The other parts on their own threads, the first on this one; each one transaction.
  std::vector<absl::Status> results(shards);
  std::vector<std::thread> threads;
  for (int i = 1; i < shards; ++i) {
    if (parts[i].empty()) continue;
    threads.emplace_back([&, i] { results[i] = clocks.ApplyBatch(parts[i]); });
  }
  results[0] = clocks.ApplyBatch(parts[0]);
  for (std::thread& t : threads) t.join();
  for (const absl::Status& s : results) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace sundesk::sla
