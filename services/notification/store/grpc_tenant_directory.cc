#include "services/notification/store/grpc_tenant_directory.h"

#include "absl/strings/str_cat.h"
#include "libs/rpc/client.h"

namespace sundesk::notification {

GrpcTenantDirectory::GrpcTenantDirectory(std::shared_ptr<grpc::Channel> channel,
                                         std::string service_key, absl::Duration timeout)
    : stub_(ticket::v1::TenantService::NewStub(std::move(channel))),
      service_key_(std::move(service_key)),
      timeout_(timeout) {}

absl::Status GrpcTenantDirectory::CheckExists(const std::string& tenant_id) {
  ticket::v1::GetTenantRequest request;
  request.set_tenant_id(tenant_id);
  ticket::v1::Tenant tenant;
  const rpc::CallOptions options{.timeout = timeout_, .api_key = service_key_};
  grpc::Status st = rpc::CallWithRetry(options, {}, [&](grpc::ClientContext& ctx) {
    return stub_->GetTenant(&ctx, request, &tenant);
  });
  switch (st.error_code()) {
    case grpc::StatusCode::OK:
      return absl::OkStatus();
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::INVALID_ARGUMENT:
      return TenantNotFound(tenant_id);
    default:
      return absl::UnavailableError(
          absl::StrCat("ticket service: GetTenant: ", st.error_message()));
  }
}

}  // namespace sundesk::notification
