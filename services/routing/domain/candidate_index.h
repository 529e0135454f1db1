#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "services/routing/domain/matching.h"

namespace sundesk::routing {

// The candidates of many routing decisions, bucketed so that one decision looks only at
// plausible agents instead of all of them:
//   - per tenant: the agents holding a certification for it (valid or not: it is checked
//     at the decision's time), and
//   - per (tenant, language): those of them who speak the language, most proficient first.
// Choose() gives exactly ChooseAgent's answer over all the candidates the index was built
// from: it first looks at the agents who speak the ticket's language at the policy's
// minimum proficiency, which settles every decision won below the first stage that relaxes
// the language (nobody else is eligible there); otherwise at the tenant's agents.
//
// Within a bucket a decision costs no string compare or hash lookup per agent: each
// agent's facts are kept as small integers (languages and skills interned to ids, the
// tenant's certification expiry beside the bucket entry). The state-independent part of
// ChooseAgent — disabled, on shift, certified, not excluded, the overflow stage the agent
// qualifies at and its skill and language fit — ranks the bucket's agents; the live state
// (AVAILABLE, below capacity, load, idle time) is then read only for the best-ranked ones,
// a few dozen at a time, and ChooseAgent decides among them. Agents ranked lower cannot
// beat an eligible one of them (a lower stage or higher fit wins before any live state
// counts), so the next ones are read only when none of those is eligible.
//
// Build once per directory change; keep the live state current with UpdateState. Not
// thread-safe for updates; Choose may run on several threads at once between updates.
class CandidateIndex {
 public:
  // The profiles the candidates point to must outlive the index.
  explicit CandidateIndex(absl::Span<const Candidate> candidates);
  // It holds addresses of its own buckets.
  CandidateIndex(const CandidateIndex&) = delete;
  CandidateIndex& operator=(const CandidateIndex&) = delete;

  // ChooseAgent(ticket, policy, tenant_languages, <every candidate>, excluded, now).
  std::optional<MatchDecision> Choose(const TicketToRoute& ticket, const RoutingPolicy& policy,
                                      absl::Span<const std::string> tenant_languages,
                                      const std::set<std::string>& excluded, absl::Time now) const;

  // Reads the live state of the agents a decision looks at (e.g. from Redis), in order.
  using ReadStates = absl::FunctionRef<absl::StatusOr<std::vector<AgentLiveState>>(
      absl::Span<const Candidate> candidates)>;
  // Choose's answer with each agent's live state as `read` gives it instead of the state
  // kept here: `read` is asked only about agents that could be eligible whatever their
  // state (enabled, certified for the tenant now, on shift, not excluded, qualifying at a
  // stage reached), best-ranked first, about kFirstRead of them at first (more, in later
  // calls, only when none of those is eligible), each agent at most once per decision. Its
  // error is returned.
  static constexpr size_t kFirstRead = 32;
  absl::StatusOr<std::optional<MatchDecision>> ChooseLive(
      const TicketToRoute& ticket, const RoutingPolicy& policy,
      absl::Span<const std::string> tenant_languages, const std::set<std::string>& excluded,
      absl::Time now, ReadStates read) const;

  // Replaces an agent's live state everywhere it is indexed; false for an unknown agent.
  bool UpdateState(const std::string& agent_id, const AgentLiveState& state);

  // The agents with a certification for `tenant_id` (empty when none).
  absl::Span<const Candidate> TenantCandidates(const std::string& tenant_id) const;
  // Those of them with at least `min_proficiency` (>= 1) in `language` (any case).
  absl::Span<const Candidate> LanguageCandidates(const std::string& tenant_id,
                                                 const std::string& language,
                                                 int min_proficiency) const;

 private:
  // An agent's facts as small integers.
  struct Facts {
    const AgentProfile* profile;
    int tier;
    int capacity;
    bool disabled;
    bool has_shifts;
    uint32_t languages_begin = 0, languages_end = 0;  // in language_pool_
    uint32_t skills_begin = 0, skills_end = 0;        // in skill_pool_
  };
  struct IdLevel {
    uint32_t id;
    int level;
  };
  // One entry of a bucket: the agent (in facts_) and until when its certification for the
  // bucket's tenant is valid (InfiniteFuture when it does not lapse).
  struct Member {
    uint32_t agent;
    absl::Time certified_until;
  };
  struct Bucket {
    std::vector<Candidate> candidates;
    std::vector<Member> members;  // same order
  };
  struct LanguageBucket {
    Bucket bucket;                 // proficiency descending
    std::vector<int> proficiency;  // of each, same order
  };
  // Where an agent's copies are, for UpdateState.
  struct Place {
    std::vector<Candidate>* bucket;
    size_t at;
  };
  struct Decision;  // one decision's ids and stages, in candidate_index.cc

  int ProficiencyOf(const Facts& f, uint32_t language) const;
  // AgentProfile::InShift, its answer for the last second kept here beside the other
  // agents' (so a bucket's scan does not touch every agent's profile).
  bool InShift(uint32_t agent, absl::Time now) const;
  int SkillLevelOf(const Facts& f, uint32_t skill) const;
  // ChooseAgent over `bucket` with the live states `read` gives.
  absl::StatusOr<std::optional<MatchDecision>> ChooseIn(absl::Span<const Candidate> candidates,
                                                        absl::Span<const Member> members,
                                                        Decision& d, ReadStates read) const;
  const Bucket* TenantBucket(const std::string& tenant_id) const;

  std::vector<Facts> facts_;
  // Per agent: 2 * unix second + (1 if on shift) of the last InShift, or kNotCached.
  static constexpr int64_t kNotCached = INT64_MIN;
  std::unique_ptr<std::atomic<int64_t>[]> shift_cache_;
  std::vector<IdLevel> language_pool_;
  std::vector<IdLevel> skill_pool_;
  absl::flat_hash_map<std::string, uint32_t> language_ids_;  // lowercased code
  absl::flat_hash_map<std::string, uint32_t> skill_ids_;
  absl::flat_hash_map<std::string, uint32_t> agent_numbers_;  // agent id -> in facts_
  absl::flat_hash_map<std::string, Bucket> by_tenant_;
  // Key: tenant id, '\n', lowercased language.
  absl::flat_hash_map<std::string, LanguageBucket> by_language_;
  absl::flat_hash_map<std::string, std::vector<Place>> places_;
};

}  // namespace sundesk::routing
