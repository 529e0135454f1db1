#include "services/routing/api/routing_metrics.h"

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace sundesk::routing {

RoutingMetrics::RoutingMetrics(prometheus::Registry& registry)
    : offers_(prometheus::BuildCounter()
                  .Name("sundesk_routing_offers_total")
                  .Help("Offers by outcome (made, accepted, rejected, expired, withdrawn) and "
                        "tickets auto-assigned, by the replica that did it.")
                  .Register(registry)),
      overflow_(prometheus::BuildCounter()
                    .Name("sundesk_routing_overflow_total")
                    .Help("Routing decisions that matched only at an overflow stage, by stage.")
                    .Register(registry)),
      decision_(prometheus::BuildHistogram()
                    .Name("sundesk_routing_decision_seconds")
                    .Help("Time of one routing decision: candidates, ranking and the claim.")
                    .Register(registry)
                    .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001,
                                                                     0.0025, 0.005, 0.01, 0.025,
                                                                     0.05, 0.1, 0.25})),
      wait_(prometheus::BuildHistogram()
                .Name("sundesk_routing_wait_seconds")
                .Help("Time from queued to assigned (an accepted offer or an auto-assignment).")
                .Register(registry)
                .Add({}, prometheus::Histogram::BucketBoundaries{1, 5, 10, 30, 60, 120, 300, 600,
                                                                 1800, 3600})),
      agents_(prometheus::BuildGauge()
                  .Name("sundesk_agents")
                  .Help("Enabled agents by live status (shared state: the same on every "
                        "replica).")
                  .Register(registry)) {}

void RoutingMetrics::Offer(absl::string_view outcome) {
  offers_.Add({{"outcome", std::string(outcome)}}).Increment();
}

void RoutingMetrics::Overflow(int stage) {
  overflow_.Add({{"stage", absl::StrCat(stage)}}).Increment();
}

void RoutingMetrics::Decision(absl::Duration took) {
  decision_.Observe(absl::ToDoubleSeconds(took));
}

void RoutingMetrics::Waited(absl::Duration waited) { wait_.Observe(absl::ToDoubleSeconds(waited)); }

absl::Status RoutingMetrics::RefreshAgents(AgentStore& agents, PresenceStore& presence,
                                           const Clock& clock) {
  constexpr std::array<std::pair<PresenceStatus, const char*>, 4> kStatuses = {{
      {PresenceStatus::kAvailable, "available"},
      {PresenceStatus::kAway, "away"},
      {PresenceStatus::kBusy, "busy"},
      {PresenceStatus::kOffline, "offline"},
  }};
  std::array<int64_t, 5> counts{};
  std::optional<AgentPosition> after;
  for (;;) {
    SUNDESK_ASSIGN_OR_RETURN(std::vector<Agent> page,
                             agents.ListAgents(AgentFilter{}, clock.Now(), after, 500));
    for (const Agent& a : page) {
      SUNDESK_ASSIGN_OR_RETURN(PresenceRecord live, presence.Get(a.agent_id));
      ++counts[static_cast<int>(live.status)];
    }
    if (page.size() < 500) break;
    after = AgentPosition{page.back().display_name, page.back().agent_id};
  }
  for (const auto& [status, name] : kStatuses) {
    agents_.Add({{"status", name}}).Set(static_cast<double>(counts[static_cast<int>(status)]));
  }
  return absl::OkStatus();
}

}  // namespace sundesk::routing
