#pragma once

#include "services/sla/domain/sla_model.h"
#include "sundesk/events/v1/events.pb.h"

namespace sundesk::sla {

// The sundesk.sla.events.v1 event announcing `signal`; its id is the signal's deterministic
// id, so a signal computed twice is one event to consumers.
events::v1::Event ToEvent(const SlaSignal& signal);

}  // namespace sundesk::sla
