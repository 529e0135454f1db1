#include "services/ticket/api/tenant_service_handlers.h"

#include "libs/rpc/handler.h"

namespace sundesk::ticket {

grpc::ServerUnaryReactor* TenantServiceHandlers::CreateTenant(
    grpc::CallbackServerContext* context, const ::sundesk::ticket::v1::CreateTenantRequest* request,
    ::sundesk::ticket::v1::Tenant* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.ticket.v1.TenantService/CreateTenant");
}

grpc::ServerUnaryReactor* TenantServiceHandlers::GetTenant(
    grpc::CallbackServerContext* context, const ::sundesk::ticket::v1::GetTenantRequest* request,
    ::sundesk::ticket::v1::Tenant* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.ticket.v1.TenantService/GetTenant");
}

grpc::ServerUnaryReactor* TenantServiceHandlers::ListTenants(
    grpc::CallbackServerContext* context, const ::sundesk::ticket::v1::ListTenantsRequest* request,
    ::sundesk::ticket::v1::ListTenantsResponse* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.ticket.v1.TenantService/ListTenants");
}

grpc::ServerUnaryReactor* TenantServiceHandlers::UpdateTenant(
    grpc::CallbackServerContext* context, const ::sundesk::ticket::v1::UpdateTenantRequest* request,
    ::sundesk::ticket::v1::Tenant* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.ticket.v1.TenantService/UpdateTenant");
}

grpc::ServerUnaryReactor* TenantServiceHandlers::CreateApiKey(
    grpc::CallbackServerContext* context, const ::sundesk::ticket::v1::CreateApiKeyRequest* request,
    ::sundesk::ticket::v1::CreateApiKeyResponse* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.ticket.v1.TenantService/CreateApiKey");
}

grpc::ServerUnaryReactor* TenantServiceHandlers::RevokeApiKey(
    grpc::CallbackServerContext* context, const ::sundesk::ticket::v1::RevokeApiKeyRequest* request,
    ::sundesk::ticket::v1::ApiKey* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.ticket.v1.TenantService/RevokeApiKey");
}

}  // namespace sundesk::ticket
