#pragma once

#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace sundesk::notification {

// The delivery metrics of issue 6:
//   sundesk_notification_deliveries_total{channel="webhook|email",
//                                         outcome="delivered|retry|dead"}
//   sundesk_notification_delivery_latency_seconds  event time -> delivered (histogram)
//   sundesk_notification_retries_total             attempts that failed and will be retried
//   sundesk_notification_dead_letters_total        deliveries given up and sent to the DLQ
class DeliveryMetrics {
 public:
  explicit DeliveryMetrics(prometheus::Registry& registry);

  void Delivered(const char* channel, absl::Duration since_event);
  void Retried(const char* channel);
  void DeadLettered(const char* channel);

 private:
  prometheus::Family<prometheus::Counter>& deliveries_;
  prometheus::Histogram& latency_;
  prometheus::Counter& retries_;
  prometheus::Counter& dead_letters_;
};

}  // namespace sundesk::notification
