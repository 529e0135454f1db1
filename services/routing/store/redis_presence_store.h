#pragma once

#include <string>
#include <vector>

#include "libs/redis/pool.h"
#include "libs/redis/script.h"
#include "services/routing/domain/presence.h"

namespace sundesk::routing {

// Live presence, load and capacity claims in Redis. Keys (prefix configurable, so tests
// and several deployments can share a server):
//
//   <p>presence:<agent>  hash {status, since_ms}; PEXPIREs after the TTL unless refreshed
//   <p>load:<agent>      set of the ticket ids the agent holds (SCARD = active tickets)
//   <p>last:<agent>      unix ms of the agent's last claim
//   <p>ticket:<ticket>   the agent holding the ticket
//   <p>loads-ready       present while the loads are known (set after a rebuild); a server
//                        restarted empty or flushed lacks it, and claims wait for a rebuild
//   <p>loads-rebuild     the replica rebuilding the loads (a lock with a TTL)
//
// Claims run as one Lua script, so concurrent claims from any number of routing replicas
// never put more than `capacity` tickets on an agent, and a ticket on more than one agent.
// Redis is soft state: the ticket service's assignment is the truth.
class RedisPresenceStore final : public PresenceStore {
 public:
  explicit RedisPresenceStore(redis::Pool& pool, std::string prefix = "sundesk:routing:");

  absl::StatusOr<PresenceStatus> SetStatus(absl::string_view agent_id, PresenceStatus status,
                                           absl::Time now, absl::Duration ttl) override;
  absl::StatusOr<bool> Refresh(absl::string_view agent_id, absl::Duration ttl) override;
  absl::StatusOr<PresenceRecord> Get(absl::string_view agent_id) override;
  absl::StatusOr<std::vector<PresenceRecord>> GetMany(
      absl::Span<const std::string> agent_ids) override;
  absl::StatusOr<ClaimOutcome> Claim(absl::string_view agent_id, absl::string_view ticket_id,
                                     int capacity, absl::Time now) override;
  absl::StatusOr<ClaimOutcome> ClaimIfAvailable(absl::string_view agent_id,
                                                absl::string_view ticket_id, int capacity,
                                                absl::Time now) override;
  absl::StatusOr<bool> Release(absl::string_view agent_id, absl::string_view ticket_id) override;
  absl::StatusOr<std::string> Holder(absl::string_view ticket_id) override;
  absl::Status AddHoldings(const std::vector<Holding>& holdings) override;
  absl::Status RemoveHoldings(const std::vector<Holding>& holdings) override;
  absl::StatusOr<bool> LoadsReady() override;
  absl::StatusOr<bool> LockLoadRebuild(absl::Duration ttl) override;
  absl::Status MarkLoadsReady() override;

  std::string PresenceKey(absl::string_view agent_id) const;
  std::string LoadKey(absl::string_view agent_id) const;
  std::string LastKey(absl::string_view agent_id) const;
  std::string TicketKey(absl::string_view ticket_id) const;
  std::string ReadyKey() const;

 private:
  absl::StatusOr<ClaimOutcome> RunClaim(absl::string_view agent_id, absl::string_view ticket_id,
                                        int capacity, absl::Time now, bool if_available);
  absl::Status RunHoldings(const redis::Script& script, const std::vector<Holding>& holdings,
                           absl::string_view what);

  redis::Pool& pool_;
  const std::string prefix_;
  // Each script is loaded once per server and then run by its SHA1.
  const redis::Script set_status_;
  const redis::Script claim_;
  const redis::Script release_;
  const redis::Script add_holdings_;
  const redis::Script remove_holdings_;
};

}  // namespace sundesk::routing
