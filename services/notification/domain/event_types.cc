#include "services/notification/domain/event_types.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"

namespace sundesk::notification {

const std::vector<std::string>& KnownEventTypes() {
  static const auto* const kTypes = new std::vector<std::string>{
      "TicketCreated",    "TicketUpdated", "TicketStatusChanged", "TicketAssigned",
      "TicketUnassigned", "CommentAdded",  "TicketQueued",        "OfferMade",
      "OfferAccepted",    "OfferRejected", "OfferExpired",        "AgentPresenceChanged",
      "SlaClockStarted",  "SlaWarning",    "SlaBreached",         "SlaMet"};
  return *kTypes;
}

bool IsKnownEventType(absl::string_view name) {
  const auto& types = KnownEventTypes();
  return std::find(types.begin(), types.end(), name) != types.end();
}

absl::Status CheckEventTypes(absl::string_view field, const std::vector<std::string>& names) {
  std::set<std::string> seen;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!IsKnownEventType(names[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, "[", i, "]: not a known event type (e.g. \"TicketCreated\")"));
    }
    if (!seen.insert(names[i]).second) {
      return absl::InvalidArgumentError(absl::StrCat(field, "[", i, "]: repeated"));
    }
  }
  return absl::OkStatus();
}

}  // namespace sundesk::notification
