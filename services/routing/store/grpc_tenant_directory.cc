#include "services/routing/store/grpc_tenant_directory.h"

#include "absl/strings/str_cat.h"
#include "libs/rpc/client.h"

namespace sundesk::routing {

GrpcTenantDirectory::GrpcTenantDirectory(std::shared_ptr<grpc::Channel> channel,
                                         std::string service_key, absl::Duration timeout)
    : stub_(ticket::v1::TenantService::NewStub(std::move(channel))),
      service_key_(std::move(service_key)),
      timeout_(timeout) {}

absl::StatusOr<TenantInfo> GrpcTenantDirectory::GetTenant(absl::string_view tenant_id) {
  ticket::v1::GetTenantRequest request;
  request.set_tenant_id(std::string(tenant_id));
  ticket::v1::Tenant tenant;
  const rpc::CallOptions options{.timeout = timeout_, .api_key = service_key_};
  grpc::Status st = rpc::CallWithRetry(options, {}, [&](grpc::ClientContext& ctx) {
    return stub_->GetTenant(&ctx, request, &tenant);
  });
  switch (st.error_code()) {
    case grpc::StatusCode::OK:
      break;
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::INVALID_ARGUMENT:
      return absl::NotFoundError(absl::StrCat("tenant '", tenant_id, "' not found"));
    default:
      return absl::UnavailableError(
          absl::StrCat("ticket service: GetTenant: ", st.error_message()));
  }
  TenantInfo info;
  info.tenant_id = tenant.tenant_id();
  info.languages.assign(tenant.languages().begin(), tenant.languages().end());
  info.guidelines = tenant.guidelines();
  info.auto_assign = tenant.routing_mode() == ticket::v1::ROUTING_MODE_AUTO_ASSIGN;
  return info;
}

}  // namespace sundesk::routing
