#include "services/notification/delivery/event_intake.h"

#include "absl/strings/str_cat.h"
#include "libs/core/ids.h"
#include "libs/core/log.h"
#include "libs/kafka/envelope.h"

namespace sundesk::notification {

absl::Status EventIntake::Handle(const kafka::Message& message) {
  absl::StatusOr<events::v1::Event> event = kafka::ParseEvent(message);
  if (!event.ok()) {
    log::Warn("notification: skipping a message that is not an event",
              {{"topic", message.topic},
               {"partition", message.partition},
               {"offset", message.offset},
               {"error", event.status().ToString()}});
    return absl::OkStatus();
  }
  if (event->tenant_id().empty()) return absl::OkStatus();  // no tenant, no subscriber
  if (!IsUuid(event->tenant_id())) {
    log::Warn("notification: skipping an event whose tenant_id is not a UUID",
              {{"event_id", event->event_id()}, {"tenant_id", event->tenant_id()}});
    return absl::OkStatus();
  }
  absl::StatusOr<int> added = store_.RecordEvent(*event, clock_.Now());
  if (!added.ok()) return added.status();
  if (*added > 0 && on_new_deliveries_) on_new_deliveries_();
  return absl::OkStatus();
}

}  // namespace sundesk::notification
