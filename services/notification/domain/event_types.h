#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sundesk::notification {

// The event type names of sundesk.events.v1 (the Event payload message names), in the
// order of the payload oneof. A test checks this list against events.proto.
const std::vector<std::string>& KnownEventTypes();
bool IsKnownEventType(absl::string_view name);

// INVALID_ARGUMENT "<field>[i]: ..." for an unknown or repeated name. Empty means all.
absl::Status CheckEventTypes(absl::string_view field, const std::vector<std::string>& names);

}  // namespace sundesk::notification
