#include "services/sla/store/sla_events.h"

#include "services/sla/store/sla_proto.h"

namespace sundesk::sla {

events::v1::Event ToEvent(const SlaSignal& s) {
  events::v1::Event e;
  e.set_event_id(s.event_id);
  e.set_source("sundesk/sla");
  e.set_tenant_id(s.tenant_id);
  e.set_subject(s.ticket_id);
  e.set_sequence(s.sequence);
  SetTimestamp(s.time, e.mutable_time());
  const auto metric = static_cast<v1::SlaMetric>(s.metric);
  switch (s.kind) {
    case SlaSignal::Kind::kClockStarted: {
      e.set_type("SlaClockStarted");
      auto* p = e.mutable_sla_clock_started();
      p->set_metric(metric);
      SetDuration(s.target, p->mutable_target());
      if (s.deadline) SetTimestamp(*s.deadline, p->mutable_deadline());
      p->set_policy_id(s.policy_id);
      p->set_calendar_id(s.calendar_id);
      p->set_cycle(s.cycle);
      break;
    }
    case SlaSignal::Kind::kWarning: {
      e.set_type("SlaWarning");
      auto* p = e.mutable_sla_warning();
      p->set_metric(metric);
      SetDuration(s.target, p->mutable_target());
      SetDuration(s.remaining, p->mutable_remaining());
      if (s.deadline) SetTimestamp(*s.deadline, p->mutable_deadline());
      p->set_percent_elapsed(s.percent);
      p->set_cycle(s.cycle);
      break;
    }
    case SlaSignal::Kind::kBreached: {
      e.set_type("SlaBreached");
      auto* p = e.mutable_sla_breached();
      p->set_metric(metric);
      SetDuration(s.target, p->mutable_target());
      if (s.deadline) SetTimestamp(*s.deadline, p->mutable_deadline());
      p->set_cycle(s.cycle);
      break;
    }
    case SlaSignal::Kind::kMet: {
      e.set_type("SlaMet");
      auto* p = e.mutable_sla_met();
      p->set_metric(metric);
      SetDuration(s.target, p->mutable_target());
      SetDuration(s.elapsed, p->mutable_elapsed());
      p->set_cycle(s.cycle);
      break;
    }
  }
  return e;
}

}  // namespace sundesk::sla
