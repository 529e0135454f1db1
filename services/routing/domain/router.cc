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

int64_t Router::live_states_read() const {
  absl::MutexLock lock(&live_mu_);
  return live_reads_;
}

absl::StatusOr<std::vector<AgentLiveState>> Router::ReadStates(
    absl::Span<const Candidate> candidates, absl::Time now, bool fresh,
    std::vector<std::string>& remembered) {
  const bool remember = options_.live_state_max_age > absl::ZeroDuration();
  std::vector<AgentLiveState> states(candidates.size());
  std::vector<size_t> to_read;
  std::vector<std::string> ids;
  {
    absl::MutexLock lock(&live_mu_);
    for (size_t i = 0; i < candidates.size(); ++i) {
      const std::string& id = candidates[i].profile->agent().agent_id;
      if (remember && !fresh) {
        auto it = live_.find(id);
        if (it != live_.end() && now - it->second.read_time < options_.live_state_max_age &&
            it->second.read_time <= now) {
          states[i] = it->second.state;
          remembered.push_back(id);
          continue;
        }
      }
      to_read.push_back(i);
      ids.push_back(id);
    }
  }
  if (ids.empty()) return states;
  SUNDESK_ASSIGN_OR_RETURN(std::vector<PresenceRecord> live, presence_.GetMany(ids));
  if (live.size() != ids.size()) {
    return absl::InternalError("presence answered for a different number of agents");
  }
  absl::MutexLock lock(&live_mu_);
  live_reads_ += static_cast<int64_t>(ids.size());
  for (size_t j = 0; j < ids.size(); ++j) {
    const PresenceRecord& r = live[j];
    AgentLiveState& st = states[to_read[j]];
    st = {.status = r.status,
          .active_tickets = r.active_tickets,
          .last_assignment_time = r.last_assignment_time};
    if (remember) live_[ids[j]] = {st, now};
  }
  return states;
}

void Router::Claimed(const std::string& agent_id, ClaimOutcome outcome, absl::Time now) {
  if (options_.live_state_max_age <= absl::ZeroDuration()) return;
  absl::MutexLock lock(&live_mu_);
  auto it = live_.find(agent_id);
  if (it == live_.end()) return;
  switch (outcome) {
    case ClaimOutcome::kClaimed:
      ++it->second.state.active_tickets;
      it->second.state.last_assignment_time = now;
      break;
    case ClaimOutcome::kAlreadyHeld:
      break;
    case ClaimOutcome::kAtCapacity:
    case ClaimOutcome::kNotAvailable:
    case ClaimOutcome::kHeldByOther:
      live_.erase(it);  // what is remembered is wrong: read it again next time
      break;
  }
}

absl::StatusOr<std::shared_ptr<const Router::Directory>> Router::CurrentDirectory(
    absl::Time now, std::optional<int64_t> known_revision) {
  int64_t revision = 0;
  if (known_revision.has_value()) {
    revision = *known_revision;
  } else {
    SUNDESK_ASSIGN_OR_RETURN(revision, agents_.DirectoryRevision());
  }
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
                                                           RoutingPolicy* policy_used,
                                                           const DecisionInputs* inputs) {
  const absl::Time now = clock_.Now();
  std::optional<StoredRoutingPolicy> stored;
  if (inputs != nullptr && inputs->policy.has_value()) {
    stored = *inputs->policy;
  } else {
    SUNDESK_ASSIGN_OR_RETURN(stored, policies_.Get(ticket.tenant_id));
  }
  RoutingPolicy policy;
  if (stored.has_value()) {
    policy = stored->policy;
  } else {
    policy.tenant_id = ticket.tenant_id;
  }
  if (policy_used != nullptr) *policy_used = policy;
  SUNDESK_ASSIGN_OR_RETURN(TenantInfo tenant, tenants_.GetTenant(ticket.tenant_id));
  SUNDESK_ASSIGN_OR_RETURN(
      std::shared_ptr<const Directory> directory,
      CurrentDirectory(now, inputs != nullptr ? inputs->directory_revision : std::nullopt));

  // The live state of the agents a decision looks at: remembered, or read in one round trip.
  bool fresh = false;
  std::vector<std::string> remembered;
  auto read_states =
      [&](absl::Span<const Candidate> candidates) -> absl::StatusOr<std::vector<AgentLiveState>> {
    return ReadStates(candidates, now, fresh, remembered);
  };

  std::set<std::string> skip = excluded;
  for (;;) {
    remembered.clear();
    SUNDESK_ASSIGN_OR_RETURN(
        std::optional<MatchDecision> decision,
        directory->index->ChooseLive(ticket, policy, tenant.languages, skip, now, read_states));
    if (!decision.has_value()) {
      // Nobody, by states partly remembered: decide again on states read now.
      if (!fresh && !remembered.empty()) {
        fresh = true;
        continue;
      }
      return decision;
    }
    const AgentProfile* chosen = directory->by_id.at(decision->agent_id);
    SUNDESK_ASSIGN_OR_RETURN(ClaimOutcome outcome,
                             presence_.ClaimIfAvailable(decision->agent_id, ticket.ticket_id,
                                                        chosen->agent().capacity, now));
    Claimed(decision->agent_id, outcome, now);
    switch (outcome) {
      case ClaimOutcome::kClaimed:
      case ClaimOutcome::kAlreadyHeld:
        return decision;
      case ClaimOutcome::kAtCapacity:    // filled up since its load was read
      case ClaimOutcome::kNotAvailable:  // not AVAILABLE any more
        skip.insert(decision->agent_id);
        continue;
      case ClaimOutcome::kHeldByOther:
        return absl::AbortedError(
            absl::StrCat("ticket ", ticket.ticket_id, " is already held by another agent"));
    }
  }
}

}  // namespace sundesk::routing
