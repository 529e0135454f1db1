#include "services/notification/delivery/event_intake.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/core/ids.h"
#include "libs/core/log.h"
#include "libs/kafka/envelope.h"

namespace sundesk::notification {

namespace {

// The event in `message`, or nullopt for one nobody can subscribe to (logged).
std::optional<events::v1::Event> Deliverable(const kafka::Message& message) {
  absl::StatusOr<events::v1::Event> event = kafka::ParseEvent(message);
  if (!event.ok()) {
    log::Warn("notification: skipping a message that is not an event",
              {{"topic", message.topic},
               {"partition", message.partition},
               {"offset", message.offset},
               {"error", event.status().ToString()}});
    return std::nullopt;
  }
  if (event->tenant_id().empty()) return std::nullopt;  // no tenant, no subscriber
  if (!IsUuid(event->tenant_id())) {
    log::Warn("notification: skipping an event whose tenant_id is not a UUID",
              {{"event_id", event->event_id()}, {"tenant_id", event->tenant_id()}});
    return std::nullopt;
  }
  return *std::move(event);
}

}  // namespace

absl::Status EventIntake::Handle(const kafka::Message& message) {
  return HandleBatch(absl::MakeConstSpan(&message, 1));
}

absl::Status EventIntake::HandleBatch(absl::Span<const kafka::Message> messages) {
  std::vector<events::v1::Event> events;
  events.reserve(messages.size());
  for (const kafka::Message& m : messages) {
    if (auto e = Deliverable(m)) events.push_back(*std::move(e));
  }
  if (events.empty()) return absl::OkStatus();
  PgDeliveryStore::Handoff handoff;
  if (dispatcher_ != nullptr) {
    handoff.max = dispatcher_->Room();
    handoff.lease = dispatcher_->lease();
  }
  absl::StatusOr<int> added =
      store_.RecordEvents(events, clock_.Now(), dispatcher_ != nullptr ? &handoff : nullptr);
  if (!added.ok()) return added.status();
  const int handed_over = static_cast<int>(handoff.taken.size());
  if (handed_over > 0) dispatcher_->Adopt(std::move(handoff.taken));
  if (*added > handed_over && on_new_deliveries_) on_new_deliveries_();
  return absl::OkStatus();
}

}  // namespace sundesk::notification
