#include "libs/metrics/metrics_server.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "prometheus/gauge.h"

namespace sundesk::metrics {

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& address, const std::string& service,
    std::shared_ptr<prometheus::Registry> registry) {
  AddBuildInfo(*registry, service);
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    // civetweb throws when it cannot bind; that is bad configuration at start-up.
    exposer = std::make_unique<prometheus::Exposer>(address, /*num_threads=*/2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("metrics server cannot listen on ", address, ": ", e.what()));
  }
  exposer->RegisterCollectable(registry);
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(exposer), std::move(registry)));
}

int MetricsServer::port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? -1 : ports.front();
}

void AddBuildInfo(prometheus::Registry& registry, const std::string& service) {
  prometheus::BuildGauge()
      .Name("sundesk_build_info")
      .Help("A constant 1, labelled with the build of this process.")
      .Register(registry)
      .Add({{"service", service}, {"version", Version()}, {"revision", Revision()}})
      .Set(1);
}

const char* Version() { return SUNDESK_VERSION; }
const char* Revision() { return SUNDESK_REVISION; }

const std::vector<double>& LatencyBuckets() {
  static const std::vector<double> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return kBuckets;
}

}  // namespace sundesk::metrics
