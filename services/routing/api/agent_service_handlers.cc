#include "services/routing/api/agent_service_handlers.h"

#include "libs/rpc/handler.h"

namespace sundesk::routing {

grpc::ServerUnaryReactor* AgentServiceHandlers::CreateAgent(
    grpc::CallbackServerContext* context, const ::sundesk::routing::v1::CreateAgentRequest* request,
    ::sundesk::routing::v1::Agent* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.routing.v1.AgentService/CreateAgent");
}

grpc::ServerUnaryReactor* AgentServiceHandlers::GetAgent(
    grpc::CallbackServerContext* context, const ::sundesk::routing::v1::GetAgentRequest* request,
    ::sundesk::routing::v1::Agent* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.routing.v1.AgentService/GetAgent");
}

grpc::ServerUnaryReactor* AgentServiceHandlers::ListAgents(
    grpc::CallbackServerContext* context, const ::sundesk::routing::v1::ListAgentsRequest* request,
    ::sundesk::routing::v1::ListAgentsResponse* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.routing.v1.AgentService/ListAgents");
}

grpc::ServerUnaryReactor* AgentServiceHandlers::UpdateAgent(
    grpc::CallbackServerContext* context, const ::sundesk::routing::v1::UpdateAgentRequest* request,
    ::sundesk::routing::v1::Agent* response) {
  return rpc::NotImplementedUnary(context, auth_, "sundesk.routing.v1.AgentService/UpdateAgent");
}

}  // namespace sundesk::routing
