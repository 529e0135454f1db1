#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"
#include "libs/rpc/server_metrics.h"

namespace sundesk::rpc {

struct TlsFiles {
  std::string cert_file;       // PEM server certificate chain; TLS is on when set
  std::string key_file;        // PEM private key
  std::string client_ca_file;  // PEM CA for client certificates; mTLS when set
};

// A dependency the service cannot serve without (PostgreSQL, Redis, Kafka, ...).
struct ReadinessCheck {
  std::string name;
  std::function<absl::Status()> check;
};

struct ServerOptions {
  std::string listen_address = "127.0.0.1:0";
  TlsFiles tls;
  // Services to serve, by full name ("sundesk.ticket.v1.TicketService"); the caller owns
  // them and keeps them alive until Shutdown returns.
  std::vector<std::pair<std::string, grpc::Service*>> services;
  // Health answers NOT_SERVING until every check passes; they are re-run every
  // `readiness_interval`, so health follows a dependency that goes away and comes back.
  std::vector<ReadinessCheck> readiness_checks;
  absl::Duration readiness_interval = absl::Seconds(2);
  // How long in-flight calls may finish after Shutdown begins; then they are cancelled.
  absl::Duration drain_timeout = absl::Seconds(20);
  // Run by Shutdown, in order, after health turned NOT_SERVING and before the drain: where
  // a service ends calls that would otherwise last the whole drain timeout (long-lived
  // streams: tell the client to reconnect elsewhere, and refuse new ones from now on).
  std::vector<std::function<void()>> before_drain;
  int max_receive_message_bytes = 4 << 20;
};

// A gRPC server with what every sundesk service needs: grpc.health.v1 (per service and
// overall), server reflection, go-grpc-prometheus metrics, optional TLS/mTLS, and a
// graceful Shutdown that turns health NOT_SERVING first and then drains.
class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Start(ServerOptions options,
                                                       prometheus::Registry& registry);
  ~Server();

  int port() const { return port_; }
  bool serving() const;

  // NOT_SERVING at once, run the before_drain hooks, stop accepting calls, let in-flight
  // calls finish for the drain timeout, cancel the rest. Idempotent.
  void Shutdown();

 private:
  Server(ServerOptions options, prometheus::Registry& registry);
  void ReadinessLoop();
  void SetServing(bool serving);

  ServerOptions options_;
  ServerMetrics metrics_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  mutable absl::Mutex mu_;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::Notification stop_readiness_;
  std::thread readiness_thread_;
};

}  // namespace sundesk::rpc
