#include "services/ticket/api/tenant_service_handlers.h"

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/rpc/handler.h"

namespace sundesk::ticket {
namespace {

namespace v1 = ::sundesk::ticket::v1;
using rpc::Principal;
using rpc::Role;

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
}

absl::StatusOr<absl::Time> FromTimestamp(absl::string_view field,
                                         const google::protobuf::Timestamp& ts) {
  // The range of google.protobuf.Timestamp: 0001-01-01 to 9999-12-31.
  if (ts.nanos() < 0 || ts.nanos() > 999'999'999 || ts.seconds() < -62'135'596'800 ||
      ts.seconds() > 253'402'300'799) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not a valid timestamp"));
  }
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

Tenant ToDomain(const v1::Tenant& p) {
  Tenant t;
  t.tenant_id = p.tenant_id();
  t.name = p.name();
  t.time_zone = p.time_zone();
  t.default_language = p.default_language();
  t.languages.assign(p.languages().begin(), p.languages().end());
  t.guidelines = p.guidelines();
  t.routing_mode = static_cast<RoutingMode>(p.routing_mode());  // the domain rejects unknowns
  return t;
}

void ToProto(const Tenant& t, v1::Tenant* p) {
  p->set_tenant_id(t.tenant_id);
  p->set_name(t.name);
  p->set_time_zone(t.time_zone);
  p->set_default_language(t.default_language);
  p->mutable_languages()->Assign(t.languages.begin(), t.languages.end());
  p->set_guidelines(t.guidelines);
  p->set_routing_mode(static_cast<v1::RoutingMode>(t.routing_mode));
  p->set_etag(TenantEtag(t));
  SetTimestamp(t.create_time, p->mutable_create_time());
  SetTimestamp(t.update_time, p->mutable_update_time());
}

void ToProto(const ApiKey& k, v1::ApiKey* p) {
  p->set_key_id(k.key_id);
  p->set_role(static_cast<::sundesk::common::v1::Role>(k.role));
  p->set_tenant_id(k.tenant_id);
  p->set_agent_id(k.agent_id);
  p->set_display_name(k.display_name);
  SetTimestamp(k.create_time, p->mutable_create_time());
  if (k.expire_time) SetTimestamp(*k.expire_time, p->mutable_expire_time());
  if (k.revoke_time) SetTimestamp(*k.revoke_time, p->mutable_revoke_time());
}

}  // namespace

grpc::ServerUnaryReactor* TenantServiceHandlers::CreateTenant(
    grpc::CallbackServerContext* context, const v1::CreateTenantRequest* request,
    v1::Tenant* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(rpc::RequireRole(caller, {Role::kAdmin}));
        SUNDESK_ASSIGN_OR_RETURN(
            Tenant t, registry_.CreateTenant(request->request_id(), ToDomain(request->tenant())));
        ToProto(t, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TenantServiceHandlers::GetTenant(grpc::CallbackServerContext* context,
                                                           const v1::GetTenantRequest* request,
                                                           v1::Tenant* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(
            rpc::RequireRole(caller, {Role::kAdmin, Role::kService, Role::kClient}));
        // A CLIENT sees its own tenant only; another one answers exactly like a missing one.
        if (caller.role == Role::kClient && !request->tenant_id().empty() &&
            request->tenant_id() != caller.tenant_id) {
          return absl::NotFoundError(absl::StrCat("tenant '", request->tenant_id(), "' not found"));
        }
        SUNDESK_ASSIGN_OR_RETURN(Tenant t, registry_.GetTenant(request->tenant_id()));
        ToProto(t, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TenantServiceHandlers::ListTenants(grpc::CallbackServerContext* context,
                                                             const v1::ListTenantsRequest* request,
                                                             v1::ListTenantsResponse* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(rpc::RequireRole(caller, {Role::kAdmin, Role::kService}));
        SUNDESK_ASSIGN_OR_RETURN(
            TenantPage page, registry_.ListTenants(rpc::RoleName(caller.role), request->page_size(),
                                                   request->page_token()));
        for (const Tenant& t : page.tenants) ToProto(t, response->add_tenants());
        response->set_next_page_token(page.next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TenantServiceHandlers::UpdateTenant(
    grpc::CallbackServerContext* context, const v1::UpdateTenantRequest* request,
    v1::Tenant* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(rpc::RequireRole(caller, {Role::kAdmin}));
        std::vector<std::string> mask(request->update_mask().paths().begin(),
                                      request->update_mask().paths().end());
        SUNDESK_ASSIGN_OR_RETURN(
            Tenant t, registry_.UpdateTenant(ToDomain(request->tenant()), mask, request->etag()));
        ToProto(t, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TenantServiceHandlers::CreateApiKey(
    grpc::CallbackServerContext* context, const v1::CreateApiKeyRequest* request,
    v1::CreateApiKeyResponse* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(rpc::RequireRole(caller, {Role::kAdmin}));
        const v1::ApiKey& in = request->api_key();
        ApiKey spec{.role = static_cast<KeyRole>(in.role()),
                    .tenant_id = in.tenant_id(),
                    .agent_id = in.agent_id(),
                    .display_name = in.display_name()};
        if (in.has_expire_time()) {
          SUNDESK_ASSIGN_OR_RETURN(spec.expire_time,
                                   FromTimestamp("api_key.expire_time", in.expire_time()));
        }
        SUNDESK_ASSIGN_OR_RETURN(IssuedApiKey issued,
                                 registry_.CreateApiKey(request->request_id(), spec));
        ToProto(issued.key, response->mutable_api_key());
        response->set_secret(issued.secret);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TenantServiceHandlers::RevokeApiKey(
    grpc::CallbackServerContext* context, const v1::RevokeApiKeyRequest* request,
    v1::ApiKey* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(rpc::RequireRole(caller, {Role::kAdmin}));
        SUNDESK_ASSIGN_OR_RETURN(ApiKey key, registry_.RevokeApiKey(request->key_id()));
        ToProto(key, response);
        return absl::OkStatus();
      });
}

absl::StatusOr<rpc::Principal> KeyAuthenticator::Resolve(absl::string_view api_key) const {
  SUNDESK_ASSIGN_OR_RETURN(KeyIdentity id, verifier_.Verify(api_key));
  Principal p{.tenant_id = id.tenant_id, .agent_id = id.agent_id, .key_id = id.key_id};
  switch (id.role) {
    case KeyRole::kAdmin:
      p.role = Role::kAdmin;
      return p;
    case KeyRole::kClient:
      p.role = Role::kClient;
      return p;
    case KeyRole::kAgent:
      p.role = Role::kAgent;
      return p;
    default:
      // Only ADMIN, CLIENT and AGENT keys are issued; anything else in the table is refused.
      return absl::UnauthenticatedError("unknown, revoked or expired API key");
  }
}

namespace {

::sundesk::common::v1::Role ToProtoRole(Role role) {
  switch (role) {
    case Role::kAdmin:
      return ::sundesk::common::v1::ROLE_ADMIN;
    case Role::kClient:
      return ::sundesk::common::v1::ROLE_CLIENT;
    case Role::kAgent:
      return ::sundesk::common::v1::ROLE_AGENT;
    case Role::kService:
      return ::sundesk::common::v1::ROLE_SERVICE;
  }
  return ::sundesk::common::v1::ROLE_UNSPECIFIED;
}

}  // namespace

grpc::ServerUnaryReactor* TenantServiceHandlers::WhoAmI(grpc::CallbackServerContext* context,
                                                        const v1::WhoAmIRequest* /*request*/,
                                                        v1::WhoAmIResponse* response) {
  return rpc::BlockingUnary(workers_, context, auth_, [response](const Principal& caller) {
    response->set_role(ToProtoRole(caller.role));
    response->set_tenant_id(caller.tenant_id);
    response->set_agent_id(caller.agent_id);
    response->set_key_id(caller.key_id);
    return absl::OkStatus();
  });
}

}  // namespace sundesk::ticket
