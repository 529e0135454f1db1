#pragma once

#include "absl/status/status.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/routing/domain/agent_store.h"
#include "services/routing/domain/offers.h"
#include "services/routing/domain/presence.h"

namespace sundesk::routing {

// The routing metrics of this process:
//   sundesk_routing_offers_total{outcome}      made, accepted, rejected, expired, withdrawn,
//                                              auto_assigned (by the replica that did it)
//   sundesk_routing_overflow_total{stage}      decisions matched at an overflow stage > 0
//   sundesk_routing_decision_seconds           histogram: one Router decision with its claim
//   sundesk_routing_wait_seconds               histogram: queued -> accepted or auto-assigned
//   sundesk_agents{status}                     agents per live status (every replica reads
//                                              the shared directory and presence: aggregate
//                                              with max); refreshed by RefreshAgents()
class RoutingMetrics final : public RoutingObserver {
 public:
  explicit RoutingMetrics(prometheus::Registry& registry);

  void Offer(absl::string_view outcome) override;
  void Overflow(int stage) override;
  void Decision(absl::Duration took) override;
  void Waited(absl::Duration waited) override;

  // Counts the enabled agents of the directory by their live status.
  absl::Status RefreshAgents(AgentStore& agents, PresenceStore& presence, const Clock& clock);

 private:
  prometheus::Family<prometheus::Counter>& offers_;
  prometheus::Family<prometheus::Counter>& overflow_;
  prometheus::Histogram& decision_;
  prometheus::Histogram& wait_;
  prometheus::Family<prometheus::Gauge>& agents_;
};

}  // namespace sundesk::routing
