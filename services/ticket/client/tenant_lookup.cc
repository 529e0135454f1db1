#include "services/ticket/client/tenant_lookup.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/rpc/client.h"

namespace sundesk::ticket {
namespace {

absl::Status TenantNotFound(absl::string_view tenant_id) {
  return absl::NotFoundError(
      absl::StrCat("tenant_id: no tenant \"", absl::CEscape(tenant_id), "\""));
}

}  // namespace

GrpcTenantLookup::GrpcTenantLookup(std::shared_ptr<grpc::Channel> channel, std::string service_key,
                                   absl::Duration timeout)
    : stub_(v1::TenantService::NewStub(std::move(channel))),
      service_key_(std::move(service_key)),
      timeout_(timeout) {}

absl::StatusOr<v1::Tenant> GrpcTenantLookup::GetTenant(absl::string_view tenant_id) {
  v1::GetTenantRequest request;
  request.set_tenant_id(std::string(tenant_id));
  v1::Tenant tenant;
  const rpc::CallOptions options{.timeout = timeout_, .api_key = service_key_};
  grpc::Status st = rpc::CallWithRetry(options, {}, [&](grpc::ClientContext& ctx) {
    return stub_->GetTenant(&ctx, request, &tenant);
  });
  switch (st.error_code()) {
    case grpc::StatusCode::OK:
      return tenant;
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::INVALID_ARGUMENT:  // not even a tenant id: no such tenant either
      return TenantNotFound(tenant_id);
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return absl::UnavailableError(absl::StrCat(
          "ticket service refused this service's key (check --service-key): ", st.error_message()));
    default:
      return absl::UnavailableError(
          absl::StrCat("ticket service: GetTenant: ", st.error_message()));
  }
}

absl::StatusOr<v1::Tenant> CachedTenantLookup::GetTenant(absl::string_view tenant_id) {
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(tenant_id);
    if (it != entries_.end() && clock_.Now() < it->second.expires) return it->second.answer;
  }
  absl::StatusOr<v1::Tenant> answer = source_.GetTenant(tenant_id);
  const bool missing = absl::IsNotFound(answer.status());
  if (!answer.ok() && !missing) return answer;
  const absl::Duration ttl = missing ? options_.missing_ttl : options_.found_ttl;
  if (ttl > absl::ZeroDuration()) {
    absl::MutexLock lock(&mu_);
    if (entries_.size() >= options_.max_entries) entries_.clear();
    entries_.insert_or_assign(std::string(tenant_id), Entry{answer, clock_.Now() + ttl});
  }
  return answer;
}

}  // namespace sundesk::ticket
