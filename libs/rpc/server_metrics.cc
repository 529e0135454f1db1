#include "libs/rpc/server_metrics.h"

#include <chrono>

#include "google/protobuf/descriptor.h"
#include "libs/metrics/metrics_server.h"
#include "libs/rpc/status.h"

namespace sundesk::rpc {
namespace {

using grpc::experimental::InterceptionHookPoints;

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(grpc::experimental::ServerRpcInfo* info, ServerMetrics& metrics)
      : method_(info->method()), type_(TypeOf(info->type())), metrics_(metrics) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      start_ = std::chrono::steady_clock::now();
      metrics_.Started(method_, type_);
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      metrics_.Handled(method_, type_, methods->GetSendStatus().error_code(), seconds);
    }
    methods->Proceed();
  }

 private:
  static const char* TypeOf(grpc::experimental::ServerRpcInfo::Type t) {
    using T = grpc::experimental::ServerRpcInfo::Type;
    switch (t) {
      case T::UNARY:
        return "unary";
      case T::CLIENT_STREAMING:
        return "client_stream";
      case T::SERVER_STREAMING:
        return "server_stream";
      case T::BIDI_STREAMING:
        return "bidi_stream";
    }
    return "unary";
  }

  const char* method_;
  const char* type_;
  ServerMetrics& metrics_;
  std::chrono::steady_clock::time_point start_;
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(ServerMetrics& metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(info, metrics_);
  }

 private:
  ServerMetrics& metrics_;
};

}  // namespace

ServerMetrics::ServerMetrics(prometheus::Registry& registry)
    : started_(prometheus::BuildCounter()
                   .Name("grpc_server_started_total")
                   .Help("Total number of RPCs started on the server.")
                   .Register(registry)),
      handled_(prometheus::BuildCounter()
                   .Name("grpc_server_handled_total")
                   .Help("Total number of RPCs completed on the server, regardless of success "
                         "or failure.")
                   .Register(registry)),
      handling_(prometheus::BuildHistogram()
                    .Name("grpc_server_handling_seconds")
                    .Help("Histogram of response latency (seconds) of gRPC that had been "
                          "application-level handled by the server.")
                    .Register(registry)) {}

ServerMetrics::MethodSeries& ServerMetrics::Series(absl::string_view full_method,
                                                   const char* grpc_type) {
  absl::MutexLock lock(&mu_);
  auto it = series_.find(full_method);
  if (it != series_.end()) return *it->second;
  // full_method is "/package.Service/Method".
  absl::string_view path = full_method;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  size_t slash = path.find('/');
  auto s = std::make_unique<MethodSeries>();
  s->type = grpc_type;
  s->service = std::string(path.substr(0, slash));
  s->method = slash == absl::string_view::npos ? "" : std::string(path.substr(slash + 1));
  prometheus::Labels labels{
      {"grpc_type", s->type}, {"grpc_service", s->service}, {"grpc_method", s->method}};
  s->started = &started_.Add(labels);
  s->handling = &handling_.Add(labels, metrics::LatencyBuckets());
  auto& ref = *s;
  series_.emplace(std::string(full_method), std::move(s));
  return ref;
}

void ServerMetrics::InitializeService(const std::string& service_full_name) {
  const auto* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service_full_name);
  if (service == nullptr) return;
  for (int i = 0; i < service->method_count(); ++i) {
    const auto* m = service->method(i);
    const char* type = m->client_streaming()
                           ? (m->server_streaming() ? "bidi_stream" : "client_stream")
                           : (m->server_streaming() ? "server_stream" : "unary");
    HandledCounter(Series("/" + service_full_name + "/" + m->name(), type), grpc::StatusCode::OK);
  }
}

void ServerMetrics::Started(const char* full_method, const char* grpc_type) {
  Series(full_method, grpc_type).started->Increment();
}

prometheus::Counter& ServerMetrics::HandledCounter(MethodSeries& s, grpc::StatusCode code) {
  size_t idx = static_cast<size_t>(code) < s.handled.size() ? static_cast<size_t>(code) : 2;
  prometheus::Counter* c = s.handled[idx].load(std::memory_order_acquire);
  if (c == nullptr) {
    // Family::Add returns the existing series when two threads race here.
    c = &handled_.Add({{"grpc_type", s.type},
                       {"grpc_service", s.service},
                       {"grpc_method", s.method},
                       {"grpc_code", GrpcCodeName(static_cast<grpc::StatusCode>(idx))}});
    s.handled[idx].store(c, std::memory_order_release);
  }
  return *c;
}

void ServerMetrics::Handled(const char* full_method, const char* grpc_type, grpc::StatusCode code,
                            double seconds) {
  MethodSeries& s = Series(full_method, grpc_type);
  HandledCounter(s, code).Increment();
  s.handling->Observe(seconds);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
ServerMetrics::InterceptorFactory() {
  return std::make_unique<MetricsInterceptorFactory>(*this);
}

}  // namespace sundesk::rpc
