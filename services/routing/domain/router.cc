#include "services/routing/domain/router.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace sundesk::routing {
namespace {

constexpr int kAgentPage = 500;

}  // namespace

int64_t Router::directory_loads() const {
  absl::MutexLock lock(&mu_);
  return loads_;
}

absl::StatusOr<std::shared_ptr<const Router::Directory>> Router::CurrentDirectory(absl::Time now) {
  SUNDESK_ASSIGN_OR_RETURN(int64_t revision, agents_.DirectoryRevision());
  {
    absl::MutexLock lock(&mu_);
    if (directory_ != nullptr && directory_->revision == revision) return directory_;
  }
  absl::MutexLock loading(&load_mu_);
  {
    absl::MutexLock lock(&mu_);  // another decision may have loaded it meanwhile
    if (directory_ != nullptr && directory_->revision == revision) return directory_;
  }
  // Read after the revision: a change committed in between is in what is read, and moves
  // the revision past this one, so the next decision reads the directory again.
  auto directory = std::make_shared<Directory>();
  directory->revision = revision;
  // Certifications, and whether an agent is disabled, are checked at each decision.
  AgentFilter everyone;
  everyone.include_disabled = true;
  std::optional<AgentPosition> after;
  for (;;) {
    SUNDESK_ASSIGN_OR_RETURN(std::vector<Agent> page,
                             agents_.ListAgents(everyone, now, after, kAgentPage));
    for (const Agent& a : page) directory->profiles.emplace_back(a);
    if (static_cast<int>(page.size()) < kAgentPage) break;
    after = AgentPosition{page.back().display_name, page.back().agent_id};
  }
  std::vector<Candidate> candidates;
  candidates.reserve(directory->profiles.size());
  for (const AgentProfile& p : directory->profiles) {
    directory->by_id[p.agent().agent_id] = &p;
    candidates.push_back({&p, {}});
  }
  directory->index = std::make_unique<CandidateIndex>(candidates);
  absl::MutexLock lock(&mu_);
  directory_ = std::move(directory);
  ++loads_;
  return directory_;
}

absl::StatusOr<std::set<std::string>> Router::InShift(absl::Span<const std::string> agent_ids,
                                                      absl::Time now) {
  std::set<std::string> in_shift;
  if (agent_ids.empty()) return in_shift;
  SUNDESK_ASSIGN_OR_RETURN(std::shared_ptr<const Directory> directory, CurrentDirectory(now));
  for (const std::string& id : agent_ids) {
    auto it = directory->by_id.find(id);
    if (it != directory->by_id.end() && it->second->InShift(now)) in_shift.insert(id);
  }
  return in_shift;
}

absl::StatusOr<std::optional<MatchDecision>> Router::Route(const TicketToRoute& ticket,
                                                           const std::set<std::string>& excluded,
                                                           RoutingPolicy* policy_used) {
  const absl::Time now = clock_.Now();
  SUNDESK_ASSIGN_OR_RETURN(std::optional<StoredRoutingPolicy> stored,
                           policies_.Get(ticket.tenant_id));
  RoutingPolicy policy;
  if (stored.has_value()) {
    policy = stored->policy;
  } else {
    policy.tenant_id = ticket.tenant_id;
  }
  if (policy_used != nullptr) *policy_used = policy;
  SUNDESK_ASSIGN_OR_RETURN(TenantInfo tenant, tenants_.GetTenant(ticket.tenant_id));
  SUNDESK_ASSIGN_OR_RETURN(std::shared_ptr<const Directory> directory, CurrentDirectory(now));

  // The live state of the agents a decision looks at, in one round trip.
  auto read_states =
      [&](absl::Span<const Candidate> candidates) -> absl::StatusOr<std::vector<AgentLiveState>> {
    std::vector<std::string> ids;
    ids.reserve(candidates.size());
    for (const Candidate& c : candidates) ids.push_back(c.profile->agent().agent_id);
    SUNDESK_ASSIGN_OR_RETURN(std::vector<PresenceRecord> live, presence_.GetMany(ids));
    std::vector<AgentLiveState> states;
    states.reserve(live.size());
    for (const PresenceRecord& r : live) {
      states.push_back({.status = r.status,
                        .active_tickets = r.active_tickets,
                        .last_assignment_time = r.last_assignment_time});
    }
    return states;
  };

  std::set<std::string> skip = excluded;
  for (;;) {
    SUNDESK_ASSIGN_OR_RETURN(
        std::optional<MatchDecision> decision,
        directory->index->ChooseLive(ticket, policy, tenant.languages, skip, now, read_states));
    if (!decision.has_value()) return decision;
    const AgentProfile* chosen = directory->by_id.at(decision->agent_id);
    SUNDESK_ASSIGN_OR_RETURN(
        ClaimOutcome outcome,
        presence_.Claim(decision->agent_id, ticket.ticket_id, chosen->agent().capacity, now));
    switch (outcome) {
      case ClaimOutcome::kClaimed:
      case ClaimOutcome::kAlreadyHeld:
        return decision;
      case ClaimOutcome::kAtCapacity:
        skip.insert(decision->agent_id);  // filled up since its load was read
        continue;
      case ClaimOutcome::kHeldByOther:
        return absl::AbortedError(
            absl::StrCat("ticket ", ticket.ticket_id, " is already held by another agent"));
    }
  }
}

}  // namespace sundesk::routing
