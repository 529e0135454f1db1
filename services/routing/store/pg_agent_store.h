#pragma once

#include "libs/pg/pool.h"
#include "services/routing/domain/agent_store.h"

namespace sundesk::routing {

// The agent directory in PostgreSQL schema `routing` (agents and their child tables, see
// migrations/0002_agents.sql). Thread-safe.
class PgAgentStore final : public AgentStore {
 public:
  explicit PgAgentStore(pg::Pool& pool) : pool_(pool) {}

  absl::StatusOr<CreatedAgent> CreateAgent(const Agent& agent, absl::string_view request_id,
                                           absl::string_view request_hash) override;
  absl::StatusOr<Agent> GetAgent(absl::string_view agent_id) override;
  absl::StatusOr<std::vector<Agent>> ListAgents(const AgentFilter& filter, absl::Time now,
                                                const std::optional<AgentPosition>& after,
                                                int limit) override;
  absl::StatusOr<Agent> UpdateAgent(const Agent& agent, absl::Time now) override;
  // routing.agent_directory_revision, moved by triggers on the directory's tables.
  absl::StatusOr<int64_t> DirectoryRevision() override;

 private:
  pg::Pool& pool_;
};

}  // namespace sundesk::routing
