#include "services/notification/delivery/delivery_metrics.h"

#include <algorithm>

namespace sundesk::notification {

DeliveryMetrics::DeliveryMetrics(prometheus::Registry& registry)
    : deliveries_(prometheus::BuildCounter()
                      .Name("sundesk_notification_deliveries_total")
                      .Help("Delivery attempts by channel and outcome (delivered, retry, dead).")
                      .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name("sundesk_notification_delivery_latency_seconds")
                   .Help("From the event's time to its delivery being accepted.")
                   .Register(registry)
                   .Add({}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1,
                                                                    0.25, 0.5, 1, 2.5, 5, 10, 30,
                                                                    60, 300, 900, 3600})),
      retries_(prometheus::BuildCounter()
                   .Name("sundesk_notification_retries_total")
                   .Help("Failed delivery attempts that will be retried.")
                   .Register(registry)
                   .Add({})),
      dead_letters_(prometheus::BuildCounter()
                        .Name("sundesk_notification_dead_letters_total")
                        .Help("Deliveries given up and published to sundesk.notification.dlq.v1.")
                        .Register(registry)
                        .Add({})) {}

void DeliveryMetrics::Delivered(const char* channel, absl::Duration since_event) {
  deliveries_.Add({{"channel", channel}, {"outcome", "delivered"}}).Increment();
  latency_.Observe(std::max(0.0, absl::ToDoubleSeconds(since_event)));
}

void DeliveryMetrics::Retried(const char* channel) {
  deliveries_.Add({{"channel", channel}, {"outcome", "retry"}}).Increment();
  retries_.Increment();
}

void DeliveryMetrics::DeadLettered(const char* channel) {
  deliveries_.Add({{"channel", channel}, {"outcome", "dead"}}).Increment();
  dead_letters_.Increment();
}

}  // namespace sundesk::notification
