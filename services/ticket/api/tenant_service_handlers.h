#pragma once

#include "libs/core/worker_pool.h"
#include "libs/rpc/auth.h"
#include "services/ticket/domain/api_key.h"
#include "services/ticket/domain/tenant_registry.h"
#include "sundesk/ticket/v1/tenant_service.grpc.pb.h"

namespace sundesk::ticket {

// gRPC handlers of sundesk.ticket.v1.TenantService: authenticate, check the role, translate
// proto <-> domain and call one TenantRegistry method. Roles: ADMIN for every RPC, except
// GetTenant (also SERVICE, and CLIENT for its own tenant) and ListTenants (also SERVICE).
class TenantServiceHandlers final : public ::sundesk::ticket::v1::TenantService::CallbackService {
 public:
  // Handlers run on `workers` (null: on gRPC's threads).
  TenantServiceHandlers(TenantRegistry& registry, const rpc::Authenticator& authenticator,
                        WorkerPool* workers = nullptr)
      : registry_(registry), auth_(authenticator), workers_(workers) {}

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
  grpc::ServerUnaryReactor* WhoAmI(grpc::CallbackServerContext* context,
                                   const ::sundesk::ticket::v1::WhoAmIRequest* request,
                                   ::sundesk::ticket::v1::WhoAmIResponse* response) override;

 private:
  TenantRegistry& registry_;
  const rpc::Authenticator& auth_;
  WorkerPool* workers_;
};

// The API keys issued by TenantService, as an rpc::Authenticator: a presented
// "sdk_<key_id>_<secret>" resolves to the key's principal (CLIENT with its tenant, AGENT
// with its agent, ADMIN), with key_id set. Chain it after the static keys with
// rpc::ChainAuthenticator.
class KeyAuthenticator final : public rpc::Authenticator {
 public:
  explicit KeyAuthenticator(const ApiKeyVerifier& verifier) : verifier_(verifier) {}
  absl::StatusOr<rpc::Principal> Resolve(absl::string_view api_key) const override;

 private:
  const ApiKeyVerifier& verifier_;
};

}  // namespace sundesk::ticket
