#pragma once

#include <cstdint>
#include <map>

#include "libs/core/clock.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/sla/domain/ticket_clocks.h"

namespace sundesk::sla {

// The sla service's metrics, counted once per committed signal:
//   sundesk_sla_warnings_total{metric}, sundesk_sla_breaches_total{metric},
//   sundesk_sla_met_total{metric}, sundesk_sla_timer_lateness_seconds (now − due instant of
//   each warning and breach a timer fired), and per-tenant attainment as a pair:
//   sundesk_sla_verdicts_total{tenant_id, metric} (targets met or breached) and
//   sundesk_sla_verdicts_met_total{tenant_id, metric}; attainment is met / verdicts.
// And sundesk_sla_clocks{state} (running, paused, met, breached): the clocks in PostgreSQL,
// counted periodically (SetClocks); every replica reports the same totals, so aggregate
// with max(), not sum().
class SlaMetrics final : public SlaObserver {
 public:
  SlaMetrics(prometheus::Registry& registry, const Clock& clock);
  void Published(const SlaSignal& signal, bool from_timer) override;
  void SetClocks(const std::map<ClockState, int64_t>& counts);

 private:
  const Clock& clock_;
  prometheus::Family<prometheus::Counter>& warnings_;
  prometheus::Family<prometheus::Counter>& breaches_;
  prometheus::Family<prometheus::Counter>& met_;
  prometheus::Family<prometheus::Counter>& verdicts_;
  prometheus::Family<prometheus::Counter>& verdicts_met_;
  prometheus::Histogram& lateness_;
  prometheus::Family<prometheus::Gauge>& clocks_;
};

}  // namespace sundesk::sla
