#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "services/routing/domain/agent.h"

// Who may get a ticket, and who gets it first: pure functions of the agents, their live
// state, the tenant's routing policy and the time. No I/O; the clock is the caller's.
namespace sundesk::routing {

// Same numbers as sundesk.routing.v1.PresenceStatus.
enum class PresenceStatus { kUnspecified = 0, kAvailable = 1, kAway = 2, kBusy = 3, kOffline = 4 };

// Same numbers as sundesk.routing.v1.OverflowRelax.
enum class OverflowRelax {
  kUnspecified = 0,
  kAnyProficientLanguage = 1,
  kSkillsOptional = 2,
  kNextTier = 3
};

struct OverflowStage {
  int after_seconds = 0;  // of waiting in the queue; strictly increasing within a policy
  OverflowRelax relax = OverflowRelax::kUnspecified;
};

inline constexpr int kDefaultMinLanguageProficiency = 3;
inline constexpr absl::Duration kDefaultOfferTimeout = absl::Seconds(30);

// How a tenant's tickets are matched. Stages accumulate: stage n applies the relaxations
// of stages 1..n.
struct RoutingPolicy {
  std::string tenant_id;
  std::vector<OverflowStage> overflow_stages;
  absl::Duration offer_timeout = kDefaultOfferTimeout;
  int min_language_proficiency = kDefaultMinLanguageProficiency;
};

// What matching needs of a queued ticket.
struct TicketToRoute {
  std::string ticket_id;
  std::string tenant_id;
  std::string language;  // BCP 47
  std::vector<std::string> required_skills;
  absl::Time queued_time;  // when it was (last) queued: overflow stages count from here
};

// An agent's live state (from Redis in production).
struct AgentLiveState {
  PresenceStatus status = PresenceStatus::kOffline;
  int active_tickets = 0;
  absl::Time last_assignment_time = absl::InfinitePast();  // never assigned: idle longest
};

// An Agent prepared for many decisions: its zone loaded, shifts in minutes, languages
// lowercased. Build once per directory change, not per decision.
class AgentProfile {
 public:
  // `agent` must have passed ValidateAgent.
  explicit AgentProfile(const Agent& agent);
  AgentProfile(const AgentProfile& other);
  AgentProfile& operator=(const AgentProfile& other);

  const Agent& agent() const { return agent_; }
  // Whether `t` is inside one of the shifts, in the agent's own zone (wall-clock time, so
  // across a DST change a shift keeps its local hours). No shifts: always. The answer for
  // the last second asked about is kept, so many decisions at one time convert it once.
  bool InShift(absl::Time t) const;
  // 0 when the agent does not speak `language_lower`.
  int Proficiency(const std::string& language_lower) const;
  // 0 when the agent does not hold `skill`.
  int SkillLevel(const std::string& skill) const;
  bool CertifiedFor(const std::string& tenant_id, absl::Time t) const;

 private:
  bool InShiftUncached(absl::Time t) const;

  struct Window {
    int weekday;  // ISO, 1 = Monday
    int start;    // minutes after local midnight
    int end;      // <= start: crosses midnight
  };
  Agent agent_;
  absl::TimeZone zone_;
  std::vector<Window> windows_;
  absl::flat_hash_map<std::string, int> languages_;  // lowercased code -> proficiency
  absl::flat_hash_map<std::string, int> skills_;
  // Tenant id -> its first certification (the one CertifiedFor goes by).
  absl::flat_hash_map<std::string, size_t> certifications_;
  // 2 * unix second + (1 if in shift), of the last InShift; kNotCached before the first.
  static constexpr int64_t kNotCached = INT64_MIN;
  mutable std::atomic<int64_t> in_shift_cache_{kNotCached};
};

struct Candidate {
  const AgentProfile* profile;
  AgentLiveState state;
};

struct MatchDecision {
  std::string agent_id;
  // The overflow stage the agent qualified at: 0 = no relaxation, n = the first n stages.
  int stage = 0;
};

// The overflow stage a ticket queued at `queued_time` has reached at `now`: how many
// stages' after_seconds have fully passed (a stage applies from exactly after_seconds).
int StageAt(const RoutingPolicy& policy, absl::Time queued_time, absl::Time now);

// What the first `stage` stages of a policy relax, together.
struct Relaxation {
  bool any_proficient_language = false;
  bool skills_optional = false;
  int max_tier = 1;
};
Relaxation RelaxationAt(const RoutingPolicy& policy, int stage);

// Whether `candidate` may be offered `ticket` at `stage` (hard constraints; the
// certification is never relaxed). `tenant_languages` are the tenant's supported
// languages, for ANY_PROFICIENT_LANGUAGE.
bool Eligible(const TicketToRoute& ticket, const RoutingPolicy& policy,
              absl::Span<const std::string> tenant_languages, const Candidate& candidate, int stage,
              absl::Time now);

// The best agent for `ticket` at `now`, trying stage 0 first and widening up to the stage
// reached: the lowest stage with an eligible agent wins. Among those: best skill and
// language fit, then fewest active tickets, then longest since the last assignment, then
// agent id. Agents in `excluded` (who rejected or let the offer lapse) are skipped.
std::optional<MatchDecision> ChooseAgent(const TicketToRoute& ticket, const RoutingPolicy& policy,
                                         absl::Span<const std::string> tenant_languages,
                                         absl::Span<const Candidate> candidates,
                                         const std::set<std::string>& excluded, absl::Time now);

}  // namespace sundesk::routing
