#include "tests/support/ticket_server.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "libs/rpc/client.h"
#include "sundesk/ticket/v1/tenant_service.grpc.pb.h"

namespace sundesk::testing {

absl::StatusOr<std::unique_ptr<TicketServer>> TicketServer::Start(PostgresServer& postgres,
                                                                  TicketServerOptions options) {
  auto dsn = postgres.CreateDatabase("ticket");
  if (!dsn.ok()) return dsn.status();
  std::unique_ptr<TicketServer> server(new TicketServer());
  server->admin_key_ = options.admin_key;
  server->port_ = FreePort();
  std::map<std::string, std::string> env = {
      {"SUNDESK_GRPC_ADDR", server->address()},
      {"SUNDESK_METRICS_ADDR", absl::StrCat("127.0.0.1:", FreePort())},
      {"SUNDESK_PG_DSN", *dsn},
      {"SUNDESK_KAFKA_BOOTSTRAP", options.kafka_bootstrap},
      {"SUNDESK_ADMIN_KEY", options.admin_key},
      {"SUNDESK_SERVICE_KEY", options.service_key},
      {"SUNDESK_DRAIN_TIMEOUT", "2s"}};
  for (auto& [name, value] : options.env) env[name] = value;
  auto process = Subprocess::Start({.argv = {BinDir() + "/ticket-server"},
                                    .env = std::move(env),
                                    .log_path = std::move(options.log_path)});
  if (!process.ok()) return process.status();
  server->process_ = std::move(*process);
  return server;
}

std::string TicketServer::address() const { return absl::StrCat("127.0.0.1:", port_); }

absl::StatusOr<std::string> TicketServer::CreateTenant(const ticket::v1::Tenant& tenant,
                                                       const std::string& request_id) {
  auto stub = ticket::v1::TenantService::NewStub(
      grpc::CreateChannel(address(), grpc::InsecureChannelCredentials()));
  ticket::v1::CreateTenantRequest request;
  request.set_request_id(request_id);
  *request.mutable_tenant() = tenant;
  ticket::v1::Tenant created;
  grpc::Status status;
  const bool answered = WaitFor(
      [&] {
        auto ctx = rpc::NewClientContext({.timeout = absl::Seconds(5), .api_key = admin_key_});
        status = stub->CreateTenant(ctx.get(), request, &created);
        return status.error_code() != grpc::StatusCode::UNAVAILABLE &&
               status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED;
      },
      absl::Seconds(60));
  if (!answered || !status.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "ticket-server CreateTenant: ", status.error_message(), "; its log:\n", Log()));
  }
  return created.tenant_id();
}

}  // namespace sundesk::testing
