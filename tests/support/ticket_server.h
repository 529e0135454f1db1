#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "sundesk/ticket/v1/resources.pb.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"

namespace sundesk::testing {

struct TicketServerOptions {
  std::string admin_key;
  std::string service_key;
  std::string kafka_bootstrap;
  std::string log_path;                         // its stdout and stderr
  std::map<std::string, std::string> env = {};  // more SUNDESK_* settings
};

// The built ticket-server as a child process, on a database of its own ("ticket") in
// `postgres`: for tests and benchmarks of the services that need tenants and tickets the way
// a deployment has them (over gRPC, with their events on Kafka).
class TicketServer {
 public:
  static absl::StatusOr<std::unique_ptr<TicketServer>> Start(PostgresServer& postgres,
                                                             TicketServerOptions options);

  int port() const { return port_; }
  std::string address() const;
  std::string Log() const { return process_->Log(); }

  // TenantService.CreateTenant with the admin key, asked again until the server answers (it
  // may still be starting) or 60 s pass; `request_id` makes it idempotent. The tenant's id.
  absl::StatusOr<std::string> CreateTenant(const ticket::v1::Tenant& tenant,
                                           const std::string& request_id);

 private:
  TicketServer() = default;

  std::string admin_key_;
  int port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace sundesk::testing
