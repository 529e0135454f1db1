#pragma once

#include "services/notification/domain/email_template.h"
#include "sundesk/events/v1/events.pb.h"

namespace sundesk::notification {

// What the email templates may say about `event` (domain/email_template.h).
EventFacts FactsOf(const events::v1::Event& event);

}  // namespace sundesk::notification
