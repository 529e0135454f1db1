#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "services/notification/domain/tenant_directory.h"
#include "sundesk/ticket/v1/tenant_service.grpc.pb.h"

namespace sundesk::notification {

// Tenants as the ticket service knows them: TenantService.GetTenant with notification's
// SERVICE key. Thread-safe. Wrap it in a CachedTenantDirectory.
class GrpcTenantDirectory final : public TenantDirectory {
 public:
  GrpcTenantDirectory(std::shared_ptr<grpc::Channel> channel, std::string service_key,
                      absl::Duration timeout = absl::Seconds(5));

  // NOT_FOUND for a tenant the ticket service does not know; UNAVAILABLE when it cannot
  // be asked (down, or it refused the key: a configuration error).
  absl::Status CheckExists(const std::string& tenant_id) override;

 private:
  std::unique_ptr<ticket::v1::TenantService::Stub> stub_;
  const std::string service_key_;
  const absl::Duration timeout_;
};

}  // namespace sundesk::notification
