#pragma once

#include "libs/core/worker_pool.h"
#include "libs/rpc/auth.h"
#include "services/routing/api/agent_sessions.h"
#include "services/routing/domain/agent_directory.h"
#include "services/routing/domain/offers.h"
#include "services/routing/domain/presence.h"
#include "services/routing/domain/queue.h"
#include "services/routing/domain/routing_policy.h"
#include "sundesk/routing/v1/routing_service.grpc.pb.h"

namespace sundesk::routing {

// gRPC handlers of sundesk.routing.v1.RoutingService: translate proto <-> domain and nothing more.
// Unary handlers run on `workers` (rpc::BlockingUnary: PostgreSQL, Redis and the ticket
// service never block gRPC's callback threads); AgentSession streams are `sessions`'.
class RoutingServiceHandlers final
    : public ::sundesk::routing::v1::RoutingService::CallbackService {
 public:
  RoutingServiceHandlers(PresenceService& presence, RoutingPolicies& policies, TicketQueue& queue,
                         AgentDirectory& agents, OfferService& offers, AgentSessions& sessions,
                         const rpc::Authenticator& authenticator, WorkerPool* workers)
      : presence_(presence),
        policies_(policies),
        queue_(queue),
        agents_(agents),
        offers_(offers),
        sessions_(sessions),
        auth_(authenticator),
        workers_(workers) {}

  grpc::ServerBidiReactor<::sundesk::routing::v1::AgentMessage,
                          ::sundesk::routing::v1::RoutingMessage>*
  AgentSession(grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* SetPresence(grpc::CallbackServerContext* context,
                                        const ::sundesk::routing::v1::SetPresenceRequest* request,
                                        ::sundesk::routing::v1::Presence* response) override;
  grpc::ServerUnaryReactor* GetPresence(grpc::CallbackServerContext* context,
                                        const ::sundesk::routing::v1::GetPresenceRequest* request,
                                        ::sundesk::routing::v1::Presence* response) override;
  grpc::ServerUnaryReactor* AcceptOffer(
      grpc::CallbackServerContext* context,
      const ::sundesk::routing::v1::AcceptOfferRequest* request,
      ::sundesk::routing::v1::AcceptOfferResponse* response) override;
  grpc::ServerUnaryReactor* RejectOffer(
      grpc::CallbackServerContext* context,
      const ::sundesk::routing::v1::RejectOfferRequest* request,
      ::sundesk::routing::v1::RejectOfferResponse* response) override;
  grpc::ServerUnaryReactor* GetRoutingPolicy(
      grpc::CallbackServerContext* context,
      const ::sundesk::routing::v1::GetRoutingPolicyRequest* request,
      ::sundesk::routing::v1::RoutingPolicy* response) override;
  grpc::ServerUnaryReactor* UpdateRoutingPolicy(
      grpc::CallbackServerContext* context,
      const ::sundesk::routing::v1::UpdateRoutingPolicyRequest* request,
      ::sundesk::routing::v1::RoutingPolicy* response) override;
  grpc::ServerUnaryReactor* ListQueue(grpc::CallbackServerContext* context,
                                      const ::sundesk::routing::v1::ListQueueRequest* request,
                                      ::sundesk::routing::v1::ListQueueResponse* response) override;

 private:
  PresenceService& presence_;
  RoutingPolicies& policies_;
  TicketQueue& queue_;
  AgentDirectory& agents_;
  OfferService& offers_;
  AgentSessions& sessions_;
  const rpc::Authenticator& auth_;
  WorkerPool* workers_;
};

}  // namespace sundesk::routing
