// Fakes of routing's domain interfaces for unit tests (no PostgreSQL, Redis or gRPC): the
// agent directory, presence with claims and holdings, policies and tenants.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/routing/domain/agent_store.h"
#include "services/routing/domain/presence.h"
#include "services/routing/domain/routing_policy.h"

namespace sundesk::routing {

inline constexpr char kTenant[] = "0190a000-0000-7000-8000-0000000000aa";

class FakeAgentStore final : public AgentStore {
 public:
  std::vector<Agent> agents;  // in display_name order
  int pages_read = 0;
  // Moved by a test that changes an agent in place; adding one moves it on its own.
  int64_t revision = 0;

  absl::StatusOr<CreatedAgent> CreateAgent(const Agent&, absl::string_view,
                                           absl::string_view) override {
    return absl::UnimplementedError("not used");
  }
  absl::StatusOr<Agent> GetAgent(absl::string_view agent_id) override {
    for (const Agent& a : agents) {
      if (a.agent_id == agent_id) return a;
    }
    return absl::NotFoundError("no such agent");
  }
  absl::StatusOr<std::vector<Agent>> ListAgents(const AgentFilter& filter, absl::Time now,
                                                const std::optional<AgentPosition>& after,
                                                int limit) override {
    ++pages_read;
    std::vector<Agent> page;
    bool past = !after.has_value();
    for (const Agent& a : agents) {
      if (!past) {
        past = a.agent_id == after->agent_id;
        continue;
      }
      bool certified = false;
      for (const auto& c : a.certifications) {
        certified |= c.tenant_id == filter.tenant_id && c.ValidAt(now);
      }
      if ((!filter.tenant_id.empty() && !certified) || (a.disabled && !filter.include_disabled)) {
        continue;
      }
      page.push_back(a);
      if (static_cast<int>(page.size()) == limit) break;
    }
    return page;
  }
  absl::StatusOr<Agent> UpdateAgent(const Agent&, absl::Time) override {
    return absl::UnimplementedError("not used");
  }
  int revision_reads = 0;
  absl::StatusOr<int64_t> DirectoryRevision() override {
    ++revision_reads;
    return revision + static_cast<int64_t>(agents.size());
  }
};

class FakePresence final : public PresenceStore {
 public:
  std::map<std::string, PresenceRecord> records;
  std::map<std::string, std::string> holder;  // ticket -> agent
  std::set<std::string> full_on_claim;        // agents another replica fills first

  absl::StatusOr<PresenceStatus> SetStatus(absl::string_view agent_id, PresenceStatus status,
                                           absl::Time now, absl::Duration) override {
    auto& r = records[std::string(agent_id)];
    PresenceStatus before = r.status;
    r.status = status;
    r.update_time = now;
    return before;
  }
  absl::StatusOr<bool> Refresh(absl::string_view, absl::Duration) override { return true; }
  absl::StatusOr<PresenceRecord> Get(absl::string_view agent_id) override {
    auto it = records.find(std::string(agent_id));
    return it == records.end() ? PresenceRecord{} : it->second;
  }
  absl::StatusOr<ClaimOutcome> Claim(absl::string_view agent_id, absl::string_view ticket_id,
                                     int capacity, absl::Time now) override {
    if (!loads_ready) return absl::UnavailableError("loads not known");
    const std::string agent(agent_id);
    auto owner = holder.find(std::string(ticket_id));
    if (owner != holder.end()) {
      return owner->second == agent ? ClaimOutcome::kAlreadyHeld : ClaimOutcome::kHeldByOther;
    }
    auto& r = records[agent];
    if (full_on_claim.count(agent) > 0) r.active_tickets = capacity;
    if (r.active_tickets >= capacity) return ClaimOutcome::kAtCapacity;
    ++r.active_tickets;
    r.last_assignment_time = now;
    holder[std::string(ticket_id)] = agent;
    held[agent].insert(std::string(ticket_id));
    return ClaimOutcome::kClaimed;
  }
  absl::StatusOr<bool> Release(absl::string_view agent_id, absl::string_view ticket_id) override {
    const std::string agent(agent_id);
    const std::string ticket(ticket_id);
    auto it = holder.find(ticket);
    if (it != holder.end() && it->second == agent) holder.erase(it);
    if (held[agent].erase(ticket) == 0) return false;
    --records[agent].active_tickets;
    return true;
  }
  absl::StatusOr<std::string> Holder(absl::string_view ticket_id) override {
    auto it = holder.find(std::string(ticket_id));
    return it == holder.end() ? std::string() : it->second;
  }
  absl::Status AddHoldings(const std::vector<Holding>& holdings) override {
    for (const Holding& h : holdings) {
      if (held[h.agent_id].insert(h.ticket_id).second) ++records[h.agent_id].active_tickets;
      holder[h.ticket_id] = h.agent_id;
    }
    return absl::OkStatus();
  }
  absl::Status RemoveHoldings(const std::vector<Holding>& holdings) override {
    for (const Holding& h : holdings) (void)Release(h.agent_id, h.ticket_id);
    return absl::OkStatus();
  }
  absl::StatusOr<bool> LoadsReady() override { return loads_ready; }
  absl::StatusOr<bool> LockLoadRebuild(absl::Duration) override {
    if (rebuild_locked) return false;
    rebuild_locked = true;
    return true;
  }
  absl::Status MarkLoadsReady() override {
    loads_ready = true;
    rebuild_locked = false;
    return absl::OkStatus();
  }

  bool loads_ready = true;
  bool rebuild_locked = false;  // another replica rebuilding, when set by a test
  std::map<std::string, std::set<std::string>> held;  // agent -> tickets
};

class FakePolicies final : public RoutingPolicyStore {
 public:
  std::optional<StoredRoutingPolicy> stored;
  int gets = 0;
  absl::StatusOr<std::optional<StoredRoutingPolicy>> Get(absl::string_view) override {
    ++gets;
    return stored;
  }
  absl::Status Put(const StoredRoutingPolicy&, int64_t) override { return absl::OkStatus(); }
};

class FakeTenants final : public TenantDirectory {
 public:
  bool auto_assign = false;
  absl::StatusOr<TenantInfo> GetTenant(absl::string_view tenant_id) override {
    if (tenant_id != kTenant) return absl::NotFoundError("no such tenant");
    return TenantInfo{.tenant_id = kTenant,
                      .languages = {"sv", "en"},
                      .guidelines = "Be kind.",
                      .auto_assign = auto_assign};
  }
};

}  // namespace sundesk::routing
