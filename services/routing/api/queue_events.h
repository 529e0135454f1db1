#pragma once

#include <optional>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "libs/kafka/consumer.h"
#include "services/routing/domain/queue.h"

namespace sundesk::routing {

// The topics routing consumes for its queue.
inline constexpr char kTicketEventsTopic[] = "sundesk.ticket.events.v1";
inline constexpr char kSlaEventsTopic[] = "sundesk.sla.events.v1";

// Translates one consumed event into the queue's domain call: ticket snapshots (created,
// updated, status changed), assignments, and SLA warnings and breaches; other events are
// ignored. A message that is not a sundesk event is logged and skipped (retrying it could
// never succeed); a failing store answers an error, so the consumer retries the message.
absl::Status ApplyQueueEvent(TicketQueue& queue, const kafka::Message& message);

// The queue fact one consumed event carries; nullopt for an event the queue ignores (and
// for a message that is not a sundesk event, which is logged).
std::optional<QueueFact> QueueFactOf(const kafka::Message& message);

// A consumer batch: every message's fact applied in order, committed in one transaction
// (TicketQueue::OnFacts). An error leaves the whole batch to be retried; applying it again
// changes nothing (by ticket version, and the earliest deadline).
absl::Status ApplyQueueEvents(TicketQueue& queue, absl::Span<const kafka::Message> batch);

}  // namespace sundesk::routing
