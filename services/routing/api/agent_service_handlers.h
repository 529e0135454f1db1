#pragma once

#include "libs/rpc/auth.h"
#include "sundesk/routing/v1/agent_service.grpc.pb.h"

namespace sundesk::routing {

// gRPC handlers of sundesk.routing.v1.AgentService: translate proto <-> domain and nothing more.
// Until the routing service's own issue lands, every RPC authenticates the caller and
// answers UNIMPLEMENTED.
class AgentServiceHandlers final : public ::sundesk::routing::v1::AgentService::CallbackService {
 public:
  explicit AgentServiceHandlers(const rpc::Authenticator& authenticator) : auth_(authenticator) {}

  grpc::ServerUnaryReactor* CreateAgent(grpc::CallbackServerContext* context,
                                        const ::sundesk::routing::v1::CreateAgentRequest* request,
                                        ::sundesk::routing::v1::Agent* response) override;
  grpc::ServerUnaryReactor* GetAgent(grpc::CallbackServerContext* context,
                                     const ::sundesk::routing::v1::GetAgentRequest* request,
                                     ::sundesk::routing::v1::Agent* response) override;
  grpc::ServerUnaryReactor* ListAgents(
      grpc::CallbackServerContext* context,
      const ::sundesk::routing::v1::ListAgentsRequest* request,
      ::sundesk::routing::v1::ListAgentsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateAgent(grpc::CallbackServerContext* context,
                                        const ::sundesk::routing::v1::UpdateAgentRequest* request,
                                        ::sundesk::routing::v1::Agent* response) override;

 private:
  const rpc::Authenticator& auth_;
};

}  // namespace sundesk::routing
