#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "libs/core/clock.h"
#include "services/routing/domain/agent_store.h"
#include "services/routing/domain/matching.h"

namespace sundesk::routing {

// An agent's live state as stored: soft state, lapsing to OFFLINE without heartbeats.
struct PresenceRecord {
  PresenceStatus status = PresenceStatus::kOffline;
  absl::Time update_time = absl::InfinitePast();  // when `status` last changed
  int active_tickets = 0;
  absl::Time last_assignment_time = absl::InfinitePast();
};

enum class ClaimOutcome {
  kClaimed,       // the agent now holds the ticket
  kAlreadyHeld,   // it already did: a repeated claim changes nothing
  kAtCapacity,    // the agent holds `capacity` tickets already
  kHeldByOther,   // another agent holds the ticket
  kNotAvailable,  // (ClaimIfAvailable only) the agent is not AVAILABLE now
};

// One ticket counted in one agent's load: assigned to it (routing's copy of the ticket
// service's assignment) or offered to it (an open offer's claim).
struct Holding {
  std::string agent_id;
  std::string ticket_id;
  bool operator<(const Holding& o) const {
    return agent_id != o.agent_id ? agent_id < o.agent_id : ticket_id < o.ticket_id;
  }
  bool operator==(const Holding& o) const {
    return agent_id == o.agent_id && ticket_id == o.ticket_id;
  }
};

// Where live presence, load and capacity claims are kept (Redis in production, a fake in
// unit tests). Thread-safe.
class PresenceStore {
 public:
  virtual ~PresenceStore() = default;

  // Sets the status; it lapses to OFFLINE after `ttl` unless set or refreshed again
  // (OFFLINE itself never lapses). `update_time` moves only when the status changes.
  // Returns the status before (OFFLINE when none or lapsed).
  virtual absl::StatusOr<PresenceStatus> SetStatus(absl::string_view agent_id,
                                                   PresenceStatus status, absl::Time now,
                                                   absl::Duration ttl) = 0;
  // Keeps the current status alive for another `ttl`; false when it already lapsed.
  virtual absl::StatusOr<bool> Refresh(absl::string_view agent_id, absl::Duration ttl) = 0;
  virtual absl::StatusOr<PresenceRecord> Get(absl::string_view agent_id) = 0;
  // Get for each of `agent_ids`, in order (one round trip in Redis; Get for each here).
  virtual absl::StatusOr<std::vector<PresenceRecord>> GetMany(
      absl::Span<const std::string> agent_ids);

  // Atomically: unless the agent holds `capacity` tickets (or another agent holds this
  // one), the agent now holds `ticket_id` and its last assignment is `now`. Idempotent by
  // ticket id. UNAVAILABLE while the loads are not known (LoadsReady() is false: the store
  // lost its data and nobody has rebuilt them yet), so that no claim trusts an empty load.
  virtual absl::StatusOr<ClaimOutcome> Claim(absl::string_view agent_id,
                                             absl::string_view ticket_id, int capacity,
                                             absl::Time now) = 0;
  // Claim, but only while the agent is AVAILABLE (kNotAvailable otherwise; a ticket the
  // agent already holds answers kAlreadyHeld whatever its status). What makes a decision
  // taken on a slightly old copy of the live state safe. Atomic in Redis; here Get, then
  // Claim (for fakes).
  virtual absl::StatusOr<ClaimOutcome> ClaimIfAvailable(absl::string_view agent_id,
                                                        absl::string_view ticket_id, int capacity,
                                                        absl::Time now);
  // The agent no longer holds `ticket_id` (solved, closed, unassigned, reassigned, or an
  // offer that was not accepted). Returns whether it did.
  virtual absl::StatusOr<bool> Release(absl::string_view agent_id, absl::string_view ticket_id) = 0;
  // The agent holding `ticket_id`; empty when none.
  virtual absl::StatusOr<std::string> Holder(absl::string_view ticket_id) = 0;

  // The agents hold these tickets whatever their capacity (an assignment made outside
  // routing, or loads being rebuilt); each ticket's holder becomes its agent. Idempotent.
  virtual absl::Status AddHoldings(const std::vector<Holding>& holdings) = 0;
  // The agents no longer hold these tickets (as Release). Idempotent.
  virtual absl::Status RemoveHoldings(const std::vector<Holding>& holdings) = 0;
  // Whether the loads are known: false on a store that lost its data (restarted empty,
  // flushed) until MarkLoadsReady(); claims wait meanwhile.
  virtual absl::StatusOr<bool> LoadsReady() = 0;
  // Takes the right to rebuild the loads for `ttl` (one replica at a time); false when
  // another holds it.
  virtual absl::StatusOr<bool> LockLoadRebuild(absl::Duration ttl) = 0;
  // The loads are known again (and the rebuild lock is given back).
  virtual absl::Status MarkLoadsReady() = 0;
};

// Told after an agent's status changed (for AgentPresenceChanged and metrics).
class PresenceObserver {
 public:
  virtual ~PresenceObserver() = default;
  virtual void PresenceChanged(const std::string& agent_id, PresenceStatus from,
                               PresenceStatus to) = 0;
};

// What GetPresence and SetPresence answer.
struct PresenceView {
  std::string agent_id;
  PresenceRecord record;
  int capacity = 0;
  bool in_shift = false;
};

struct PresenceOptions {
  // How long a status set without an open AgentSession lasts (SetPresence).
  absl::Duration unary_ttl = absl::Seconds(60);
};

// Presence rules over the directory and the live store.
class PresenceService {
 public:
  PresenceService(AgentStore& agents, PresenceStore& presence, const Clock& clock,
                  PresenceOptions options)
      : agents_(agents), presence_(presence), clock_(clock), options_(options) {}

  // INVALID_ARGUMENT for an unspecified status, NOT_FOUND for an unknown agent,
  // FAILED_PRECONDITION for a disabled agent going anything but OFFLINE.
  absl::StatusOr<PresenceView> SetPresence(absl::string_view agent_id, PresenceStatus status);
  // The same with the TTL of an open AgentSession (kept alive by its messages), returning
  // the status before.
  absl::StatusOr<PresenceStatus> SetSessionPresence(const Agent& agent, PresenceStatus status,
                                                    absl::Duration ttl);
  // Keeps a session's status alive for another `ttl`; false when it had lapsed.
  absl::StatusOr<bool> Refresh(absl::string_view agent_id, absl::Duration ttl) {
    return presence_.Refresh(agent_id, ttl);
  }
  absl::StatusOr<PresenceView> GetPresence(absl::string_view agent_id);

  void set_observer(PresenceObserver* observer) { observer_ = observer; }

 private:
  absl::StatusOr<PresenceStatus> Set(const Agent& agent, PresenceStatus status, absl::Duration ttl);
  absl::StatusOr<PresenceView> View(const Agent& agent);

  AgentStore& agents_;
  PresenceStore& presence_;
  const Clock& clock_;
  const PresenceOptions options_;
  PresenceObserver* observer_ = nullptr;
};

}  // namespace sundesk::routing
