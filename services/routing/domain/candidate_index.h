#pragma once

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
//   - per tenant: the agents holding a certification for it (valid or not: ChooseAgent
//     checks that at the decision's time), and
//   - per (tenant, language): those of them who speak the language, most proficient first.
// Choose() gives exactly ChooseAgent's answer over all the candidates the index was built
// from: it first asks ChooseAgent about the agents who speak the ticket's language at the
// policy's minimum proficiency, which settles every decision won below the first stage that
// relaxes the language (nobody else is eligible there); otherwise it asks about the
// tenant's agents.
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
  // kept here: `read` is asked (once or twice) only about the bucket's agents that could be
  // eligible whatever their state (enabled, certified for the tenant now, on shift, not
  // excluded). Its error is returned.
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
  struct LanguageBucket {
    std::vector<Candidate> candidates;  // proficiency descending
    std::vector<int> proficiency;       // of each, same order
  };
  // Where an agent's copies are, for UpdateState.
  struct Place {
    std::vector<Candidate>* bucket;
    size_t at;
  };

  absl::flat_hash_map<std::string, std::vector<Candidate>> by_tenant_;
  // Key: tenant id, '\n', lowercased language.
  absl::flat_hash_map<std::string, LanguageBucket> by_language_;
  absl::flat_hash_map<std::string, std::vector<Place>> places_;
};

}  // namespace sundesk::routing
