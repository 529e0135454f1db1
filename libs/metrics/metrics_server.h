#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

namespace sundesk::metrics {

// Prometheus text exposition at http://<addr>/metrics for one service's registry, plus
// the standard `sundesk_build_info{service,version,revision} 1` gauge.
class MetricsServer {
 public:
  // `address` is host:port; port 0 picks a free one (see port()).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& address, const std::string& service,
      std::shared_ptr<prometheus::Registry> registry);

  int port() const;
  prometheus::Registry& registry() { return *registry_; }

 private:
  MetricsServer(std::unique_ptr<prometheus::Exposer> exposer,
                std::shared_ptr<prometheus::Registry> registry)
      : exposer_(std::move(exposer)), registry_(std::move(registry)) {}

  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
};

// Adds sundesk_build_info to `registry`.
void AddBuildInfo(prometheus::Registry& registry, const std::string& service);

// The version and git revision this binary was built from.
const char* Version();
const char* Revision();

// Histogram buckets for request latencies, in seconds (0.5 ms .. 10 s).
const std::vector<double>& LatencyBuckets();

}  // namespace sundesk::metrics
