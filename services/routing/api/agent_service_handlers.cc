#include "services/routing/api/agent_service_handlers.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/rpc/handler.h"
#include "services/routing/api/routing_proto.h"

namespace sundesk::routing {
namespace {

namespace pb = ::sundesk::routing::v1;
using rpc::Principal;
using rpc::Role;

}  // namespace

grpc::ServerUnaryReactor* AgentServiceHandlers::CreateAgent(grpc::CallbackServerContext* context,
                                                            const pb::CreateAgentRequest* request,
                                                            pb::Agent* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(rpc::RequireRole(caller, {Role::kAdmin}));
        SUNDESK_ASSIGN_OR_RETURN(Agent agent, AgentFromProto(request->agent()));
        SUNDESK_ASSIGN_OR_RETURN(
            Agent created,
            directory_.CreateAgent(request->request_id(), std::move(agent), request->agent_id()));
        AgentToProto(created, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AgentServiceHandlers::GetAgent(grpc::CallbackServerContext* context,
                                                         const pb::GetAgentRequest* request,
                                                         pb::Agent* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(
            rpc::RequireRole(caller, {Role::kAdmin, Role::kService, Role::kAgent}));
        if (caller.role == Role::kAgent && !request->agent_id().empty() &&
            request->agent_id() != caller.agent_id) {
          return absl::NotFoundError(absl::StrCat(
              "agent '", absl::CHexEscape(request->agent_id().substr(0, 64)), "' not found"));
        }
        SUNDESK_ASSIGN_OR_RETURN(Agent agent, directory_.GetAgent(request->agent_id()));
        AgentToProto(agent, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AgentServiceHandlers::ListAgents(grpc::CallbackServerContext* context,
                                                           const pb::ListAgentsRequest* request,
                                                           pb::ListAgentsResponse* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(rpc::RequireRole(caller, {Role::kAdmin, Role::kService}));
        const pb::AgentFilter& f = request->filter();
        AgentFilter filter{.tenant_id = f.tenant_id(),
                           .language = f.language(),
                           .skill = f.skill(),
                           .tier = f.tier(),
                           .include_disabled = f.include_disabled()};
        SUNDESK_ASSIGN_OR_RETURN(
            AgentPage page, directory_.ListAgents(rpc::RoleName(caller.role), filter,
                                                  request->page_size(), request->page_token()));
        for (const Agent& a : page.agents) AgentToProto(a, response->add_agents());
        response->set_next_page_token(page.next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AgentServiceHandlers::UpdateAgent(grpc::CallbackServerContext* context,
                                                            const pb::UpdateAgentRequest* request,
                                                            pb::Agent* response) {
  return rpc::BlockingUnary(
      workers_, context, auth_, [this, request, response](const Principal& caller) -> absl::Status {
        SUNDESK_RETURN_IF_ERROR(rpc::RequireRole(caller, {Role::kAdmin}));
        SUNDESK_ASSIGN_OR_RETURN(Agent changes, AgentFromProto(request->agent()));
        std::vector<std::string> mask(request->update_mask().paths().begin(),
                                      request->update_mask().paths().end());
        SUNDESK_ASSIGN_OR_RETURN(Agent updated,
                                 directory_.UpdateAgent(changes, mask, request->etag()));
        AgentToProto(updated, response);
        return absl::OkStatus();
      });
}

}  // namespace sundesk::routing
