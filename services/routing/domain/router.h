#pragma once

#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "libs/core/clock.h"
#include "services/routing/domain/agent_store.h"
#include "services/routing/domain/matching.h"
#include "services/routing/domain/presence.h"
#include "services/routing/domain/routing_policy.h"

namespace sundesk::routing {

// One routing decision at the moment of an offer (or of an AUTO_ASSIGN assignment): the
// tenant's policy and languages, the agents certified for the tenant with their live
// state, ChooseAgent, then the agent's capacity claimed atomically. When the claim finds
// the agent full (another replica got there first), the next best agent is tried.
class Router {
 public:
  Router(AgentStore& agents, PresenceStore& presence, RoutingPolicyStore& policies,
         TenantDirectory& tenants, const Clock& clock)
      : agents_(agents),
        presence_(presence),
        policies_(policies),
        tenants_(tenants),
        clock_(clock) {}

  // The agent now holding `ticket` and the stage it matched at; nullopt when no agent is
  // eligible now (the ticket stays queued). `excluded`: agents who rejected it or let an
  // offer lapse. The claim is idempotent by ticket: a repeated call that picks the agent
  // already holding the ticket returns it again; one that picks another agent while the
  // ticket is held answers ABORTED (release the first claim before routing again).
  // `policy_used`, when set, receives the tenant's policy the decision went by (the
  // defaults when it has none).
  absl::StatusOr<std::optional<MatchDecision>> Route(const TicketToRoute& ticket,
                                                     const std::set<std::string>& excluded,
                                                     RoutingPolicy* policy_used = nullptr);

 private:
  AgentStore& agents_;
  PresenceStore& presence_;
  RoutingPolicyStore& policies_;
  TenantDirectory& tenants_;
  const Clock& clock_;
};

}  // namespace sundesk::routing
