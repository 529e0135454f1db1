#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace sundesk::rpc {

// gRPC server metrics under go-grpc-prometheus' names, so existing dashboards and alerts
// work: grpc_server_started_total, grpc_server_handled_total{grpc_code},
// grpc_server_handling_seconds, all labelled grpc_type, grpc_service, grpc_method.
class ServerMetrics {
 public:
  explicit ServerMetrics(prometheus::Registry& registry);

  // Creates the series of every method of `service_full_name` at zero, so rates and
  // alerts exist before the first call (as go-grpc-prometheus' InitializeMetrics does).
  void InitializeService(const std::string& service_full_name);

  void Started(const char* full_method, const char* grpc_type);
  void Handled(const char* full_method, const char* grpc_type, grpc::StatusCode code,
               double seconds);

  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory();

 private:
  // One method's series, resolved once: the hot path does a map lookup and atomics only.
  struct MethodSeries {
    prometheus::Counter* started;
    prometheus::Histogram* handling;
    std::array<std::atomic<prometheus::Counter*>, 17> handled{};
    std::string type, service, method;
  };
  // grpc_type as go-grpc-prometheus names it: unary, client_stream, server_stream,
  // bidi_stream.
  MethodSeries& Series(absl::string_view full_method, const char* grpc_type);
  prometheus::Counter& HandledCounter(MethodSeries& s, grpc::StatusCode code);

  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& handling_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<MethodSeries>> series_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sundesk::rpc
