#include "services/sla/domain/sla_engine.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/core/ids.h"
#include "libs/core/status.h"
#include "services/sla/domain/ledger.h"

namespace sundesk::sla {
namespace {

using calendar::BusinessCalendar;

bool Counts(TicketStatus s) { return s == TicketStatus::kNew || s == TicketStatus::kOpen; }
bool WaitsOnOthers(TicketStatus s) {
  return s == TicketStatus::kPending || s == TicketStatus::kOnHold;
}
bool Finished(TicketStatus s) { return s == TicketStatus::kSolved || s == TicketStatus::kClosed; }

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
}

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(d / absl::Nanoseconds(1)));
}

int MatchScore(const Policy& p, const TicketFacts& t) {
  int score = 0;
  if (p.priority != Priority::kUnspecified) {
    if (p.priority != t.priority) return -1;
    ++score;
  }
  if (p.channel != Channel::kUnspecified) {
    if (p.channel != t.channel) return -1;
    ++score;
  }
  if (!p.tag.empty()) {
    if (std::find(t.tags.begin(), t.tags.end(), p.tag) == t.tags.end()) return -1;
    ++score;
  }
  return score;
}

// One application of events or timers to one ticket: the calendar in force, the cause, and
// the signals produced.
class Step {
 public:
  Step(TicketSla& sla, std::shared_ptr<const BusinessCalendar> cal, const Policy* policy,
       std::string cause_event_id)
      : sla_(sla), cal_(std::move(cal)), policy_(policy), cause_(std::move(cause_event_id)) {}

  std::vector<SlaSignal> TakeSignals() { return std::move(signals_); }
  void set_calendar(std::shared_ptr<const BusinessCalendar> cal) { cal_ = std::move(cal); }
  void set_policy(const Policy* policy) { policy_ = policy; }
  // Ledger entries name this settings change as their cause ("calendars/<id>@<version>").
  void set_cause_setting(std::string cause) { cause_setting_ = std::move(cause); }
  const Policy* policy() const { return policy_; }

  // Counts open time up to `t`.
  void Settle(SlaClock& c, absl::Time t) {
    if (c.counting && t > c.counted_until) {
      c.elapsed += cal_->OpenTimeBetween(c.counted_until, t);
      c.counted_until = t;
    }
  }

  // Recomputes the deadline and warning instants of `c` from its elapsed time.
  void Plan(SlaClock& c) {
    if (!c.counting || c.stopped()) {
      if (!c.breached) c.deadline = absl::InfiniteFuture();
      c.warn_time = absl::InfiniteFuture();
      return;
    }
    if (!c.breached) c.deadline = cal_->DeadlineAfter(c.counted_until, c.target - c.elapsed);
    const absl::Duration warn_budget = c.target * sla_.warn_at_percent / 100;
    c.warn_time = c.warned || c.breached || sla_.warn_at_percent <= 0
                      ? absl::InfiniteFuture()
                      : cal_->DeadlineAfter(c.counted_until, warn_budget - c.elapsed);
  }

  void Record(const SlaClock& c, LedgerAction action, absl::Time t, bool from_timer = false) {
    LedgerEntry e;
    SetTimestamp(t, e.mutable_time());
    e.set_metric(static_cast<v1::SlaMetric>(c.metric));
    e.set_action(action);
    SetDuration(c.elapsed, e.mutable_elapsed());
    if (c.counting && !c.stopped() && c.deadline != absl::InfiniteFuture()) {
      SetTimestamp(c.deadline, e.mutable_deadline());
    }
    if (!from_timer) e.set_cause_event_id(cause_);
    if (!cause_setting_.empty()) e.set_cause_setting(cause_setting_);
    e.set_policy_id(sla_.policy_id);
    AppendToLedger(sla_.ledger, std::move(e));
  }

  void Emit(SlaSignal::Kind kind, const SlaClock& c, absl::Time t, absl::string_view id_suffix) {
    static constexpr const char* kKinds[] = {"started", "warning", "breached", "met"};
    SlaSignal s{.kind = kind,
                .ticket_id = sla_.ticket.ticket_id,
                .tenant_id = sla_.ticket.tenant_id,
                .sequence = sla_.last_sequence,
                .time = t,
                .metric = c.metric,
                .target = c.target,
                .elapsed = c.elapsed,
                .remaining = c.target - c.elapsed,
                .percent = kind == SlaSignal::Kind::kWarning ? sla_.warn_at_percent : 0,
                .cycle = c.cycle,
                .policy_id = sla_.policy_id,
                .calendar_id = sla_.calendar_id};
    if (c.deadline != absl::InfiniteFuture()) s.deadline = c.deadline;
    s.event_id = NameBasedUuid(absl::StrCat("sundesk/sla/", sla_.ticket.ticket_id, "/",
                                            static_cast<int>(c.metric), "/", c.cycle, "/",
                                            kKinds[static_cast<int>(kind)], id_suffix));
    signals_.push_back(std::move(s));
  }

  // Starts cycle `cycle` of `metric` at `t` with the policy's target; replaces the previous
  // cycle.
  void Start(Metric metric, int cycle, absl::Time t) {
    SlaClock c{.metric = metric,
               .target = policy_->Target(metric),
               .cycle = cycle,
               .start_time = t,
               .counted_until = t,
               .counting = Counts(sla_.ticket.status)};
    Plan(c);
    SlaClock* existing = sla_.Find(metric);
    SlaClock& clock = existing ? (*existing = c) : sla_.clocks.emplace_back(c);
    Record(clock, v1::LEDGER_ACTION_STARTED, t);
    Emit(SlaSignal::Kind::kClockStarted, clock, t, "");
  }

  // A reply or a solution: met within the target, or a breached clock stopping.
  void Stop(SlaClock& c, absl::Time t, int64_t sequence) {
    Settle(c, t);
    c.counting = false;
    c.stop_time = t;
    Plan(c);
    if (c.breached) {
      Record(c, v1::LEDGER_ACTION_STOPPED, t);
      return;
    }
    c.met = true;
    Record(c, v1::LEDGER_ACTION_MET, t);
    Emit(SlaSignal::Kind::kMet, c, t, absl::StrCat("/", sequence));
  }

  void Cancel(SlaClock& c, absl::Time t) {
    Settle(c, t);
    c.counting = false;
    c.canceled = true;
    c.stop_time = t;
    Plan(c);
    Record(c, v1::LEDGER_ACTION_CANCELED, t);
  }

  void Pause(SlaClock& c, absl::Time t) {
    Settle(c, t);
    c.counting = false;
    Plan(c);
    Record(c, v1::LEDGER_ACTION_PAUSED, t);
  }

  void Resume(SlaClock& c, absl::Time t) {
    c.counting = true;
    c.counted_until = t;
    Plan(c);
    Record(c, v1::LEDGER_ACTION_RESUMED, t);
  }

  void Breach(SlaClock& c, absl::Time t, bool from_timer) {
    Settle(c, t);
    c.breached = true;
    c.deadline = t;
    c.warn_time = absl::InfiniteFuture();
    Record(c, v1::LEDGER_ACTION_BREACHED, t, from_timer);
    Emit(SlaSignal::Kind::kBreached, c, t, "");
  }

  // Fires every warning and breach due at or before `now`, oldest first.
  void FireDue(absl::Time now) {
    while (true) {
      SlaClock* next = nullptr;
      bool warning = false;
      absl::Time due = absl::InfiniteFuture();
      for (SlaClock& c : sla_.clocks) {
        if (!c.counting || c.stopped()) continue;
        // A warning due at the same instant as the breach fires first.
        if (!c.warned && c.warn_time <= now && c.warn_time < due) {
          next = &c, warning = true, due = c.warn_time;
        }
        if (!c.breached && c.deadline <= now && c.deadline < due) {
          next = &c, warning = false, due = c.deadline;
        }
      }
      if (next == nullptr) return;
      if (warning) {
        Settle(*next, due);
        next->warned = true;
        next->warn_time = absl::InfiniteFuture();
        Record(*next, v1::LEDGER_ACTION_WARNED, due, /*from_timer=*/true);
        Emit(SlaSignal::Kind::kWarning, *next, due, "");
      } else {
        Breach(*next, due, /*from_timer=*/true);
      }
    }
  }

 private:
  TicketSla& sla_;
  std::shared_ptr<const BusinessCalendar> cal_;
  const Policy* policy_;
  std::string cause_;
  std::string cause_setting_;
  std::vector<SlaSignal> signals_;
};

// Moves the ticket to policy `p` at `t` (its clocks already counted up to `t` on the old
// calendar): running clocks take the new targets, calendar and warn_at_percent keeping their
// elapsed time; a target the policy lacks is canceled. With `only_changed`, clocks whose
// target, calendar and warning stay the same get no ledger entry.
absl::Status MoveToPolicy(const PolicyCatalog& catalog, Step& step, TicketSla& sla, const Policy& p,
                          absl::Time t, bool only_changed) {
  const bool new_calendar = p.calendar_id != sla.calendar_id;
  const bool new_warning = p.warn_at_percent != sla.warn_at_percent;
  if (new_calendar) {
    SUNDESK_ASSIGN_OR_RETURN(std::shared_ptr<const BusinessCalendar> cal,
                             catalog.CalendarById(p.calendar_id));
    step.set_calendar(std::move(cal));
  }
  sla.policy_id = p.policy_id;
  sla.calendar_id = p.calendar_id;
  sla.warn_at_percent = p.warn_at_percent;
  step.set_policy(&p);
  for (SlaClock& c : sla.clocks) {
    if (c.stopped()) continue;
    const absl::Duration target = p.Target(c.metric);
    if (target <= absl::ZeroDuration()) {
      step.Cancel(c, t);
      continue;
    }
    if (only_changed && target == c.target && !new_calendar && !new_warning) continue;
    c.target = target;
    step.Plan(c);
    step.Record(c, v1::LEDGER_ACTION_RETARGETED, t);
    // Already past the new target: breached now, counting or not.
    if (!c.breached && c.elapsed >= c.target) step.Breach(c, t, /*from_timer=*/false);
  }
  // A target the ticket is not measured against yet (added to the policy, or a policy with
  // more targets) starts at `t` with nothing elapsed: first_response unless an agent has
  // replied, resolution unless the ticket is solved. next_response and periodic_update start
  // with the next comment that starts them.
  if (!Finished(sla.ticket.status)) {
    for (Metric m : {Metric::kFirstResponse, Metric::kResolution}) {
      if (p.Target(m) <= absl::ZeroDuration()) continue;
      if (m == Metric::kFirstResponse && sla.agent_replied) continue;
      const SlaClock* c = sla.Find(m);
      if (c != nullptr && !c->canceled) continue;  // measured: running, met or breached
      // Not before the ticket exists (a creation applied without the change, timed after it).
      step.Start(m, c != nullptr ? c->cycle + 1 : 1, std::max(t, sla.create_time));
    }
  }
  return absl::OkStatus();
}

// A change of a policy's match fields: the ticket is matched again at the change (as a
// TicketUpdated would) and moves to the policy it now matches, or loses its clocks if none.
absl::Status Rematch(const PolicyCatalog& catalog, Step& step, TicketSla& sla, const Replan& r) {
  SUNDESK_ASSIGN_OR_RETURN(std::vector<Policy> policies, catalog.Policies(sla.ticket.tenant_id));
  const Policy* p = MatchPolicy(policies, sla.ticket);
  if (!sla.calendar_id.empty()) {
    step.FireDue(r.change_time);
    for (SlaClock& c : sla.clocks) step.Settle(c, r.change_time);  // on the old calendar
  }
  const std::string new_id = p ? p->policy_id : "";
  if (new_id == sla.policy_id) {
    if (p == nullptr || p->policy_id != r.policy_id) return absl::OkStatus();
    // Still under the changed policy: whatever else the update changed applies.
    return MoveToPolicy(catalog, step, sla, *p, r.change_time, /*only_changed=*/true);
  }
  if (p == nullptr) {
    for (SlaClock& c : sla.clocks) {
      if (!c.stopped()) step.Cancel(c, r.change_time);
    }
    sla.policy_id.clear();
    sla.calendar_id.clear();
    return absl::OkStatus();
  }
  return MoveToPolicy(catalog, step, sla, *p, r.change_time, /*only_changed=*/false);
}

// Applies the ticket's pending replans in order, each at its change_time: what was due
// before the change fires as planned, the clocks count up to the change on the calendar in
// force then, and from there on run on the new calendar (or policy).
absl::Status ApplyReplans(const PolicyCatalog& catalog, TicketSla& sla,
                          std::vector<SlaSignal>& signals) {
  std::vector<Replan> pending = std::move(sla.pending_replans);
  sla.pending_replans.clear();
  for (const Replan& r : pending) {
    if (r.replan_id <= sla.replanned_through) continue;
    sla.replanned_through = r.replan_id;
    if (!sla.created) continue;
    if (!r.tenant_id.empty()) {
      if (r.tenant_id != sla.ticket.tenant_id) continue;
      std::shared_ptr<const BusinessCalendar> before;
      if (!sla.calendar_id.empty()) {
        SUNDESK_ASSIGN_OR_RETURN(before, catalog.CalendarById(sla.calendar_id));
      }
      Step step(sla, before, nullptr, "");
      step.set_cause_setting(absl::StrCat("policies/", r.policy_id, "@", r.version));
      SUNDESK_RETURN_IF_ERROR(Rematch(catalog, step, sla, r));
      for (SlaSignal& s : step.TakeSignals()) signals.push_back(std::move(s));
      continue;
    }
    if (sla.calendar_id.empty()) continue;
    const bool calendar_change = !r.calendar_id.empty();
    if (calendar_change ? r.calendar_id != sla.calendar_id : r.policy_id != sla.policy_id) {
      continue;
    }
    std::shared_ptr<const BusinessCalendar> before = r.old_calendar;
    if (!calendar_change || before == nullptr) {
      SUNDESK_ASSIGN_OR_RETURN(before, catalog.CalendarById(sla.calendar_id));
    }
    Step step(sla, before, nullptr, "");
    step.set_cause_setting(absl::StrCat(calendar_change ? "calendars/" : "policies/",
                                        calendar_change ? r.calendar_id : r.policy_id, "@",
                                        r.version));
    step.FireDue(r.change_time);
    for (SlaClock& c : sla.clocks) step.Settle(c, r.change_time);
    if (calendar_change) {
      SUNDESK_ASSIGN_OR_RETURN(std::shared_ptr<const BusinessCalendar> after,
                               catalog.CalendarById(sla.calendar_id));
      step.set_calendar(std::move(after));
      for (SlaClock& c : sla.clocks) {
        // A clock counted past the change (an event applied before this replan was
        // visible, within the change's commit) keeps that time as counted and re-plans from
        // there: its deadline never stays on the old calendar.
        if (!c.counting || c.stopped()) continue;
        const absl::Time deadline = c.deadline;
        const absl::Time warn_time = c.warn_time;
        step.Plan(c);
        if (c.deadline != deadline || c.warn_time != warn_time) {
          step.Record(c, v1::LEDGER_ACTION_REPLANNED, r.change_time);
        }
      }
    } else {
      SUNDESK_ASSIGN_OR_RETURN(std::vector<Policy> policies,
                               catalog.Policies(sla.ticket.tenant_id));
      for (const Policy& p : policies) {
        if (p.policy_id != r.policy_id) continue;
        SUNDESK_RETURN_IF_ERROR(
            MoveToPolicy(catalog, step, sla, p, r.change_time, /*only_changed=*/true));
      }
    }
    for (SlaSignal& s : step.TakeSignals()) signals.push_back(std::move(s));
  }
  return absl::OkStatus();
}

}  // namespace

const Policy* MatchPolicy(const std::vector<Policy>& policies, const TicketFacts& ticket) {
  const Policy* best = nullptr;
  int best_score = -1;
  for (const Policy& p : policies) {
    const int score = MatchScore(p, ticket);
    if (score < 0) continue;
    if (best == nullptr || score > best_score ||
        (score == best_score &&
         std::tie(p.create_time, p.policy_id) < std::tie(best->create_time, best->policy_id))) {
      best = &p;
      best_score = score;
    }
  }
  return best;
}

absl::StatusOr<std::vector<SlaSignal>> SlaEngine::Apply(TicketSla& sla,
                                                        const TicketEvent& event) const {
  std::vector<SlaSignal> replanned;
  SUNDESK_RETURN_IF_ERROR(ApplyReplans(catalog_, sla, replanned));
  if (event.sequence <= sla.last_sequence) return replanned;  // seen already
  // Without its TicketCreated a ticket has no clocks to change; a later delivery of it still
  // counts (its sequence is not consumed here).
  if (!sla.created && event.kind != TicketEvent::Kind::kCreated) return replanned;
  if (sla.created && event.kind == TicketEvent::Kind::kCreated) return replanned;

  const absl::Time t = event.time;
  std::vector<Policy> policies;
  if (event.kind == TicketEvent::Kind::kCreated || event.kind == TicketEvent::Kind::kUpdated ||
      !sla.policy_id.empty()) {
    const std::string& tenant = sla.created ? sla.ticket.tenant_id : event.ticket.tenant_id;
    SUNDESK_ASSIGN_OR_RETURN(policies, catalog_.Policies(tenant));
  }
  const Policy* current = nullptr;
  for (const Policy& p : policies) {
    if (!sla.policy_id.empty() && p.policy_id == sla.policy_id) current = &p;
  }
  std::shared_ptr<const BusinessCalendar> cal;
  if (!sla.calendar_id.empty()) {
    SUNDESK_ASSIGN_OR_RETURN(cal, catalog_.CalendarById(sla.calendar_id));
  }
  Step step(sla, cal, current, event.event_id);
  step.FireDue(t);

  switch (event.kind) {
    case TicketEvent::Kind::kCreated: {
      sla.ticket = event.ticket;
      sla.created = true;
      sla.create_time = t;
      sla.last_sequence = event.sequence;
      const Policy* p = MatchPolicy(policies, sla.ticket);
      if (p == nullptr) break;  // a tenant without a policy has no clocks
      SUNDESK_ASSIGN_OR_RETURN(cal, catalog_.CalendarById(p->calendar_id));
      sla.policy_id = p->policy_id;
      sla.calendar_id = p->calendar_id;
      sla.warn_at_percent = p->warn_at_percent;
      step.set_calendar(cal);
      step.set_policy(p);
      for (Metric m : {Metric::kFirstResponse, Metric::kResolution}) {
        if (p->Target(m) > absl::ZeroDuration()) step.Start(m, 1, t);
      }
      break;
    }
    case TicketEvent::Kind::kUpdated: {
      sla.ticket = event.ticket;
      sla.last_sequence = event.sequence;
      const Policy* p = MatchPolicy(policies, sla.ticket);
      const std::string new_id = p ? p->policy_id : "";
      if (new_id == sla.policy_id) break;  // same policy: running clocks keep their targets
      for (SlaClock& c : sla.clocks) step.Settle(c, t);  // on the old calendar
      if (p == nullptr) {
        for (SlaClock& c : sla.clocks) {
          if (!c.stopped()) step.Cancel(c, t);
        }
        sla.policy_id.clear();
        sla.calendar_id.clear();
        break;
      }
      SUNDESK_RETURN_IF_ERROR(MoveToPolicy(catalog_, step, sla, *p, t, /*only_changed=*/false));
      break;
    }
    case TicketEvent::Kind::kStatusChanged: {
      const TicketStatus from = sla.ticket.status;
      sla.ticket = event.ticket;
      sla.last_sequence = event.sequence;
      const TicketStatus to = sla.ticket.status;
      if (WaitsOnOthers(to)) {
        for (SlaClock& c : sla.clocks) {
          if (c.counting && !c.stopped()) step.Pause(c, t);
        }
      } else if (Counts(to)) {
        if (Finished(from)) {  // reopened
          if (SlaClock* r = sla.Find(Metric::kResolution); r && r->stopped() && !r->canceled) {
            r->stop_time.reset();
            r->met = false;
            step.Resume(*r, t);
          }
          SlaClock* pu = sla.Find(Metric::kPeriodicUpdate);
          if (pu && current && current->periodic_update > absl::ZeroDuration()) {
            step.Start(Metric::kPeriodicUpdate, pu->cycle + 1, t);
          }
        }
        for (SlaClock& c : sla.clocks) {
          if (!c.counting && !c.stopped()) step.Resume(c, t);
        }
      } else if (Finished(to)) {
        for (SlaClock& c : sla.clocks) {
          if (c.stopped()) continue;
          if (c.metric == Metric::kResolution) {
            step.Stop(c, t, event.sequence);
          } else {
            step.Cancel(c, t);
          }
        }
      }
      break;
    }
    case TicketEvent::Kind::kCommentAdded: {
      sla.last_sequence = event.sequence;
      if (event.is_public && event.author_kind == AuthorKind::kAgent) sla.agent_replied = true;
      if (!event.is_public || current == nullptr) break;
      const TicketStatus status = sla.ticket.status;
      if (event.author_kind == AuthorKind::kAgent) {
        for (Metric m : {Metric::kFirstResponse, Metric::kNextResponse}) {
          if (SlaClock* c = sla.Find(m); c && !c->stopped()) step.Stop(*c, t, event.sequence);
        }
        if (current->periodic_update > absl::ZeroDuration() && !Finished(status)) {
          SlaClock* pu = sla.Find(Metric::kPeriodicUpdate);
          const int cycle = pu ? pu->cycle + 1 : 1;
          if (pu && !pu->stopped()) step.Stop(*pu, t, event.sequence);
          step.Start(Metric::kPeriodicUpdate, cycle, t);
        }
      } else if (event.author_kind == AuthorKind::kCustomer) {
        const SlaClock* fr = sla.Find(Metric::kFirstResponse);
        SlaClock* nr = sla.Find(Metric::kNextResponse);
        if (current->next_response > absl::ZeroDuration() && !Finished(status) &&
            (fr == nullptr || fr->stopped()) && (nr == nullptr || nr->stopped())) {
          step.Start(Metric::kNextResponse, nr ? nr->cycle + 1 : 1, t);
        }
      }
      break;
    }
    case TicketEvent::Kind::kAssigned:
      sla.ticket.assignee_id = event.ticket.assignee_id;
      sla.last_sequence = event.sequence;
      break;
    case TicketEvent::Kind::kOther:
      sla.last_sequence = event.sequence;
      break;
  }
  step.FireDue(t);  // a new target may already be due
  for (SlaSignal& s : step.TakeSignals()) replanned.push_back(std::move(s));
  return replanned;
}

absl::StatusOr<std::vector<SlaSignal>> SlaEngine::FireDueAt(TicketSla& sla, absl::Time now) const {
  std::vector<SlaSignal> out;
  SUNDESK_RETURN_IF_ERROR(ApplyReplans(catalog_, sla, out));
  if (sla.calendar_id.empty() || NextDue(sla) > now) return out;
  SUNDESK_ASSIGN_OR_RETURN(std::shared_ptr<const BusinessCalendar> cal,
                           catalog_.CalendarById(sla.calendar_id));
  Step step(sla, cal, nullptr, "");
  step.FireDue(now);
  for (SlaSignal& s : step.TakeSignals()) out.push_back(std::move(s));
  return out;
}

absl::StatusOr<std::vector<SlaSignal>> SlaEngine::FireDue(TicketSla& sla) const {
  return FireDueAt(sla, clock_.Now());
}

absl::Time SlaEngine::NextDue(const TicketSla& sla) {
  absl::Time next = absl::InfiniteFuture();
  for (const SlaClock& c : sla.clocks) {
    if (!c.counting || c.stopped()) continue;
    if (!c.warned) next = std::min(next, c.warn_time);
    if (!c.breached) next = std::min(next, c.deadline);
  }
  return next;
}

absl::StatusOr<std::vector<ClockView>> SlaEngine::View(const TicketSla& sla) const {
  std::vector<ClockView> out;
  if (sla.calendar_id.empty()) return out;
  SUNDESK_ASSIGN_OR_RETURN(std::shared_ptr<const BusinessCalendar> cal,
                           catalog_.CalendarById(sla.calendar_id));
  const absl::Time now = clock_.Now();
  for (const SlaClock& c : sla.clocks) {
    if (c.canceled) continue;  // in the ledger, no longer a measured target
    ClockView v{.metric = c.metric,
                .target = c.target,
                .elapsed = c.elapsed,
                .state = c.state(),
                .start_time = c.start_time,
                .stop_time = c.stop_time,
                .cycle = c.cycle};
    if (c.counting && !c.stopped()) {
      v.elapsed += cal->OpenTimeBetween(c.counted_until, now);
      v.deadline = c.deadline;
    }
    v.remaining = v.target - v.elapsed;
    out.push_back(v);
  }
  return out;
}

}  // namespace sundesk::sla
