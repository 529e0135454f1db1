#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/core/config.h"
#include "libs/core/worker_pool.h"
#include "libs/metrics/metrics_server.h"
#include "libs/rpc/auth.h"
#include "libs/rpc/server.h"

// What every service binary composes the same way: configuration, logs, metrics, the key
// authenticator, the gRPC server, and shutdown in reverse order of start. A service's
// main.cc adds its own stores, consumers and handlers between Create() and Serve().
namespace sundesk::runtime {

struct ServiceDefaults {
  std::string name;          // "ticket"
  std::string grpc_address;  // "127.0.0.1:50051"
  std::string metrics_address;
};

// The options every service has: grpc-addr, metrics-addr, log-level, log-format,
// drain-timeout, rpc-workers, tls-cert, tls-key, tls-client-ca, admin-key, service-key.
std::vector<ConfigOption> CommonOptions(const ServiceDefaults& defaults);

// Options of services that keep data in PostgreSQL / talk to Kafka / to Redis.
std::vector<ConfigOption> PostgresOptions();
std::vector<ConfigOption> KafkaOptions();
// What a service that consumes Kafka in a group adds to KafkaOptions: kafka-session-timeout.
std::vector<ConfigOption> KafkaConsumerOptions();
std::vector<ConfigOption> RedisOptions();
// What a service with list RPCs adds: page-token-key, the HMAC key of its page tokens.
std::vector<ConfigOption> PageTokenOptions();

// Parses flags and SUNDESK_* environment. `--help` prints the table and exits 0; bad
// configuration prints why and exits 2 (start-up is the one place errors end a process).
Config ParseOrExit(std::vector<ConfigOption> options, int argc, char** argv);

// Reads an option that must be valid, or exits 2 naming it.
absl::Duration DurationOrExit(const Config& config, absl::string_view name);
int64_t IntOrExit(const Config& config, absl::string_view name);
bool BoolOrExit(const Config& config, absl::string_view name);

// The configured page-token-key, or (with a warning) a random one: tokens then work only
// against the process that made them, fine for one process and wrong for several.
std::string PageTokenKey(const Config& config);

// Logs the message and exits 1: for a dependency that cannot even be set up at start-up.
[[noreturn]] void ExitWith(absl::string_view what, const absl::Status& status);

class ServiceRuntime {
 public:
  // Sets up logging, the metrics registry and server, and the authenticator holding the
  // configured admin and service keys. Blocks SIGTERM/SIGINT in every thread started after.
  static std::unique_ptr<ServiceRuntime> CreateOrExit(const std::string& service,
                                                      const Config& config);

  prometheus::Registry& registry() { return *registry_; }
  std::shared_ptr<prometheus::Registry> shared_registry() { return registry_; }
  rpc::StaticKeyAuthenticator& authenticator() { return authenticator_; }
  const Config& config() const { return config_; }
  int metrics_port() const { return metrics_->port(); }
  // Where handlers that block run (rpc::BlockingUnary): --rpc-workers threads.
  WorkerPool& rpc_workers() { return *rpc_workers_; }

  // Registers how to stop something the service started (a consumer, a relay, a pool).
  // Run in reverse order of registration, after the gRPC server has drained.
  void Defer(std::string name, std::function<void()> stop);

  // Registers how to end calls that would last the whole drain (long-lived streams): run
  // in order of registration once health is NOT_SERVING, before in-flight calls drain.
  void BeforeDrain(std::string name, std::function<void()> end_calls);

  // Starts the gRPC server, serves until SIGTERM/SIGINT, then: health NOT_SERVING, the
  // BeforeDrain hooks, drain in-flight calls, run the deferred stops. Returns the process exit
  // code.
  int Serve(std::vector<std::pair<std::string, grpc::Service*>> services,
            std::vector<rpc::ReadinessCheck> readiness_checks);

 private:
  ServiceRuntime(std::string service, const Config& config)
      : service_(std::move(service)), config_(config) {}
  std::string service_;
  const Config& config_;
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::unique_ptr<metrics::MetricsServer> metrics_;
  rpc::StaticKeyAuthenticator authenticator_;
  std::unique_ptr<WorkerPool> rpc_workers_;
  std::vector<std::pair<std::string, std::function<void()>>> deferred_;
  std::vector<std::pair<std::string, std::function<void()>>> before_drain_;
};

}  // namespace sundesk::runtime
