#include "libs/runtime/service_runtime.h"

#include <openssl/rand.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/core/log.h"
#include "libs/core/shutdown.h"
#include "libs/kafka/consumer.h"

namespace sundesk::runtime {

std::vector<ConfigOption> CommonOptions(const ServiceDefaults& d) {
  return {
      {"grpc-addr", d.grpc_address, "gRPC listen address (host:port)"},
      {"metrics-addr", d.metrics_address, "Prometheus /metrics listen address (host:port)"},
      {"log-level", "info", "trace, debug, info, warn or error"},
      {"log-format", "text", "text, or json for one JSON object per line"},
      {"drain-timeout", "20s", "how long in-flight calls may finish after SIGTERM"},
      {"rpc-workers", "32", "threads running RPC handlers that wait on databases"},
      {"tls-cert", "", "PEM certificate chain; TLS is on when set"},
      {"tls-key", "", "PEM private key of --tls-cert"},
      {"tls-client-ca", "", "PEM CA of client certificates; mTLS when set"},
      {"admin-key", "", "bootstrap API key accepted as ADMIN"},
      {"service-key", "", "API key of sundesk's own services (role SERVICE)"},
  };
}

std::vector<ConfigOption> PostgresOptions() {
  return {
      {"pg-dsn", "postgresql://sundesk@127.0.0.1:5432/sundesk",
       "PostgreSQL connection string (libpq URI or key=value)"},
      {"pg-pool-size", "16", "PostgreSQL connections per process"},
  };
}

std::vector<ConfigOption> KafkaOptions() {
  return {
      {"kafka-bootstrap", "127.0.0.1:9092", "Kafka bootstrap servers (host:port,...)"},
      {"kafka-fetch-wait", "100ms",
       "longest a consumer's fetch waits for data (devkafka needs ~10ms)"},
  };
}

std::vector<ConfigOption> KafkaConsumerOptions() {
  return {
      {"kafka-session-timeout", "45s",
       "a consumer that stops answering leaves its group after this (its partitions move to "
       "another replica, or to its own restart)"},
  };
}

std::vector<ConfigOption> RedisOptions() {
  return {
      {"redis-addr", "127.0.0.1:6379", "Redis address (host:port)"},
      {"redis-pool-size", "8", "Redis connections per process"},
  };
}

std::vector<ConfigOption> PageTokenOptions() {
  return {{"page-token-key", "", "HMAC key of list page tokens; the same on every replica"}};
}

std::string PageTokenKey(const Config& config) {
  std::string key = config.Get("page-token-key");
  if (!key.empty()) return key;
  unsigned char bytes[32];
  RAND_bytes(bytes, sizeof(bytes));
  log::Warn(
      "no --page-token-key (SUNDESK_PAGE_TOKEN_KEY): using a random one; list page tokens "
      "will not work across replicas or restarts");
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

Config ParseOrExit(std::vector<ConfigOption> options, int argc, char** argv) {
  Config config(std::move(options));
  absl::Status st = config.Parse(argc, argv, ProcessEnvironment());
  if (st.code() == absl::StatusCode::kCancelled) {  // --help
    std::fprintf(stdout, "%s", std::string(st.message()).c_str());
    std::exit(0);
  }
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    std::exit(2);
  }
  return config;
}

namespace {
template <typename T>
T ValueOrExit(absl::StatusOr<T> v) {
  if (!v.ok()) {
    std::fprintf(stderr, "%s\n", std::string(v.status().message()).c_str());
    std::exit(2);
  }
  return *v;
}
}  // namespace

absl::Duration DurationOrExit(const Config& c, absl::string_view n) {
  return ValueOrExit(c.GetDuration(n));
}
int64_t IntOrExit(const Config& c, absl::string_view n) { return ValueOrExit(c.GetInt(n)); }
bool BoolOrExit(const Config& c, absl::string_view n) { return ValueOrExit(c.GetBool(n)); }

void ExitWith(absl::string_view what, const absl::Status& status) {
  log::Error(what, {{"status", status.ToString()}});
  std::exit(1);
}

std::unique_ptr<ServiceRuntime> ServiceRuntime::CreateOrExit(const std::string& service,
                                                             const Config& config) {
  // Before any thread exists, so every thread inherits the mask and only main sees them.
  BlockTerminationSignals();
  // Debian's abseil is built with Mutex deadlock detection on: every lock records edges in
  // a global graph (a few percent of a busy server's time). It is a debugging aid; tests
  // keep it, services do not pay for it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const std::string& format = config.Get("log-format");
  if (format != "text" && format != "json") {
    std::fprintf(stderr, "--log-format (SUNDESK_LOG_FORMAT) must be text or json, got '%s'\n",
                 format.c_str());
    std::exit(2);
  }
  absl::Status st =
      log::Init({.service = service,
                 .level = config.Get("log-level"),
                 .format = format == "json" ? log::Format::kJson : log::Format::kText});
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    std::exit(2);
  }
  std::unique_ptr<ServiceRuntime> rt(new ServiceRuntime(service, config));
  kafka::RegisterConsumerMetrics(rt->registry_);
  auto metrics = metrics::MetricsServer::Start(config.Get("metrics-addr"), service, rt->registry_);
  if (!metrics.ok()) ExitWith("cannot start the metrics server", metrics.status());
  rt->metrics_ = std::move(*metrics);
  int64_t workers = IntOrExit(config, "rpc-workers");
  if (workers < 1 || workers > 1024) {
    std::fprintf(stderr, "--rpc-workers (SUNDESK_RPC_WORKERS) must be 1..1024, got %lld\n",
                 static_cast<long long>(workers));
    std::exit(2);
  }
  rt->rpc_workers_ = std::make_unique<WorkerPool>(static_cast<int>(workers), "rpc");
  rt->authenticator_.Add(config.Get("admin-key"), {.role = rpc::Role::kAdmin, .key_id = "admin"});
  rt->authenticator_.Add(config.Get("service-key"),
                         {.role = rpc::Role::kService, .key_id = "service"});
  if (config.Get("admin-key").empty()) {
    log::Warn("no admin key configured (--admin-key / SUNDESK_ADMIN_KEY): admin RPCs are closed");
  }
  log::Info("starting", {{"service", service},
                         {"version", metrics::Version()},
                         {"revision", metrics::Revision()},
                         {"metrics_port", rt->metrics_->port()}});
  return rt;
}

void ServiceRuntime::Defer(std::string name, std::function<void()> stop) {
  deferred_.emplace_back(std::move(name), std::move(stop));
}

void ServiceRuntime::BeforeDrain(std::string name, std::function<void()> end_calls) {
  before_drain_.emplace_back(std::move(name), std::move(end_calls));
}

int ServiceRuntime::Serve(std::vector<std::pair<std::string, grpc::Service*>> services,
                          std::vector<rpc::ReadinessCheck> readiness_checks) {
  std::vector<std::function<void()>> before_drain;
  for (auto& [name, end_calls] : before_drain_) {
    before_drain.push_back([name = name, end_calls = end_calls] {
      log::Info("ending long-lived calls", {{"part", name}});
      end_calls();
    });
  }
  rpc::ServerOptions options{
      .listen_address = config_.Get("grpc-addr"),
      .tls = {.cert_file = config_.Get("tls-cert"),
              .key_file = config_.Get("tls-key"),
              .client_ca_file = config_.Get("tls-client-ca")},
      .services = std::move(services),
      .readiness_checks = std::move(readiness_checks),
      .drain_timeout = DurationOrExit(config_, "drain-timeout"),
      .before_drain = std::move(before_drain),
  };
  auto server = rpc::Server::Start(std::move(options), *registry_);
  if (!server.ok()) ExitWith("cannot start the gRPC server", server.status());

  int sig = WaitForTerminationSignal();
  log::Info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*server)->Shutdown();
  for (auto it = deferred_.rbegin(); it != deferred_.rend(); ++it) {
    log::Info("stopping", {{"part", it->first}});
    it->second();
  }
  log::Info("stopped");
  return 0;
}

}  // namespace sundesk::runtime
