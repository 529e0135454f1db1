#include "services/sla/domain/sla_model.h"

namespace sundesk::sla {

absl::Duration Policy::Target(Metric metric) const {
  switch (metric) {
    case Metric::kFirstResponse:
      return first_response;
    case Metric::kNextResponse:
      return next_response;
    case Metric::kPeriodicUpdate:
      return periodic_update;
    case Metric::kResolution:
      return resolution;
    case Metric::kUnspecified:
      break;
  }
  return absl::ZeroDuration();
}

ClockState SlaClock::state() const {
  if (breached) return ClockState::kBreached;
  if (met) return ClockState::kMet;
  if (canceled) return ClockState::kUnspecified;
  return counting ? ClockState::kRunning : ClockState::kPaused;
}

SlaClock* TicketSla::Find(Metric metric) {
  for (SlaClock& c : clocks) {
    if (c.metric == metric) return &c;
  }
  return nullptr;
}

const SlaClock* TicketSla::Find(Metric metric) const {
  for (const SlaClock& c : clocks) {
    if (c.metric == metric) return &c;
  }
  return nullptr;
}

}  // namespace sundesk::sla
