#include "services/routing/api/queue_metrics.h"

#include <set>

#include "libs/core/status.h"

namespace sundesk::routing {

QueueMetrics::QueueMetrics(prometheus::Registry& registry)
    : depth_(prometheus::BuildGauge()
                 .Name("sundesk_routing_queue_depth")
                 .Help("Tickets waiting for an agent, by language (the shared queue: the same "
                       "on every replica).")
                 .Register(registry)) {}

absl::Status QueueMetrics::Refresh(TicketQueue& queue) {
  SUNDESK_ASSIGN_OR_RETURN(auto depths, queue.DepthByLanguage());
  absl::MutexLock lock(&mu_);
  std::set<std::string> seen;
  for (const auto& [language, depth] : depths) {
    auto it = by_language_.find(language);
    if (it == by_language_.end()) {
      it = by_language_.emplace(language, &depth_.Add({{"language", language}})).first;
    }
    it->second->Set(static_cast<double>(depth));
    seen.insert(language);
  }
  for (auto& [language, gauge] : by_language_) {
    if (seen.count(language) == 0) gauge->Set(0);
  }
  return absl::OkStatus();
}

}  // namespace sundesk::routing
