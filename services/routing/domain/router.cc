#include "services/routing/domain/router.h"

#include <deque>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace sundesk::routing {
namespace {

constexpr int kAgentPage = 500;

}  // namespace

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

  // Every agent currently certified for the tenant, page by page.
  std::deque<AgentProfile> profiles;
  std::vector<Candidate> candidates;
  std::optional<AgentPosition> after;
  const AgentFilter filter{.tenant_id = ticket.tenant_id};
  for (;;) {
    SUNDESK_ASSIGN_OR_RETURN(std::vector<Agent> page,
                             agents_.ListAgents(filter, now, after, kAgentPage));
    std::vector<std::string> ids;
    ids.reserve(page.size());
    for (const Agent& a : page) ids.push_back(a.agent_id);
    SUNDESK_ASSIGN_OR_RETURN(std::vector<PresenceRecord> live, presence_.GetMany(ids));
    for (size_t i = 0; i < page.size(); ++i) {
      profiles.emplace_back(page[i]);
      candidates.push_back({&profiles.back(),
                            {.status = live[i].status,
                             .active_tickets = live[i].active_tickets,
                             .last_assignment_time = live[i].last_assignment_time}});
    }
    if (static_cast<int>(page.size()) < kAgentPage) break;
    after = AgentPosition{page.back().display_name, page.back().agent_id};
  }

  std::set<std::string> skip = excluded;
  for (;;) {
    std::optional<MatchDecision> decision =
        ChooseAgent(ticket, policy, tenant.languages, candidates, skip, now);
    if (!decision.has_value()) return decision;
    const Candidate* chosen = nullptr;
    for (const Candidate& c : candidates) {
      if (c.profile->agent().agent_id == decision->agent_id) chosen = &c;
    }
    SUNDESK_ASSIGN_OR_RETURN(ClaimOutcome outcome,
                             presence_.Claim(decision->agent_id, ticket.ticket_id,
                                             chosen->profile->agent().capacity, now));
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
