#include "services/sla/api/sla_metrics.h"

#include <string>

namespace sundesk::sla {
namespace {

std::string MetricLabel(Metric m) {
  switch (m) {
    case Metric::kFirstResponse:
      return "first_response";
    case Metric::kNextResponse:
      return "next_response";
    case Metric::kPeriodicUpdate:
      return "periodic_update";
    case Metric::kResolution:
      return "resolution";
    case Metric::kUnspecified:
      break;
  }
  return "unspecified";
}

}  // namespace

SlaMetrics::SlaMetrics(prometheus::Registry& registry, const Clock& clock)
    : clock_(clock),
      warnings_(prometheus::BuildCounter()
                    .Name("sundesk_sla_warnings_total")
                    .Help("SlaWarning events committed, by metric.")
                    .Register(registry)),
      breaches_(prometheus::BuildCounter()
                    .Name("sundesk_sla_breaches_total")
                    .Help("SlaBreached events committed, by metric.")
                    .Register(registry)),
      met_(prometheus::BuildCounter()
               .Name("sundesk_sla_met_total")
               .Help("SlaMet events committed, by metric.")
               .Register(registry)),
      verdicts_(prometheus::BuildCounter()
                    .Name("sundesk_sla_verdicts_total")
                    .Help("SLA targets decided (met or breached), by tenant and metric; with "
                          "sundesk_sla_verdicts_met_total, the tenant's attainment.")
                    .Register(registry)),
      verdicts_met_(prometheus::BuildCounter()
                        .Name("sundesk_sla_verdicts_met_total")
                        .Help("SLA targets met, by tenant and metric.")
                        .Register(registry)),
      lateness_(prometheus::BuildHistogram()
                    .Name("sundesk_sla_timer_lateness_seconds")
                    .Help("How late a timer fired its warning or breach after the due instant.")
                    .Register(registry)
                    .Add({}, prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.25, 0.5, 1,
                                                                     2, 5, 10, 30})),
      clocks_(prometheus::BuildGauge()
                  .Name("sundesk_sla_clocks")
                  .Help("SLA clocks by state (running, paused, met, breached), as last counted in "
                        "PostgreSQL; the same on every replica.")
                  .Register(registry)) {}

void SlaMetrics::SetClocks(const std::map<ClockState, int64_t>& counts) {
  for (const auto& [state, n] : counts) {
    const char* label = nullptr;
    switch (state) {
      case ClockState::kRunning:
        label = "running";
        break;
      case ClockState::kPaused:
        label = "paused";
        break;
      case ClockState::kMet:
        label = "met";
        break;
      case ClockState::kBreached:
        label = "breached";
        break;
      case ClockState::kUnspecified:
        break;
    }
    if (label != nullptr) clocks_.Add({{"state", label}}).Set(static_cast<double>(n));
  }
}

void SlaMetrics::Published(const SlaSignal& s, bool from_timer) {
  const std::string metric = MetricLabel(s.metric);
  switch (s.kind) {
    case SlaSignal::Kind::kClockStarted:
      return;
    case SlaSignal::Kind::kWarning:
      warnings_.Add({{"metric", metric}}).Increment();
      break;
    case SlaSignal::Kind::kBreached:
      breaches_.Add({{"metric", metric}}).Increment();
      verdicts_.Add({{"tenant_id", s.tenant_id}, {"metric", metric}}).Increment();
      break;
    case SlaSignal::Kind::kMet:
      met_.Add({{"metric", metric}}).Increment();
      verdicts_.Add({{"tenant_id", s.tenant_id}, {"metric", metric}}).Increment();
      verdicts_met_.Add({{"tenant_id", s.tenant_id}, {"metric", metric}}).Increment();
      break;
  }
  if (from_timer && s.kind != SlaSignal::Kind::kMet) {
    lateness_.Observe(absl::ToDoubleSeconds(clock_.Now() - s.time));
  }
}

}  // namespace sundesk::sla
