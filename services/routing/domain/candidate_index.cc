#include "services/routing/domain/candidate_index.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace sundesk::routing {
namespace {

std::string LanguageKey(const std::string& tenant_id, const std::string& language_lower) {
  return absl::StrCat(tenant_id, "\n", language_lower);
}

constexpr uint32_t kUnknown = UINT32_MAX;  // an id no agent has

uint32_t Intern(absl::flat_hash_map<std::string, uint32_t>& ids, const std::string& name) {
  return ids.try_emplace(name, static_cast<uint32_t>(ids.size())).first->second;
}

uint32_t IdOf(const absl::flat_hash_map<std::string, uint32_t>& ids, const std::string& name) {
  auto it = ids.find(name);
  return it == ids.end() ? kUnknown : it->second;
}

}  // namespace

// What one decision asks, in the index's ids.
struct CandidateIndex::Decision {
  const TicketToRoute& ticket;
  const RoutingPolicy& policy;
  absl::Span<const std::string> tenant_languages;
  const std::set<std::string>& excluded;
  absl::Time now;
  uint32_t language = kUnknown;
  std::vector<uint32_t> skills = {};  // the required ones, repeats kept (Fit counts them)
  std::vector<uint32_t> tenant_languages_ids = {};
  std::vector<uint32_t> excluded_agents = {};  // sorted
  std::vector<Relaxation> relaxations = {};    // of stages 0..reached
  // The live states read so far, by agent: the tenant's bucket after the language's does
  // not ask again about the agents read for the latter.
  absl::flat_hash_map<uint32_t, AgentLiveState> states = {};
};

CandidateIndex::CandidateIndex(absl::Span<const Candidate> candidates) {
  facts_.reserve(candidates.size());
  for (const Candidate& c : candidates) {
    const AgentProfile& profile = *c.profile;
    const Agent& agent = profile.agent();
    auto [numbered, fresh] =
        agent_numbers_.try_emplace(agent.agent_id, static_cast<uint32_t>(facts_.size()));
    const uint32_t number = numbered->second;
    if (fresh) {
      Facts f{.profile = &profile,
              .tier = agent.tier,
              .capacity = agent.capacity,
              .disabled = agent.disabled,
              .has_shifts = !agent.shifts.empty()};
      std::set<std::string> languages;
      for (const auto& l : agent.languages) languages.insert(absl::AsciiStrToLower(l.code));
      f.languages_begin = static_cast<uint32_t>(language_pool_.size());
      for (const std::string& l : languages) {
        language_pool_.push_back({Intern(language_ids_, l), profile.Proficiency(l)});
      }
      f.languages_end = static_cast<uint32_t>(language_pool_.size());
      std::set<std::string> skills;
      for (const auto& s : agent.skills) skills.insert(s.name);
      f.skills_begin = static_cast<uint32_t>(skill_pool_.size());
      for (const std::string& s : skills) {
        skill_pool_.push_back({Intern(skill_ids_, s), profile.SkillLevel(s)});
      }
      f.skills_end = static_cast<uint32_t>(skill_pool_.size());
      facts_.push_back(f);
    }
    // An agent is in a tenant's bucket once, with its first certification for the tenant
    // (the one AgentProfile::CertifiedFor goes by).
    std::map<std::string, absl::Time> tenants;
    for (const Certification& cert : agent.certifications) {
      tenants.try_emplace(cert.tenant_id, cert.expire_time.value_or(absl::InfiniteFuture()));
    }
    std::set<std::string> languages;
    for (const auto& l : agent.languages) languages.insert(absl::AsciiStrToLower(l.code));
    for (const auto& [tenant, until] : tenants) {
      const Member member{number, until};
      Bucket& bucket = by_tenant_[tenant];
      bucket.candidates.push_back(c);
      bucket.members.push_back(member);
      for (const std::string& language : languages) {
        LanguageBucket& lb = by_language_[LanguageKey(tenant, language)];
        lb.bucket.candidates.push_back(c);
        lb.bucket.members.push_back(member);
        lb.proficiency.push_back(profile.Proficiency(language));
      }
    }
  }
  shift_cache_ = std::make_unique<std::atomic<int64_t>[]>(facts_.size());
  for (size_t i = 0; i < facts_.size(); ++i) shift_cache_[i].store(kNotCached);
  // Most proficient first, so a minimum proficiency is a prefix.
  for (auto& [key, lb] : by_language_) {
    std::vector<size_t> order(lb.bucket.candidates.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return lb.proficiency[a] > lb.proficiency[b]; });
    LanguageBucket sorted;
    for (size_t i : order) {
      sorted.bucket.candidates.push_back(lb.bucket.candidates[i]);
      sorted.bucket.members.push_back(lb.bucket.members[i]);
      sorted.proficiency.push_back(lb.proficiency[i]);
    }
    lb = std::move(sorted);
  }
  for (auto& [tenant, bucket] : by_tenant_) {
    for (size_t i = 0; i < bucket.candidates.size(); ++i) {
      places_[bucket.candidates[i].profile->agent().agent_id].push_back({&bucket.candidates, i});
    }
  }
  for (auto& [key, lb] : by_language_) {
    for (size_t i = 0; i < lb.bucket.candidates.size(); ++i) {
      places_[lb.bucket.candidates[i].profile->agent().agent_id].push_back(
          {&lb.bucket.candidates, i});
    }
  }
}

bool CandidateIndex::UpdateState(const std::string& agent_id, const AgentLiveState& state) {
  auto it = places_.find(agent_id);
  if (it == places_.end()) return false;
  for (const Place& p : it->second) (*p.bucket)[p.at].state = state;
  return true;
}

const CandidateIndex::Bucket* CandidateIndex::TenantBucket(const std::string& tenant_id) const {
  auto it = by_tenant_.find(tenant_id);
  return it == by_tenant_.end() ? nullptr : &it->second;
}

absl::Span<const Candidate> CandidateIndex::TenantCandidates(const std::string& tenant_id) const {
  const Bucket* bucket = TenantBucket(tenant_id);
  if (bucket == nullptr) return {};
  return bucket->candidates;
}

absl::Span<const Candidate> CandidateIndex::LanguageCandidates(const std::string& tenant_id,
                                                               const std::string& language,
                                                               int min_proficiency) const {
  auto it = by_language_.find(LanguageKey(tenant_id, absl::AsciiStrToLower(language)));
  if (it == by_language_.end()) return {};
  const LanguageBucket& lb = it->second;
  // The prefix of the agents at min_proficiency or better.
  const size_t n =
      static_cast<size_t>(std::partition_point(lb.proficiency.begin(), lb.proficiency.end(),
                                               [&](int p) { return p >= min_proficiency; }) -
                          lb.proficiency.begin());
  return absl::MakeConstSpan(lb.bucket.candidates.data(), n);
}

int CandidateIndex::ProficiencyOf(const Facts& f, uint32_t language) const {
  for (uint32_t i = f.languages_begin; i < f.languages_end; ++i) {
    if (language_pool_[i].id == language) return language_pool_[i].level;
  }
  return 0;
}

bool CandidateIndex::InShift(uint32_t agent, absl::Time now) const {
  const Facts& f = facts_[agent];
  if (!f.has_shifts) return true;
  // The answer is the same all through one second (zone offsets are whole seconds).
  const int64_t second = absl::ToUnixSeconds(now);
  const int64_t cached = shift_cache_[agent].load(std::memory_order_relaxed);
  if (cached == 2 * second) return false;
  if (cached == 2 * second + 1) return true;
  const bool in = f.profile->InShift(now);
  shift_cache_[agent].store(2 * second + (in ? 1 : 0), std::memory_order_relaxed);
  return in;
}

int CandidateIndex::SkillLevelOf(const Facts& f, uint32_t skill) const {
  for (uint32_t i = f.skills_begin; i < f.skills_end; ++i) {
    if (skill_pool_[i].id == skill) return skill_pool_[i].level;
  }
  return 0;
}

std::optional<MatchDecision> CandidateIndex::Choose(const TicketToRoute& ticket,
                                                    const RoutingPolicy& policy,
                                                    absl::Span<const std::string> tenant_languages,
                                                    const std::set<std::string>& excluded,
                                                    absl::Time now) const {
  // The states kept here; reading them cannot fail.
  return *ChooseLive(ticket, policy, tenant_languages, excluded, now,
                     [](absl::Span<const Candidate> candidates) {
                       std::vector<AgentLiveState> states;
                       states.reserve(candidates.size());
                       for (const Candidate& c : candidates) states.push_back(c.state);
                       return absl::StatusOr<std::vector<AgentLiveState>>(std::move(states));
                     });
}

absl::StatusOr<std::optional<MatchDecision>> CandidateIndex::ChooseIn(
    absl::Span<const Candidate> candidates, absl::Span<const Member> members, Decision& d,
    ReadStates read) const {
  const int reached = static_cast<int>(d.relaxations.size()) - 1;
  const int min_proficiency = d.policy.min_language_proficiency;
  // Rank every agent that could be eligible whatever its live state by what ChooseAgent
  // puts before the live state: the stage it qualifies at (lower first), then its fit
  // (higher first). Key: stage in the high half, the fit's complement in the low one.
  std::vector<std::pair<uint64_t, uint32_t>> ranked;  // key, position in the bucket
  ranked.reserve(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Member& m = members[i];
    if (!(d.now < m.certified_until)) continue;
    const Facts& f = facts_[m.agent];
    if (f.disabled || !InShift(m.agent, d.now)) continue;
    if (!d.excluded_agents.empty() &&
        std::binary_search(d.excluded_agents.begin(), d.excluded_agents.end(), m.agent)) {
      continue;
    }
    const int proficiency = ProficiencyOf(f, d.language);
    // Whether it holds every required skill / speaks another tenant language well: asked
    // only when a stage needs it, once.
    int skills_held = -1, other_language = -1;
    int stage = -1;
    for (int s = 0; s <= reached; ++s) {
      const Relaxation& r = d.relaxations[s];
      if (f.tier > r.max_tier) continue;
      bool speaks = proficiency >= min_proficiency;
      if (!speaks && r.any_proficient_language) {
        speaks = proficiency > 0;
        if (!speaks) {
          if (other_language < 0) {
            other_language = 0;
            for (uint32_t l : d.tenant_languages_ids) {
              if (ProficiencyOf(f, l) >= min_proficiency) {
                other_language = 1;
                break;
              }
            }
          }
          speaks = other_language == 1;
        }
      }
      if (!speaks) continue;
      if (!r.skills_optional) {
        if (skills_held < 0) {
          skills_held = 1;
          for (uint32_t skill : d.skills) {
            if (SkillLevelOf(f, skill) == 0) {
              skills_held = 0;
              break;
            }
          }
        }
        if (skills_held == 0) continue;
      }
      stage = s;
      break;
    }
    if (stage < 0) continue;
    int fit = proficiency;
    for (uint32_t skill : d.skills) fit += SkillLevelOf(f, skill);
    const uint64_t key = (static_cast<uint64_t>(stage) << 32) |
                         (static_cast<uint64_t>(UINT32_MAX) - static_cast<uint32_t>(fit));
    ranked.push_back({key, static_cast<uint32_t>(i)});
  }
  // The best-ranked agents first, whole ranks at a time: when one of them is eligible
  // (AVAILABLE, below capacity), the best of them by ChooseAgent's order is ChooseAgent's
  // answer over everyone, as every agent left out ranks strictly lower. Otherwise the next
  // ones, four times as many.
  auto by_key = [](const std::pair<uint64_t, uint32_t>& a, const std::pair<uint64_t, uint32_t>& b) {
    return a.first < b.first;
  };
  std::vector<Candidate> group;
  size_t want = kFirstRead;
  auto rest = ranked.begin();
  while (rest != ranked.end()) {
    auto group_end = ranked.end();
    if (static_cast<size_t>(ranked.end() - rest) > want) {
      std::nth_element(rest, rest + (want - 1), ranked.end(), by_key);
      const uint64_t boundary = rest[want - 1].first;
      group_end = std::partition(rest, ranked.end(), [&](const std::pair<uint64_t, uint32_t>& e) {
        return e.first <= boundary;
      });
    }
    group.clear();
    for (auto it = rest; it != group_end; ++it) {
      if (!d.states.contains(members[it->second].agent)) group.push_back(candidates[it->second]);
    }
    if (!group.empty()) {
      absl::StatusOr<std::vector<AgentLiveState>> read_now = read(group);
      if (!read_now.ok()) return read_now.status();
      if (read_now->size() != group.size()) {
        return absl::InternalError("live states read for a different number of agents");
      }
      size_t next_read = 0;
      for (auto it = rest; it != group_end; ++it) {
        const uint32_t agent = members[it->second].agent;
        if (!d.states.contains(agent)) d.states.emplace(agent, (*read_now)[next_read++]);
      }
    }
    // ChooseAgent's order: stage, fit (the key), fewer tickets, idle longer, agent id.
    const std::pair<uint64_t, uint32_t>* best = nullptr;
    const AgentLiveState* best_state = nullptr;
    for (auto it = rest; it != group_end; ++it) {
      const std::pair<uint64_t, uint32_t>& e = *it;
      const AgentLiveState& st = d.states.at(members[e.second].agent);
      if (st.status != PresenceStatus::kAvailable ||
          st.active_tickets >= facts_[members[e.second].agent].capacity) {
        continue;
      }
      if (best != nullptr) {
        auto key = [&](const std::pair<uint64_t, uint32_t>& x, const AgentLiveState& y) {
          return std::tuple<uint64_t, int, absl::Time, const std::string&>(
              x.first, y.active_tickets, y.last_assignment_time,
              candidates[x.second].profile->agent().agent_id);
        };
        if (!(key(e, st) < key(*best, *best_state))) continue;
      }
      best = &e;
      best_state = &st;
    }
    if (best != nullptr) {
      return MatchDecision{candidates[best->second].profile->agent().agent_id,
                           static_cast<int>(best->first >> 32)};
    }
    rest = group_end;
    want *= 4;
  }
  return std::nullopt;
}

absl::StatusOr<std::optional<MatchDecision>> CandidateIndex::ChooseLive(
    const TicketToRoute& ticket, const RoutingPolicy& policy,
    absl::Span<const std::string> tenant_languages, const std::set<std::string>& excluded,
    absl::Time now, ReadStates read) const {
  const Bucket* tenant = TenantBucket(ticket.tenant_id);
  if (tenant == nullptr) return std::nullopt;  // nobody is certified for the tenant
  const int reached = StageAt(policy, ticket.queued_time, now);
  Decision d{.ticket = ticket,
             .policy = policy,
             .tenant_languages = tenant_languages,
             .excluded = excluded,
             .now = now};
  const std::string language = absl::AsciiStrToLower(ticket.language);
  d.language = IdOf(language_ids_, language);
  for (const std::string& skill : ticket.required_skills)
    d.skills.push_back(IdOf(skill_ids_, skill));
  for (const std::string& l : tenant_languages) {
    d.tenant_languages_ids.push_back(IdOf(language_ids_, absl::AsciiStrToLower(l)));
  }
  for (const std::string& id : excluded) {
    auto it = agent_numbers_.find(id);
    if (it != agent_numbers_.end()) d.excluded_agents.push_back(it->second);
  }
  std::sort(d.excluded_agents.begin(), d.excluded_agents.end());
  for (int s = 0; s <= reached; ++s) d.relaxations.push_back(RelaxationAt(policy, s));

  if (policy.min_language_proficiency < 1) {
    // Everyone "speaks" the language: no bucket narrows it.
    return ChooseIn(tenant->candidates, tenant->members, d, read);
  }
  // The first stage relaxing the language: below it only the ticket's language at the
  // minimum proficiency qualifies, so the agents outside that bucket are eligible (if at
  // all) from this stage on. Stages accumulate, so every later one relaxes it too.
  int widened = reached + 1;  // none reached
  for (int i = 0; i < reached; ++i) {
    if (policy.overflow_stages[i].relax == OverflowRelax::kAnyProficientLanguage) {
      widened = i + 1;
      break;
    }
  }
  absl::StatusOr<std::optional<MatchDecision>> best = std::nullopt;
  auto lb = by_language_.find(LanguageKey(ticket.tenant_id, language));
  if (lb != by_language_.end()) {
    const std::vector<int>& proficiency = lb->second.proficiency;
    const size_t n = static_cast<size_t>(
        std::partition_point(proficiency.begin(), proficiency.end(),
                             [&](int p) { return p >= policy.min_language_proficiency; }) -
        proficiency.begin());
    best = ChooseIn(absl::MakeConstSpan(lb->second.bucket.candidates.data(), n),
                    absl::MakeConstSpan(lb->second.bucket.members.data(), n), d, read);
    if (!best.ok()) return best;
  }
  // A decision below `widened` cannot be beaten by anyone outside the bucket (they are not
  // eligible there, and a lower stage wins); nor can "nobody" when no stage widens.
  if ((best->has_value() && (*best)->stage < widened) || widened > reached) return best;
  return ChooseIn(tenant->candidates, tenant->members, d, read);
}

}  // namespace sundesk::routing
