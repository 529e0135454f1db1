#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "services/routing/domain/routing_policy.h"
#include "sundesk/ticket/v1/tenant_service.grpc.pb.h"

namespace sundesk::routing {

// Tenants as the ticket service knows them, asked over gRPC with routing's SERVICE key
// (TenantService.GetTenant). Thread-safe.
class GrpcTenantDirectory final : public TenantDirectory {
 public:
  GrpcTenantDirectory(std::shared_ptr<grpc::Channel> channel, std::string service_key,
                      absl::Duration timeout = absl::Seconds(5));

  // NOT_FOUND for a tenant the ticket service does not know; UNAVAILABLE when it cannot
  // be asked (down, or it refused routing's key: a configuration error, logged there).
  absl::StatusOr<TenantInfo> GetTenant(absl::string_view tenant_id) override;

 private:
  std::unique_ptr<ticket::v1::TenantService::Stub> stub_;
  const std::string service_key_;
  const absl::Duration timeout_;
};

}  // namespace sundesk::routing
