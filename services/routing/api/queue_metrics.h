#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "services/routing/domain/queue.h"

namespace sundesk::routing {

// sundesk_routing_queue_depth{language}: tickets waiting for an agent, per (lowercased)
// language, as the queue in PostgreSQL holds them — so every replica reports the same
// figure (aggregate with max, not sum). Refreshed by the caller's loop.
class QueueMetrics {
 public:
  explicit QueueMetrics(prometheus::Registry& registry);

  // Reads the depths and sets the gauges; a language no longer queued drops to 0.
  absl::Status Refresh(TicketQueue& queue);

 private:
  prometheus::Family<prometheus::Gauge>& depth_;
  absl::Mutex mu_;
  std::map<std::string, prometheus::Gauge*> by_language_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sundesk::routing
