#pragma once

#include "libs/rpc/auth.h"
#include "sundesk/ticket/v1/tenant_service.grpc.pb.h"

namespace sundesk::ticket {

// gRPC handlers of sundesk.ticket.v1.TenantService: translate proto <-> domain and nothing more.
// Until the ticket service's own issue lands, every RPC authenticates the caller and
// answers UNIMPLEMENTED.
class TenantServiceHandlers final : public ::sundesk::ticket::v1::TenantService::CallbackService {
 public:
  explicit TenantServiceHandlers(const rpc::Authenticator& authenticator) : auth_(authenticator) {}

  grpc::ServerUnaryReactor* CreateTenant(grpc::CallbackServerContext* context,
                                         const ::sundesk::ticket::v1::CreateTenantRequest* request,
                                         ::sundesk::ticket::v1::Tenant* response) override;
  grpc::ServerUnaryReactor* GetTenant(grpc::CallbackServerContext* context,
                                      const ::sundesk::ticket::v1::GetTenantRequest* request,
                                      ::sundesk::ticket::v1::Tenant* response) override;
  grpc::ServerUnaryReactor* ListTenants(
      grpc::CallbackServerContext* context,
      const ::sundesk::ticket::v1::ListTenantsRequest* request,
      ::sundesk::ticket::v1::ListTenantsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateTenant(grpc::CallbackServerContext* context,
                                         const ::sundesk::ticket::v1::UpdateTenantRequest* request,
                                         ::sundesk::ticket::v1::Tenant* response) override;
  grpc::ServerUnaryReactor* CreateApiKey(
      grpc::CallbackServerContext* context,
      const ::sundesk::ticket::v1::CreateApiKeyRequest* request,
      ::sundesk::ticket::v1::CreateApiKeyResponse* response) override;
  grpc::ServerUnaryReactor* RevokeApiKey(grpc::CallbackServerContext* context,
                                         const ::sundesk::ticket::v1::RevokeApiKeyRequest* request,
                                         ::sundesk::ticket::v1::ApiKey* response) override;

 private:
  const rpc::Authenticator& auth_;
};

}  // namespace sundesk::ticket
