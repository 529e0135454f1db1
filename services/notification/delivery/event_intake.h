#pragma once

#include <functional>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "libs/core/clock.h"
#include "libs/kafka/consumer.h"
#include "services/notification/delivery/dispatcher.h"
#include "services/notification/store/pg_delivery_store.h"

namespace sundesk::notification {

// The topics notification consumes: every service's events.
inline constexpr const char* kEventTopics[] = {
    "sundesk.ticket.events.v1", "sundesk.routing.events.v1", "sundesk.sla.events.v1"};

// The Kafka handler: turns each consumed event into its deliveries, durably, before the
// consumer may commit the offset (at-least-once; a redelivered event adds nothing). A
// message that is not an event, or an event without a tenant (AgentPresenceChanged), has
// no subscriber and is skipped with a log line; a database error is returned, so the
// consumer retries the same message.
class EventIntake {
 public:
  // `on_new_deliveries` (may be empty) runs after an event added deliveries: the local
  // dispatcher's Wake(), so a delivery does not wait for the next poll.
  EventIntake(PgDeliveryStore& store, const Clock& clock,
              std::function<void()> on_new_deliveries = nullptr)
      : store_(store), clock_(clock), on_new_deliveries_(std::move(on_new_deliveries)) {}

  // Hands new deliveries straight to `dispatcher` (this process's), stored already leased
  // to it, as many as it has room for (Dispatcher::Room); the rest wait for its claim, and
  // it is woken for them.
  EventIntake(PgDeliveryStore& store, const Clock& clock, Dispatcher& dispatcher)
      : store_(store),
        clock_(clock),
        on_new_deliveries_([&dispatcher] { dispatcher.Wake(); }),
        dispatcher_(&dispatcher) {}

  absl::Status Handle(const kafka::Message& message);
  // The same for a consumer's batch: every event's deliveries in one transaction.
  absl::Status HandleBatch(absl::Span<const kafka::Message> messages);

 private:
  PgDeliveryStore& store_;
  const Clock& clock_;
  const std::function<void()> on_new_deliveries_;
  Dispatcher* const dispatcher_ = nullptr;
};

}  // namespace sundesk::notification
