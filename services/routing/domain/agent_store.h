#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/routing/domain/agent.h"

namespace sundesk::routing {

// Conditions of a listing; all set ones must hold.
struct AgentFilter {
  std::string tenant_id;  // certified for it at `now`
  std::string language;   // speaks it (any proficiency); compared case-insensitively
  std::string skill;      // holds it (any level)
  int tier = 0;           // 0: any
  bool include_disabled = false;
};

// Keyset position in the (display_name, agent_id) order of ListAgents.
struct AgentPosition {
  std::string display_name;
  std::string agent_id;
};

struct CreatedAgent {
  Agent agent;
  std::string request_hash;  // of the request that created it
  bool created = false;      // false: an earlier request with the same request_id made it
};

// Where agents are kept (PostgreSQL in production, a fake in unit tests).
class AgentStore {
 public:
  virtual ~AgentStore() = default;

  // Inserts `agent` (id, version and times already set). When `request_id` is not empty
  // and was used before, returns that request's agent with created = false instead.
  // ALREADY_EXISTS when agent_id is taken by another request.
  virtual absl::StatusOr<CreatedAgent> CreateAgent(const Agent& agent, absl::string_view request_id,
                                                   absl::string_view request_hash) = 0;
  // NOT_FOUND when missing.
  virtual absl::StatusOr<Agent> GetAgent(absl::string_view agent_id) = 0;
  // Up to `limit` agents after `after` in (display_name, agent_id) order.
  virtual absl::StatusOr<std::vector<Agent>> ListAgents(const AgentFilter& filter, absl::Time now,
                                                        const std::optional<AgentPosition>& after,
                                                        int limit) = 0;
  // Replaces the stored agent `agent.agent_id` whose version is `agent.version` with
  // `agent` at version + 1 and update_time `now`; ABORTED when the stored version moved
  // on, NOT_FOUND when missing.
  virtual absl::StatusOr<Agent> UpdateAgent(const Agent& agent, absl::Time now) = 0;
  // A number that moves whenever an agent is created or updated (by any replica, in the
  // same transaction), so a copy of the directory kept in memory knows when to read it
  // again.
  virtual absl::StatusOr<int64_t> DirectoryRevision() = 0;
};

}  // namespace sundesk::routing
