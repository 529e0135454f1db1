#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "libs/core/clock.h"
#include "services/routing/domain/agent_store.h"
#include "services/routing/domain/candidate_index.h"
#include "services/routing/domain/matching.h"
#include "services/routing/domain/presence.h"
#include "services/routing/domain/routing_policy.h"

namespace sundesk::routing {

// One routing decision at the moment of an offer (or of an AUTO_ASSIGN assignment): the
// tenant's policy and languages, the agents who may take the ticket with their live state,
// ChooseAgent, then the agent's capacity claimed atomically. When the claim finds the agent
// full (another replica got there first), the next best agent is tried.
//
// The directory is held in memory as a CandidateIndex (agents by certified tenant and by
// tenant and language), so a decision looks at the plausible agents only, not at every
// agent; it is read again when AgentStore::DirectoryRevision moved (an agent created or
// updated by any replica), checked at every decision. Live state (presence, load, last
// assignment) is read from the presence store at every decision, for the agents the
// decision looks at. The answer is ChooseAgent's over every agent certified for the tenant.
//
// With RouterOptions::live_state_max_age above zero, the live state read is kept in memory
// and used again for that long (per agent, from its read), so most decisions make one round
// trip to the presence store, the claim. The claim (ClaimIfAvailable) checks atomically that
// the agent is AVAILABLE and below capacity, so a state up to that old never puts an agent
// above its capacity nor gives an offer to an agent that is not AVAILABLE: an agent whose
// claim fails is read again and the next best tried. What an old state can cost is the
// order among eligible agents (least loaded, longest idle) and an agent that just became
// AVAILABLE or got room waiting up to that long. "Nobody is eligible" is never answered
// from remembered states: such a decision reads them again first. This replica's own
// claims update what it remembers at once.
// Thread-safe.
// What the caller already read for one decision (PgOfferStore reads it in the transaction
// that holds the ticket, after the lock, in the same round trip as the exclusions): the
// decision uses it instead of reading it again. What is absent the decision reads itself.
struct DecisionInputs {
  std::optional<int64_t> directory_revision;  // AgentStore::DirectoryRevision
  // RoutingPolicyStore::Get of the ticket's tenant (outer: read at all; inner: nullopt when
  // the tenant never updated its policy).
  std::optional<std::optional<StoredRoutingPolicy>> policy;
};

struct RouterOptions {
  absl::Duration live_state_max_age = absl::ZeroDuration();  // zero: read at every decision
};

class Router {
 public:
  Router(AgentStore& agents, PresenceStore& presence, RoutingPolicyStore& policies,
         TenantDirectory& tenants, const Clock& clock, RouterOptions options = {})
      : agents_(agents),
        presence_(presence),
        policies_(policies),
        tenants_(tenants),
        clock_(clock),
        options_(options) {}

  // The agent now holding `ticket` and the stage it matched at; nullopt when no agent is
  // eligible now (the ticket stays queued). `excluded`: agents who rejected it or let an
  // offer lapse. The claim is idempotent by ticket: a repeated call that picks the agent
  // already holding the ticket returns it again; one that picks another agent while the
  // ticket is held answers ABORTED (release the first claim before routing again).
  // `policy_used`, when set, receives the tenant's policy the decision went by (the
  // defaults when it has none).
  // `inputs`, when set, holds what the caller already read for this decision.
  absl::StatusOr<std::optional<MatchDecision>> Route(const TicketToRoute& ticket,
                                                     const std::set<std::string>& excluded,
                                                     RoutingPolicy* policy_used = nullptr,
                                                     const DecisionInputs* inputs = nullptr);

  // Those of `agent_ids` on shift at `now` (each in its own zone), by the directory as it
  // is now; an unknown agent is not.
  absl::StatusOr<std::set<std::string>> InShift(absl::Span<const std::string> agent_ids,
                                                absl::Time now);

  // How many times the directory was read whole (for tests and logs).
  int64_t directory_loads() const;
  // How many agents' live state was read from the presence store (for tests and benches).
  int64_t live_states_read() const;

 private:
  // The directory as of one revision (every agent, disabled ones too: matching skips them),
  // immutable once built.
  struct Directory {
    int64_t revision = 0;
    std::deque<AgentProfile> profiles;
    absl::flat_hash_map<std::string, const AgentProfile*> by_id;
    std::unique_ptr<CandidateIndex> index;
  };
  // The directory at the store's current revision (read again when it moved); `revision`,
  // when set, is that revision as the caller just read it.
  absl::StatusOr<std::shared_ptr<const Directory>> CurrentDirectory(
      absl::Time now, std::optional<int64_t> revision = std::nullopt);

  // The live state of `candidates`: remembered ones younger than live_state_max_age (unless
  // `fresh`), the others read in one round trip. `remembered` gets the agents whose state
  // came from memory.
  absl::StatusOr<std::vector<AgentLiveState>> ReadStates(absl::Span<const Candidate> candidates,
                                                         absl::Time now, bool fresh,
                                                         std::vector<std::string>& remembered);
  // What this replica's claim outcome says about the agent's state.
  void Claimed(const std::string& agent_id, ClaimOutcome outcome, absl::Time now);

  AgentStore& agents_;
  PresenceStore& presence_;
  RoutingPolicyStore& policies_;
  TenantDirectory& tenants_;
  const Clock& clock_;
  const RouterOptions options_;

  struct RememberedState {
    AgentLiveState state;
    absl::Time read_time;
  };
  mutable absl::Mutex live_mu_;
  absl::flat_hash_map<std::string, RememberedState> live_ ABSL_GUARDED_BY(live_mu_);
  int64_t live_reads_ ABSL_GUARDED_BY(live_mu_) = 0;

  // One reload at a time; decisions keep using the directory they hold meanwhile.
  absl::Mutex load_mu_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const Directory> directory_ ABSL_GUARDED_BY(mu_);
  int64_t loads_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sundesk::routing
