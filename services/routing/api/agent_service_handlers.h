#pragma once

#include "libs/core/worker_pool.h"
#include "libs/rpc/auth.h"
#include "services/routing/domain/agent_directory.h"
#include "sundesk/routing/v1/agent_service.grpc.pb.h"

namespace sundesk::routing {

// gRPC handlers of sundesk.routing.v1.AgentService: authenticate, check the role, translate
// proto <-> domain and call one AgentDirectory method. An AGENT key sees only its own agent;
// another agent answers NOT_FOUND like a missing one.
class AgentServiceHandlers final : public ::sundesk::routing::v1::AgentService::CallbackService {
 public:
  // Handlers run on `workers` (rpc::BlockingUnary); null runs them inline.
  AgentServiceHandlers(AgentDirectory& directory, const rpc::Authenticator& authenticator,
                       WorkerPool* workers)
      : directory_(directory), auth_(authenticator), workers_(workers) {}

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
  AgentDirectory& directory_;
  const rpc::Authenticator& auth_;
  WorkerPool* workers_;
};

}  // namespace sundesk::routing
