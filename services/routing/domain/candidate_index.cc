#include "services/routing/domain/candidate_index.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace sundesk::routing {
namespace {

std::string LanguageKey(const std::string& tenant_id, const std::string& language_lower) {
  return absl::StrCat(tenant_id, "\n", language_lower);
}

}  // namespace

CandidateIndex::CandidateIndex(absl::Span<const Candidate> candidates) {
  for (const Candidate& c : candidates) {
    const Agent& agent = c.profile->agent();
    std::set<std::string> tenants;  // an agent is in a tenant's bucket once
    for (const Certification& cert : agent.certifications) tenants.insert(cert.tenant_id);
    for (const std::string& tenant : tenants) {
      by_tenant_[tenant].push_back(c);
      std::set<std::string> languages;
      for (const auto& l : agent.languages) languages.insert(absl::AsciiStrToLower(l.code));
      for (const std::string& language : languages) {
        LanguageBucket& bucket = by_language_[LanguageKey(tenant, language)];
        bucket.candidates.push_back(c);
        bucket.proficiency.push_back(c.profile->Proficiency(language));
      }
    }
  }
  // Most proficient first, so a minimum proficiency is a prefix.
  for (auto& [key, bucket] : by_language_) {
    std::vector<size_t> order(bucket.candidates.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return bucket.proficiency[a] > bucket.proficiency[b];
    });
    LanguageBucket sorted;
    for (size_t i : order) {
      sorted.candidates.push_back(bucket.candidates[i]);
      sorted.proficiency.push_back(bucket.proficiency[i]);
    }
    bucket = std::move(sorted);
  }
  for (auto& [tenant, bucket] : by_tenant_) {
    for (size_t i = 0; i < bucket.size(); ++i) {
      places_[bucket[i].profile->agent().agent_id].push_back({&bucket, i});
    }
  }
  for (auto& [key, bucket] : by_language_) {
    for (size_t i = 0; i < bucket.candidates.size(); ++i) {
      places_[bucket.candidates[i].profile->agent().agent_id].push_back({&bucket.candidates, i});
    }
  }
}

bool CandidateIndex::UpdateState(const std::string& agent_id, const AgentLiveState& state) {
  auto it = places_.find(agent_id);
  if (it == places_.end()) return false;
  for (const Place& p : it->second) (*p.bucket)[p.at].state = state;
  return true;
}

absl::Span<const Candidate> CandidateIndex::TenantCandidates(const std::string& tenant_id) const {
  auto it = by_tenant_.find(tenant_id);
  if (it == by_tenant_.end()) return {};
  return it->second;
}

absl::Span<const Candidate> CandidateIndex::LanguageCandidates(const std::string& tenant_id,
                                                               const std::string& language,
                                                               int min_proficiency) const {
  auto it = by_language_.find(LanguageKey(tenant_id, absl::AsciiStrToLower(language)));
  if (it == by_language_.end()) return {};
  const LanguageBucket& bucket = it->second;
  // The prefix of the agents at min_proficiency or better.
  const size_t n =
      static_cast<size_t>(std::partition_point(bucket.proficiency.begin(), bucket.proficiency.end(),
                                               [&](int p) { return p >= min_proficiency; }) -
                          bucket.proficiency.begin());
  return absl::MakeConstSpan(bucket.candidates.data(), n);
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

absl::StatusOr<std::optional<MatchDecision>> CandidateIndex::ChooseLive(
    const TicketToRoute& ticket, const RoutingPolicy& policy,
    absl::Span<const std::string> tenant_languages, const std::set<std::string>& excluded,
    absl::Time now, ReadStates read) const {
  const absl::Span<const Candidate> tenant = TenantCandidates(ticket.tenant_id);
  if (tenant.empty()) return std::nullopt;  // nobody is certified for the tenant
  // ChooseAgent over `bucket`, given only the agents its state-independent constraints
  // leave (it would skip the others at every stage, and its ranking ends with the agent
  // id, so which agents it sees in which order does not change its answer), with their
  // states read.
  auto choose =
      [&](absl::Span<const Candidate> bucket) -> absl::StatusOr<std::optional<MatchDecision>> {
    std::vector<Candidate> possible;
    for (const Candidate& c : bucket) {
      const AgentProfile& p = *c.profile;
      if (p.agent().disabled || !p.InShift(now) || !p.CertifiedFor(ticket.tenant_id, now) ||
          (!excluded.empty() && excluded.count(p.agent().agent_id) > 0)) {
        continue;
      }
      possible.push_back(c);
    }
    if (possible.empty()) return std::nullopt;
    absl::StatusOr<std::vector<AgentLiveState>> states = read(possible);
    if (!states.ok()) return states.status();
    if (states->size() != possible.size()) {
      return absl::InternalError("live states read for a different number of agents");
    }
    for (size_t i = 0; i < possible.size(); ++i) possible[i].state = (*states)[i];
    return ChooseAgent(ticket, policy, tenant_languages, possible, excluded, now);
  };
  if (policy.min_language_proficiency < 1) {
    // Everyone "speaks" the language: no bucket narrows it.
    return choose(tenant);
  }
  // The first stage relaxing the language: below it only the ticket's language at the
  // minimum proficiency qualifies, so the agents outside that bucket are eligible (if at
  // all) from this stage on. Stages accumulate, so every later one relaxes it too.
  const int reached = StageAt(policy, ticket.queued_time, now);
  int widened = reached + 1;  // none reached
  for (int i = 0; i < reached; ++i) {
    if (policy.overflow_stages[i].relax == OverflowRelax::kAnyProficientLanguage) {
      widened = i + 1;
      break;
    }
  }
  absl::StatusOr<std::optional<MatchDecision>> best = choose(
      LanguageCandidates(ticket.tenant_id, ticket.language, policy.min_language_proficiency));
  if (!best.ok()) return best;
  // A decision below `widened` cannot be beaten by anyone outside the bucket (they are not
  // eligible there, and a lower stage wins); nor can "nobody" when no stage widens.
  if ((best->has_value() && (*best)->stage < widened) || widened > reached) return best;
  return choose(tenant);
}

}  // namespace sundesk::routing
