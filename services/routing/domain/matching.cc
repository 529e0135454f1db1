#include "services/routing/domain/matching.h"

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/time/civil_time.h"

namespace sundesk::routing {
namespace {

int IsoWeekday(absl::CivilDay day) {
  switch (absl::GetWeekday(day)) {
    case absl::Weekday::monday:
      return 1;
    case absl::Weekday::tuesday:
      return 2;
    case absl::Weekday::wednesday:
      return 3;
    case absl::Weekday::thursday:
      return 4;
    case absl::Weekday::friday:
      return 5;
    case absl::Weekday::saturday:
      return 6;
    case absl::Weekday::sunday:
      return 7;
  }
  return 0;
}

// The constraints no stage relaxes.
bool FixedConstraintsHold(const TicketToRoute& ticket, const Candidate& c, absl::Time now) {
  const Agent& agent = c.profile->agent();
  // Cheapest first (the shift answer is usually cached for `now`).
  return !agent.disabled && c.state.status == PresenceStatus::kAvailable &&
         c.state.active_tickets < agent.capacity && c.profile->InShift(now) &&
         c.profile->CertifiedFor(ticket.tenant_id, now);
}

// `tenant_languages_lower`: the tenant's languages, lowercased.
bool RelaxableConstraintsHold(const TicketToRoute& ticket, const RoutingPolicy& policy,
                              absl::Span<const std::string> tenant_languages_lower,
                              const AgentProfile& profile, const Relaxation& r,
                              const std::string& language_lower) {
  if (profile.agent().tier > r.max_tier) return false;
  const int proficiency = profile.Proficiency(language_lower);
  bool speaks = proficiency >= policy.min_language_proficiency;
  if (!speaks && r.any_proficient_language) {
    // Lower proficiency in the ticket's language, or another language the tenant
    // supports spoken well.
    speaks = proficiency > 0;
    for (size_t i = 0; !speaks && i < tenant_languages_lower.size(); ++i) {
      speaks = profile.Proficiency(tenant_languages_lower[i]) >= policy.min_language_proficiency;
    }
  }
  if (!speaks) return false;
  if (!r.skills_optional) {
    for (const std::string& skill : ticket.required_skills) {
      if (profile.SkillLevel(skill) == 0) return false;
    }
  }
  return true;
}

std::vector<std::string> Lowered(absl::Span<const std::string> languages) {
  std::vector<std::string> out;
  out.reserve(languages.size());
  for (const std::string& l : languages) out.push_back(absl::AsciiStrToLower(l));
  return out;
}

int Fit(const TicketToRoute& ticket, const AgentProfile& profile,
        const std::string& language_lower) {
  int fit = profile.Proficiency(language_lower);
  for (const std::string& skill : ticket.required_skills) fit += profile.SkillLevel(skill);
  return fit;
}

}  // namespace

Relaxation RelaxationAt(const RoutingPolicy& policy, int stage) {
  Relaxation r;
  for (int i = 0; i < stage && i < static_cast<int>(policy.overflow_stages.size()); ++i) {
    switch (policy.overflow_stages[i].relax) {
      case OverflowRelax::kAnyProficientLanguage:
        r.any_proficient_language = true;
        break;
      case OverflowRelax::kSkillsOptional:
        r.skills_optional = true;
        break;
      case OverflowRelax::kNextTier:
        ++r.max_tier;
        break;
      case OverflowRelax::kUnspecified:
        break;
    }
  }
  return r;
}

AgentProfile::AgentProfile(const Agent& agent) : agent_(agent) {
  if (!absl::LoadTimeZone(agent.time_zone, &zone_)) zone_ = absl::UTCTimeZone();
  for (const Shift& s : agent.shifts) {
    auto start = ParseClockTime("start", s.start);
    auto end = ParseClockTime("end", s.end);
    if (start.ok() && end.ok()) windows_.push_back({s.weekday, *start, *end});
  }
  for (const auto& l : agent.languages) {
    languages_[absl::AsciiStrToLower(l.code)] = l.proficiency;
  }
  for (const auto& s : agent.skills) skills_[s.name] = s.level;
  for (size_t i = 0; i < agent.certifications.size(); ++i) {
    certifications_.try_emplace(agent.certifications[i].tenant_id, i);  // the first counts
  }
}

AgentProfile::AgentProfile(const AgentProfile& other)
    : agent_(other.agent_),
      zone_(other.zone_),
      windows_(other.windows_),
      languages_(other.languages_),
      skills_(other.skills_),
      certifications_(other.certifications_) {}

AgentProfile& AgentProfile::operator=(const AgentProfile& other) {
  agent_ = other.agent_;
  zone_ = other.zone_;
  windows_ = other.windows_;
  languages_ = other.languages_;
  skills_ = other.skills_;
  certifications_ = other.certifications_;
  in_shift_cache_.store(kNotCached, std::memory_order_relaxed);
  return *this;
}

bool AgentProfile::InShift(absl::Time t) const {
  if (agent_.shifts.empty()) return true;
  // Zone offsets are whole seconds, so the local minute is the same all through one second.
  const int64_t second = absl::ToUnixSeconds(t);
  const int64_t cached = in_shift_cache_.load(std::memory_order_relaxed);
  if (cached == 2 * second) return false;
  if (cached == 2 * second + 1) return true;
  const bool in = InShiftUncached(t);
  in_shift_cache_.store(2 * second + (in ? 1 : 0), std::memory_order_relaxed);
  return in;
}

bool AgentProfile::InShiftUncached(absl::Time t) const {
  const absl::CivilMinute local = absl::ToCivilMinute(t, zone_);
  const int weekday = IsoWeekday(absl::CivilDay(local));
  const int yesterday = weekday == 1 ? 7 : weekday - 1;
  const int minute = local.hour() * 60 + local.minute();
  for (const Window& w : windows_) {
    if (w.end > w.start) {
      if (w.weekday == weekday && minute >= w.start && minute < w.end) return true;
    } else {
      // Crosses midnight (or lasts 24 h when end == start): the tail is on the next day.
      if (w.weekday == weekday && minute >= w.start) return true;
      if (w.weekday == yesterday && minute < w.end) return true;
    }
  }
  return false;
}

int AgentProfile::Proficiency(const std::string& language_lower) const {
  auto it = languages_.find(language_lower);
  return it == languages_.end() ? 0 : it->second;
}

int AgentProfile::SkillLevel(const std::string& skill) const {
  auto it = skills_.find(skill);
  return it == skills_.end() ? 0 : it->second;
}

bool AgentProfile::CertifiedFor(const std::string& tenant_id, absl::Time t) const {
  auto it = certifications_.find(tenant_id);
  return it != certifications_.end() && agent_.certifications[it->second].ValidAt(t);
}

int StageAt(const RoutingPolicy& policy, absl::Time queued_time, absl::Time now) {
  const absl::Duration waited = now - queued_time;
  int stage = 0;
  for (const OverflowStage& s : policy.overflow_stages) {
    if (waited < absl::Seconds(s.after_seconds)) break;
    ++stage;
  }
  return stage;
}

bool Eligible(const TicketToRoute& ticket, const RoutingPolicy& policy,
              absl::Span<const std::string> tenant_languages, const Candidate& candidate, int stage,
              absl::Time now) {
  return FixedConstraintsHold(ticket, candidate, now) &&
         RelaxableConstraintsHold(ticket, policy, Lowered(tenant_languages), *candidate.profile,
                                  RelaxationAt(policy, stage),
                                  absl::AsciiStrToLower(ticket.language));
}

std::optional<MatchDecision> ChooseAgent(const TicketToRoute& ticket, const RoutingPolicy& policy,
                                         absl::Span<const std::string> tenant_languages,
                                         absl::Span<const Candidate> candidates,
                                         const std::set<std::string>& excluded, absl::Time now) {
  const int reached = StageAt(policy, ticket.queued_time, now);
  std::vector<Relaxation> relaxations;
  for (int s = 0; s <= reached; ++s) relaxations.push_back(RelaxationAt(policy, s));
  const std::string language = absl::AsciiStrToLower(ticket.language);
  const std::vector<std::string> tenant_languages_lower = Lowered(tenant_languages);

  const Candidate* best = nullptr;
  int best_stage = 0;
  int best_fit = 0;
  for (const Candidate& c : candidates) {
    if (!FixedConstraintsHold(ticket, c, now)) continue;
    if (!excluded.empty() && excluded.count(c.profile->agent().agent_id) > 0) continue;
    // A lower stage than the best so far is all that could win.
    const int last_stage = best == nullptr ? reached : best_stage;
    // RelaxableConstraintsHold at each stage, with the agent's facts looked up once.
    const AgentProfile& profile = *c.profile;
    const int proficiency = profile.Proficiency(language);
    std::optional<bool> skills_held, other_language;
    int stage = -1;
    for (int s = 0; s <= last_stage; ++s) {
      const Relaxation& r = relaxations[s];
      if (profile.agent().tier > r.max_tier) continue;
      bool speaks = proficiency >= policy.min_language_proficiency;
      if (!speaks && r.any_proficient_language) {
        speaks = proficiency > 0;
        if (!speaks) {
          if (!other_language.has_value()) {
            other_language = false;
            for (const std::string& l : tenant_languages_lower) {
              if (profile.Proficiency(l) >= policy.min_language_proficiency) {
                other_language = true;
                break;
              }
            }
          }
          speaks = *other_language;
        }
      }
      if (!speaks) continue;
      if (!r.skills_optional) {
        if (!skills_held.has_value()) {
          skills_held = true;
          for (const std::string& skill : ticket.required_skills) {
            if (profile.SkillLevel(skill) == 0) {
              skills_held = false;
              break;
            }
          }
        }
        if (!*skills_held) continue;
      }
      stage = s;
      break;
    }
    if (stage < 0) continue;
    const int fit = Fit(ticket, *c.profile, language);
    if (best != nullptr) {
      // Lower stage, higher fit, fewer tickets, idle longer, then id: smaller tuple wins.
      auto key = [](int st, int f, const Candidate& x) {
        return std::tuple<int, int, int, absl::Time, const std::string&>(
            st, -f, x.state.active_tickets, x.state.last_assignment_time,
            x.profile->agent().agent_id);
      };
      if (!(key(stage, fit, c) < key(best_stage, best_fit, *best))) continue;
    }
    best = &c;
    best_stage = stage;
    best_fit = fit;
  }
  if (best == nullptr) return std::nullopt;
  return MatchDecision{best->profile->agent().agent_id, best_stage};
}

}  // namespace sundesk::routing
